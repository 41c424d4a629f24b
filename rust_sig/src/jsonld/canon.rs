//! RDF Dataset Canonicalization (RDFC-1.0, W3C Recommendation 2024), the
//! successor of URDNA2015 with identical output for SHA-256.
//!
//! The only departure from the algorithm text is a work budget: Hash N-Degree
//! Quads is exponential on crafted graphs ("poison" cliques), so every call and
//! every permutation tried costs one unit and running out is an error.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256, Sha384};

use super::error::{JsonLdError, Result};
use super::nquads::{write_quad, Quad, Term};

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

    fn hex(self, data: &[u8]) -> String {
        match self {
            HashAlgorithm::Sha256 => to_hex(&Sha256::digest(data)),
            HashAlgorithm::Sha384 => to_hex(&Sha384::digest(data)),
        }
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
/// the W3C suite need, low enough that a poison graph fails in milliseconds.
pub const DEFAULT_MAX_WORK: u64 = 20_000;

/// An identifier issuer: hands out `prefix0`, `prefix1`... in order.
#[derive(Clone, Debug)]
struct Issuer {
    prefix: &'static str,
    map: HashMap<String, String>,
    order: Vec<String>,
}

impl Issuer {
    fn new(prefix: &'static str) -> Self {
        Issuer {
            prefix,
            map: HashMap::new(),
            order: Vec::new(),
        }
    }

    fn get(&self, id: &str) -> Option<&str> {
        self.map.get(id).map(|s| s.as_str())
    }

    fn issue(&mut self, id: &str) -> String {
        if let Some(v) = self.map.get(id) {
            return v.clone();
        }
        let v = format!("{}{}", self.prefix, self.order.len());
        self.map.insert(id.to_string(), v.clone());
        self.order.push(id.to_string());
        v
    }
}

/// The state of one canonicalization run.
struct State<'a> {
    quads: &'a [Quad],
    alg: HashAlgorithm,
    blank_quads: HashMap<&'a str, Vec<usize>>,
    first_degree: HashMap<&'a str, String>,
    canonical: Issuer,
    work_left: u64,
}

fn blanks_of(q: &Quad) -> impl Iterator<Item = &str> {
    [Some(&q.subject), Some(&q.object), q.graph.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|t| match t {
            Term::Blank(b) => Some(b.as_str()),
            _ => None,
        })
}

impl<'a> State<'a> {
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
    fn hash_first_degree(&mut self, id: &'a str) -> String {
        if let Some(h) = self.first_degree.get(id) {
            return h.clone();
        }
        let mut lines: Vec<String> = self.blank_quads[id]
            .iter()
            .map(|&i| {
                let mut s = String::new();
                write_quad(&mut s, &self.quads[i], &|b, o| {
                    o.push(if b == id { 'a' } else { 'z' })
                });
                s
            })
            .collect();
        lines.sort_unstable();
        let h = self.alg.hex(lines.concat().as_bytes());
        self.first_degree.insert(id, h.clone());
        h
    }

    /// Hash Related Blank Node (RDFC-1.0 §4.7).
    fn hash_related(
        &mut self,
        related: &'a str,
        q: &Quad,
        issuer: &Issuer,
        position: char,
    ) -> String {
        let mut input = String::new();
        input.push(position);
        if position != 'g' {
            if let Term::Iri(p) = &q.predicate {
                input.push('<');
                input.push_str(p);
                input.push('>');
            }
        }
        if let Some(c) = self.canonical.get(related) {
            input.push_str("_:");
            input.push_str(c);
        } else if let Some(c) = issuer.get(related) {
            input.push_str("_:");
            input.push_str(c);
        } else {
            let h = self.hash_first_degree(related);
            input.push_str(&h);
        }
        self.alg.hex(input.as_bytes())
    }

    /// Hash N-Degree Quads (RDFC-1.0 §4.8), with the work budget.
    fn hash_n_degree(&mut self, id: &'a str, mut issuer: Issuer) -> Result<(String, Issuer)> {
        self.spend()?;
        let mut related_by_hash: BTreeMap<String, Vec<&'a str>> = BTreeMap::new();
        let quads = self.quads;
        for &qi in &self.blank_quads[id].clone() {
            let q = &quads[qi];
            let parts = [(&q.subject, 's'), (&q.object, 'o')];
            for (t, pos) in parts.into_iter().chain(q.graph.as_ref().map(|g| (g, 'g'))) {
                if let Term::Blank(b) = t {
                    if b != id {
                        let h = self.hash_related(b, q, &issuer, pos);
                        related_by_hash.entry(h).or_default().push(b.as_str());
                    }
                }
            }
        }
        let mut data = String::new();
        for (related_hash, mut list) in related_by_hash {
            data.push_str(&related_hash);
            let mut chosen_path = String::new();
            let mut chosen_issuer: Option<Issuer> = None;
            list.sort_unstable();
            // Every permutation of the list, in lexicographic order.
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
                        path.push_str("_:");
                        path.push_str(c);
                    } else {
                        if issuer_copy.get(related).is_none() {
                            recursion.push(related);
                        }
                        path.push_str("_:");
                        path.push_str(&issuer_copy.issue(related));
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
                        let (h, new_issuer) = self.hash_n_degree(related, issuer_copy.clone())?;
                        issuer_copy = new_issuer;
                        path.push_str("_:");
                        path.push_str(&issuer_copy.issue(related));
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
/// input blank node labels to canonical ones.
pub struct Canonical {
    pub nquads: String,
    pub issued: Vec<(String, String)>,
}

/// Canonicalizes a dataset (the quads must be distinct).
pub fn canonicalize(quads: &[Quad], alg: HashAlgorithm, max_work: u64) -> Result<Canonical> {
    let mut st = State {
        quads,
        alg,
        blank_quads: HashMap::new(),
        first_degree: HashMap::new(),
        canonical: Issuer::new("c14n"),
        work_left: max_work,
    };
    // Step 2: blank node to quads map.
    for (i, q) in quads.iter().enumerate() {
        for b in blanks_of(q) {
            let v = st.blank_quads.entry(b).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }
    // Step 3: first degree hashes, grouped by hash in code point order.
    let mut ids: Vec<&str> = st.blank_quads.keys().copied().collect();
    ids.sort_unstable();
    let mut by_hash: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for id in ids {
        let h = st.hash_first_degree(id);
        by_hash.entry(h).or_default().push(id);
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
    for list in shared {
        let mut paths = Vec::new();
        for id in list {
            if st.canonical.get(id).is_some() {
                continue;
            }
            let mut temp = Issuer::new("b");
            temp.issue(id);
            paths.push(st.hash_n_degree(id, temp)?);
        }
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        for (_h, issuer) in paths {
            for existing in &issuer.order {
                st.canonical.issue(existing);
            }
        }
    }
    // Step 6: relabel, serialize, sort.
    let canonical = &st.canonical;
    let mut lines: Vec<String> = quads
        .iter()
        .map(|q| {
            let mut s = String::with_capacity(128);
            write_quad(&mut s, q, &|b, o| o.push_str(canonical.get(b).unwrap_or(b)));
            s
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    let issued = canonical
        .order
        .iter()
        .map(|k| (k.clone(), canonical.map[k].clone()))
        .collect();
    Ok(Canonical {
        nquads: lines.concat(),
        issued,
    })
}
