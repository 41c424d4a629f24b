//! Python objects and JSON text to `serde_json::Value`, within the size and
//! depth bounds, so hostile input is refused before any JSON-LD work.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use super::error::{JsonLdError, Result};

/// Bounds on an input document.
#[derive(Clone, Copy)]
pub struct Limits {
    /// Bytes of JSON text, or JSON values (scalars, arrays, objects) of a dict.
    pub max_size: usize,
    /// Nesting depth of arrays and objects.
    pub max_depth: usize,
}

pub const DEFAULT_LIMITS: Limits = Limits {
    max_size: 1 << 20,
    max_depth: 64,
};

/// The error for nesting beyond the bound.
fn too_deep(max: usize) -> JsonLdError {
    JsonLdError::limit(
        "document too deep",
        format!("nesting deeper than {max} levels"),
    )
}

/// Checks the nesting depth of a parsed value.
fn check_depth(v: &Value, depth: usize, max: usize) -> Result<()> {
    if depth > max {
        return Err(too_deep(max));
    }
    match v {
        Value::Array(a) => a.iter().try_for_each(|x| check_depth(x, depth + 1, max)),
        Value::Object(m) => m.values().try_for_each(|x| check_depth(x, depth + 1, max)),
        _ => Ok(()),
    }
}

/// Parses JSON text within the limits.
pub fn parse_json(text: &str, limits: Limits) -> Result<Value> {
    if text.len() > limits.max_size {
        return Err(JsonLdError::limit(
            "document too large",
            format!("{} bytes, more than {}", text.len(), limits.max_size),
        ));
    }
    let v: Value = serde_json::from_str(text).map_err(|e| {
        if e.to_string().contains("recursion limit") {
            too_deep(limits.max_depth)
        } else {
            JsonLdError::invalid("loading document failed", format!("invalid JSON: {e}"))
        }
    })?;
    check_depth(&v, 0, limits.max_depth)?;
    Ok(v)
}

struct Conv {
    limits: Limits,
    count: usize,
}

impl Conv {
    fn go(&mut self, o: &Bound<'_, PyAny>, depth: usize) -> Result<Value> {
        self.count += 1;
        if self.count > self.limits.max_size {
            return Err(JsonLdError::limit(
                "document too large",
                format!("more than {} JSON values", self.limits.max_size),
            ));
        }
        if depth > self.limits.max_depth {
            return Err(too_deep(self.limits.max_depth));
        }
        if let Ok(s) = o.downcast::<PyString>() {
            return Ok(Value::String(s.to_str().map_err(bad_py)?.to_string()));
        }
        if let Ok(d) = o.downcast::<PyDict>() {
            let mut m = Map::new();
            for (k, v) in d.iter() {
                let k = k
                    .downcast::<PyString>()
                    .map_err(|_| JsonLdError::invalid("loading document failed", "non-string key"))?
                    .to_str()
                    .map_err(bad_py)?
                    .to_string();
                m.insert(k, self.go(&v, depth + 1)?);
            }
            return Ok(Value::Object(m));
        }
        if let Ok(l) = o.downcast::<PyList>() {
            let mut a = Vec::with_capacity(l.len());
            for v in l.iter() {
                a.push(self.go(&v, depth + 1)?);
            }
            return Ok(Value::Array(a));
        }
        if let Ok(t) = o.downcast::<PyTuple>() {
            let mut a = Vec::with_capacity(t.len());
            for v in t.iter() {
                a.push(self.go(&v, depth + 1)?);
            }
            return Ok(Value::Array(a));
        }
        if o.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(b) = o.downcast::<PyBool>() {
            return Ok(Value::Bool(b.is_true()));
        }
        if o.downcast::<PyInt>().is_ok() {
            if let Ok(i) = o.extract::<i64>() {
                return Ok(Value::Number(i.into()));
            }
            if let Ok(u) = o.extract::<u64>() {
                return Ok(Value::Number(u.into()));
            }
            let f: f64 = o.extract().map_err(bad_py)?;
            return Number::from_f64(f).map(Value::Number).ok_or_else(|| {
                JsonLdError::invalid("loading document failed", "integer out of range")
            });
        }
        if let Ok(f) = o.downcast::<PyFloat>() {
            return Number::from_f64(f.value())
                .map(Value::Number)
                .ok_or_else(|| JsonLdError::invalid("loading document failed", "NaN or infinity"));
        }
        Err(JsonLdError::invalid(
            "loading document failed",
            format!(
                "cannot represent {} in JSON",
                o.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ),
        ))
    }
}

/// A Python-side conversion failure as an invalid document.
fn bad_py(e: PyErr) -> JsonLdError {
    JsonLdError::invalid("loading document failed", e.to_string())
}

/// A document from Python: already converted, or JSON text still to parse.
/// Text is parsed after the GIL is released (str objects are immutable and
/// the caller keeps a reference, so the borrowed UTF-8 stays valid).
pub enum Input<'py> {
    Value(Value),
    Text(&'py str),
}

impl Input<'_> {
    /// The JSON value, parsing text within the limits.
    pub fn into_value(self, limits: Limits) -> Result<Value> {
        match self {
            Input::Value(v) => Ok(v),
            Input::Text(t) => parse_json(t, limits),
        }
    }
}

/// Takes a Python document (dict, list or JSON text) for later conversion.
pub fn input<'py>(o: &'py Bound<'py, PyAny>, limits: Limits) -> Result<Input<'py>> {
    if let Ok(s) = o.downcast::<PyString>() {
        return Ok(Input::Text(s.to_str().map_err(bad_py)?));
    }
    Ok(Input::Value(Conv { limits, count: 0 }.go(o, 0)?))
}

/// Converts a Python document (dict, list or JSON text) to a JSON value.
pub fn to_value(o: &Bound<'_, PyAny>, limits: Limits) -> Result<Value> {
    if let Ok(s) = o.downcast::<PyString>() {
        return parse_json(s.to_str().map_err(bad_py)?, limits);
    }
    Conv { limits, count: 0 }.go(o, 0)
}
