//! The bundled context documents, parsed once, looked up by URL.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::bundled::BUNDLED;

/// Other spellings of bundled URLs seen in the wild.
const ALIASES: &[(&str, &str)] = &[
    (
        "http://www.w3.org/ns/activitystreams",
        "https://www.w3.org/ns/activitystreams",
    ),
    (
        "https://www.w3.org/ns/activitystreams.jsonld",
        "https://www.w3.org/ns/activitystreams",
    ),
    (
        "http://www.w3.org/ns/activitystreams.jsonld",
        "https://www.w3.org/ns/activitystreams",
    ),
    (
        "http://w3id.org/security/v1",
        "https://w3id.org/security/v1",
    ),
    (
        "http://w3id.org/security/v2",
        "https://w3id.org/security/v2",
    ),
    (
        "http://w3id.org/identity/v1",
        "https://w3id.org/identity/v1",
    ),
    (
        "https://w3id.org/security/v1.jsonld",
        "https://w3id.org/security/v1",
    ),
    (
        "https://w3id.org/security/v2.jsonld",
        "https://w3id.org/security/v2",
    ),
    (
        "https://w3id.org/identity/v1.jsonld",
        "https://w3id.org/identity/v1",
    ),
    ("https://joinmastodon.org/ns", "http://joinmastodon.org/ns"),
];

/// URL -> parsed document, built on first use.
fn table() -> &'static HashMap<&'static str, Arc<Value>> {
    static TABLE: OnceLock<HashMap<&'static str, Arc<Value>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        BUNDLED
            .iter()
            .map(|(url, text)| {
                let v: Value = serde_json::from_str(text).expect("bundled context is valid JSON");
                (*url, Arc::new(v))
            })
            .collect()
    })
}

/// The bundled document for a context URL (fragment and alias tolerant).
pub fn bundled(url: &str) -> Option<Arc<Value>> {
    let url = url.split('#').next().unwrap_or(url);
    let url = ALIASES
        .iter()
        .find(|(a, _)| *a == url)
        .map(|(_, c)| *c)
        .unwrap_or(url);
    table().get(url).cloned()
}

/// The URLs of all bundled contexts (canonical spellings).
pub fn bundled_urls() -> Vec<&'static str> {
    BUNDLED.iter().map(|(u, _)| *u).collect()
}
