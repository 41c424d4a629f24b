//! JSON-LD for wildebeest-trio: JSON-LD 1.1 expansion to RDF (toRdf) with
//! bundled contexts, RDF Dataset Canonicalization (RDFC-1.0) and Mastodon's
//! `RsaSignature2017` Linked Data signatures.
//!
//! Python reaches these through `wildebeest_trio.jsonld`; every function here
//! releases the GIL for its heavy part and reports failures as
//! `JsonLdFailure(kind, code, message)`, which the Python face turns into its
//! typed exception hierarchy.

pub mod canon;
pub mod error;
pub mod nquads;

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
        Ok(canon::canonicalize(&quads, alg, max_work)?.nquads)
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
            Ok(canon::canonicalize(&quads, alg, max_work)?.issued)
        })
        .map_err(to_py)?;
    let d = PyDict::new(py);
    for (k, v) in issued {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// Adds the JSON-LD functions to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("JsonLdFailure", m.py().get_type::<JsonLdFailure>())?;
    m.add_function(wrap_pyfunction!(jsonld_canonicalize_nquads, m)?)?;
    m.add_function(wrap_pyfunction!(jsonld_issued_identifiers, m)?)?;
    Ok(())
}
