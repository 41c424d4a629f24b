//! Deserialize JSON-LD to RDF (API §8.1) straight from the expanded form.
//!
//! The spec first builds a node map; here each node object emits its own
//! triples while walking the expanded tree, which yields the same dataset
//! (quads are a set, so a node met twice adds nothing new) without building
//! and merging maps. Blank node labels are reissued as `b0`, `b1`... so that
//! labels from the document cannot collide with generated ones.

use std::collections::HashMap;
use std::sync::Arc;

use super::error::{err, Result};
use super::expanded::{Ex, NodeId, NodeObj, Scalar, Str, ValueObj};
use super::iri;
use super::nquads::{Quad, Term, RDF_LANGSTRING, XSD_STRING};

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const RDF_FIRST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first";
const RDF_REST: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest";
const RDF_NIL: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil";
const XSD_BOOLEAN: &str = "http://www.w3.org/2001/XMLSchema#boolean";
const XSD_INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";
const XSD_DOUBLE: &str = "http://www.w3.org/2001/XMLSchema#double";

/// The state of one toRdf run.
pub struct ToRdf {
    pub quads: Vec<Quad>,
    blanks: HashMap<String, Arc<str>>,
    counter: usize,
    /// The @index of each node seen with one, per graph, to detect conflicts.
    indexes: HashMap<(Option<Term>, String), String>,
    pub max_quads: usize,
    rdf_type: Arc<str>,
    rdf_first: Arc<str>,
    rdf_rest: Arc<str>,
    rdf_nil: Arc<str>,
}

impl ToRdf {
    pub fn new(max_quads: usize) -> Self {
        ToRdf {
            quads: Vec::new(),
            blanks: HashMap::new(),
            counter: 0,
            indexes: HashMap::new(),
            max_quads,
            rdf_type: RDF_TYPE.into(),
            rdf_first: RDF_FIRST.into(),
            rdf_rest: RDF_REST.into(),
            rdf_nil: RDF_NIL.into(),
        }
    }

    fn fresh(&mut self) -> Arc<str> {
        let b = format!("b{}", self.counter);
        self.counter += 1;
        b.into()
    }

    fn relabel(&mut self, label: &str) -> Arc<str> {
        if let Some(b) = self.blanks.get(label) {
            return b.clone();
        }
        let b = self.fresh();
        self.blanks.insert(label.to_string(), b.clone());
        b
    }

    /// A term for a node identifier; `None` when it is not a usable IRI.
    fn id_term(&mut self, id: &str) -> Option<Term> {
        if let Some(l) = id.strip_prefix("_:") {
            Some(Term::Blank(self.relabel(l)))
        } else if iri::is_well_formed(id) {
            Some(Term::Iri(id.into()))
        } else {
            None
        }
    }

    fn emit(&mut self, s: &Term, p: &Arc<str>, o: Term, g: &Option<Term>) -> Result<()> {
        if self.quads.len() >= self.max_quads {
            return Err(super::error::JsonLdError::limit(
                "too many quads",
                format!("the document yields more than {} quads", self.max_quads),
            ));
        }
        self.quads.push(Quad {
            subject: s.clone(),
            predicate: Term::Iri(p.clone()),
            object: o,
            graph: g.clone(),
        });
        Ok(())
    }

    /// Emits the triples of every top-level element of an expanded document.
    pub fn document(&mut self, expanded: &[Ex<'_>]) -> Result<()> {
        for item in expanded {
            if let Ex::Node(n) = item {
                self.node(n, &None)?;
            }
        }
        Ok(())
    }

    /// Emits a node object's triples in graph `g`; returns its subject term.
    fn node(&mut self, n: &NodeObj<'_>, g: &Option<Term>) -> Result<Option<Term>> {
        let subject = match &n.id {
            NodeId::Iri(id) => self.id_term(id),
            NodeId::Null => None,
            NodeId::Absent => Some(Term::Blank(self.fresh())),
        };
        if let (Some(ix), NodeId::Iri(id)) = (n.index, &n.id) {
            let key = (g.clone(), id.to_string());
            match self.indexes.get(&key) {
                Some(prev) if prev != ix => return err("conflicting indexes", id.to_string()),
                Some(_) => {}
                None => {
                    self.indexes.insert(key, ix.to_string());
                }
            }
        }
        for t in n.types.iter().flatten() {
            if let (Some(s), Some(o)) = (&subject, self.id_term(t)) {
                let p = self.rdf_type.clone();
                self.emit(s, &p, o, g)?;
            }
        }
        for (p, items) in n.reverse.iter().flatten() {
            let pred = self.predicate(p);
            for item in items {
                let Ex::Node(child) = item else { continue };
                let child = self.node(child, g)?;
                if let (Some(s), Some(c), Some(p)) = (&subject, child, &pred) {
                    self.emit(&c, p, s.clone(), g)?;
                }
            }
        }
        // A graph whose name is not a usable IRI is dropped whole.
        if let (Some(items), Some(_)) = (&n.graph, &subject) {
            for item in items {
                if let Ex::Node(child) = item {
                    self.node(child, &subject)?;
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
                if let (Some(s), Some(p), Some(o)) = (&subject, &pred, o) {
                    self.emit(s, p, o, g)?;
                }
            }
        }
        Ok(subject)
    }

    /// A property IRI usable as a predicate (blank nodes would be generalized RDF).
    fn predicate(&self, p: &Str<'_>) -> Option<Arc<str>> {
        if p.starts_with("_:") || !iri::is_well_formed(p) {
            None
        } else {
            Some(p.to_arc())
        }
    }

    /// Object to RDF (API §8.1.3) plus the triples of nested nodes.
    fn object(&mut self, item: &Ex<'_>, g: &Option<Term>) -> Result<Option<Term>> {
        match item {
            Ex::Value(v) => Ok(literal(v)),
            Ex::List(items, _) => self.list(items, g).map(Some),
            Ex::Node(n) => self.node(n, g),
        }
    }

    /// List to RDF (API §8.1.4).
    fn list(&mut self, items: &[Ex<'_>], g: &Option<Term>) -> Result<Term> {
        if items.is_empty() {
            return Ok(Term::Iri(self.rdf_nil.clone()));
        }
        let nodes: Vec<Term> = (0..items.len())
            .map(|_| Term::Blank(self.fresh()))
            .collect();
        let (first, rest_p) = (self.rdf_first.clone(), self.rdf_rest.clone());
        for (i, item) in items.iter().enumerate() {
            if let Some(o) = self.object(item, g)? {
                self.emit(&nodes[i], &first, o, g)?;
            }
            let rest = nodes
                .get(i + 1)
                .cloned()
                .unwrap_or_else(|| Term::Iri(self.rdf_nil.clone()));
            self.emit(&nodes[i], &rest_p, rest, g)?;
        }
        Ok(nodes[0].clone())
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

/// The literal for a value object; `None` when it cannot be one.
fn literal(v: &ValueObj<'_>) -> Option<Term> {
    let dt = v.datatype.as_deref();
    if let Some(d) = dt {
        if !iri::is_well_formed(d) {
            return None;
        }
    }
    let (value, datatype): (Arc<str>, &str) = match v.value {
        Scalar::Bool(b) => (
            if b { "true" } else { "false" }.into(),
            dt.unwrap_or(XSD_BOOLEAN),
        ),
        Scalar::Num(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            let integral = n.is_i64() || n.is_u64() || (f.fract() == 0.0 && f.abs() < 1e21);
            if !integral || dt == Some(XSD_DOUBLE) {
                (double_form(f).into(), dt.unwrap_or(XSD_DOUBLE))
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
                (s.into(), dt.unwrap_or(XSD_INTEGER))
            }
        }
        Scalar::Str(s) => {
            if let Some(l) = &v.language {
                if !iri::is_language_tag(l) {
                    return None;
                }
                return Some(Term::Literal {
                    value: s.into(),
                    datatype: RDF_LANGSTRING.into(),
                    language: Some(l.to_arc()),
                });
            }
            (s.into(), dt.unwrap_or(XSD_STRING))
        }
        // JSON literals (rdf:JSON) are outside what this module supports.
        Scalar::Json(_) => return None,
    };
    let datatype: Arc<str> = match &v.datatype {
        Some(d) => d.to_arc(),
        None => datatype.into(),
    };
    Some(Term::Literal {
        value,
        datatype,
        language: None,
    })
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
