//! JSON-LD 1.1 context processing (API §4.1, §4.2) and IRI expansion (§5.2),
//! always in `json-ld-1.1` processing mode. Remote contexts come only from the
//! bundled set or from documents the caller supplies.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::contexts;
use super::error::{err, JsonLdError, Result};
use super::iri;

/// Container flags of a term definition.
pub const C_LIST: u8 = 1;
pub const C_SET: u8 = 2;
pub const C_INDEX: u8 = 4;
pub const C_LANGUAGE: u8 = 8;
pub const C_ID: u8 = 16;
pub const C_TYPE: u8 = 32;
pub const C_GRAPH: u8 = 64;

/// How many remote contexts one document may pull in, nested or not.
const MAX_REMOTE_CONTEXTS: usize = 32;

/// One term definition (API §4.2).
#[derive(Clone, Debug, PartialEq)]
pub struct TermDef {
    /// The IRI mapping; `None` when the term is explicitly mapped to null.
    pub iri: Option<Arc<str>>,
    pub prefix: bool,
    pub protected: bool,
    pub reverse: bool,
    pub type_mapping: Option<Arc<str>>,
    /// `Some(None)` is an explicit null language mapping.
    pub language: Option<Option<String>>,
    pub direction: Option<Option<String>>,
    pub container: u8,
    pub index: Option<String>,
    pub nest: Option<String>,
    pub context: Option<Arc<Value>>,
    pub base_url: Option<String>,
}

impl TermDef {
    fn new() -> Self {
        TermDef {
            iri: None,
            prefix: false,
            protected: false,
            reverse: false,
            type_mapping: None,
            language: None,
            direction: None,
            container: 0,
            index: None,
            nest: None,
            context: None,
            base_url: None,
        }
    }

    /// Equality ignoring the protected flag (for protected redefinitions).
    fn same_as(&self, other: &TermDef) -> bool {
        let mut a = self.clone();
        a.protected = other.protected;
        a.base_url = other.base_url.clone();
        &a == other
    }
}

/// An active context; cheap to clone (the term map is shared until written).
#[derive(Clone, Debug, Default)]
pub struct ActiveContext {
    pub terms: Arc<HashMap<String, Arc<TermDef>>>,
    pub base: Option<String>,
    pub original_base: Option<String>,
    pub vocab: Option<String>,
    pub default_language: Option<String>,
    pub previous: Option<Arc<ActiveContext>>,
}

impl ActiveContext {
    /// The initial context for a document at `base`.
    pub fn new(base: Option<&str>) -> Self {
        ActiveContext {
            base: base.map(str::to_string),
            original_base: base.map(str::to_string),
            ..Default::default()
        }
    }

    pub fn term(&self, t: &str) -> Option<&Arc<TermDef>> {
        self.terms.get(t)
    }

    fn has_protected(&self) -> bool {
        self.terms.values().any(|d| d.protected)
    }
}

/// Supplies remote context documents: the caller's, then the bundled ones.
pub struct Loader<'a> {
    pub extra: &'a HashMap<String, Arc<Value>>,
}

impl Loader<'_> {
    /// The document for a context URL, or `UnknownContext` (never fetched).
    pub fn load(&self, url: &str) -> Result<Arc<Value>> {
        if let Some(v) = self.extra.get(url) {
            return Ok(v.clone());
        }
        if let Some(v) = contexts::bundled(url) {
            return Ok(v);
        }
        Err(JsonLdError::unknown_context(url))
    }
}

/// What context processing needs besides the contexts themselves.
pub struct Processor<'a> {
    pub loader: Loader<'a>,
}

/// True for a JSON-LD 1.1 keyword.
fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "@base"
            | "@container"
            | "@context"
            | "@default"
            | "@direction"
            | "@embed"
            | "@explicit"
            | "@graph"
            | "@id"
            | "@import"
            | "@included"
            | "@index"
            | "@json"
            | "@language"
            | "@list"
            | "@nest"
            | "@none"
            | "@omitDefault"
            | "@prefix"
            | "@preserve"
            | "@protected"
            | "@requireAll"
            | "@reverse"
            | "@set"
            | "@type"
            | "@value"
            | "@version"
            | "@vocab"
    )
}

/// True for a JSON-LD 1.1 keyword (for the other modules).
pub fn keyword(s: &str) -> bool {
    is_keyword(s)
}

/// Options of one context processing call.
#[derive(Clone, Copy)]
pub struct CtxOpts {
    pub override_protected: bool,
    pub propagate: bool,
    pub validate_scoped: bool,
}

impl Default for CtxOpts {
    fn default() -> Self {
        CtxOpts {
            override_protected: false,
            propagate: true,
            validate_scoped: true,
        }
    }
}

impl Processor<'_> {
    /// The Context Processing Algorithm (API §4.1.2).
    pub fn process_context(
        &self,
        active: &ActiveContext,
        local: &Value,
        base_url: Option<&str>,
        remote: &mut Vec<String>,
        opts: CtxOpts,
    ) -> Result<ActiveContext> {
        let mut result = active.clone();
        let mut propagate = opts.propagate;
        if let Value::Object(m) = local {
            if let Some(p) = m.get("@propagate") {
                propagate = p.as_bool().unwrap_or(propagate);
            }
        }
        if !propagate && result.previous.is_none() {
            result.previous = Some(Arc::new(active.clone()));
        }
        let items: &[Value] = match local {
            Value::Array(a) => a,
            other => std::slice::from_ref(other),
        };
        for ctx in items {
            match ctx {
                Value::Null => {
                    if !opts.override_protected && result.has_protected() {
                        return err(
                            "invalid context nullification",
                            "cannot nullify a context with protected terms",
                        );
                    }
                    let prev = result.clone();
                    result = ActiveContext::new(active.original_base.as_deref());
                    if !propagate {
                        result.previous = Some(Arc::new(prev));
                    }
                    continue;
                }
                Value::String(s) => {
                    let url = match base_url {
                        Some(b) => iri::resolve(b, s),
                        None => s.clone(),
                    };
                    if !opts.validate_scoped && remote.contains(&url) {
                        continue;
                    }
                    if remote.len() >= MAX_REMOTE_CONTEXTS {
                        return Err(JsonLdError::limit(
                            "context overflow",
                            format!("more than {MAX_REMOTE_CONTEXTS} remote contexts"),
                        ));
                    }
                    remote.push(url.clone());
                    let doc = self.loader.load(&url)?;
                    let inner = match doc.as_object().and_then(|m| m.get("@context")) {
                        Some(c) => c,
                        None => {
                            return err(
                                "invalid remote context",
                                format!("{url} has no @context entry"),
                            )
                        }
                    };
                    let sub = CtxOpts {
                        validate_scoped: opts.validate_scoped,
                        ..CtxOpts::default()
                    };
                    result = self.process_context(&result, inner, Some(&url), remote, sub)?;
                    continue;
                }
                Value::Object(_) => {}
                _ => return err("invalid local context", "a context must be an object"),
            }
            let mut map = ctx.as_object().expect("checked").clone();
            if let Some(v) = map.get("@version") {
                if v.as_f64() != Some(1.1) {
                    return err("invalid @version value", format!("{v}"));
                }
            }
            if let Some(imp) = map.get("@import").cloned() {
                let s = match imp {
                    Value::String(s) => s,
                    _ => return err("invalid @import value", "must be a string"),
                };
                let url = match base_url {
                    Some(b) => iri::resolve(b, &s),
                    None => s.clone(),
                };
                let doc = self.loader.load(&url)?;
                let imported = match doc.as_object().and_then(|m| m.get("@context")) {
                    Some(Value::Object(o)) => o.clone(),
                    _ => return err("invalid remote context", format!("{url} is not a context")),
                };
                if imported.contains_key("@import") {
                    return err(
                        "invalid context entry",
                        "an imported context cannot @import",
                    );
                }
                let mut merged = imported;
                for (k, v) in map {
                    merged.insert(k, v);
                }
                merged.remove("@import");
                map = merged;
            }
            if let Some(b) = map.get("@base") {
                if remote.is_empty() {
                    match b {
                        Value::Null => result.base = None,
                        Value::String(s) if iri::is_absolute(s) => result.base = Some(s.clone()),
                        Value::String(s) => match &result.base {
                            Some(cur) => result.base = Some(iri::resolve(cur, s)),
                            None => {
                                return err("invalid base IRI", "relative @base without a base")
                            }
                        },
                        _ => return err("invalid base IRI", "@base must be a string or null"),
                    }
                }
            }
            if let Some(v) = map.get("@vocab") {
                match v {
                    Value::Null => result.vocab = None,
                    Value::String(s) => {
                        let e = expand_iri_in(&result, s, true, true);
                        match e {
                            Some(e) if iri::is_absolute(&e) || e.starts_with("_:") => {
                                result.vocab = Some(e)
                            }
                            _ => return err("invalid vocab mapping", s.clone()),
                        }
                    }
                    _ => return err("invalid vocab mapping", "must be a string or null"),
                }
            }
            if let Some(v) = map.get("@language") {
                match v {
                    Value::Null => result.default_language = None,
                    Value::String(s) => result.default_language = Some(s.to_lowercase()),
                    _ => return err("invalid default language", "must be a string or null"),
                }
            }
            if let Some(v) = map.get("@direction") {
                match v {
                    Value::Null => {}
                    Value::String(s) if s == "ltr" || s == "rtl" => {}
                    _ => return err("invalid base direction", format!("{v}")),
                }
            }
            if let Some(v) = map.get("@propagate") {
                if !v.is_boolean() {
                    return err("invalid @propagate value", format!("{v}"));
                }
            }
            let protected = match map.get("@protected") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(v) => return err("invalid @protected value", format!("{v}")),
            };
            let mut defined: HashMap<String, bool> = HashMap::new();
            for key in map.keys() {
                if matches!(
                    key.as_str(),
                    "@base"
                        | "@direction"
                        | "@import"
                        | "@language"
                        | "@propagate"
                        | "@protected"
                        | "@version"
                        | "@vocab"
                ) {
                    continue;
                }
                self.create_term(
                    &mut result,
                    &map,
                    key,
                    &mut defined,
                    base_url,
                    protected,
                    opts.override_protected,
                    remote,
                    opts.validate_scoped,
                )?;
            }
        }
        Ok(result)
    }

    /// Create Term Definition (API §4.2.2).
    #[allow(clippy::too_many_arguments)]
    fn create_term(
        &self,
        active: &mut ActiveContext,
        local: &Map<String, Value>,
        term: &str,
        defined: &mut HashMap<String, bool>,
        base_url: Option<&str>,
        protected: bool,
        override_protected: bool,
        remote: &[String],
        validate_scoped: bool,
    ) -> Result<()> {
        match defined.get(term) {
            Some(true) => return Ok(()),
            Some(false) => return err("cyclic IRI mapping", term.to_string()),
            None => {}
        }
        if term.is_empty() {
            return err("invalid term definition", "empty term");
        }
        defined.insert(term.to_string(), false);
        let value = &local[term];
        if term == "@type" {
            let ok = match value {
                Value::Object(m) => {
                    !m.is_empty()
                        && m.iter().all(|(k, v)| match k.as_str() {
                            "@container" => v == "@set",
                            "@protected" => true,
                            _ => false,
                        })
                }
                _ => false,
            };
            if !ok {
                return err("keyword redefinition", "@type");
            }
        } else if is_keyword(term) {
            return err("keyword redefinition", term.to_string());
        } else if iri::has_keyword_form(term) {
            // Reserved for future keywords: ignored, as the spec says.
            return Ok(());
        }
        let previous = Arc::make_mut(&mut active.terms).remove(term);
        let owned;
        let (value, simple) = match value {
            Value::Null => {
                owned = Value::Object(Map::from_iter([("@id".to_string(), Value::Null)]));
                (owned.as_object().expect("object"), false)
            }
            Value::String(s) => {
                owned = Value::Object(Map::from_iter([(
                    "@id".to_string(),
                    Value::String(s.clone()),
                )]));
                (owned.as_object().expect("object"), true)
            }
            Value::Object(m) => (m, false),
            _ => return err("invalid term definition", term.to_string()),
        };
        let mut def = TermDef::new();
        // A term defined on demand (from IRI expansion) still honours the
        // local context's @protected, whichever path created it.
        let protected = protected || local.get("@protected") == Some(&Value::Bool(true));
        def.protected = match value.get("@protected") {
            None => protected,
            Some(Value::Bool(b)) => *b,
            Some(_) => return err("invalid @protected value", term.to_string()),
        };
        if let Some(t) = value.get("@type") {
            let s = match t {
                Value::String(s) => s,
                _ => return err("invalid type mapping", term.to_string()),
            };
            let e = self.expand_iri(active, s, false, true, Some(local), Some(defined))?;
            match e {
                Some(e)
                    if e == "@id"
                        || e == "@vocab"
                        || e == "@json"
                        || e == "@none"
                        || (iri::is_absolute(&e) && !e.starts_with("_:")) =>
                {
                    def.type_mapping = Some(e.into())
                }
                _ => return err("invalid type mapping", s.clone()),
            }
        }
        if let Some(r) = value.get("@reverse") {
            if value.contains_key("@id") || value.contains_key("@nest") {
                return err("invalid reverse property", term.to_string());
            }
            let s = match r {
                Value::String(s) => s,
                _ => return err("invalid IRI mapping", term.to_string()),
            };
            if iri::has_keyword_form(s) {
                return Ok(());
            }
            match self.expand_iri(active, s, false, true, Some(local), Some(defined))? {
                Some(e) if e.contains(':') && !is_keyword(&e) => def.iri = Some(e.into()),
                _ => return err("invalid IRI mapping", s.clone()),
            }
            if let Some(c) = value.get("@container") {
                match c {
                    Value::Null => {}
                    Value::String(s) if s == "@set" => def.container = C_SET,
                    Value::String(s) if s == "@index" => def.container = C_INDEX,
                    _ => return err("invalid reverse property", term.to_string()),
                }
            }
            def.reverse = true;
            Arc::make_mut(&mut active.terms).insert(term.to_string(), Arc::new(def));
            defined.insert(term.to_string(), true);
            return Ok(());
        }
        let colon = term[1..].find(':').map(|i| i + 1);
        match value.get("@id") {
            Some(id) if id != term => match id {
                Value::Null => def.iri = None,
                Value::String(s) => {
                    if !is_keyword(s) && iri::has_keyword_form(s) {
                        return Ok(());
                    }
                    let e = self.expand_iri(active, s, false, true, Some(local), Some(defined))?;
                    let e = match e {
                        Some(e) if is_keyword(&e) || e.contains(':') => e,
                        _ => return err("invalid IRI mapping", s.clone()),
                    };
                    if e == "@context" {
                        return err("invalid keyword alias", term.to_string());
                    }
                    if colon.is_some() || term.contains('/') {
                        defined.insert(term.to_string(), true);
                        let te =
                            self.expand_iri(active, term, false, true, Some(local), Some(defined))?;
                        if te.as_deref() != Some(e.as_str()) {
                            return err("invalid IRI mapping", term.to_string());
                        }
                    }
                    if colon.is_none() && !term.contains('/') && simple {
                        let last = e.chars().last().unwrap_or(' ');
                        def.prefix = ":/?#[]@".contains(last) || e.starts_with("_:");
                    }
                    def.iri = Some(e.into());
                }
                _ => return err("invalid IRI mapping", term.to_string()),
            },
            _ => {
                if let Some(c) = colon {
                    let prefix = &term[..c];
                    let suffix = &term[c + 1..];
                    if local.contains_key(prefix) {
                        self.create_term(
                            active,
                            local,
                            prefix,
                            defined,
                            base_url,
                            protected,
                            override_protected,
                            remote,
                            validate_scoped,
                        )?;
                    }
                    if let Some(pd) = active.term(prefix).filter(|_| !suffix.starts_with("//")) {
                        match &pd.iri {
                            Some(p) => def.iri = Some(format!("{p}{suffix}").into()),
                            None => def.iri = Some(term.into()),
                        }
                    } else {
                        def.iri = Some(term.into());
                    }
                } else if term.contains('/') {
                    match self.expand_iri(active, term, false, true, None, None)? {
                        Some(e) if iri::is_absolute(&e) => def.iri = Some(e.into()),
                        _ => return err("invalid IRI mapping", term.to_string()),
                    }
                } else if term == "@type" {
                    def.iri = Some("@type".into());
                } else {
                    match &active.vocab {
                        Some(v) => def.iri = Some(format!("{v}{term}").into()),
                        None => return err("invalid IRI mapping", term.to_string()),
                    }
                }
            }
        }
        if let Some(c) = value.get("@container") {
            def.container = parse_container(c)?;
            if def.container & C_TYPE != 0 {
                match def.type_mapping.as_deref() {
                    None => def.type_mapping = Some("@id".into()),
                    Some("@id") | Some("@vocab") => {}
                    _ => return err("invalid type mapping", term.to_string()),
                }
            }
        }
        if let Some(i) = value.get("@index") {
            if def.container & C_INDEX == 0 {
                return err(
                    "invalid term definition",
                    format!("{term}: @index without container"),
                );
            }
            let s = match i {
                Value::String(s) if !is_keyword(s) => s,
                _ => return err("invalid term definition", term.to_string()),
            };
            match self.expand_iri(active, s, false, true, None, None)? {
                Some(e) if iri::is_absolute(&e) => {}
                _ => return err("invalid term definition", term.to_string()),
            }
            def.index = Some(s.clone());
        }
        if let Some(c) = value.get("@context") {
            if validate_scoped {
                let mut r = remote.to_vec();
                let o = CtxOpts {
                    override_protected: true,
                    propagate: true,
                    validate_scoped: false,
                };
                if let Err(e) = self.process_context(active, c, base_url, &mut r, o) {
                    if e.kind == super::error::Kind::UnknownContext {
                        return Err(e);
                    }
                    return err("invalid scoped context", format!("{term}: {}", e.message));
                }
            }
            def.context = Some(Arc::new(c.clone()));
            def.base_url = base_url.map(str::to_string);
        }
        if !value.contains_key("@type") {
            if let Some(l) = value.get("@language") {
                match l {
                    Value::Null => def.language = Some(None),
                    Value::String(s) => def.language = Some(Some(s.to_lowercase())),
                    _ => return err("invalid language mapping", term.to_string()),
                }
            }
            if let Some(d) = value.get("@direction") {
                match d {
                    Value::Null => def.direction = Some(None),
                    Value::String(s) if s == "ltr" || s == "rtl" => {
                        def.direction = Some(Some(s.clone()))
                    }
                    _ => return err("invalid base direction", term.to_string()),
                }
            }
        }
        if let Some(n) = value.get("@nest") {
            match n {
                Value::String(s) if s == "@nest" || !is_keyword(s) => def.nest = Some(s.clone()),
                _ => return err("invalid @nest value", term.to_string()),
            }
        }
        if let Some(p) = value.get("@prefix") {
            if colon.is_some() || term.contains('/') {
                return err(
                    "invalid term definition",
                    format!("{term}: @prefix on a compact IRI"),
                );
            }
            match p {
                Value::Bool(b) => def.prefix = *b,
                _ => return err("invalid @prefix value", term.to_string()),
            }
            if def.prefix && def.iri.as_deref().is_some_and(is_keyword) {
                return err("invalid term definition", term.to_string());
            }
        }
        for k in value.keys() {
            if !matches!(
                k.as_str(),
                "@id"
                    | "@reverse"
                    | "@container"
                    | "@context"
                    | "@direction"
                    | "@index"
                    | "@language"
                    | "@nest"
                    | "@prefix"
                    | "@protected"
                    | "@type"
            ) {
                return err("invalid term definition", format!("{term}: unexpected {k}"));
            }
        }
        if !override_protected {
            if let Some(prev) = previous {
                if prev.protected {
                    if !def.same_as(&prev) {
                        return err("protected term redefinition", term.to_string());
                    }
                    def = (*prev).clone();
                }
            }
        }
        Arc::make_mut(&mut active.terms).insert(term.to_string(), Arc::new(def));
        defined.insert(term.to_string(), true);
        Ok(())
    }

    /// IRI Expansion (API §5.2.2) during context processing, where terms of
    /// the local context are defined on demand. `None` is a null result.
    pub fn expand_iri(
        &self,
        active: &mut ActiveContext,
        value: &str,
        document_relative: bool,
        vocab: bool,
        local: Option<&Map<String, Value>>,
        defined: Option<&mut HashMap<String, bool>>,
    ) -> Result<Option<String>> {
        if let (Some(l), Some(d)) = (local, defined) {
            if !is_keyword(value) && !iri::has_keyword_form(value) {
                if l.contains_key(value) && d.get(value) != Some(&true) {
                    self.create_term(active, l, value, d, None, false, false, &[], true)?;
                }
                let early = active
                    .term(value)
                    .is_some_and(|def| vocab || def.iri.as_deref().is_some_and(is_keyword));
                if !early {
                    if let Some(c) = value[1.min(value.len())..].find(':').map(|i| i + 1) {
                        let prefix = &value[..c];
                        let suffix = &value[c + 1..];
                        if prefix != "_"
                            && !suffix.starts_with("//")
                            && l.contains_key(prefix)
                            && d.get(prefix) != Some(&true)
                        {
                            self.create_term(active, l, prefix, d, None, false, false, &[], true)?;
                        }
                    }
                }
            }
        }
        Ok(expand_iri_in(active, value, document_relative, vocab))
    }
}

/// IRI Expansion (API §5.2.2) against a finished active context.
pub fn expand_iri_in(
    active: &ActiveContext,
    value: &str,
    document_relative: bool,
    vocab: bool,
) -> Option<String> {
    expand_iri_cow(active, value, document_relative, vocab).map(Cow::into_owned)
}

/// IRI Expansion (API §5.2.2) against a finished active context, borrowing
/// the result where it is the input or a term's IRI (the common cases).
pub fn expand_iri_cow<'a>(
    active: &'a ActiveContext,
    value: &'a str,
    document_relative: bool,
    vocab: bool,
) -> Option<Cow<'a, str>> {
    if is_keyword(value) {
        return Some(Cow::Borrowed(value));
    }
    if iri::has_keyword_form(value) {
        return None;
    }
    if let Some(def) = active.term(value) {
        if let Some(i) = &def.iri {
            if is_keyword(i) {
                return Some(Cow::Borrowed(i.as_ref()));
            }
        }
        if vocab {
            return def.iri.as_deref().map(Cow::Borrowed);
        }
    }
    if let Some(c) = value[1.min(value.len())..].find(':').map(|i| i + 1) {
        let prefix = &value[..c];
        let suffix = &value[c + 1..];
        if prefix == "_" || suffix.starts_with("//") {
            return Some(Cow::Borrowed(value));
        }
        if let Some(pd) = active.term(prefix) {
            if let (Some(p), true) = (&pd.iri, pd.prefix) {
                return Some(Cow::Owned(format!("{p}{suffix}")));
            }
        }
        if iri::is_absolute(value) {
            return Some(Cow::Borrowed(value));
        }
    }
    if vocab {
        if let Some(v) = &active.vocab {
            return Some(Cow::Owned(format!("{v}{value}")));
        }
    }
    if document_relative {
        if let Some(b) = &active.base {
            return Some(Cow::Owned(iri::resolve(b, value)));
        }
    }
    Some(Cow::Borrowed(value))
}

/// Parses and validates an `@container` value into flags.
fn parse_container(c: &Value) -> Result<u8> {
    let mut flags = 0u8;
    let items: Vec<&Value> = match c {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    for v in items {
        let f = match v.as_str() {
            Some("@list") => C_LIST,
            Some("@set") => C_SET,
            Some("@index") => C_INDEX,
            Some("@language") => C_LANGUAGE,
            Some("@id") => C_ID,
            Some("@type") => C_TYPE,
            Some("@graph") => C_GRAPH,
            _ => return err("invalid container mapping", format!("{c}")),
        };
        flags |= f;
    }
    let ok = match flags {
        0 => true,
        C_LIST => true,
        f if f & C_LIST != 0 => false,
        f if f & C_GRAPH != 0 => {
            f & !(C_GRAPH | C_ID | C_INDEX | C_SET) == 0 && !(f & C_ID != 0 && f & C_INDEX != 0)
        }
        f => {
            let rest = f & !C_SET;
            rest.count_ones() <= 1
        }
    };
    if !ok {
        return err("invalid container mapping", format!("{c}"));
    }
    Ok(flags)
}
