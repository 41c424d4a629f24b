//! A dataset as serialized terms: every IRI and literal is written once, in
//! its N-Quads form, into one buffer, and a quad is four small `Piece`s. toRdf
//! fills it directly, canonicalization hashes and sorts byte ranges of it,
//! and N-Quads output is plain concatenation.

use std::collections::{HashMap, HashSet};

use super::nquads::{write_literal, write_term, Quad, Term};

/// One position of a quad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Piece {
    /// A serialized IRI or literal: a byte range of the buffer.
    Const(u32, u32),
    /// A blank node, by index into the labels.
    Blank(u32),
    /// No graph name (the default graph).
    Absent,
}

/// Serialized terms and the quads over them.
#[derive(Default)]
pub struct Dataset {
    pub text: String,
    pub quads: Vec<[Piece; 4]>,
    /// Blank node labels (without `_:`), by index.
    pub labels: Vec<String>,
}

impl Dataset {
    pub fn new() -> Self {
        Self::default()
    }

    fn range(&self, start: usize) -> Piece {
        Piece::Const(start as u32, self.text.len() as u32)
    }

    /// Adds an IRI, written `<iri>`.
    pub fn iri(&mut self, iri: &str) -> Piece {
        let start = self.text.len();
        self.text.push('<');
        self.text.push_str(iri);
        self.text.push('>');
        self.range(start)
    }

    /// Adds a literal.
    pub fn literal(&mut self, value: &str, datatype: &str, language: Option<&str>) -> Piece {
        let start = self.text.len();
        write_literal(&mut self.text, value, datatype, language);
        self.range(start)
    }

    /// Adds a new blank node with this label.
    pub fn blank(&mut self, label: String) -> Piece {
        self.labels.push(label);
        Piece::Blank((self.labels.len() - 1) as u32)
    }

    /// The bytes of a serialized term (empty for blank nodes and absence).
    pub fn slice(&self, p: Piece) -> &[u8] {
        match p {
            Piece::Const(a, b) => &self.text.as_bytes()[a as usize..b as usize],
            _ => b"",
        }
    }

    /// Writes a quad as an N-Quads line, blank nodes written by `blank`.
    pub fn write_line(&self, out: &mut Vec<u8>, q: &[Piece; 4], blank: &dyn Fn(u32, &mut Vec<u8>)) {
        for (i, &p) in q.iter().enumerate() {
            if p == Piece::Absent {
                continue;
            }
            if i > 0 {
                out.push(b' ');
            }
            match p {
                Piece::Blank(b) => blank(b, out),
                _ => out.extend_from_slice(self.slice(p)),
            }
        }
        out.extend_from_slice(b" .\n");
    }

    /// N-Quads with the dataset's own labels, each distinct line once.
    pub fn to_nquads(&self) -> String {
        let mut out = Vec::with_capacity(self.text.len() + self.quads.len() * 8);
        let mut seen = HashSet::with_capacity(self.quads.len());
        let mut line = Vec::new();
        for q in &self.quads {
            line.clear();
            self.write_line(&mut line, q, &|b, o| {
                o.extend_from_slice(b"_:");
                o.extend_from_slice(self.labels[b as usize].as_bytes());
            });
            if seen.insert(line.clone()) {
                out.extend_from_slice(&line);
            }
        }
        String::from_utf8(out).expect("built from UTF-8 pieces")
    }

    /// A dataset from parsed quads (blank nodes keep their labels).
    pub fn from_quads(input: &[Quad]) -> Dataset {
        let mut ds = Dataset {
            text: String::with_capacity(input.len() * 80),
            quads: Vec::with_capacity(input.len()),
            labels: Vec::new(),
        };
        let mut ids: HashMap<&str, u32> = HashMap::new();
        for q in input {
            let terms = [
                Some(&q.subject),
                Some(&q.predicate),
                Some(&q.object),
                q.graph.as_ref(),
            ];
            let mut out = [Piece::Absent; 4];
            for (i, t) in terms.into_iter().enumerate() {
                out[i] = match t {
                    None => Piece::Absent,
                    Some(Term::Blank(b)) => {
                        let n = *ids.entry(b.as_ref()).or_insert_with(|| {
                            ds.labels.push(b.to_string());
                            (ds.labels.len() - 1) as u32
                        });
                        Piece::Blank(n)
                    }
                    Some(t) => {
                        let start = ds.text.len();
                        write_term(&mut ds.text, t, &|_, _| {});
                        ds.range(start)
                    }
                };
            }
            ds.quads.push(out);
        }
        ds
    }
}
