//! Deserialize JSON-LD to RDF (API §8.1) straight from the expanded form.
//!
//! The spec first builds a node map; here each node object emits its own
//! triples while walking the expanded tree, which yields the same dataset
//! (quads are a set, so a node met twice adds nothing new) without building
//! and merging maps. Blank node labels are reissued as `b0`, `b1`... so that
//! labels from the document cannot collide with generated ones.

use std::collections::HashMap;

use super::dataset::{Dataset, Piece};
use super::error::{err, Result};
use super::expanded::{Ex, NodeId, NodeObj, Scalar, Str, ValueObj};
use super::iri;
use super::nquads::{RDF_LANGSTRING, XSD_STRING};

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const RDF_FIRST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first";
const RDF_REST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest";
const RDF_NIL: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil";
const XSD_BOOLEAN: &str = "http://www.w3.org/2001/XMLSchema#boolean";
const XSD_INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";
const XSD_DOUBLE: &str = "http://www.w3.org/2001/XMLSchema#double";

/// The state of one toRdf run.
pub struct ToRdf {
    pub ds: Dataset,
    blanks: HashMap<String, Piece>,
    /// The @index of each node seen with one, per graph, to detect conflicts.
    indexes: HashMap<(String, String), String>,
    pub max_quads: usize,
    rdf_type: Piece,
    rdf_first: Piece,
    rdf_rest: Piece,
    rdf_nil: Piece,
}

impl ToRdf {
    pub fn new(max_quads: usize) -> Self {
        let mut ds = Dataset::new();
        let rdf_type = ds.iri(RDF_TYPE);
        let rdf_first = ds.iri(RDF_FIRST);
        let rdf_rest = ds.iri(RDF_REST);
        let rdf_nil = ds.iri(RDF_NIL);
        ToRdf {
            ds,
            blanks: HashMap::new(),
            indexes: HashMap::new(),
            max_quads,
            rdf_type,
            rdf_first,
            rdf_rest,
            rdf_nil,
        }
    }

    fn fresh(&mut self) -> Piece {
        let label = format!("b{}", self.ds.labels.len());
        self.ds.blank(label)
    }

    fn relabel(&mut self, label: &str) -> Piece {
        if let Some(b) = self.blanks.get(label) {
            return *b;
        }
        let b = self.fresh();
        self.blanks.insert(label.to_string(), b);
        b
    }

    /// A term for a node identifier; `None` when it is not a usable IRI.
    fn id_term(&mut self, id: &str) -> Option<Piece> {
        if let Some(l) = id.strip_prefix("_:") {
            Some(self.relabel(l))
        } else if iri::is_well_formed(id) {
            Some(self.ds.iri(id))
        } else {
            None
        }
    }

    fn emit(&mut self, s: Piece, p: Piece, o: Piece, g: Piece) -> Result<()> {
        if self.ds.quads.len() >= self.max_quads {
            return Err(super::error::JsonLdError::limit(
                "too many quads",
                format!("the document yields more than {} quads", self.max_quads),
            ));
        }
        self.ds.quads.push([s, p, o, g]);
        Ok(())
    }

    /// Emits the triples of every top-level element of an expanded document.
    pub fn document(&mut self, expanded: &[Ex<'_>]) -> Result<()> {
        for item in expanded {
            if let Ex::Node(n) = item {
                self.node(n, Piece::Absent)?;
            }
        }
        Ok(())
    }

    /// Emits a node object's triples in graph `g`; returns its subject term.
    fn node(&mut self, n: &NodeObj<'_>, g: Piece) -> Result<Option<Piece>> {
        let subject = match &n.id {
            NodeId::Iri(id) => self.id_term(id),
            NodeId::Null => None,
            NodeId::Absent => Some(self.fresh()),
        };
        if let (Some(ix), NodeId::Iri(id)) = (n.index, &n.id) {
            // Graphs are compared by their text, not by where it was written.
            let graph = match g {
                Piece::Const(..) => String::from_utf8_lossy(self.ds.slice(g)).into_owned(),
                Piece::Blank(b) => format!("_:{b}"),
                Piece::Absent => String::new(),
            };
            let key = (graph, id.to_string());
            match self.indexes.get(&key) {
                Some(prev) if prev != ix => return err("conflicting indexes", id.to_string()),
                Some(_) => {}
                None => {
                    self.indexes.insert(key, ix.to_string());
                }
            }
        }
        for t in n.types.iter().flatten() {
            if let Some(s) = subject {
                if let Some(o) = self.id_term(t) {
                    self.emit(s, self.rdf_type, o, g)?;
                }
            }
        }
        for (p, items) in n.reverse.iter().flatten() {
            let pred = self.predicate(p);
            for item in items {
                let Ex::Node(child) = item else { continue };
                let child = self.node(child, g)?;
                if let (Some(s), Some(c), Some(p)) = (subject, child, pred) {
                    self.emit(c, p, s, g)?;
                }
            }
        }
        // A graph whose name is not a usable IRI is dropped whole.
        if let (Some(items), Some(name)) = (&n.graph, subject) {
            for item in items {
                if let Ex::Node(child) = item {
                    self.node(child, name)?;
                }
            }
        }
        for item in n.included.iter().flatten() {
            if let Ex::Node(child) = item {
                self.node(child, g)?;
            }
        }
        for (p, items) in &n.props {
            let pred = self.predicate(p);
            for item in items {
                let o = self.object(item, g)?;
                if let (Some(s), Some(p), Some(o)) = (subject, pred, o) {
                    self.emit(s, p, o, g)?;
                }
            }
        }
        Ok(subject)
    }

    /// A property IRI usable as a predicate (blank nodes would be generalized RDF).
    fn predicate(&mut self, p: &Str<'_>) -> Option<Piece> {
        if p.starts_with("_:") || !iri::is_well_formed(p) {
            None
        } else {
            Some(self.ds.iri(p))
        }
    }

    /// Object to RDF (API §8.1.3) plus the triples of nested nodes.
    fn object(&mut self, item: &Ex<'_>, g: Piece) -> Result<Option<Piece>> {
        match item {
            Ex::Value(v) => Ok(self.literal(v)),
            Ex::List(items, _) => self.list(items, g).map(Some),
            Ex::Node(n) => self.node(n, g),
        }
    }

    /// List to RDF (API §8.1.4).
    fn list(&mut self, items: &[Ex<'_>], g: Piece) -> Result<Piece> {
        if items.is_empty() {
            return Ok(self.rdf_nil);
        }
        let nodes: Vec<Piece> = (0..items.len()).map(|_| self.fresh()).collect();
        for (i, item) in items.iter().enumerate() {
            if let Some(o) = self.object(item, g)? {
                self.emit(nodes[i], self.rdf_first, o, g)?;
            }
            let rest = nodes.get(i + 1).copied().unwrap_or(self.rdf_nil);
            self.emit(nodes[i], self.rdf_rest, rest, g)?;
        }
        Ok(nodes[0])
    }

    /// The literal for a value object; `None` when it cannot be one.
    fn literal(&mut self, v: &ValueObj<'_>) -> Option<Piece> {
        let dt = v.datatype.as_deref();
        if let Some(d) = dt {
            if !iri::is_well_formed(d) {
                return None;
            }
        }
        match v.value {
            Scalar::Bool(b) => {
                let text = if b { "true" } else { "false" };
                Some(self.ds.literal(text, dt.unwrap_or(XSD_BOOLEAN), None))
            }
            Scalar::Num(n) => {
                let f = n.as_f64().unwrap_or(0.0);
                let integral = n.is_i64() || n.is_u64() || (f.fract() == 0.0 && f.abs() < 1e21);
                if !integral || dt == Some(XSD_DOUBLE) {
                    Some(
                        self.ds
                            .literal(&double_form(f), dt.unwrap_or(XSD_DOUBLE), None),
                    )
                } else {
                    let s = if f == 0.0 {
                        // -0 is the integer 0.
                        "0".to_string()
                    } else if let Some(i) = n.as_i64() {
                        i.to_string()
                    } else if let Some(u) = n.as_u64() {
                        u.to_string()
                    } else {
                        format!("{f:.0}")
                    };
                    Some(self.ds.literal(&s, dt.unwrap_or(XSD_INTEGER), None))
                }
            }
            Scalar::Str(s) => {
                if let Some(l) = &v.language {
                    if !iri::is_language_tag(l) {
                        return None;
                    }
                    return Some(self.ds.literal(s, RDF_LANGSTRING, Some(l)));
                }
                Some(self.ds.literal(s, dt.unwrap_or(XSD_STRING), None))
            }
            // JSON literals (rdf:JSON) are outside what this module supports.
            Scalar::Json(_) => None,
        }
    }
}

/// The canonical lexical form of an xsd:double, as JSON-LD defines it
/// (`1.1E0`, `-5.0E-1`): one leading digit, no exponent sign or zeros.
pub fn double_form(v: f64) -> String {
    let s = format!("{v:.15E}");
    let (mantissa, exp) = s.split_once('E').expect("exponent");
    let mantissa = mantissa.trim_end_matches('0');
    let mantissa = if mantissa.ends_with('.') {
        format!("{mantissa}0")
    } else {
        mantissa.to_string()
    };
    format!("{mantissa}E{exp}")
}

#[cfg(test)]
mod tests {
    use super::double_form;

    #[test]
    fn doubles() {
        assert_eq!(double_form(1.1), "1.1E0");
        assert_eq!(double_form(10.0), "1.0E1");
        assert_eq!(double_form(-0.5), "-5.0E-1");
        assert_eq!(double_form(1.23e21), "1.23E21");
    }
}
