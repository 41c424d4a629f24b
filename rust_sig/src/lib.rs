//! The Rust extension of wildebeest-trio, imported as `wildebeest_trio._rust`.
//!
//! Each submodule registers its own functions; the Python package reaches them
//! only through small typed modules (`wildebeest_trio.signatures`,
//! `wildebeest_trio.jsonld`).

use pyo3::prelude::*;

mod jsonld;
mod keys;

/// The crate's version, for diagnostics.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _rust(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    keys::register(m)?;
    jsonld::register(m)?;
    Ok(())
}
