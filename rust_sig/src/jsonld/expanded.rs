//! The expanded form of a JSON-LD document as typed values rather than JSON
//! maps: node, value and list objects, borrowing strings from the input
//! document and sharing term IRIs with the active context. It carries exactly
//! what toRdf reads, and building it costs a fraction of a `serde_json` tree.

use std::ops::Deref;
use std::sync::Arc;

use serde_json::{Number, Value};

/// A string borrowed from the document, shared with a context, or owned.
#[derive(Clone, Debug)]
pub enum Str<'a> {
    Borrowed(&'a str),
    Shared(Arc<str>),
    Owned(String),
}

impl Deref for Str<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Str::Borrowed(s) => s,
            Str::Shared(s) => s,
            Str::Owned(s) => s,
        }
    }
}

impl PartialEq<str> for Str<'_> {
    fn eq(&self, other: &str) -> bool {
        &**self == other
    }
}

/// The `@value` of a value object.
#[derive(Clone, Copy, Debug)]
pub enum Scalar<'a> {
    Str(&'a str),
    Num(&'a Number),
    Bool(bool),
    /// The whole value of a JSON literal (`@type: @json`); kept for its
    /// validation, though toRdf does not emit rdf:JSON literals.
    #[allow(dead_code)]
    Json(&'a Value),
}

/// A value object.
#[derive(Clone, Debug)]
pub struct ValueObj<'a> {
    pub value: Scalar<'a>,
    pub datatype: Option<Str<'a>>,
    pub language: Option<Str<'a>>,
    pub index: Option<&'a str>,
}

/// The identifier of a node object.
#[derive(Clone, Debug)]
pub enum NodeId<'a> {
    /// No `@id`: a fresh blank node.
    Absent,
    /// `@id` that expanded to null: the node has no usable subject.
    Null,
    Iri(Str<'a>),
}

/// Properties of a node: (expanded IRI, values), in insertion order.
pub type Props<'a> = Vec<(Str<'a>, Vec<Ex<'a>>)>;

/// A node object (graph objects are nodes with `graph`).
#[derive(Clone, Debug)]
pub struct NodeObj<'a> {
    pub id: NodeId<'a>,
    /// `None` items are types that expanded to null.
    pub types: Vec<Option<Str<'a>>>,
    pub props: Props<'a>,
    pub reverse: Option<Props<'a>>,
    pub graph: Option<Vec<Ex<'a>>>,
    pub included: Option<Vec<Ex<'a>>>,
    pub index: Option<&'a str>,
}

impl<'a> NodeObj<'a> {
    pub fn new() -> Self {
        NodeObj {
            id: NodeId::Absent,
            types: Vec::new(),
            props: Vec::new(),
            reverse: None,
            graph: None,
            included: None,
            index: None,
        }
    }

    /// A graph object: `@graph` with at most `@id` and `@index`.
    pub fn is_graph_object(&self) -> bool {
        self.graph.is_some()
            && self.types.is_empty()
            && self.props.is_empty()
            && self.reverse.is_none()
            && self.included.is_none()
    }
}

impl Default for NodeObj<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// One expanded item.
#[derive(Clone, Debug)]
pub enum Ex<'a> {
    Node(Box<NodeObj<'a>>),
    Value(ValueObj<'a>),
    List(Vec<Ex<'a>>, Option<&'a str>),
}

impl Ex<'_> {
    pub fn is_value(&self) -> bool {
        matches!(self, Ex::Value(_))
    }

    pub fn is_list(&self) -> bool {
        matches!(self, Ex::List(..))
    }
}

/// Appends values to a property, merging with an existing entry.
pub fn push_prop<'a>(props: &mut Props<'a>, key: Str<'a>, values: Vec<Ex<'a>>) {
    if let Some((_, v)) = props.iter_mut().find(|(k, _)| **k == *key) {
        v.extend(values);
    } else {
        props.push((key, values));
    }
}
