//! Errors of the JSON-LD module, each carrying the JSON-LD error code where
//! the specification names one, mapped to Python in `mod.rs`.

use std::fmt;

/// Which Python exception class an error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A remote context that is neither bundled nor supplied.
    UnknownContext,
    /// The input is not valid JSON-LD, JSON or N-Quads.
    Invalid,
    /// A size, depth or work bound was exceeded.
    Limit,
    /// A key or signature problem.
    Crypto,
}

/// An error with its kind, JSON-LD error code and message.
#[derive(Clone, Debug)]
pub struct JsonLdError {
    pub kind: Kind,
    pub code: String,
    pub message: String,
}

impl JsonLdError {
    pub fn invalid(code: &str, message: impl Into<String>) -> Self {
        JsonLdError {
            kind: Kind::Invalid,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn limit(code: &str, message: impl Into<String>) -> Self {
        JsonLdError {
            kind: Kind::Limit,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn unknown_context(url: &str) -> Self {
        JsonLdError {
            kind: Kind::UnknownContext,
            code: "loading remote context failed".to_string(),
            message: format!("unknown remote context {url} (contexts are never fetched)"),
        }
    }

    pub fn crypto(message: impl Into<String>) -> Self {
        JsonLdError {
            kind: Kind::Crypto,
            code: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for JsonLdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

/// Shorthand for results of this module.
pub type Result<T> = std::result::Result<T, JsonLdError>;

/// A JSON-LD error with the given code and message.
pub fn err<T>(code: &str, message: impl Into<String>) -> Result<T> {
    Err(JsonLdError::invalid(code, message))
}
