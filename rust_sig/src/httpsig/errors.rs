//! The error type of the HTTP-signature code and its Python exceptions.

use std::fmt;

use pyo3::create_exception;
use pyo3::prelude::*;

use crate::keys::{InvalidKey, KeyError, SignatureError};

create_exception!(
    wildebeest_trio._rust,
    MissingSignature,
    SignatureError,
    "The request carries no signature at all."
);
create_exception!(
    wildebeest_trio._rust,
    MalformedSignature,
    SignatureError,
    "A signature header (or a header it depends on) cannot be parsed."
);
create_exception!(
    wildebeest_trio._rust,
    MalformedDigest,
    MalformedSignature,
    "The Content-Digest header is not a valid structured-field dictionary (Mastodon answers 400)."
);
create_exception!(
    wildebeest_trio._rust,
    UnsupportedAlgorithm,
    SignatureError,
    "The signature algorithm is unknown, or does not fit the key."
);
create_exception!(
    wildebeest_trio._rust,
    DigestMismatch,
    SignatureError,
    "The Digest or Content-Digest header is missing, unsupported, or does not match the body."
);
create_exception!(
    wildebeest_trio._rust,
    RequiredComponentMissing,
    SignatureError,
    "The signature does not cover a component the policy requires."
);
create_exception!(
    wildebeest_trio._rust,
    SignatureExpired,
    SignatureError,
    "The signature is too old, expired, or dated too far in the future."
);
create_exception!(
    wildebeest_trio._rust,
    SignatureInvalid,
    SignatureError,
    "The signature does not verify over the request."
);

/// Which exception an error becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Missing,
    Malformed,
    MalformedDigest,
    Unsupported,
    DigestMismatch,
    RequiredMissing,
    Expired,
    Invalid,
    Key,
    Internal,
}

/// An error with the exception kind and a message for the log or the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigError {
    pub kind: Kind,
    pub msg: String,
}

pub type SigResult<T> = Result<T, SigError>;

impl SigError {
    pub fn new(kind: Kind, msg: impl Into<String>) -> Self {
        SigError {
            kind,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for SigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl From<KeyError> for SigError {
    fn from(e: KeyError) -> Self {
        SigError::new(Kind::Key, e.to_string())
    }
}

impl From<SigError> for PyErr {
    fn from(e: SigError) -> PyErr {
        let m = e.msg;
        match e.kind {
            Kind::Missing => MissingSignature::new_err(m),
            Kind::Malformed => MalformedSignature::new_err(m),
            Kind::MalformedDigest => MalformedDigest::new_err(m),
            Kind::Unsupported => UnsupportedAlgorithm::new_err(m),
            Kind::DigestMismatch => DigestMismatch::new_err(m),
            Kind::RequiredMissing => RequiredComponentMissing::new_err(m),
            Kind::Expired => SignatureExpired::new_err(m),
            Kind::Invalid => SignatureInvalid::new_err(m),
            Kind::Key => InvalidKey::new_err(m),
            Kind::Internal => SignatureError::new_err(m),
        }
    }
}

/// Shorthands for building errors.
pub fn malformed(msg: impl Into<String>) -> SigError {
    SigError::new(Kind::Malformed, msg)
}
pub fn invalid(msg: impl Into<String>) -> SigError {
    SigError::new(Kind::Invalid, msg)
}
pub fn unsupported(msg: impl Into<String>) -> SigError {
    SigError::new(Kind::Unsupported, msg)
}
pub fn required(msg: impl Into<String>) -> SigError {
    SigError::new(Kind::RequiredMissing, msg)
}
pub fn expired(msg: impl Into<String>) -> SigError {
    SigError::new(Kind::Expired, msg)
}
pub fn digest_mismatch(msg: impl Into<String>) -> SigError {
    SigError::new(Kind::DigestMismatch, msg)
}

/// Runs `f`, turning a panic into an error instead of unwinding into Python.
///
/// PyO3 would already turn a panic into `PanicException`, but that derives
/// from `BaseException` and would escape the server's `except` clauses; a
/// request with strange bytes must end as an ordinary signature error.
pub fn guard<T>(f: impl FnOnce() -> SigResult<T> + std::panic::UnwindSafe) -> SigResult<T> {
    match std::panic::catch_unwind(f) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(SigError::new(
                Kind::Internal,
                format!("internal error: {what}"),
            ))
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("MissingSignature", py.get_type::<MissingSignature>())?;
    m.add("MalformedSignature", py.get_type::<MalformedSignature>())?;
    m.add("MalformedDigest", py.get_type::<MalformedDigest>())?;
    m.add(
        "UnsupportedAlgorithm",
        py.get_type::<UnsupportedAlgorithm>(),
    )?;
    m.add("DigestMismatch", py.get_type::<DigestMismatch>())?;
    m.add(
        "RequiredComponentMissing",
        py.get_type::<RequiredComponentMissing>(),
    )?;
    m.add("SignatureExpired", py.get_type::<SignatureExpired>())?;
    m.add("SignatureInvalid", py.get_type::<SignatureInvalid>())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r: SigResult<()> = guard(|| panic!("boom"));
        std::panic::set_hook(hook);
        let e = r.unwrap_err();
        assert_eq!(e.kind, Kind::Internal);
        assert!(e.msg.contains("boom"));
    }
}
