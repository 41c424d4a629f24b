//! The JSON-LD 1.1 Expansion Algorithm (API §5.1) and Value Expansion (§5.3),
//! producing the typed expanded form of `expanded.rs`. Keys are visited in
//! code point order (serde_json maps are sorted), as the spec's `ordered`
//! flag asks; this only affects blank node labels.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use super::context::{
    keyword, ActiveContext, CtxOpts, Processor, TermDef, C_GRAPH, C_ID, C_INDEX, C_LANGUAGE,
    C_LIST, C_TYPE,
};
use super::error::{err, Result};
use super::expanded::{push_prop, Ex, NodeId, NodeObj, Props, Scalar, Str, ValueObj};
use super::iri;

/// Processed top-level contexts, keyed by the context's JSON and the base:
/// Fediverse documents repeat the same few contexts, and processing
/// ActivityStreams afresh costs more than expanding a whole Note.
type CacheEntry = (Option<String>, Value, Arc<ActiveContext>);
static CONTEXT_CACHE: OnceLock<Mutex<HashMap<u64, CacheEntry>>> = OnceLock::new();
const CONTEXT_CACHE_MAX: usize = 256;

/// One step of the fingerprint hash (multiply-rotate, as FxHash).
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// Mixes a string into a fingerprint, eight bytes at a time.
fn fingerprint_str(s: &str, mut h: u64) -> u64 {
    let mut chunks = s.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes(c.try_into().expect("8 bytes")));
    }
    for &c in chunks.remainder() {
        h = mix(h, c as u64);
    }
    mix(h, s.len() as u64)
}

/// A cheap structural hash of a JSON value (not collision resistant); adds
/// the bytes of its strings to `size`.
fn fingerprint(v: &Value, h: u64, size: &mut usize) -> u64 {
    match v {
        Value::Null => mix(h, 1),
        Value::Bool(b) => mix(h, 2 + *b as u64),
        Value::Number(n) => fingerprint_str(&n.to_string(), mix(h, 4)),
        Value::String(s) => {
            *size += s.len();
            fingerprint_str(s, mix(h, 5))
        }
        Value::Array(a) => a.iter().fold(mix(h, 6), |h, x| fingerprint(x, h, size)),
        Value::Object(m) => m.iter().fold(mix(h, 7), |h, (k, x)| {
            *size += k.len();
            fingerprint(x, fingerprint_str(k, h), size)
        }),
    }
}

/// Contexts larger than this (inline text) are not cached: real documents
/// carry a few hundred bytes, and a hostile stream of big ones must not
/// pin memory.
const CONTEXT_CACHE_MAX_BYTES: usize = 16 * 1024;

/// The result of expanding one element: an item or an array of items.
pub enum Exp<'a> {
    One(Ex<'a>),
    Many(Vec<Ex<'a>>),
}

impl<'a> Exp<'a> {
    fn into_vec(self) -> Vec<Ex<'a>> {
        match self {
            Exp::One(e) => vec![e],
            Exp::Many(v) => v,
        }
    }
}

/// The items of an optional expansion result.
fn vec_of(e: Option<Exp<'_>>) -> Vec<Ex<'_>> {
    e.map(Exp::into_vec).unwrap_or_default()
}

/// A language tag, lowercased (borrowed when it already is).
fn lower(s: &str) -> Str<'_> {
    if s.bytes().any(|c| c.is_ascii_uppercase()) || !s.is_ascii() {
        Str::Owned(s.to_lowercase())
    } else {
        Str::Borrowed(s)
    }
}

/// A JSON scalar as a `@value`; `None` for null, arrays and objects.
fn scalar(v: &Value) -> Option<Scalar<'_>> {
    match v {
        Value::String(s) => Some(Scalar::Str(s)),
        Value::Number(n) => Some(Scalar::Num(n)),
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        _ => None,
    }
}

/// IRI Expansion (API §5.2.2) against a finished active context: borrows the
/// input or shares the term's IRI, allocating only for built IRIs.
pub fn expand_iri<'a>(
    active: &ActiveContext,
    value: &'a str,
    document_relative: bool,
    vocab: bool,
) -> Option<Str<'a>> {
    if keyword(value) {
        return Some(Str::Borrowed(value));
    }
    if iri::has_keyword_form(value) {
        return None;
    }
    if let Some(def) = active.term(value) {
        if let Some(i) = &def.iri {
            if keyword(i) {
                return Some(Str::Shared(i.clone()));
            }
        }
        if vocab {
            return def.iri.clone().map(Str::Shared);
        }
    }
    if let Some(c) = value[1.min(value.len())..].find(':').map(|i| i + 1) {
        let prefix = &value[..c];
        let suffix = &value[c + 1..];
        if prefix == "_" || suffix.starts_with("//") {
            return Some(Str::Borrowed(value));
        }
        if let Some(pd) = active.term(prefix) {
            if let (Some(p), true) = (&pd.iri, pd.prefix) {
                return Some(Str::Owned(format!("{p}{suffix}")));
            }
        }
        if iri::is_absolute(value) {
            return Some(Str::Borrowed(value));
        }
    }
    if vocab {
        if let Some(v) = &active.vocab {
            return Some(Str::Owned(format!("{v}{value}")));
        }
    }
    if document_relative {
        if let Some(b) = &active.base {
            return Some(Str::Owned(iri::resolve(b, value)));
        }
    }
    Some(Str::Borrowed(value))
}

/// True if `key` IRI-expands (vocabulary-relative) to the keyword `kw`.
fn expands_to(active: &ActiveContext, key: &str, kw: &str) -> bool {
    expand_iri(active, key, false, true).is_some_and(|e| *e == *kw)
}

/// What the top-level call of the expansion has already done or leaves out.
#[derive(Clone, Copy, Default)]
struct Top<'s> {
    /// The @context entry was processed (and cached) by the caller.
    context_done: bool,
    /// A top-level entry to ignore.
    skip: Option<&'s str>,
}

/// The entries of the result map of Expansion step 13, by keyword.
#[derive(Default)]
struct Res<'a> {
    id: Option<NodeId<'a>>,
    types: Option<Vec<Option<Str<'a>>>>,
    /// `@type` was one string (a value object's datatype must be).
    types_from_string: bool,
    graph: Option<Vec<Ex<'a>>>,
    included: Option<Vec<Ex<'a>>>,
    value: Option<&'a Value>,
    language: Option<Str<'a>>,
    direction: Option<&'a str>,
    index: Option<&'a str>,
    list: Option<Vec<Ex<'a>>>,
    set: Option<Option<Exp<'a>>>,
    reverse: Option<Props<'a>>,
    props: Props<'a>,
}

impl<'a> Res<'a> {
    fn count(&self) -> usize {
        [
            self.id.is_some(),
            self.types.is_some(),
            self.graph.is_some(),
            self.included.is_some(),
            self.value.is_some(),
            self.language.is_some(),
            self.direction.is_some(),
            self.index.is_some(),
            self.list.is_some(),
            self.set.is_some(),
            self.reverse.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count()
            + self.props.len()
    }

    fn has(&self, kw: &str) -> bool {
        match kw {
            "@id" => self.id.is_some(),
            "@graph" => self.graph.is_some(),
            "@value" => self.value.is_some(),
            "@language" => self.language.is_some(),
            "@direction" => self.direction.is_some(),
            "@index" => self.index.is_some(),
            "@list" => self.list.is_some(),
            "@set" => self.set.is_some(),
            "@reverse" => self.reverse.is_some(),
            _ => false,
        }
    }
}

impl Processor<'_> {
    /// Expands a whole document (the top-level call of API §5.1). `skip`
    /// names a top-level entry to leave out, as if absent (the signature of
    /// a signed document, without copying the rest).
    pub fn expand_document<'a>(
        &self,
        doc: &'a Value,
        base: Option<&str>,
        cache: bool,
        skip: Option<&str>,
    ) -> Result<Vec<Ex<'a>>> {
        let mut active = ActiveContext::new(base);
        // Processing the top-level context here lets it be cached; the
        // expansion below is told to skip the @context entry it already saw.
        let r = match doc {
            Value::Object(m) => {
                let has_context = m.contains_key("@context");
                if has_context {
                    active = self.top_context(&active, &m["@context"], base, cache)?;
                }
                let top = Top {
                    context_done: has_context,
                    skip,
                };
                self.expand_map(&active, None, None, m, base, false, top)?
            }
            other => self.expand_element(&active, None, other, base, false)?,
        };
        Ok(match r {
            None => Vec::new(),
            Some(Exp::One(Ex::Node(n)))
                if n.is_graph_object() && matches!(n.id, NodeId::Absent) && n.index.is_none() =>
            {
                n.graph.unwrap_or_default()
            }
            Some(e) => e.into_vec(),
        })
    }

    fn top_context(
        &self,
        active: &ActiveContext,
        ctx: &Value,
        base: Option<&str>,
        cache: bool,
    ) -> Result<ActiveContext> {
        if !cache {
            return self.process_context(active, ctx, base, &mut Vec::new(), CtxOpts::default());
        }
        // Keyed by a structural fingerprint; a hit is confirmed by comparing
        // the stored context, so a fingerprint collision cannot mislead.
        let mut size = 0;
        let key = fingerprint(
            ctx,
            fingerprint_str(base.unwrap_or(""), 0x9e37_79b9),
            &mut size,
        );
        if size > CONTEXT_CACHE_MAX_BYTES {
            return self.process_context(active, ctx, base, &mut Vec::new(), CtxOpts::default());
        }
        let c = CONTEXT_CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some((b, v, hit)) = c.lock().expect("cache lock").get(&key) {
            if b.as_deref() == base && v == ctx {
                return Ok((**hit).clone());
            }
        }
        let r = self.process_context(active, ctx, base, &mut Vec::new(), CtxOpts::default())?;
        let mut guard = c.lock().expect("cache lock");
        if guard.len() >= CONTEXT_CACHE_MAX {
            guard.clear();
        }
        guard.insert(
            key,
            (base.map(str::to_string), ctx.clone(), Arc::new(r.clone())),
        );
        Ok(r)
    }

    fn scoped(
        &self,
        active: &ActiveContext,
        ctx: &Value,
        base_url: Option<&str>,
        opts: CtxOpts,
    ) -> Result<ActiveContext> {
        self.process_context(active, ctx, base_url, &mut Vec::new(), opts)
    }

    /// The Expansion Algorithm (API §5.1.2). `None` is a null result.
    pub fn expand_element<'a>(
        &self,
        active: &ActiveContext,
        ap: Option<&str>,
        element: &'a Value,
        base_url: Option<&str>,
        from_map: bool,
    ) -> Result<Option<Exp<'a>>> {
        let ap_def = ap.and_then(|p| active.term(p)).cloned();
        self.expand_with_def(active, ap, ap_def, element, base_url, from_map)
    }

    /// The Expansion Algorithm, given the active property's definition.
    fn expand_with_def<'a>(
        &self,
        active: &ActiveContext,
        ap: Option<&str>,
        ap_def: Option<Arc<TermDef>>,
        element: &'a Value,
        base_url: Option<&str>,
        from_map: bool,
    ) -> Result<Option<Exp<'a>>> {
        match element {
            Value::Null => Ok(None),
            Value::Array(items) => {
                let list = ap_def.as_ref().is_some_and(|d| d.container & C_LIST != 0);
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match self.expand_with_def(
                        active,
                        ap,
                        ap_def.clone(),
                        item,
                        base_url,
                        from_map,
                    )? {
                        Some(Exp::Many(a)) if list => out.push(Ex::List(a, None)),
                        Some(Exp::Many(a)) => out.extend(a),
                        Some(Exp::One(e)) => out.push(e),
                        None => {}
                    }
                }
                Ok(Some(Exp::Many(out)))
            }
            Value::Object(m) => self.expand_map(
                active,
                ap,
                ap_def.as_deref(),
                m,
                base_url,
                from_map,
                Top::default(),
            ),
            other => {
                if ap.is_none() || ap == Some("@graph") {
                    return Ok(None);
                }
                let s = scalar(other).expect("scalar");
                if let Some(ctx) = ap_def.as_ref().and_then(|d| d.context.clone()) {
                    let opts = CtxOpts {
                        override_protected: true,
                        ..CtxOpts::default()
                    };
                    let base = ap_def.as_ref().and_then(|d| d.base_url.as_deref());
                    let a = self.scoped(active, &ctx, base, opts)?;
                    let def = ap.and_then(|p| a.term(p)).cloned();
                    return Ok(Some(Exp::One(value_expansion(&a, def.as_deref(), s))));
                }
                Ok(Some(Exp::One(value_expansion(
                    active,
                    ap_def.as_deref(),
                    s,
                ))))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn expand_map<'a>(
        &self,
        original: &ActiveContext,
        ap: Option<&str>,
        ap_def: Option<&TermDef>,
        m: &'a Map<String, Value>,
        base_url: Option<&str>,
        from_map: bool,
        top: Top<'_>,
    ) -> Result<Option<Exp<'a>>> {
        let mut active_owned: Option<ActiveContext> = None;
        // Step 7: a non-propagated context reverts for nested node objects.
        if let Some(prev) = &original.previous {
            if !from_map {
                let keep = m.keys().any(|k| expands_to(original, k, "@value"))
                    || (m.len() == 1 && m.keys().all(|k| expands_to(original, k, "@id")));
                if !keep {
                    active_owned = Some((**prev).clone());
                }
            }
        }
        // Step 8: the property-scoped context.
        if let Some(ctx) = ap_def.and_then(|d| d.context.clone()) {
            let a = active_owned.as_ref().unwrap_or(original);
            let opts = CtxOpts {
                override_protected: true,
                ..CtxOpts::default()
            };
            let base = ap_def.and_then(|d| d.base_url.as_deref());
            active_owned = Some(self.scoped(a, &ctx, base, opts)?);
        }
        // Step 9: an embedded context.
        if let Some(ctx) = m.get("@context").filter(|_| !top.context_done) {
            let a = active_owned.as_ref().unwrap_or(original);
            active_owned = Some(self.scoped(a, ctx, base_url, CtxOpts::default())?);
        }
        let type_scoped = active_owned.clone().unwrap_or_else(|| original.clone());
        // Step 11: type-scoped contexts, from the types in code point order.
        for (k, v) in m {
            if !expands_to(active_owned.as_ref().unwrap_or(original), k, "@type") {
                continue;
            }
            let mut terms: Vec<&str> = match v {
                Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                Value::String(s) => vec![s.as_str()],
                _ => vec![],
            };
            terms.sort_unstable();
            for t in terms {
                if let Some(def) = type_scoped.term(t) {
                    if let Some(ctx) = &def.context {
                        let a = active_owned.as_ref().unwrap_or(original);
                        let opts = CtxOpts {
                            propagate: false,
                            ..CtxOpts::default()
                        };
                        active_owned = Some(self.scoped(a, ctx, def.base_url.as_deref(), opts)?);
                    }
                }
            }
        }
        let active = active_owned.as_ref().unwrap_or(original);
        let mut r = Res::default();
        self.expand_entries(active, &type_scoped, ap, m, base_url, &mut r, top.skip)?;
        let top = ap.is_none() || ap == Some("@graph");
        // Step 15: value objects.
        if let Some(v) = r.value {
            if r.id.is_some()
                || r.graph.is_some()
                || r.included.is_some()
                || r.list.is_some()
                || r.set.is_some()
                || r.reverse.is_some()
                || !r.props.is_empty()
            {
                return err("invalid value object", "unexpected entry in a value object");
            }
            if r.types.is_some() && (r.language.is_some() || r.direction.is_some()) {
                return err("invalid value object", "@type with @language or @direction");
            }
            let datatype = match r.types {
                None => None,
                Some(mut t) if r.types_from_string && t.len() == 1 => match t.pop().flatten() {
                    Some(d) => Some(d),
                    None => return err("invalid typed value", "null @type"),
                },
                Some(_) => return err("invalid typed value", "@type must be one IRI"),
            };
            let json = datatype.as_ref().is_some_and(|d| *d == *"@json");
            let item = if json {
                ValueObj {
                    value: Scalar::Json(v),
                    datatype,
                    language: None,
                    index: r.index,
                }
            } else {
                if v.is_null() {
                    return Ok(None);
                }
                if !v.is_string() && r.language.is_some() {
                    return err("invalid language-tagged value", format!("{v}"));
                }
                if let Some(d) = &datatype {
                    if !iri::is_well_formed(d) || d.starts_with("_:") {
                        return err("invalid typed value", d.to_string());
                    }
                }
                ValueObj {
                    value: scalar(v).expect("checked in step 13"),
                    datatype,
                    language: r.language,
                    index: r.index,
                }
            };
            return Ok(if top {
                None
            } else {
                Some(Exp::One(Ex::Value(item)))
            });
        }
        // Step 17: list and set objects.
        if r.types.is_none() && (r.list.is_some() || r.set.is_some()) {
            let n = r.count();
            if n > 2 || (n == 2 && r.index.is_none()) {
                return err("invalid set or list object", "extra entries");
            }
            if let Some(s) = r.set {
                return Ok(s);
            }
            if top {
                return Ok(None);
            }
            return Ok(Some(Exp::One(Ex::List(
                r.list.unwrap_or_default(),
                r.index,
            ))));
        }
        // Steps 18 and 19: entries that make nothing.
        let n = r.count();
        if n == 1 && r.language.is_some() {
            return Ok(None);
        }
        if top && (n == 0 || (n == 1 && r.id.is_some())) {
            return Ok(None);
        }
        Ok(Some(Exp::One(Ex::Node(Box::new(NodeObj {
            id: r.id.unwrap_or(NodeId::Absent),
            types: r.types.unwrap_or_default(),
            props: r.props,
            reverse: r.reverse,
            graph: r.graph,
            included: r.included,
            index: r.index,
        })))))
    }

    /// Step 13 (and 14, nests) of the Expansion Algorithm.
    #[allow(clippy::too_many_arguments)]
    fn expand_entries<'a>(
        &self,
        active: &ActiveContext,
        type_scoped: &ActiveContext,
        ap: Option<&str>,
        m: &'a Map<String, Value>,
        base_url: Option<&str>,
        r: &mut Res<'a>,
        skip: Option<&str>,
    ) -> Result<()> {
        let mut nests: Vec<&str> = Vec::new();
        for (key, value) in m {
            if key == "@context" || Some(key.as_str()) == skip {
                continue;
            }
            // One term lookup serves both the IRI and the definition.
            let def = active.term(key);
            let ep = match def {
                Some(d) if !keyword(key) => d.iri.clone().map(Str::Shared),
                _ => expand_iri(active, key, false, true),
            };
            let ep = match ep {
                Some(e) if e.contains(':') || keyword(&e) => e,
                _ => continue,
            };
            if keyword(&ep) {
                if ap == Some("@reverse") {
                    return err("invalid reverse property map", key.clone());
                }
                if r.has(&ep) {
                    return err("colliding keywords", ep.to_string());
                }
                match &*ep {
                    "@id" => match value {
                        Value::String(s) => {
                            r.id = Some(match expand_iri(active, s, true, false) {
                                Some(e) => NodeId::Iri(e),
                                None => NodeId::Null,
                            })
                        }
                        _ => return err("invalid @id value", format!("{value}")),
                    },
                    "@type" => {
                        let ex = |s: &'a str| expand_iri(type_scoped, s, true, true);
                        let (items, single): (Vec<Option<Str<'a>>>, bool) = match value {
                            Value::String(s) => (vec![ex(s)], true),
                            Value::Array(a) => {
                                let mut out = Vec::with_capacity(a.len());
                                for x in a {
                                    match x.as_str() {
                                        Some(s) => out.push(ex(s)),
                                        None => {
                                            return err("invalid type value", format!("{value}"))
                                        }
                                    }
                                }
                                (out, false)
                            }
                            _ => return err("invalid type value", format!("{value}")),
                        };
                        match &mut r.types {
                            Some(t) => {
                                t.extend(items);
                                r.types_from_string = false;
                            }
                            None => {
                                r.types = Some(items);
                                r.types_from_string = single;
                            }
                        }
                    }
                    "@graph" => {
                        let e =
                            self.expand_element(active, Some("@graph"), value, base_url, false)?;
                        r.graph = Some(vec_of(e));
                    }
                    "@included" => {
                        let e = self.expand_element(active, None, value, base_url, false)?;
                        let items = vec_of(e);
                        if items.iter().any(|i| !matches!(i, Ex::Node(_))) {
                            return err("invalid @included value", "must be node objects");
                        }
                        r.included.get_or_insert_with(Vec::new).extend(items);
                    }
                    "@value" => {
                        if value.is_object() || value.is_array() {
                            return err("invalid value object value", format!("{value}"));
                        }
                        r.value = Some(value);
                    }
                    "@language" => match value {
                        Value::String(s) => r.language = Some(lower(s)),
                        _ => return err("invalid language-tagged string", format!("{value}")),
                    },
                    "@direction" => match value.as_str() {
                        Some(d @ ("ltr" | "rtl")) => r.direction = Some(d),
                        _ => return err("invalid base direction", format!("{value}")),
                    },
                    "@index" => match value {
                        Value::String(s) => r.index = Some(s),
                        _ => return err("invalid @index value", format!("{value}")),
                    },
                    "@list" => {
                        if ap.is_none() || ap == Some("@graph") {
                            continue;
                        }
                        let e = self.expand_element(active, ap, value, base_url, false)?;
                        r.list = Some(vec_of(e));
                    }
                    "@set" => {
                        r.set = Some(self.expand_element(active, ap, value, base_url, false)?);
                    }
                    "@reverse" => {
                        if !value.is_object() {
                            return err("invalid @reverse value", "must be an object");
                        }
                        let e =
                            self.expand_element(active, Some("@reverse"), value, base_url, false)?;
                        let Some(Exp::One(Ex::Node(node))) = e else {
                            continue;
                        };
                        let node = *node;
                        for (p, items) in node.reverse.unwrap_or_default() {
                            push_prop(&mut r.props, p, items);
                        }
                        if !node.props.is_empty() {
                            let rm = r.reverse.get_or_insert_with(Vec::new);
                            for (p, items) in node.props {
                                if items.iter().any(|i| i.is_value() || i.is_list()) {
                                    return err("invalid reverse property value", p.to_string());
                                }
                                push_prop(rm, p, items);
                            }
                        }
                    }
                    "@nest" => nests.push(key.as_str()),
                    // Framing keywords and the like have no meaning here.
                    _ => {}
                }
                continue;
            }
            let container = def.map(|d| d.container).unwrap_or(0);
            let expanded: Option<Exp<'a>> =
                if def.and_then(|d| d.type_mapping.as_deref()) == Some("@json") {
                    Some(Exp::One(Ex::Value(ValueObj {
                        value: Scalar::Json(value),
                        datatype: Some(Str::Borrowed("@json")),
                        language: None,
                        index: None,
                    })))
                } else if container & C_LANGUAGE != 0 && value.is_object() {
                    let mut out = Vec::new();
                    for (lang, lv) in value.as_object().expect("object") {
                        let none = expands_to(active, lang, "@none");
                        let items: &[Value] = match lv {
                            Value::Array(a) => a,
                            other => std::slice::from_ref(other),
                        };
                        for item in items {
                            match item {
                                Value::Null => continue,
                                Value::String(s) => out.push(Ex::Value(ValueObj {
                                    value: Scalar::Str(s),
                                    datatype: None,
                                    language: if none { None } else { Some(lower(lang)) },
                                    index: None,
                                })),
                                _ => return err("invalid language map value", format!("{item}")),
                            }
                        }
                    }
                    Some(Exp::Many(out))
                } else if container & (C_INDEX | C_TYPE | C_ID) != 0 && value.is_object() {
                    let def = def.expect("container implies a definition");
                    let out = self.expand_index_map(
                        active,
                        key,
                        def,
                        container,
                        value.as_object().expect("object"),
                        base_url,
                    )?;
                    Some(Exp::Many(out))
                } else {
                    self.expand_with_def(active, Some(key), def.cloned(), value, base_url, false)?
                };
            let Some(expanded) = expanded else { continue };
            let mut items = match expanded {
                Exp::One(e @ Ex::List(..)) if container & C_LIST != 0 => vec![e],
                other if container & C_LIST != 0 => vec![Ex::List(other.into_vec(), None)],
                other => other.into_vec(),
            };
            if container & C_GRAPH != 0 && container & (C_ID | C_INDEX) == 0 {
                items = items
                    .into_iter()
                    .map(|ev| {
                        let mut n = NodeObj::new();
                        n.graph = Some(vec![ev]);
                        Ex::Node(Box::new(n))
                    })
                    .collect();
            }
            if def.is_some_and(|d| d.reverse) {
                if items.iter().any(|i| i.is_value() || i.is_list()) {
                    return err("invalid reverse property value", ep.to_string());
                }
                push_prop(r.reverse.get_or_insert_with(Vec::new), ep, items);
            } else {
                push_prop(&mut r.props, ep, items);
            }
        }
        // Step 14: nested properties, expanded into the same result.
        for nk in nests {
            let nv = &m[nk];
            let list: &[Value] = match nv {
                Value::Array(a) => a,
                other => std::slice::from_ref(other),
            };
            for item in list {
                let Value::Object(nm) = item else {
                    return err("invalid @nest value", "must be an object");
                };
                if nm.keys().any(|k| expands_to(active, k, "@value")) {
                    return err("invalid @nest value", "cannot contain @value");
                }
                self.expand_entries(active, type_scoped, ap, nm, base_url, r, None)?;
            }
        }
        Ok(())
    }

    /// Step 13.8: index, id and type maps.
    fn expand_index_map<'a>(
        &self,
        active: &ActiveContext,
        key: &str,
        def: &TermDef,
        container: u8,
        map: &'a Map<String, Value>,
        base_url: Option<&str>,
    ) -> Result<Vec<Ex<'a>>> {
        let index_key = def.index.as_deref().unwrap_or("@index");
        let mut out = Vec::new();
        for (index, iv) in map {
            let mut map_ctx: ActiveContext = if container & (C_ID | C_TYPE) != 0 {
                active
                    .previous
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| active.clone())
            } else {
                active.clone()
            };
            if container & C_TYPE != 0 {
                if let Some(idef) = map_ctx.term(index).cloned() {
                    if let Some(ctx) = &idef.context {
                        map_ctx = self.scoped(
                            &map_ctx,
                            ctx,
                            idef.base_url.as_deref(),
                            CtxOpts::default(),
                        )?;
                    }
                }
            }
            let expanded_index = expand_iri(active, index, false, true);
            let is_none = expanded_index.as_ref().is_some_and(|e| *e == *"@none");
            let items = vec_of(self.expand_element(&map_ctx, Some(key), iv, base_url, true)?);
            for mut item in items {
                if container & C_GRAPH != 0 && !matches!(&item, Ex::Node(n) if n.is_graph_object())
                {
                    let mut n = NodeObj::new();
                    n.graph = Some(vec![item]);
                    item = Ex::Node(Box::new(n));
                }
                if container & C_INDEX != 0 && index_key != "@index" && !is_none {
                    let idef = active.term(index_key);
                    let re = value_expansion(active, idef.map(|d| &**d), Scalar::Str(index));
                    let Some(eik) = expand_iri(active, index_key, false, true) else {
                        continue;
                    };
                    // Owned: the index key belongs to the term definition.
                    let eik: Str<'a> = Str::Owned(eik.to_string());
                    let Ex::Node(n) = &mut item else {
                        return err("invalid value object", "property-valued index on a value");
                    };
                    match n.props.iter_mut().find(|(k, _)| **k == *eik) {
                        Some((_, v)) => v.insert(0, re),
                        None => n.props.push((eik, vec![re])),
                    }
                } else if container & C_INDEX != 0 && !is_none {
                    match &mut item {
                        Ex::Node(n) if n.index.is_none() => n.index = Some(index),
                        Ex::Value(v) if v.index.is_none() => v.index = Some(index),
                        Ex::List(_, ix) if ix.is_none() => *ix = Some(index),
                        _ => {}
                    }
                } else if container & C_ID != 0 && !is_none {
                    if let Ex::Node(n) = &mut item {
                        if matches!(n.id, NodeId::Absent) {
                            n.id = match expand_iri(active, index, true, false) {
                                Some(e) => NodeId::Iri(e),
                                None => NodeId::Null,
                            };
                        }
                    }
                } else if container & C_TYPE != 0 && !is_none {
                    if let Ex::Node(n) = &mut item {
                        n.types.insert(0, expanded_index.clone());
                    }
                }
                out.push(item);
            }
        }
        Ok(out)
    }
}

/// Value Expansion (API §5.3.2).
pub fn value_expansion<'a>(
    active: &ActiveContext,
    def: Option<&TermDef>,
    value: Scalar<'a>,
) -> Ex<'a> {
    let tm = def.and_then(|d| d.type_mapping.as_ref());
    if let Scalar::Str(s) = value {
        let vocab = match tm.map(|t| &**t) {
            Some("@id") => Some(false),
            Some("@vocab") => Some(true),
            _ => None,
        };
        if let Some(vocab) = vocab {
            let mut n = NodeObj::new();
            n.id = match expand_iri(active, s, true, vocab) {
                Some(e) => NodeId::Iri(e),
                None => NodeId::Null,
            };
            return Ex::Node(Box::new(n));
        }
    }
    let mut v = ValueObj {
        value,
        datatype: None,
        language: None,
        index: None,
    };
    match tm {
        Some(t) if !matches!(&**t, "@id" | "@vocab" | "@none") => {
            v.datatype = Some(Str::Shared(t.clone()));
        }
        _ => {
            if matches!(value, Scalar::Str(_)) {
                let lang = match def.and_then(|d| d.language.as_ref()) {
                    Some(l) => l.clone(),
                    None => active.default_language.clone(),
                };
                v.language = lang.map(Str::Owned);
            }
        }
    }
    Ex::Value(v)
}
