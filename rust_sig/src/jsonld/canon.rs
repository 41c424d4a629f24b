//! RDF Dataset Canonicalization (RDFC-1.0, W3C Recommendation 2024), the
//! successor of URDNA2015 with identical output for SHA-256.
//!
//! Every non-blank term is serialized once into a shared buffer and blank
//! nodes become small integers, so the hashing steps only concatenate byte
//! ranges. The only departure from the algorithm text is a work budget: Hash
//! N-Degree Quads is exponential on crafted graphs ("poison" cliques), so
//! every call and every permutation tried costs one unit, and running out is
//! an error.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use aws_lc_rs::digest;

use super::dataset::{Dataset, Piece};
use super::error::{JsonLdError, Result};

/// The hash function the algorithm runs with.
#[derive(Clone, Copy, Debug)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
}

impl HashAlgorithm {
    pub fn from_name(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Ok(HashAlgorithm::Sha256),
            "sha384" => Ok(HashAlgorithm::Sha384),
            _ => Err(JsonLdError::invalid(
                "unsupported hash algorithm",
                format!("unsupported hash algorithm {name:?} (sha256 or sha384)"),
            )),
        }
    }

    fn algorithm(self) -> &'static digest::Algorithm {
        // aws-lc's assembly SHA is several times faster than the portable
        // Rust one on CPUs without SHA extensions.
        match self {
            HashAlgorithm::Sha256 => &digest::SHA256,
            HashAlgorithm::Sha384 => &digest::SHA384,
        }
    }

    fn hex(self, data: &[u8]) -> String {
        to_hex(digest::digest(self.algorithm(), data).as_ref())
    }
}

/// Lowercase hexadecimal of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// The default work budget: far above what real documents and every test of
/// the W3C suite need (at most 3,348 units), low enough that a poison graph
/// fails in milliseconds.
pub const DEFAULT_MAX_WORK: u64 = 20_000;

/// How deep Hash N-Degree Quads may recurse (the W3C suite needs a handful).
const MAX_DEPTH: usize = 256;

/// An identifier issuer over blank node indexes: `prefix0`, `prefix1`...
#[derive(Clone, Debug)]
struct Issuer {
    issued: Vec<u32>,
    order: Vec<u32>,
}

const NOT_ISSUED: u32 = u32::MAX;

impl Issuer {
    fn new(blanks: usize) -> Self {
        Issuer {
            issued: vec![NOT_ISSUED; blanks],
            order: Vec::new(),
        }
    }

    fn get(&self, b: u32) -> Option<u32> {
        let v = self.issued[b as usize];
        (v != NOT_ISSUED).then_some(v)
    }

    fn issue(&mut self, b: u32) -> u32 {
        if let Some(v) = self.get(b) {
            return v;
        }
        let v = self.order.len() as u32;
        self.issued[b as usize] = v;
        self.order.push(b);
        v
    }
}

/// The state of one canonicalization run.
struct State<'a> {
    ds: &'a Dataset,
    quads: Vec<[Piece; 4]>,
    blank_quads: Vec<Vec<u32>>,
    first_degree: Vec<Option<String>>,
    canonical: Issuer,
    alg: HashAlgorithm,
    work_left: u64,
}

/// Appends `_:` + prefix + number (an issued identifier) to a path.
fn push_id(out: &mut String, prefix: &str, n: u32) {
    use std::fmt::Write;
    out.push_str("_:");
    out.push_str(prefix);
    let _ = write!(out, "{n}");
}

impl<'a> State<'a> {
    fn slice(&self, p: Piece) -> &'a [u8] {
        self.ds.slice(p)
    }

    fn cmp_piece(&self, a: Piece, b: Piece) -> Ordering {
        match (a, b) {
            (Piece::Const(..), Piece::Const(..)) => self.slice(a).cmp(self.slice(b)),
            (Piece::Blank(x), Piece::Blank(y)) => x.cmp(&y),
            (Piece::Absent, Piece::Absent) => Ordering::Equal,
            _ => piece_rank(a).cmp(&piece_rank(b)),
        }
    }

    fn write_line(&self, out: &mut Vec<u8>, q: &[Piece; 4], blank: &dyn Fn(u32, &mut Vec<u8>)) {
        self.ds.write_line(out, q, blank)
    }

    /// Sorted lines of byte ranges in `buf`, hashed in order.
    fn hash_sorted_lines(&self, buf: &[u8], ranges: &mut [(usize, usize)]) -> String {
        ranges.sort_unstable_by(|a, b| buf[a.0..a.1].cmp(&buf[b.0..b.1]));
        let mut ctx = digest::Context::new(self.alg.algorithm());
        for &(a, b) in ranges.iter() {
            ctx.update(&buf[a..b]);
        }
        to_hex(ctx.finish().as_ref())
    }

    fn spend(&mut self) -> Result<()> {
        if self.work_left == 0 {
            return Err(JsonLdError::limit(
                "canonicalization work limit exceeded",
                "blank node structure needs too many permutations (possible poison graph)",
            ));
        }
        self.work_left -= 1;
        Ok(())
    }

    /// Hash First Degree Quads (RDFC-1.0 §4.6).
    fn hash_first_degree(&mut self, id: u32) -> String {
        if let Some(h) = &self.first_degree[id as usize] {
            return h.clone();
        }
        let mut buf = Vec::with_capacity(256);
        let mut ranges = Vec::with_capacity(self.blank_quads[id as usize].len());
        for &qi in &self.blank_quads[id as usize] {
            let start = buf.len();
            self.write_line(&mut buf, &self.quads[qi as usize], &|b, o| {
                o.extend_from_slice(if b == id { b"_:a" } else { b"_:z" })
            });
            ranges.push((start, buf.len()));
        }
        let h = self.hash_sorted_lines(&buf, &mut ranges);
        self.first_degree[id as usize] = Some(h.clone());
        h
    }

    /// Hash Related Blank Node (RDFC-1.0 §4.7).
    fn hash_related(&mut self, related: u32, pred: Piece, issuer: &Issuer, position: u8) -> String {
        let mut input = String::with_capacity(128);
        input.push(position as char);
        if position != b'g' {
            input.push_str(std::str::from_utf8(self.slice(pred)).unwrap_or(""));
        }
        if let Some(c) = self.canonical.get(related) {
            push_id(&mut input, "c14n", c);
        } else if let Some(c) = issuer.get(related) {
            push_id(&mut input, "b", c);
        } else {
            let h = self.hash_first_degree(related);
            input.push_str(&h);
        }
        self.alg.hex(input.as_bytes())
    }

    /// Hash N-Degree Quads (RDFC-1.0 §4.8), with the work budget.
    fn hash_n_degree(
        &mut self,
        id: u32,
        mut issuer: Issuer,
        depth: usize,
    ) -> Result<(String, Issuer)> {
        self.spend()?;
        // Each level is a native stack frame: a long chain of look-alike
        // blank nodes must not exhaust the thread's stack.
        if depth > MAX_DEPTH {
            return Err(JsonLdError::limit(
                "canonicalization work limit exceeded",
                format!("blank node paths deeper than {MAX_DEPTH}"),
            ));
        }
        let mut related_by_hash: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let quad_ids = self.blank_quads[id as usize].clone();
        for qi in quad_ids {
            let q = self.quads[qi as usize];
            for (pos, ch) in [(0, b's'), (2, b'o'), (3, b'g')] {
                if let Piece::Blank(b) = q[pos] {
                    if b != id {
                        let h = self.hash_related(b, q[1], &issuer, ch);
                        related_by_hash.entry(h).or_default().push(b);
                    }
                }
            }
        }
        let mut data = String::new();
        for (related_hash, mut list) in related_by_hash {
            data.push_str(&related_hash);
            let mut chosen_path = String::new();
            let mut chosen_issuer: Option<Issuer> = None;
            list.sort_unstable_by(|a, b| {
                self.ds.labels[*a as usize].cmp(&self.ds.labels[*b as usize])
            });
            let mut perm: Vec<usize> = (0..list.len()).collect();
            loop {
                self.spend()?;
                let mut issuer_copy = issuer.clone();
                let mut path = String::new();
                let mut recursion = Vec::new();
                let mut skip = false;
                for &pi in &perm {
                    let related = list[pi];
                    if let Some(c) = self.canonical.get(related) {
                        push_id(&mut path, "c14n", c);
                    } else {
                        if issuer_copy.get(related).is_none() {
                            recursion.push(related);
                        }
                        let n = issuer_copy.issue(related);
                        push_id(&mut path, "b", n);
                    }
                    if !chosen_path.is_empty()
                        && path.len() >= chosen_path.len()
                        && path > chosen_path
                    {
                        skip = true;
                        break;
                    }
                }
                if !skip {
                    for related in recursion {
                        let (h, new_issuer) =
                            self.hash_n_degree(related, issuer_copy.clone(), depth + 1)?;
                        issuer_copy = new_issuer;
                        let n = issuer_copy.issue(related);
                        push_id(&mut path, "b", n);
                        path.push('<');
                        path.push_str(&h);
                        path.push('>');
                        if !chosen_path.is_empty()
                            && path.len() >= chosen_path.len()
                            && path > chosen_path
                        {
                            skip = true;
                            break;
                        }
                    }
                }
                if !skip && (chosen_path.is_empty() || path < chosen_path) {
                    chosen_path = path;
                    chosen_issuer = Some(issuer_copy);
                }
                if !next_permutation(&mut perm) {
                    break;
                }
            }
            data.push_str(&chosen_path);
            if let Some(i) = chosen_issuer {
                issuer = i;
            }
        }
        Ok((self.alg.hex(data.as_bytes()), issuer))
    }
}

/// Orders pieces of different kinds (only consistency matters).
fn piece_rank(p: Piece) -> u8 {
    match p {
        Piece::Absent => 0,
        Piece::Blank(_) => 1,
        Piece::Const(..) => 2,
    }
}

/// Advances to the next lexicographic permutation; false after the last.
fn next_permutation(v: &mut [usize]) -> bool {
    if v.len() < 2 {
        return false;
    }
    let mut i = v.len() - 1;
    while i > 0 && v[i - 1] >= v[i] {
        i -= 1;
    }
    if i == 0 {
        return false;
    }
    let mut j = v.len() - 1;
    while v[j] <= v[i - 1] {
        j -= 1;
    }
    v.swap(i - 1, j);
    v[i..].reverse();
    true
}

/// The result of canonicalization: the canonical N-Quads and the map from
/// input blank node labels to canonical ones, in issue order.
pub struct Canonical {
    pub nquads: String,
    pub issued: Vec<(String, String)>,
}

/// True if two quads may be equal. A fast, weak hash is enough: a collision
/// only sends the input through the sort that settles it exactly.
fn has_duplicates(st: &State<'_>, quads: &[[Piece; 4]]) -> bool {
    let mut hashes = Vec::with_capacity(quads.len());
    for q in quads {
        let mut h: u64 = 0;
        let mut mix = |x: u64| h = (h.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
        for &p in q {
            match p {
                Piece::Const(..) => {
                    let b = st.slice(p);
                    let mut chunks = b.chunks_exact(8);
                    for c in &mut chunks {
                        mix(u64::from_le_bytes(c.try_into().expect("8 bytes")));
                    }
                    for &c in chunks.remainder() {
                        mix(c as u64);
                    }
                    mix(b.len() as u64);
                }
                Piece::Blank(b) => mix(0x1_0000_0000 | b as u64),
                Piece::Absent => mix(0x2_0000_0000),
            }
        }
        hashes.push(h);
    }
    hashes.sort_unstable();
    hashes.windows(2).any(|w| w[0] == w[1])
}

/// Canonicalizes a dataset; duplicate quads count once.
pub fn canonicalize(ds: &Dataset, alg: HashAlgorithm, max_work: u64) -> Result<Canonical> {
    let n_blanks = ds.labels.len();
    let mut quads = ds.quads.clone();
    let mut st = State {
        ds,
        quads: Vec::new(),
        blank_quads: vec![Vec::new(); n_blanks],
        first_degree: vec![None; n_blanks],
        canonical: Issuer::new(n_blanks),
        alg,
        work_left: max_work,
    };
    // A dataset is a set. Duplicates are rare (a node written twice), so
    // they are looked for cheaply first and only then removed by sorting.
    if has_duplicates(&st, &quads) {
        quads.sort_unstable_by(|a, b| {
            (0..4)
                .map(|i| st.cmp_piece(a[i], b[i]))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        // Equal terms may sit at different places of the buffer: compare text.
        quads.dedup_by(|a, b| (0..4).all(|i| st.cmp_piece(a[i], b[i]) == Ordering::Equal));
    }
    st.quads = quads;
    // Step 2: blank node to quads map.
    for (i, q) in st.quads.iter().enumerate() {
        for p in [q[0], q[2], q[3]] {
            if let Piece::Blank(b) = p {
                let v = &mut st.blank_quads[b as usize];
                if v.last() != Some(&(i as u32)) {
                    v.push(i as u32);
                }
            }
        }
    }
    // Step 3: first degree hashes, grouped by hash in code point order.
    let mut by_hash: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for b in 0..n_blanks as u32 {
        let h = st.hash_first_degree(b);
        by_hash.entry(h).or_default().push(b);
    }
    // Step 4: unique hashes get canonical identifiers first.
    let mut shared = Vec::new();
    for (_h, list) in by_hash {
        if list.len() == 1 {
            st.canonical.issue(list[0]);
        } else {
            shared.push(list);
        }
    }
    // Step 5: the rest, through Hash N-Degree Quads.
    for mut list in shared {
        list.sort_unstable_by(|a, b| st.ds.labels[*a as usize].cmp(&st.ds.labels[*b as usize]));
        let mut paths = Vec::new();
        for id in list {
            if st.canonical.get(id).is_some() {
                continue;
            }
            let mut temp = Issuer::new(n_blanks);
            temp.issue(id);
            paths.push(st.hash_n_degree(id, temp, 0)?);
        }
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        for (_h, issuer) in paths {
            for &existing in &issuer.order {
                st.canonical.issue(existing);
            }
        }
    }
    // Step 6: relabel, serialize, sort.
    let mut buf: Vec<u8> = Vec::with_capacity(ds.text.len() + st.quads.len() * 40);
    let mut ranges = Vec::with_capacity(st.quads.len());
    let canonical = &st.canonical;
    // Each label is formatted once, not at every occurrence.
    let labels: Vec<String> = (0..n_blanks as u32)
        .map(|b| format!("_:c14n{}", canonical.get(b).unwrap_or(0)))
        .collect();
    for q in &st.quads {
        let start = buf.len();
        st.write_line(&mut buf, q, &|b, o| {
            o.extend_from_slice(labels[b as usize].as_bytes())
        });
        ranges.push((start, buf.len()));
    }
    ranges.sort_unstable_by(|a, b| buf[a.0..a.1].cmp(&buf[b.0..b.1]));
    let mut out = Vec::with_capacity(buf.len());
    for &(a, b) in &ranges {
        out.extend_from_slice(&buf[a..b]);
    }
    let nquads = String::from_utf8(out).expect("built from UTF-8 pieces");
    let issued = canonical
        .order
        .iter()
        .map(|&b| {
            (
                st.ds.labels[b as usize].clone(),
                format!("c14n{}", canonical.get(b).unwrap_or(0)),
            )
        })
        .collect();
    Ok(Canonical { nquads, issued })
}
