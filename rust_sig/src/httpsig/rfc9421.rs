//! RFC 9421 HTTP Message Signatures: component values, the signature base,
//! `Signature-Input` / `Signature` fields, and the algorithms.

use std::sync::Arc;

use sfv::{
    BareItem, Dictionary, FieldType, InnerList, Item, Key, KeyRef, List, ListEntry, Parameters,
    Parser, StringRef,
};

use super::errors::{invalid, malformed, unsupported, Kind, SigError, SigResult};
use super::message::{b64, normalize_authority, Headers, Target};
use crate::keys::{PrivateKey, PublicKey, SigAlg};

/// One side of an exchange: a request (method and target) or a response
/// (status), with its header fields.
#[derive(Debug, Clone)]
pub struct Msg {
    pub method: Option<String>,
    pub target: Option<Target>,
    pub status: Option<u16>,
    pub headers: Headers,
}

/// The message being signed and, for a response, the request it answers
/// (the source of `;req` components).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub msg: &'a Msg,
    pub req: Option<&'a Msg>,
}

/// The algorithms of the RFC 9421 registry we implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Asym(SigAlg),
    HmacSha256,
}

impl Alg {
    pub fn from_name(name: &str) -> SigResult<Alg> {
        Ok(match name {
            "rsa-v1_5-sha256" => Alg::Asym(SigAlg::RsaPkcs1Sha256),
            "rsa-pss-sha512" => Alg::Asym(SigAlg::RsaPssSha512),
            "ecdsa-p256-sha256" => Alg::Asym(SigAlg::EcdsaP256Sha256),
            "ecdsa-p384-sha384" => Alg::Asym(SigAlg::EcdsaP384Sha384),
            "ed25519" => Alg::Asym(SigAlg::Ed25519),
            "hmac-sha256" => Alg::HmacSha256,
            other => {
                return Err(unsupported(format!(
                    "unsupported signature algorithm '{other}'"
                )))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::Asym(a) => a.rfc9421_name(),
            Alg::HmacSha256 => "hmac-sha256",
        }
    }
}

/// A key to verify with: public, or an HMAC shared secret.
#[derive(Clone)]
pub enum VerifyKey {
    Public(Arc<PublicKey>),
    Hmac(Vec<u8>),
}

/// A key to sign with: private, or an HMAC shared secret.
#[derive(Clone)]
pub enum SignKey {
    Private(Arc<PrivateKey>),
    Hmac(Vec<u8>),
}

impl VerifyKey {
    fn default_alg(&self) -> Alg {
        match self {
            VerifyKey::Public(k) => Alg::Asym(k.default_alg()),
            VerifyKey::Hmac(_) => Alg::HmacSha256,
        }
    }

    fn fits(&self, alg: Alg) -> bool {
        match (self, alg) {
            (VerifyKey::Public(k), Alg::Asym(a)) => a.fits(k.kind()),
            (VerifyKey::Hmac(_), Alg::HmacSha256) => true,
            _ => false,
        }
    }

    pub fn verify(&self, alg: Alg, msg: &[u8], sig: &[u8]) -> bool {
        match (self, alg) {
            (VerifyKey::Public(k), Alg::Asym(a)) => k.verify(a, msg, sig),
            (VerifyKey::Hmac(secret), Alg::HmacSha256) => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
                aws_lc_rs::hmac::verify(&key, msg, sig).is_ok()
            }
            _ => false,
        }
    }
}

impl SignKey {
    fn default_alg(&self) -> Alg {
        match self {
            SignKey::Private(k) => Alg::Asym(k.default_alg()),
            SignKey::Hmac(_) => Alg::HmacSha256,
        }
    }

    pub fn sign(&self, alg: Alg, msg: &[u8]) -> SigResult<Vec<u8>> {
        match (self, alg) {
            (SignKey::Private(k), Alg::Asym(a)) => Ok(k.sign(a, msg)?),
            (SignKey::Hmac(secret), Alg::HmacSha256) => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
                Ok(aws_lc_rs::hmac::sign(&key, msg).as_ref().to_vec())
            }
            _ => Err(unsupported(format!("{} does not fit this key", alg.name()))),
        }
    }
}

// ---------------------------------------------------------------------------
// Component identifiers and values
// ---------------------------------------------------------------------------

fn key(name: &str) -> &KeyRef {
    // Only called with the literal parameter names below, all valid keys.
    KeyRef::from_str(name).unwrap_or_else(|_| KeyRef::from_str("invalid").expect("static key"))
}

/// Reads a covered-component identifier given as text: either a serialized
/// item (`"@query-param";name="Pet"`) or a bare name with optional
/// parameters (`@authority;req`, `content-type`).
pub fn parse_component(text: &str) -> SigResult<Item> {
    let text = text.trim();
    let serialized = if text.starts_with('"') {
        text.to_string()
    } else {
        let (name, params) = match text.find(';') {
            Some(i) => (&text[..i], &text[i..]),
            None => (text, ""),
        };
        format!("\"{}\"{}", name.trim(), params)
    };
    let item: Item = Parser::new(&serialized)
        .parse()
        .map_err(|e| malformed(format!("bad component identifier {text:?}: {e}")))?;
    if !matches!(item.bare_item, BareItem::String(_)) {
        return Err(malformed(format!(
            "component identifier {text:?} is not a string"
        )));
    }
    Ok(item)
}

fn component_name(item: &Item) -> SigResult<&str> {
    match &item.bare_item {
        BareItem::String(s) => Ok(s.as_str()),
        _ => Err(malformed("a covered component is not a string")),
    }
}

/// The structured type of well-known fields, for the `sf` parameter.
enum SfType {
    Dictionary,
    List,
    Unknown,
}

fn sf_type(name: &str) -> SfType {
    match name {
        "signature"
        | "signature-input"
        | "content-digest"
        | "repr-digest"
        | "want-content-digest"
        | "want-repr-digest"
        | "accept-signature"
        | "priority" => SfType::Dictionary,
        "cache-status" | "proxy-status" | "accept-ch" => SfType::List,
        _ => SfType::Unknown,
    }
}

fn reserialize_sf(name: &str, value: &str) -> SigResult<String> {
    let bad = |e: sfv::Error| malformed(format!("field {name} is not a structured field: {e}"));
    let as_dict = || -> SigResult<String> {
        let d: Dictionary = Parser::new(value).parse().map_err(bad)?;
        Ok(d.serialize().unwrap_or_default())
    };
    let as_list = || -> SigResult<String> {
        let l: List = Parser::new(value).parse().map_err(bad)?;
        Ok(l.serialize().unwrap_or_default())
    };
    let as_item = || -> SigResult<String> {
        let i: Item = Parser::new(value).parse().map_err(bad)?;
        Ok(i.serialize())
    };
    match sf_type(name) {
        SfType::Dictionary => as_dict(),
        SfType::List => as_list(),
        // Unknown type: the first reading that parses gives the same
        // canonical text the sender's would for every common shape.
        SfType::Unknown => as_dict().or_else(|_| as_list()).or_else(|_| as_item()),
    }
}

fn serialize_entry(entry: &ListEntry) -> String {
    match entry {
        ListEntry::Item(item) => item.serialize(),
        ListEntry::InnerList(_) => {
            let list: List = vec![entry.clone()];
            list.serialize().unwrap_or_default()
        }
    }
}

/// The form-urlencoded decoding of the URL standard: `+` is a space and
/// `%XX` a byte; a broken escape stays as it is.
fn form_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Percent-encodes everything but `A-Z a-z 0-9 * - . _` (the URL standard's
/// form-urlencoded set, with spaces as `%20` as RFC 9421 shows).
fn form_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &c in bytes {
        if c.is_ascii_alphanumeric() || b"*-._".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn query_param(target: &Target, name: &str) -> SigResult<String> {
    let query = target.query.as_deref().unwrap_or("");
    let mut found: Option<String> = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        if form_encode(&form_decode(n)) == name {
            if found.is_some() {
                return Err(invalid(format!(
                    "query parameter {name:?} occurs more than once and cannot be signed"
                )));
            }
            found = Some(form_encode(&form_decode(v)));
        }
    }
    found.ok_or_else(|| invalid(format!("query parameter {name:?} is absent")))
}

const KNOWN_PARAMS: &[&str] = &["sf", "key", "bs", "req", "tr", "name"];

/// The value of one covered component.
pub fn component_value(ctx: Ctx<'_>, item: &Item) -> SigResult<String> {
    let name = component_name(item)?;
    for (k, _) in item.params.iter() {
        if !KNOWN_PARAMS.contains(&k.as_str()) {
            return Err(malformed(format!(
                "unknown parameter '{}' on component {name:?}",
                k.as_str()
            )));
        }
    }
    let has = |p: &str| item.params.contains_key(key(p));
    let msg = if has("req") {
        ctx.req.ok_or_else(|| {
            invalid(format!(
                "component {name:?};req needs the request, which was not given"
            ))
        })?
    } else {
        ctx.msg
    };
    if has("tr") {
        return Err(unsupported("trailer fields (;tr) are not supported"));
    }
    if let Some(derived) = name.strip_prefix('@') {
        if has("sf") || has("key") || has("bs") {
            return Err(malformed(format!(
                "parameters sf/key/bs do not apply to {name:?}"
            )));
        }
        let need_target = || {
            msg.target
                .as_ref()
                .ok_or_else(|| invalid(format!("{name} needs a request target")))
        };
        return match derived {
            "method" => msg
                .method
                .clone()
                .ok_or_else(|| invalid("@method needs a request")),
            "target-uri" => {
                let t = need_target()?;
                let auth = t.authority_or_host(&msg.headers).ok_or_else(|| {
                    invalid("@target-uri needs an authority (a URL host or Host)")
                })?;
                Ok(format!("{}://{}{}", t.scheme, auth, t.path_and_query()))
            }
            "authority" => {
                let t = need_target()?;
                let auth = t
                    .authority_or_host(&msg.headers)
                    .ok_or_else(|| invalid("@authority needs a URL host or a Host header"))?;
                Ok(normalize_authority(&auth, &t.scheme))
            }
            "scheme" => Ok(need_target()?.scheme.clone()),
            "request-target" => Ok(need_target()?.path_and_query()),
            "path" => Ok(need_target()?.path.clone()),
            "query" => Ok(format!(
                "?{}",
                need_target()?.query.as_deref().unwrap_or("")
            )),
            "query-param" => {
                let pname = match item.params.get(key("name")) {
                    Some(BareItem::String(s)) => s.as_str().to_string(),
                    _ => return Err(malformed("@query-param needs a name=\"...\" parameter")),
                };
                query_param(need_target()?, &pname)
            }
            "status" => msg
                .status
                .map(|s| format!("{s:03}"))
                .ok_or_else(|| invalid("@status needs a response")),
            "signature-params" => Err(malformed("@signature-params cannot be a covered component")),
            _ => Err(unsupported(format!("unknown derived component {name:?}"))),
        };
    }
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase() || b <= b' ') {
        return Err(malformed(format!(
            "component name {name:?} must be a lowercase field name"
        )));
    }
    let values: Vec<&str> = msg.headers.all(name).collect();
    if values.is_empty() {
        return Err(invalid(format!(
            "the covered field {name:?} is absent from the message"
        )));
    }
    if has("bs") {
        if has("sf") || has("key") {
            return Err(malformed("bs cannot be combined with sf or key"));
        }
        let parts: Vec<String> = values
            .iter()
            .map(|v| {
                format!(
                    ":{}:",
                    b64(v.trim_matches(|c| c == ' ' || c == '\t').as_bytes())
                )
            })
            .collect();
        return Ok(parts.join(", "));
    }
    let combined = msg.headers.combined(name).unwrap_or_default();
    if let Some(k) = item.params.get(key("key")) {
        let member = match k {
            BareItem::String(s) => s.as_str().to_string(),
            _ => return Err(malformed("the key parameter must be a string")),
        };
        let dict: Dictionary = Parser::new(&combined)
            .parse()
            .map_err(|e| invalid(format!("field {name} is not a dictionary: {e}")))?;
        let entry = Key::from_string(member.clone())
            .ok()
            .and_then(|k| dict.get(&k).cloned())
            .ok_or_else(|| invalid(format!("dictionary {name} has no member {member:?}")))?;
        return Ok(serialize_entry(&entry));
    }
    if has("sf") {
        return reserialize_sf(name, &combined);
    }
    Ok(combined)
}

// ---------------------------------------------------------------------------
// Signature parameters and the base
// ---------------------------------------------------------------------------

/// The metadata of one signature, as in `Signature-Input`.
#[derive(Debug, Clone, Default)]
pub struct SigMeta {
    pub components: Vec<Item>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub keyid: Option<String>,
    pub alg: Option<String>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
    /// The parameters in their original order (for re-serialization).
    pub params: Parameters,
}

impl SigMeta {
    /// Names of the covered components as they are serialized (e.g.
    /// `"@query-param";name="Pet"` → `@query-param;name="Pet"`).
    pub fn component_names(&self) -> Vec<String> {
        self.components
            .iter()
            .map(|c| {
                let s = c.serialize();
                // Drop the quotes around the name for readability.
                match s.strip_prefix('"').and_then(|r| r.split_once('"')) {
                    Some((name, rest)) => format!("{name}{rest}"),
                    None => s,
                }
            })
            .collect()
    }

    pub fn covers(&self, name: &str) -> bool {
        self.components
            .iter()
            .any(|c| component_name(c).map(|n| n == name).unwrap_or(false) && c.params.is_empty())
    }

    /// Builds the metadata for signing, parameters in a fixed order that
    /// matches the published examples: created, keyid, alg, expires, nonce, tag.
    pub fn for_signing(
        components: Vec<Item>,
        created: Option<i64>,
        keyid: Option<String>,
        alg: Option<String>,
        expires: Option<i64>,
        nonce: Option<String>,
        tag: Option<String>,
    ) -> SigResult<Self> {
        let mut params = Parameters::new();
        let string = |v: &str| -> SigResult<BareItem> {
            Ok(BareItem::String(
                StringRef::from_str(v)
                    .map_err(|e| malformed(format!("parameter value {v:?}: {e}")))?
                    .to_owned(),
            ))
        };
        let int = |v: i64| -> SigResult<BareItem> {
            Ok(BareItem::Integer(
                sfv::Integer::try_from(v).map_err(|e| malformed(format!("integer {v}: {e}")))?,
            ))
        };
        if let Some(c) = created {
            params.insert(key("created").to_owned(), int(c)?);
        }
        if let Some(k) = &keyid {
            params.insert(key("keyid").to_owned(), string(k)?);
        }
        if let Some(a) = &alg {
            params.insert(key("alg").to_owned(), string(a)?);
        }
        if let Some(e) = expires {
            params.insert(key("expires").to_owned(), int(e)?);
        }
        if let Some(n) = &nonce {
            params.insert(key("nonce").to_owned(), string(n)?);
        }
        if let Some(t) = &tag {
            params.insert(key("tag").to_owned(), string(t)?);
        }
        Ok(SigMeta {
            components,
            created,
            expires,
            keyid,
            alg,
            nonce,
            tag,
            params,
        })
    }

    /// The serialized inner list with its parameters.
    pub fn serialize_params(&self) -> String {
        let inner = InnerList::with_params(self.components.clone(), self.params.clone());
        let list: List = vec![ListEntry::InnerList(inner)];
        list.serialize().unwrap_or_default()
    }

    fn from_entry(entry: &ListEntry) -> SigResult<Self> {
        let inner = match entry {
            ListEntry::InnerList(l) => l,
            ListEntry::Item(_) => {
                return Err(malformed("a Signature-Input member is not an inner list"))
            }
        };
        for item in &inner.items {
            component_name(item)?;
        }
        let mut meta = SigMeta {
            components: inner.items.clone(),
            params: inner.params.clone(),
            ..Default::default()
        };
        for (k, v) in inner.params.iter() {
            let want_int = |v: &BareItem| -> SigResult<i64> {
                match v {
                    BareItem::Integer(i) => Ok(i64::from(*i)),
                    _ => Err(malformed(format!(
                        "signature parameter {} must be an integer",
                        k.as_str()
                    ))),
                }
            };
            let want_str = |v: &BareItem| -> SigResult<String> {
                match v {
                    BareItem::String(s) => Ok(s.as_str().to_string()),
                    _ => Err(malformed(format!(
                        "signature parameter {} must be a string",
                        k.as_str()
                    ))),
                }
            };
            match k.as_str() {
                "created" => meta.created = Some(want_int(v)?),
                "expires" => meta.expires = Some(want_int(v)?),
                "keyid" => meta.keyid = Some(want_str(v)?),
                "alg" => meta.alg = Some(want_str(v)?),
                "nonce" => meta.nonce = Some(want_str(v)?),
                "tag" => meta.tag = Some(want_str(v)?),
                // Unknown parameters are covered by the base as they are.
                _ => {}
            }
        }
        Ok(meta)
    }
}

/// The signature base of RFC 9421 section 2.5.
pub fn signature_base(ctx: Ctx<'_>, meta: &SigMeta) -> SigResult<String> {
    let mut base = String::with_capacity(256);
    let mut seen: Vec<String> = Vec::with_capacity(meta.components.len());
    for item in &meta.components {
        let id = item.serialize();
        if seen.contains(&id) {
            return Err(malformed(format!("component {id} is covered twice")));
        }
        let value = component_value(ctx, item)?;
        if value.bytes().any(|b| b == b'\n' || b == b'\r') {
            return Err(malformed(format!(
                "the value of {id} contains a line break"
            )));
        }
        base.push_str(&id);
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
        seen.push(id);
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&meta.serialize_params());
    Ok(base)
}

/// Every signature of a message: (label, metadata, signature bytes or an
/// error if that label has no usable `Signature` member).
pub struct Signatures {
    pub entries: Vec<(String, SigMeta, Option<Vec<u8>>)>,
}

/// Parses the `Signature-Input` and `Signature` fields of a message.
pub fn parse_signatures(headers: &Headers) -> SigResult<Signatures> {
    let input = headers
        .combined("signature-input")
        .ok_or_else(|| SigError::new(Kind::Missing, "no Signature-Input header"))?;
    let sigs = headers.combined("signature").ok_or_else(|| {
        SigError::new(Kind::Missing, "Signature-Input without a Signature header")
    })?;
    let input: Dictionary = Parser::new(&input).parse().map_err(|e| {
        malformed(format!(
            "Signature-Input is not a structured-field dictionary: {e}"
        ))
    })?;
    let sigs: Dictionary = Parser::new(&sigs).parse().map_err(|e| {
        malformed(format!(
            "Signature is not a structured-field dictionary: {e}"
        ))
    })?;
    let mut entries = Vec::with_capacity(input.len());
    for (label, entry) in input.iter() {
        let meta = SigMeta::from_entry(entry)?;
        let bytes = match sigs.get(label) {
            Some(ListEntry::Item(Item {
                bare_item: BareItem::ByteSequence(b),
                ..
            })) => Some(b.clone()),
            _ => None,
        };
        entries.push((label.as_str().to_string(), meta, bytes));
    }
    if entries.is_empty() {
        return Err(malformed("Signature-Input holds no signature"));
    }
    Ok(Signatures { entries })
}

/// Chooses the algorithm from the `alg` parameter, the caller's hint and
/// the key, refusing any disagreement.
pub fn choose_alg(meta_alg: Option<&str>, hint: Option<&str>, key: &VerifyKey) -> SigResult<Alg> {
    let from_param = meta_alg.map(Alg::from_name).transpose()?;
    let from_hint = hint.map(Alg::from_name).transpose()?;
    let alg = match (from_param, from_hint) {
        (Some(p), Some(h)) if p != h => {
            return Err(unsupported(format!(
                "the signature says alg={} but {} was expected",
                p.name(),
                h.name()
            )))
        }
        (Some(p), _) => p,
        (None, Some(h)) => h,
        (None, None) => key.default_alg(),
    };
    if !key.fits(alg) {
        return Err(unsupported(format!(
            "algorithm {} does not fit the key",
            alg.name()
        )));
    }
    Ok(alg)
}

/// Signs: returns (Signature-Input member value, signature bytes, base).
pub fn sign(
    ctx: Ctx<'_>,
    meta: &SigMeta,
    key: &SignKey,
    alg: Option<Alg>,
) -> SigResult<(String, Vec<u8>, String)> {
    let alg = alg.unwrap_or_else(|| key.default_alg());
    let base = signature_base(ctx, meta)?;
    let sig = key.sign(alg, base.as_bytes())?;
    Ok((meta.serialize_params(), sig, base))
}

/// Serializes `label=<value>` dictionary members for the two fields.
pub fn dict_member_input(label: &str, params: &str) -> SigResult<String> {
    KeyRef::from_str(label).map_err(|e| malformed(format!("bad label {label:?}: {e}")))?;
    Ok(format!("{label}={params}"))
}

pub fn dict_member_signature(label: &str, sig: &[u8]) -> SigResult<String> {
    KeyRef::from_str(label).map_err(|e| malformed(format!("bad label {label:?}: {e}")))?;
    Ok(format!("{label}=:{}:", b64(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_encode_like_the_rfc() {
        let t = Target::parse("/parameters?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something").unwrap();
        assert_eq!(
            query_param(&t, "var").unwrap(),
            "this%20is%20a%20big%0Amultiline%20value"
        );
        assert_eq!(query_param(&t, "bar").unwrap(), "with%20plus%20whitespace");
        assert_eq!(
            query_param(&t, "fa%C3%A7ade%22%3A%20").unwrap(),
            "something"
        );
        let t = Target::parse("/path?param=value&foo=bar&baz=batman&qux=").unwrap();
        assert_eq!(query_param(&t, "qux").unwrap(), "");
        assert!(query_param(&t, "nope").is_err());
    }

    #[test]
    fn dictionary_members() {
        let msg = Msg {
            method: Some("GET".into()),
            target: Some(Target::parse("https://example.com/").unwrap()),
            status: None,
            headers: Headers::new(vec![(
                "Example-Dict".into(),
                " a=1,    b=2;x=1;y=2,   c=(a   b   c), d".into(),
            )]),
        };
        let ctx = Ctx {
            msg: &msg,
            req: None,
        };
        let v = |s: &str| component_value(ctx, &parse_component(s).unwrap()).unwrap();
        assert_eq!(v("\"example-dict\";key=\"a\""), "1");
        assert_eq!(v("\"example-dict\";key=\"d\""), "?1");
        assert_eq!(v("\"example-dict\";key=\"b\""), "2;x=1;y=2");
        assert_eq!(v("\"example-dict\";key=\"c\""), "(a b c)");
        assert_eq!(v("\"example-dict\";sf"), "a=1, b=2;x=1;y=2, c=(a b c), d");
        assert_eq!(v("example-dict"), "a=1,    b=2;x=1;y=2,   c=(a   b   c), d");
    }
}
