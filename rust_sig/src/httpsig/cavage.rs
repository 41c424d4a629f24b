//! draft-cavage-http-signatures-12, as the Fediverse uses it.

use super::errors::{invalid, malformed, unsupported, Kind, SigError, SigResult};
use super::message::{Headers, Target};
use crate::keys::{KeyKind, PublicKey, SigAlg};

/// The parameters of a `Signature` header.
#[derive(Debug, Clone)]
pub struct Params {
    pub key_id: String,
    /// Lowercased; `hs2019` when absent (Mastodon's default).
    pub algorithm: String,
    /// Lowercased header names, the default applied when `headers` is absent.
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
    pub created: Option<i64>,
    pub expires: Option<f64>,
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Parses `keyId="...",algorithm="...",headers="...",signature="..."`.
///
/// Values are quoted strings (with `\` escapes) or bare tokens; duplicate
/// parameters are rejected; a leading `Signature ` (as in the
/// `Authorization` form) is tolerated, as Mastodon does.
pub fn parse_header(value: &str) -> SigResult<Params> {
    let mut s = value.trim();
    if s.len() >= 10 && s[..10].eq_ignore_ascii_case("signature ") {
        s = s[10..].trim_start();
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut pairs: Vec<(String, String)> = Vec::new();
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && is_key_char(b[i]) {
            i += 1;
        }
        if i == start {
            return Err(malformed(format!(
                "unexpected character {:?} in the Signature header",
                s[i..].chars().next().unwrap_or(' ')
            )));
        }
        let name = &s[start..i];
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            return Err(malformed(format!("parameter {name} has no value")));
        }
        i += 1;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let mut val = String::new();
        if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut closed = false;
            let mut seg = i;
            while i < b.len() {
                match b[i] {
                    b'\\' if i + 1 < b.len() => {
                        val.push_str(&s[seg..i]);
                        i += 1;
                        seg = i;
                        // The escaped byte is taken literally; step over a
                        // whole UTF-8 character.
                        i += s[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
                    }
                    b'"' => {
                        val.push_str(&s[seg..i]);
                        i += 1;
                        closed = true;
                        break;
                    }
                    _ => i += 1,
                }
            }
            if !closed {
                return Err(malformed(format!("unterminated quoted value for {name}")));
            }
        } else {
            // A bare value is an RFC 9110 token (as in Mastodon's parser).
            let vstart = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b[i]))
            {
                i += 1;
            }
            if i == vstart {
                return Err(malformed(format!(
                    "parameter {name} has an empty or invalid value"
                )));
            }
            val.push_str(&s[vstart..i]);
        }
        if pairs.iter().any(|(n, _)| n == name) {
            return Err(malformed(format!(
                "duplicate parameter {name} in the Signature header"
            )));
        }
        pairs.push((name.to_string(), val));
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i < b.len() && b[i] != b',' {
            return Err(malformed(
                "parameters of the Signature header must be separated by commas",
            ));
        }
    }
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let key_id = get("keyId")
        .ok_or_else(|| malformed("the Signature header has no keyId"))?
        .to_string();
    let sig_b64 =
        get("signature").ok_or_else(|| malformed("the Signature header has no signature"))?;
    let signature = super::message::unb64(sig_b64)
        .ok_or_else(|| malformed("the signature parameter is not valid base64"))?;
    let algorithm = get("algorithm").unwrap_or("hs2019").to_ascii_lowercase();
    let headers: Vec<String> = match get("headers") {
        Some(h) => {
            let list: Vec<String> = h
                .split_ascii_whitespace()
                .map(|x| x.to_ascii_lowercase())
                .collect();
            if list.is_empty() {
                return Err(malformed("the headers parameter is empty"));
            }
            list
        }
        // Mastodon's defaults: (created) for hs2019, date otherwise.
        None if algorithm == "hs2019" => vec!["(created)".to_string()],
        None => vec!["date".to_string()],
    };
    let created = match get("created") {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| malformed("the created parameter is not an integer"))?,
        ),
        None => None,
    };
    let expires = match get("expires") {
        Some(e) => {
            let v = e
                .parse::<f64>()
                .map_err(|_| malformed("the expires parameter is not a number"))?;
            if !v.is_finite() {
                return Err(malformed("the expires parameter is not a number"));
            }
            Some(v)
        }
        None => None,
    };
    Ok(Params {
        key_id,
        algorithm,
        headers,
        signature,
        created,
        expires,
    })
}

/// The signature algorithm `algorithm` means with this key. Mastodon
/// verifies `rsa-sha256` and `hs2019` as RSASSA-PKCS1-v1_5 SHA-256; an
/// Ed25519 key under `hs2019` means Ed25519.
pub fn resolve_alg(algorithm: &str, kind: KeyKind) -> SigResult<SigAlg> {
    match (algorithm, kind) {
        ("rsa-sha256", KeyKind::Rsa) | ("hs2019", KeyKind::Rsa) => Ok(SigAlg::RsaPkcs1Sha256),
        ("hs2019", KeyKind::Ed25519) => Ok(SigAlg::Ed25519),
        ("rsa-sha256" | "hs2019", k) => Err(unsupported(format!(
            "algorithm {algorithm} cannot be used with a {} key",
            k.name()
        ))),
        (other, _) => Err(unsupported(format!(
            "unsupported algorithm {other} (rsa-sha256 and hs2019 are accepted)"
        ))),
    }
}

/// Checks that `(created)` / `(expires)` are only used where allowed.
pub fn check_pseudo_headers(p: &Params) -> SigResult<()> {
    for (pseudo, present) in [
        ("(created)", p.created.is_some()),
        ("(expires)", p.expires.is_some()),
    ] {
        if p.headers.iter().any(|h| h == pseudo) {
            if p.algorithm != "hs2019" {
                return Err(malformed(format!(
                    "{pseudo} cannot be signed with algorithm {}",
                    p.algorithm
                )));
            }
            if !present {
                return Err(malformed(format!(
                    "{pseudo} is signed but the {} parameter is missing",
                    &pseudo[1..pseudo.len() - 1]
                )));
            }
        }
    }
    Ok(())
}

/// Builds the signing string. `with_query` false drops the query from
/// `(request-target)` (the form older Mastodon versions signed).
pub fn signing_string(
    signed: &[String],
    method: &str,
    target: &Target,
    headers: &Headers,
    created: Option<i64>,
    expires: Option<f64>,
    with_query: bool,
) -> SigResult<String> {
    let mut out = String::with_capacity(256);
    for (i, name) in signed.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(name);
        out.push_str(": ");
        match name.as_str() {
            "(request-target)" => {
                out.push_str(&method.to_ascii_lowercase());
                out.push(' ');
                out.push_str(&target.path);
                if with_query {
                    if let Some(q) = &target.query {
                        out.push('?');
                        out.push_str(q);
                    }
                }
            }
            "(created)" => {
                let c =
                    created.ok_or_else(|| malformed("(created) without a created parameter"))?;
                out.push_str(&c.to_string());
            }
            "(expires)" => {
                let e =
                    expires.ok_or_else(|| malformed("(expires) without an expires parameter"))?;
                out.push_str(&format_expires(e));
            }
            _ => {
                let value = match headers.combined(name) {
                    Some(v) => v,
                    // HTTP/2 carries the host as :authority; the URL has it.
                    None if name == "host" => target.authority.clone().ok_or_else(|| {
                        invalid("the signed header host is absent from the request")
                    })?,
                    None => {
                        return Err(invalid(format!(
                            "the signed header {name} is absent from the request"
                        )))
                    }
                };
                if value.bytes().any(|b| b == b'\n' || b == b'\r') {
                    return Err(malformed(format!(
                        "the value of {name} contains a line break"
                    )));
                }
                out.push_str(&value);
            }
        }
    }
    Ok(out)
}

fn format_expires(e: f64) -> String {
    if e.fract() == 0.0 && e.abs() < 1e15 {
        format!("{}", e as i64)
    } else {
        format!("{e}")
    }
}

/// Verifies the signature bytes over `text`.
pub fn check(key: &PublicKey, alg: SigAlg, text: &str, sig: &[u8]) -> bool {
    key.verify(alg, text.as_bytes(), sig)
}

/// Escapes a value for a quoted string in the header.
pub fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub fn no_signature() -> SigError {
    SigError::new(Kind::Missing, "Request not signed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mastodon_headers() {
        let p = parse_header(r#"Signature keyId="https://a/users/b#main-key", algorithm="rsa-sha256",headers="(request-target) host date",signature="YWJj""#).unwrap();
        assert_eq!(p.key_id, "https://a/users/b#main-key");
        assert_eq!(p.headers, ["(request-target)", "host", "date"]);
        assert_eq!(p.signature, b"abc");
        assert!(parse_header(r#"keyId="a",keyId="b",signature="YWJj""#).is_err());
        assert!(parse_header(r#"keyId="a""#).is_err());
        assert!(parse_header(r#"keyId="a,signature="YWJj""#).is_err());
        let p = parse_header(r#"keyId=tok,signature="YWJj""#).unwrap();
        assert_eq!(p.algorithm, "hs2019");
        assert_eq!(p.headers, ["(created)"]);
    }
}
