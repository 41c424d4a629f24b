//! JSON-LD for wildebeest-trio: JSON-LD 1.1 expansion to RDF (toRdf) with
//! bundled contexts, RDF Dataset Canonicalization (RDFC-1.0) and Mastodon's
//! `RsaSignature2017` Linked Data signatures.
//!
//! Python reaches these through `wildebeest_trio.jsonld`; every function here
//! releases the GIL for its heavy part and reports failures as
//! `JsonLdFailure(kind, code, message)`, which the Python face turns into its
//! typed exception hierarchy.

mod bundled;
pub mod canon;
pub mod context;
pub mod contexts;
pub mod dataset;
pub mod error;
pub mod expand;
pub mod expanded;
pub mod iri;
pub mod ldsig;
pub mod nquads;
pub mod pyconv;
pub mod tordf;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use canon::HashAlgorithm;
use error::{JsonLdError, Kind};

create_exception!(
    _rust,
    JsonLdFailure,
    PyValueError,
    "A JSON-LD failure: args are (kind, code, message)."
);

/// Converts a module error into the Python exception the face re-raises.
fn to_py(e: JsonLdError) -> PyErr {
    let kind = match e.kind {
        Kind::UnknownContext => "unknown_context",
        Kind::Invalid => "invalid",
        Kind::Limit => "limit",
        Kind::Crypto => "crypto",
    };
    JsonLdFailure::new_err((kind, e.code, e.message))
}

/// Canonical N-Quads of an N-Quads dataset.
#[pyfunction]
#[pyo3(signature = (nquads, hash_algorithm = "sha256", max_work = canon::DEFAULT_MAX_WORK))]
fn jsonld_canonicalize_nquads(
    py: Python<'_>,
    nquads: &str,
    hash_algorithm: &str,
    max_work: u64,
) -> PyResult<String> {
    let alg = HashAlgorithm::from_name(hash_algorithm).map_err(to_py)?;
    py.allow_threads(|| {
        let quads = nquads::parse_nquads(nquads)?;
        let ds = dataset::Dataset::from_quads(&quads);
        Ok(canon::canonicalize(&ds, alg, max_work)?.nquads)
    })
    .map_err(to_py)
}

/// The canonical blank node identifiers issued for an N-Quads dataset.
#[pyfunction]
#[pyo3(signature = (nquads, hash_algorithm = "sha256", max_work = canon::DEFAULT_MAX_WORK))]
fn jsonld_issued_identifiers<'py>(
    py: Python<'py>,
    nquads: &str,
    hash_algorithm: &str,
    max_work: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let alg = HashAlgorithm::from_name(hash_algorithm).map_err(to_py)?;
    let issued = py
        .allow_threads(|| {
            let quads = nquads::parse_nquads(nquads)?;
            let ds = dataset::Dataset::from_quads(&quads);
            Ok(canon::canonicalize(&ds, alg, max_work)?.issued)
        })
        .map_err(to_py)?;
    let d = PyDict::new(py);
    for (k, v) in issued {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// Upper bound on the quads one document may produce.
pub const MAX_QUADS: usize = 100_000;

/// A JSON-LD document to its RDF dataset, in emission order; a node met
/// twice may repeat quads (canonicalization drops duplicates itself).
pub fn document_to_quads(
    doc: &Value,
    base: Option<&str>,
    extra: &HashMap<String, Arc<Value>>,
) -> error::Result<dataset::Dataset> {
    document_to_quads_skipping(doc, base, extra, None)
}

/// As `document_to_quads`, leaving out one top-level entry (`skip`).
pub fn document_to_quads_skipping(
    doc: &Value,
    base: Option<&str>,
    extra: &HashMap<String, Arc<Value>>,
    skip: Option<&str>,
) -> error::Result<dataset::Dataset> {
    let processor = context::Processor {
        loader: context::Loader { extra },
    };
    let expanded = processor.expand_document(doc, base, extra.is_empty(), skip)?;
    let mut t = tordf::ToRdf::new(MAX_QUADS);
    t.document(&expanded)?;
    Ok(t.ds)
}

/// Reads the `contexts` argument: URL -> document (dict, list or JSON text).
fn extra_contexts(contexts: Option<&Bound<'_, PyAny>>) -> PyResult<HashMap<String, Arc<Value>>> {
    let mut out = HashMap::new();
    if let Some(c) = contexts {
        if c.is_none() {
            return Ok(out);
        }
        let items = c.call_method0("items")?;
        for pair in items.try_iter()? {
            let (k, v): (String, Bound<'_, PyAny>) = pair?.extract()?;
            let v = pyconv::to_value(&v, pyconv::DEFAULT_LIMITS).map_err(to_py)?;
            out.insert(k, Arc::new(v));
        }
    }
    Ok(out)
}

/// The N-Quads of a JSON-LD document (JSON-LD 1.1 toRdf).
#[pyfunction]
#[pyo3(signature = (document, base = None, contexts = None))]
fn jsonld_to_rdf(
    py: Python<'_>,
    document: &Bound<'_, PyAny>,
    base: Option<String>,
    contexts: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let doc = pyconv::input(document, pyconv::DEFAULT_LIMITS).map_err(to_py)?;
    let extra = extra_contexts(contexts)?;
    py.allow_threads(|| {
        let doc = doc.into_value(pyconv::DEFAULT_LIMITS)?;
        Ok(document_to_quads(&doc, base.as_deref(), &extra)?.to_nquads())
    })
    .map_err(to_py)
}

/// The canonical N-Quads (RDFC-1.0) of a JSON-LD document.
#[pyfunction]
#[pyo3(signature = (document, base = None, contexts = None, hash_algorithm = "sha256", max_work = canon::DEFAULT_MAX_WORK))]
fn jsonld_canonicalize(
    py: Python<'_>,
    document: &Bound<'_, PyAny>,
    base: Option<String>,
    contexts: Option<&Bound<'_, PyAny>>,
    hash_algorithm: &str,
    max_work: u64,
) -> PyResult<String> {
    let alg = HashAlgorithm::from_name(hash_algorithm).map_err(to_py)?;
    let doc = pyconv::input(document, pyconv::DEFAULT_LIMITS).map_err(to_py)?;
    let extra = extra_contexts(contexts)?;
    py.allow_threads(|| {
        let doc = doc.into_value(pyconv::DEFAULT_LIMITS)?;
        let quads = document_to_quads(&doc, base.as_deref(), &extra)?;
        Ok(canon::canonicalize(&quads, alg, max_work)?.nquads)
    })
    .map_err(to_py)
}

/// Verifies a document's RsaSignature2017 signature with a public key.
#[pyfunction]
fn jsonld_verify_ld_signature(
    py: Python<'_>,
    document: &Bound<'_, PyAny>,
    public_key: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    let key = crate::keys::extract_public_key(public_key)?;
    let doc = pyconv::input(document, pyconv::DEFAULT_LIMITS).map_err(to_py)?;
    py.allow_threads(|| ldsig::verify(&doc.into_value(pyconv::DEFAULT_LIMITS)?, &key))
        .map_err(to_py)
}

/// Signs a document with RsaSignature2017; returns the signed document as JSON.
#[pyfunction]
fn jsonld_sign_ld_signature(
    py: Python<'_>,
    document: &Bound<'_, PyAny>,
    private_key: &Bound<'_, PyAny>,
    creator: &str,
    created: &str,
) -> PyResult<String> {
    let key = crate::keys::extract_private_key(private_key)?;
    let doc = pyconv::to_value(document, pyconv::DEFAULT_LIMITS).map_err(to_py)?;
    py.allow_threads(|| ldsig::sign(&doc, &key, creator, created).map(|v| v.to_string()))
        .map_err(to_py)
}

/// A bundled context document as JSON text, or None (for tests).
#[pyfunction]
fn jsonld_bundled_context(url: &str) -> Option<String> {
    contexts::bundled(url).map(|v| v.to_string())
}

/// The URLs of the bundled contexts.
#[pyfunction]
fn jsonld_bundled_urls() -> Vec<&'static str> {
    contexts::bundled_urls()
}

/// Adds the JSON-LD functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("JsonLdFailure", m.py().get_type::<JsonLdFailure>())?;
    m.add_function(wrap_pyfunction!(jsonld_canonicalize_nquads, m)?)?;
    m.add_function(wrap_pyfunction!(jsonld_issued_identifiers, m)?)?;
    m.add_function(wrap_pyfunction!(jsonld_to_rdf, m)?)?;
    m.add_function(wrap_pyfunction!(jsonld_canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(jsonld_verify_ld_signature, m)?)?;
    m.add_function(wrap_pyfunction!(jsonld_sign_ld_signature, m)?)?;
    m.add_function(wrap_pyfunction!(jsonld_bundled_context, m)?)?;
    m.add_function(wrap_pyfunction!(jsonld_bundled_urls, m)?)?;
    Ok(())
}
