//! The JSON-LD 1.1 Expansion Algorithm (API §5.1) and Value Expansion (§5.3).
//! Keys are visited in code point order (serde_json maps are sorted), as the
//! spec's `ordered` flag asks; this only affects blank node labels.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use super::context::{
    expand_iri_cow, expand_iri_in, keyword, ActiveContext, CtxOpts, Processor, C_GRAPH, C_ID, C_INDEX, C_LANGUAGE,
    C_LIST, C_TYPE,
};
use super::error::{err, Result};

/// Processed top-level contexts, keyed by the context's JSON and the base:
/// Fediverse documents repeat the same few contexts, and processing
/// ActivityStreams afresh costs more than expanding a whole Note.
static CONTEXT_CACHE: OnceLock<Mutex<HashMap<String, Arc<ActiveContext>>>> = OnceLock::new();
const CONTEXT_CACHE_MAX: usize = 256;

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn as_array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => vec![other],
    }
}

fn push_value(map: &mut Map<String, Value>, key: &str, v: Value) {
    // Look up first: the key is allocated only for a new entry.
    if !map.contains_key(key) {
        map.insert(key.to_string(), Value::Array(Vec::new()));
    }
    let entry = map.get_mut(key).expect("just inserted");
    if !entry.is_array() {
        let old = entry.take();
        *entry = Value::Array(vec![old]);
    }
    let arr = entry.as_array_mut().expect("array");
    match v {
        Value::Array(items) => arr.extend(items),
        other => arr.push(other),
    }
}

fn is_list_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.contains_key("@list"))
}

fn is_value_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.contains_key("@value"))
}

fn is_graph_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.contains_key("@graph")
            && m.keys()
                .all(|k| k == "@graph" || k == "@id" || k == "@index" || k == "@context")
    })
}

impl Processor<'_> {
    /// Expands a whole document (the top-level call of API §5.1).
    pub fn expand_document(
        &self,
        doc: &Value,
        base: Option<&str>,
        cache: bool,
    ) -> Result<Vec<Value>> {
        let mut active = ActiveContext::new(base);
        // Processing the top-level context here lets it be cached; the
        // expansion below is told to skip the @context entry it already saw.
        let r = match doc {
            Value::Object(m) if m.contains_key("@context") => {
                active = self.top_context(&active, &m["@context"], base, cache)?;
                self.expand_map(&active, None, None, m, base, false, true)?
            }
            other => self.expand_element(&active, None, other, base, false)?,
        };
        let r = match r {
            None => Value::Array(Vec::new()),
            Some(Value::Object(mut m)) if m.len() == 1 && m.contains_key("@graph") => {
                m.remove("@graph").expect("present")
            }
            Some(v) => v,
        };
        Ok(as_array(r))
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
        let key = format!("{}\u{0}{}", base.unwrap_or(""), ctx);
        let c = CONTEXT_CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(hit) = c.lock().expect("cache lock").get(&key) {
            return Ok((**hit).clone());
        }
        let r = self.process_context(active, ctx, base, &mut Vec::new(), CtxOpts::default())?;
        let mut guard = c.lock().expect("cache lock");
        if guard.len() >= CONTEXT_CACHE_MAX {
            guard.clear();
        }
        guard.insert(key, Arc::new(r.clone()));
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
    pub fn expand_element(
        &self,
        active: &ActiveContext,
        ap: Option<&str>,
        element: &Value,
        base_url: Option<&str>,
        from_map: bool,
    ) -> Result<Option<Value>> {
        let ap_def = ap.and_then(|p| active.term(p)).cloned();
        match element {
            Value::Null => Ok(None),
            Value::Array(items) => {
                let list = ap_def.as_ref().is_some_and(|d| d.container & C_LIST != 0);
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let e = self.expand_element(active, ap, item, base_url, from_map)?;
                    match e {
                        Some(Value::Array(a)) if list => {
                            out.push(obj(vec![("@list", Value::Array(a))]))
                        }
                        Some(Value::Array(a)) => out.extend(a),
                        Some(v) => out.push(v),
                        None => {}
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(m) => {
                self.expand_map(active, ap, ap_def.as_deref(), m, base_url, from_map, false)
            }
            scalar => {
                if ap.is_none() || ap == Some("@graph") {
                    return Ok(None);
                }
                if let Some(ctx) = ap_def.as_ref().and_then(|d| d.context.clone()) {
                    let opts = CtxOpts {
                        override_protected: true,
                        ..CtxOpts::default()
                    };
                    let a = self.scoped(
                        active,
                        &ctx,
                        ap_def.as_ref().and_then(|d| d.base_url.as_deref()),
                        opts,
                    )?;
                    return Ok(Some(value_expansion(&a, ap, scalar)));
                }
                Ok(Some(value_expansion(active, ap, scalar)))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn expand_map(
        &self,
        original: &ActiveContext,
        ap: Option<&str>,
        ap_def: Option<&super::context::TermDef>,
        m: &Map<String, Value>,
        base_url: Option<&str>,
        from_map: bool,
        context_done: bool,
    ) -> Result<Option<Value>> {
        let mut active_owned: Option<ActiveContext> = None;
        // Step 7: a non-propagated context reverts for nested node objects.
        if let Some(prev) = &original.previous {
            if !from_map {
                let mut keep = false;
                for k in m.keys() {
                    if expand_iri_cow(original, k, false, true).as_deref() == Some("@value") {
                        keep = true;
                    }
                }
                if m.len() == 1 {
                    let k = m.keys().next().expect("one key");
                    if expand_iri_cow(original, k, false, true).as_deref() == Some("@id") {
                        keep = true;
                    }
                }
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
            active_owned =
                Some(self.scoped(a, &ctx, ap_def.and_then(|d| d.base_url.as_deref()), opts)?);
        }
        // Step 9: an embedded context.
        if let Some(ctx) = m.get("@context").filter(|_| !context_done) {
            let a = active_owned.as_ref().unwrap_or(original);
            active_owned = Some(self.scoped(a, ctx, base_url, CtxOpts::default())?);
        }
        let type_scoped = active_owned.clone().unwrap_or_else(|| original.clone());
        // Step 11: type-scoped contexts, from the types in code point order.
        for (k, v) in m {
            let a = active_owned.as_ref().unwrap_or(original);
            if expand_iri_cow(a, k, false, true).as_deref() != Some("@type") {
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
        let mut result = Map::new();
        self.expand_entries(active, &type_scoped, ap, m, base_url, &mut result)?;
        // Step 15 onwards: validate and simplify the result.
        if let Some(v) = result.get("@value") {
            if result.keys().any(|k| {
                !matches!(
                    k.as_str(),
                    "@direction" | "@index" | "@language" | "@type" | "@value"
                )
            }) {
                return err("invalid value object", "unexpected entry in a value object");
            }
            if result.contains_key("@type")
                && (result.contains_key("@language") || result.contains_key("@direction"))
            {
                return err("invalid value object", "@type with @language or @direction");
            }
            if result.get("@type").and_then(|t| t.as_str()) == Some("@json") {
                return Ok(Some(Value::Object(result)));
            }
            if v.is_null() {
                return Ok(None);
            }
            if !v.is_string() && result.contains_key("@language") {
                return err("invalid language-tagged value", format!("{v}"));
            }
            if let Some(t) = result.get("@type") {
                match t.as_str() {
                    Some(s) if super::iri::is_well_formed(s) && !s.starts_with("_:") => {}
                    _ => return err("invalid typed value", format!("{t}")),
                }
            }
        } else if let Some(t) = result.get_mut("@type") {
            if !t.is_array() {
                let old = t.take();
                *t = Value::Array(vec![old]);
            }
        } else if result.contains_key("@set") || result.contains_key("@list") {
            if result.len() > 2 || (result.len() == 2 && !result.contains_key("@index")) {
                return err("invalid set or list object", "extra entries");
            }
            if let Some(s) = result.remove("@set") {
                return Ok(if s.is_null() { None } else { Some(s) });
            }
        }
        if result.len() == 1 && result.contains_key("@language") {
            return Ok(None);
        }
        if ap.is_none() || ap == Some("@graph") {
            if result.is_empty() || result.contains_key("@value") || result.contains_key("@list") {
                return Ok(None);
            }
            if result.len() == 1 && result.contains_key("@id") {
                return Ok(None);
            }
        }
        Ok(Some(Value::Object(result)))
    }

    /// Step 13 (and 14, nests) of the Expansion Algorithm.
    fn expand_entries(
        &self,
        active: &ActiveContext,
        type_scoped: &ActiveContext,
        ap: Option<&str>,
        m: &Map<String, Value>,
        base_url: Option<&str>,
        result: &mut Map<String, Value>,
    ) -> Result<()> {
        let mut nests: Vec<&str> = Vec::new();
        for (key, value) in m {
            if key == "@context" {
                continue;
            }
            let ep = match expand_iri_cow(active, key, false, true) {
                Some(e) if e.contains(':') || keyword(&e) => e,
                _ => continue,
            };
            if keyword(&ep) {
                if ap == Some("@reverse") {
                    return err("invalid reverse property map", key.clone());
                }
                if result.contains_key(ep.as_ref()) && ep != "@included" && ep != "@type" {
                    return err("colliding keywords", ep.into_owned());
                }
                let expanded: Value = match ep.as_ref() {
                    "@id" => match value {
                        Value::String(s) => match expand_iri_in(active, s, true, false) {
                            Some(e) => Value::String(e),
                            None => Value::Null,
                        },
                        _ => return err("invalid @id value", format!("{value}")),
                    },
                    "@type" => {
                        let ex = |s: &str| {
                            expand_iri_in(type_scoped, s, true, true)
                                .map(Value::String)
                                .unwrap_or(Value::Null)
                        };
                        let e = match value {
                            Value::String(s) => ex(s),
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
                                Value::Array(out)
                            }
                            _ => return err("invalid type value", format!("{value}")),
                        };
                        if let Some(prev) = result.remove("@type") {
                            let mut a = as_array(prev);
                            a.extend(as_array(e));
                            Value::Array(a)
                        } else {
                            e
                        }
                    }
                    "@graph" => {
                        let e =
                            self.expand_element(active, Some("@graph"), value, base_url, false)?;
                        Value::Array(e.map(as_array).unwrap_or_default())
                    }
                    "@included" => {
                        let e = self.expand_element(active, None, value, base_url, false)?;
                        let items = e.map(as_array).unwrap_or_default();
                        if items
                            .iter()
                            .any(|i| !i.is_object() || is_value_object(i) || is_list_object(i))
                        {
                            return err("invalid @included value", "must be node objects");
                        }
                        if let Some(prev) = result.remove("@included") {
                            let mut a = as_array(prev);
                            a.extend(items);
                            Value::Array(a)
                        } else {
                            Value::Array(items)
                        }
                    }
                    "@value" => {
                        if value.is_object() || value.is_array() {
                            return err("invalid value object value", format!("{value}"));
                        }
                        result.insert("@value".to_string(), value.clone());
                        continue;
                    }
                    "@language" => match value {
                        Value::String(s) => Value::String(s.to_lowercase()),
                        _ => return err("invalid language-tagged string", format!("{value}")),
                    },
                    "@direction" => match value.as_str() {
                        Some("ltr") | Some("rtl") => value.clone(),
                        _ => return err("invalid base direction", format!("{value}")),
                    },
                    "@index" => match value {
                        Value::String(_) => value.clone(),
                        _ => return err("invalid @index value", format!("{value}")),
                    },
                    "@list" => {
                        if ap.is_none() || ap == Some("@graph") {
                            continue;
                        }
                        let e = self.expand_element(active, ap, value, base_url, false)?;
                        Value::Array(e.map(as_array).unwrap_or_default())
                    }
                    "@set" => self
                        .expand_element(active, ap, value, base_url, false)?
                        .unwrap_or(Value::Null),
                    "@reverse" => {
                        if !value.is_object() {
                            return err("invalid @reverse value", "must be an object");
                        }
                        let e =
                            self.expand_element(active, Some("@reverse"), value, base_url, false)?;
                        let Some(Value::Object(mut e)) = e else {
                            continue;
                        };
                        if let Some(Value::Object(inner)) = e.remove("@reverse") {
                            for (p, items) in inner {
                                push_value(result, &p, items);
                            }
                        }
                        if !e.is_empty() {
                            let rm = result
                                .entry("@reverse".to_string())
                                .or_insert_with(|| Value::Object(Map::new()));
                            let rm = rm.as_object_mut().expect("object");
                            for (p, items) in e {
                                for item in as_array(items) {
                                    if is_value_object(&item) || is_list_object(&item) {
                                        return err("invalid reverse property value", p);
                                    }
                                    push_value(rm, &p, item);
                                }
                            }
                        }
                        continue;
                    }
                    "@nest" => {
                        nests.push(key.as_str());
                        continue;
                    }
                    // Framing keywords and the like have no meaning here.
                    _ => continue,
                };
                result.insert(ep.into_owned(), expanded);
                continue;
            }
            let def = active.term(key);
            let container = def.map(|d| d.container).unwrap_or(0);
            let expanded: Option<Value> = if def.and_then(|d| d.type_mapping.as_deref())
                == Some("@json")
            {
                Some(obj(vec![
                    ("@value", value.clone()),
                    ("@type", Value::String("@json".into())),
                ]))
            } else if container & C_LANGUAGE != 0 && value.is_object() {
                let mut out = Vec::new();
                for (lang, lv) in value.as_object().expect("object") {
                    let none = expand_iri_in(active, lang, false, true).as_deref() == Some("@none");
                    let items: &[Value] = match lv {
                        Value::Array(a) => a,
                        other => std::slice::from_ref(other),
                    };
                    for item in items {
                        match item {
                            Value::Null => continue,
                            Value::String(_) => {
                                let mut v = vec![("@value", item.clone())];
                                if !none {
                                    v.push(("@language", Value::String(lang.to_lowercase())));
                                }
                                out.push(obj(v));
                            }
                            _ => return err("invalid language map value", format!("{item}")),
                        }
                    }
                }
                Some(Value::Array(out))
            } else if container & (C_INDEX | C_TYPE | C_ID) != 0 && value.is_object() {
                let def = def.expect("container implies a definition");
                let index_key = def.index.as_deref().unwrap_or("@index");
                let mut out = Vec::new();
                for (index, iv) in value.as_object().expect("object") {
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
                    let expanded_index = expand_iri_in(active, index, false, true);
                    let is_none = expanded_index.as_deref() == Some("@none");
                    let items = self
                        .expand_element(&map_ctx, Some(key), iv, base_url, true)?
                        .map(as_array)
                        .unwrap_or_default();
                    for mut item in items {
                        if container & C_GRAPH != 0 && !is_graph_object(&item) {
                            item = obj(vec![("@graph", Value::Array(as_array(item)))]);
                        }
                        if container & C_INDEX != 0 && index_key != "@index" && !is_none {
                            let re = value_expansion(
                                active,
                                Some(index_key),
                                &Value::String(index.clone()),
                            );
                            let eik = match expand_iri_in(active, index_key, false, true) {
                                Some(e) => e,
                                None => continue,
                            };
                            let Some(im) = item.as_object_mut() else {
                                return err("invalid value object", "index on a non-node");
                            };
                            if im.contains_key("@value") {
                                return err(
                                    "invalid value object",
                                    "property-valued index on a value",
                                );
                            }
                            let mut vals = vec![re];
                            if let Some(existing) = im.remove(&eik) {
                                vals.extend(as_array(existing));
                            }
                            im.insert(eik, Value::Array(vals));
                        } else if container & C_INDEX != 0 && !is_none {
                            if let Some(im) = item.as_object_mut() {
                                im.entry("@index".to_string())
                                    .or_insert_with(|| Value::String(index.clone()));
                            }
                        } else if container & C_ID != 0 && !is_none {
                            if let Some(im) = item.as_object_mut() {
                                if !im.contains_key("@id") {
                                    let id = expand_iri_in(active, index, true, false)
                                        .map(Value::String)
                                        .unwrap_or(Value::Null);
                                    im.insert("@id".to_string(), id);
                                }
                            }
                        } else if container & C_TYPE != 0 && !is_none {
                            if let Some(im) = item.as_object_mut() {
                                let mut types =
                                    vec![Value::String(expanded_index.clone().unwrap_or_default())];
                                if let Some(existing) = im.remove("@type") {
                                    types.extend(as_array(existing));
                                }
                                im.insert("@type".to_string(), Value::Array(types));
                            }
                        }
                        out.push(item);
                    }
                }
                Some(Value::Array(out))
            } else {
                self.expand_element(active, Some(key), value, base_url, false)?
            };
            let Some(mut expanded) = expanded else {
                continue;
            };
            if container & C_LIST != 0 && !is_list_object(&expanded) {
                expanded = obj(vec![("@list", Value::Array(as_array(expanded)))]);
            }
            if container & C_GRAPH != 0 && container & (C_ID | C_INDEX) == 0 {
                expanded = Value::Array(
                    as_array(expanded)
                        .into_iter()
                        .map(|ev| obj(vec![("@graph", Value::Array(as_array(ev)))]))
                        .collect(),
                );
            }
            if def.is_some_and(|d| d.reverse) {
                let rm = result
                    .entry("@reverse".to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                let rm = rm.as_object_mut().expect("object");
                for item in as_array(expanded) {
                    if is_value_object(&item) || is_list_object(&item) {
                        return err("invalid reverse property value", ep);
                    }
                    push_value(rm, &ep, item);
                }
            } else {
                push_value(result, &ep, expanded);
            }
        }
        // Step 14: nested properties, expanded into the same result.
        for nk in nests {
            for nv in as_array(m[nk].clone()) {
                let Value::Object(nm) = nv else {
                    return err("invalid @nest value", "must be an object");
                };
                if nm
                    .keys()
                    .any(|k| expand_iri_in(active, k, false, true).as_deref() == Some("@value"))
                {
                    return err("invalid @nest value", "cannot contain @value");
                }
                self.expand_entries(active, type_scoped, ap, &nm, base_url, result)?;
            }
        }
        Ok(())
    }
}

/// Value Expansion (API §5.3.2).
pub fn value_expansion(active: &ActiveContext, ap: Option<&str>, value: &Value) -> Value {
    let def = ap.and_then(|p| active.term(p));
    let tm = def.and_then(|d| d.type_mapping.as_deref());
    if let Value::String(s) = value {
        match tm {
            Some("@id") => {
                let id = expand_iri_in(active, s, true, false)
                    .map(Value::String)
                    .unwrap_or(Value::Null);
                return obj(vec![("@id", id)]);
            }
            Some("@vocab") => {
                let id = expand_iri_in(active, s, true, true)
                    .map(Value::String)
                    .unwrap_or(Value::Null);
                return obj(vec![("@id", id)]);
            }
            _ => {}
        }
    }
    let mut r = Map::new();
    r.insert("@value".to_string(), value.clone());
    match tm {
        Some(t) if t != "@id" && t != "@vocab" && t != "@none" => {
            r.insert("@type".to_string(), Value::String(t.to_string()));
        }
        _ => {
            if value.is_string() {
                let lang = match def.and_then(|d| d.language.as_ref()) {
                    Some(l) => l.clone(),
                    None => active.default_language.clone(),
                };
                if let Some(l) = lang {
                    r.insert("@language".to_string(), Value::String(l));
                }
            }
        }
    }
    Value::Object(r)
}
