//! `RsaSignature2017` Linked Data signatures, exactly as Mastodon makes and
//! checks them (`ActivityPub::LinkedDataSignature`):
//!
//! to be signed = sha256hex(URDNA2015(options)) + sha256hex(URDNA2015(document))
//!
//! where options are the signature object without `type`, `id` and
//! `signatureValue`, with `"@context": "https://w3id.org/identity/v1"`, and
//! the document is the activity without its `signature`. The signature is
//! RSASSA-PKCS1-v1_5 with SHA-256, base64 encoded.

use std::collections::HashMap;

use aws_lc_rs::digest;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::canon::{self, to_hex, HashAlgorithm};
use super::error::{JsonLdError, Result};
use crate::keys::{PrivateKey, PublicKey};

pub const SIGNATURE_TYPE: &str = "RsaSignature2017";
const IDENTITY_V1: &str = "https://w3id.org/identity/v1";
const SECURITY_V1: &str = "https://w3id.org/security/v1";

/// sha256hex of the canonical N-Quads of a JSON-LD document, leaving out
/// its top-level entry `skip`.
fn graph_hash(doc: &Value, skip: Option<&str>) -> Result<String> {
    let quads = super::document_to_quads_skipping(doc, None, &HashMap::new(), skip)?;
    let c = canon::canonicalize(&quads, HashAlgorithm::Sha256, canon::DEFAULT_MAX_WORK)?;
    Ok(to_hex(
        digest::digest(&digest::SHA256, c.nquads.as_bytes()).as_ref(),
    ))
}

/// The string that is signed, from the signature options and the document.
fn to_be_signed(options: &Map<String, Value>, doc: &Value) -> Result<String> {
    let mut opts: Map<String, Value> = options
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "type" | "id" | "signatureValue"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    opts.insert(
        "@context".to_string(),
        Value::String(IDENTITY_V1.to_string()),
    );
    let mut s = graph_hash(&Value::Object(opts), None)?;
    // The document without its signature: skipped in place, not copied.
    s.push_str(&graph_hash(doc, Some("signature"))?);
    Ok(s)
}

/// True when a keyword that lets a signed document smuggle statements
/// (`@graph`, `@included`, `@reverse`) appears anywhere: Mastodon refuses those.
fn has_unsafe_keyword(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            matches!(k.as_str(), "@graph" | "@included" | "@reverse") || has_unsafe_keyword(v)
        }),
        Value::Array(a) => a.iter().any(has_unsafe_keyword),
        _ => false,
    }
}

/// Verifies a document's `RsaSignature2017`. False for a missing, malformed
/// or wrong signature; an error only when the document is not usable JSON-LD.
pub fn verify(doc: &Value, key: &PublicKey) -> Result<bool> {
    let Some(m) = doc.as_object() else {
        return Ok(false);
    };
    let Some(Value::Object(sig)) = m.get("signature") else {
        return Ok(false);
    };
    if sig.get("type").and_then(Value::as_str) != Some(SIGNATURE_TYPE) {
        return Ok(false);
    }
    let Some(value) = sig.get("signatureValue").and_then(Value::as_str) else {
        return Ok(false);
    };
    if has_unsafe_keyword(doc) {
        return Ok(false);
    }
    // Ruby's Base64.decode64 skips line breaks and spaces; so does this.
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(compact) else {
        return Ok(false);
    };
    let message = to_be_signed(sig, doc)?;
    Ok(key.verify_rsa_sha256(message.as_bytes(), &signature))
}

/// Signs a document as Mastodon does: security v1 is added to `@context`,
/// any previous signature replaced. Returns the signed document.
pub fn sign(doc: &Value, key: &PrivateKey, creator: &str, created: &str) -> Result<Value> {
    let Some(m) = doc.as_object() else {
        return Err(JsonLdError::invalid(
            "invalid input",
            "only a JSON object can be signed",
        ));
    };
    let mut m = m.clone();
    m.remove("signature");
    let ctx = m.remove("@context");
    let ctx = match ctx {
        None => Value::String(SECURITY_V1.to_string()),
        Some(Value::Array(mut a)) => {
            if !a.iter().any(|c| c.as_str() == Some(SECURITY_V1)) {
                a.push(Value::String(SECURITY_V1.to_string()));
            }
            Value::Array(a)
        }
        Some(Value::String(s)) if s == SECURITY_V1 => Value::String(s),
        Some(other) => Value::Array(vec![other, Value::String(SECURITY_V1.to_string())]),
    };
    m.insert("@context".to_string(), ctx);
    let mut options = Map::new();
    options.insert("type".into(), Value::String(SIGNATURE_TYPE.into()));
    options.insert("creator".into(), Value::String(creator.into()));
    options.insert("created".into(), Value::String(created.into()));
    let m = Value::Object(m);
    let message = to_be_signed(&options, &m)?;
    let signature = key
        .sign_rsa_sha256(message.as_bytes())
        .map_err(|e| JsonLdError::crypto(format!("signing failed: {e}")))?;
    options.insert(
        "signatureValue".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(signature)),
    );
    let Value::Object(mut m) = m else {
        unreachable!("built as an object above")
    };
    m.insert("signature".into(), Value::Object(options));
    Ok(Value::Object(m))
}
