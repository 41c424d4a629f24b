//! Key handling shared by the HTTP-signature and LD-signature code.
//!
//! Keys are read from PEM (PKCS#1, PKCS#8, SEC1 and SPKI), parsed once into
//! aws-lc-rs objects and then used from any thread: every type here is
//! `Send + Sync`, so callers can release the GIL around signing and
//! verification. The DER handling below only peels the outer ASN.1 wrappers
//! to find which algorithm a key is for; all number crunching is aws-lc-rs.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, UnparsedPublicKey,
};
use base64::Engine as _;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

create_exception!(
    wildebeest_trio._rust,
    SignatureError,
    PyException,
    "Base class of every signature, digest and key error raised by the Rust extension."
);
create_exception!(
    wildebeest_trio._rust,
    InvalidKey,
    SignatureError,
    "A key could not be read (bad PEM or DER, unsupported type, or too small)."
);

/// Why a key could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The PEM armour or its base64 body is broken.
    Pem(String),
    /// The DER inside is not a key structure we understand.
    Der(String),
    /// A well-formed key of a type or size we do not handle.
    Unsupported(String),
    /// The key cannot do what was asked (e.g. sign with a 1024-bit RSA key).
    Unusable(String),
    /// aws-lc-rs refused the operation.
    Crypto(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Pem(m) => write!(f, "invalid PEM: {m}"),
            KeyError::Der(m) => write!(f, "invalid key encoding: {m}"),
            KeyError::Unsupported(m) => write!(f, "unsupported key: {m}"),
            KeyError::Unusable(m) => write!(f, "unusable key: {m}"),
            KeyError::Crypto(m) => write!(f, "crypto failure: {m}"),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<KeyError> for PyErr {
    fn from(e: KeyError) -> PyErr {
        InvalidKey::new_err(e.to_string())
    }
}

/// Runs a key parser so that a panic on hostile input is an `InvalidKey`
/// error rather than PyO3's `PanicException` (a `BaseException`).
fn parse_guarded<T>(f: impl FnOnce() -> Result<T, KeyError>) -> Result<T, KeyError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(KeyError::Der("the key could not be parsed".into())))
}

/// The kind of a key, which decides the algorithms it can be used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    Ed25519,
    EcdsaP256,
    EcdsaP384,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Rsa => "rsa",
            KeyKind::Ed25519 => "ed25519",
            KeyKind::EcdsaP256 => "ecdsa-p256",
            KeyKind::EcdsaP384 => "ecdsa-p384",
        }
    }
}

/// An asymmetric signature algorithm (the HMAC one lives with its user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256`, `rsa-v1_5-sha256`).
    RsaPkcs1Sha256,
    /// RSASSA-PSS with SHA-512, MGF1 SHA-512, 64-byte salt (`rsa-pss-sha512`).
    RsaPssSha512,
    /// ECDSA on P-256 with SHA-256, signature as r || s.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384, signature as r || s.
    EcdsaP384Sha384,
    /// Ed25519.
    Ed25519,
}

impl SigAlg {
    /// Whether a key of `kind` can make or check signatures of this algorithm.
    pub fn fits(self, kind: KeyKind) -> bool {
        matches!(
            (self, kind),
            (SigAlg::RsaPkcs1Sha256 | SigAlg::RsaPssSha512, KeyKind::Rsa)
                | (SigAlg::EcdsaP256Sha256, KeyKind::EcdsaP256)
                | (SigAlg::EcdsaP384Sha384, KeyKind::EcdsaP384)
                | (SigAlg::Ed25519, KeyKind::Ed25519)
        )
    }

    /// The RFC 9421 name of the algorithm.
    pub fn rfc9421_name(self) -> &'static str {
        match self {
            SigAlg::RsaPkcs1Sha256 => "rsa-v1_5-sha256",
            SigAlg::RsaPssSha512 => "rsa-pss-sha512",
            SigAlg::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            SigAlg::EcdsaP384Sha384 => "ecdsa-p384-sha384",
            SigAlg::Ed25519 => "ed25519",
        }
    }
}

// ---------------------------------------------------------------------------
// PEM and the little DER we need to read
// ---------------------------------------------------------------------------

/// A decoded PEM block: its label (e.g. `PUBLIC KEY`) and DER bytes.
struct PemBlock {
    label: String,
    der: Vec<u8>,
}

const KEY_LABELS: &[&str] = &[
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "PUBLIC KEY",
    "RSA PUBLIC KEY",
    "ENCRYPTED PRIVATE KEY",
];

/// Finds the first key block in `text`.
///
/// Real-world PEMs arrive mangled: newlines turned into spaces (actor
/// documents edited by hand), or into literal `\n` (JSON stored as text), or
/// with CRLF. So the body is taken as everything between the armour lines,
/// with all whitespace and escaped newlines removed.
fn read_pem(text: &str) -> Result<PemBlock, KeyError> {
    let mut rest = text;
    loop {
        let start = rest
            .find("-----BEGIN ")
            .ok_or_else(|| KeyError::Pem("no '-----BEGIN ...-----' line found".into()))?;
        let after_begin = &rest[start + "-----BEGIN ".len()..];
        let label_end = after_begin
            .find("-----")
            .ok_or_else(|| KeyError::Pem("unterminated BEGIN line".into()))?;
        let label = after_begin[..label_end].trim().to_string();
        let body_and_rest = &after_begin[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body_and_rest
            .find(&end_marker)
            .ok_or_else(|| KeyError::Pem(format!("no '{end_marker}' line found")))?;
        if !KEY_LABELS.contains(&label.as_str()) {
            // Skip blocks such as `EC PARAMETERS` that precede the key.
            rest = &body_and_rest[end + end_marker.len()..];
            continue;
        }
        if label == "ENCRYPTED PRIVATE KEY" {
            return Err(KeyError::Unsupported(
                "encrypted private keys are not supported".into(),
            ));
        }
        let body = &body_and_rest[..end];
        if body.contains("Proc-Type:") {
            return Err(KeyError::Unsupported(
                "encrypted (Proc-Type) PEM keys are not supported".into(),
            ));
        }
        let cleaned: String = body
            .replace("\\n", "")
            .replace("\\r", "")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|e| KeyError::Pem(format!("bad base64 body: {e}")))?;
        return Ok(PemBlock { label, der });
    }
}

fn write_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so any chunk boundary is a char boundary.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// A cursor over DER: reads one tag-length-value at a time.
struct Der<'a> {
    data: &'a [u8],
}

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

impl<'a> Der<'a> {
    fn new(data: &'a [u8]) -> Self {
        Der { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Reads any TLV, returning its tag and contents.
    fn any(&mut self) -> Result<(u8, &'a [u8]), KeyError> {
        let bad = |m: &str| KeyError::Der(m.to_string());
        let (&tag, rest) = self.data.split_first().ok_or_else(|| bad("truncated"))?;
        if tag & 0x1f == 0x1f {
            return Err(bad("multi-byte tags are not used in keys"));
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(|| bad("truncated length"))?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return Err(bad("bad length"));
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | b as usize;
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(bad("value runs past the end"));
        }
        let (value, after) = rest.split_at(len);
        self.data = after;
        Ok((tag, value))
    }

    fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], KeyError> {
        let (t, v) = self.any()?;
        if t != tag {
            return Err(KeyError::Der(format!("expected {what}")));
        }
        Ok(v)
    }
}

/// An AlgorithmIdentifier: the OID and the raw parameters (if any).
fn algorithm_identifier(seq: &[u8]) -> Result<(&[u8], Option<&[u8]>), KeyError> {
    let mut d = Der::new(seq);
    let oid = d.expect(TAG_OID, "an algorithm OID")?;
    let params = if d.is_empty() {
        None
    } else {
        let (tag, v) = d.any()?;
        if tag == TAG_OID {
            Some(v)
        } else {
            None
        }
    };
    Ok((oid, params))
}

/// The bit length of an RSA modulus read from a PKCS#1 RSAPublicKey or
/// RSAPrivateKey (whose first INTEGERs are version, then modulus).
fn rsa_modulus_bits(pkcs1: &[u8], private: bool) -> Result<usize, KeyError> {
    let mut outer = Der::new(pkcs1);
    let body = outer.expect(TAG_SEQUENCE, "an RSA key SEQUENCE")?;
    let mut d = Der::new(body);
    if private {
        d.expect(TAG_INTEGER, "the RSA key version")?;
    }
    let mut n = d.expect(TAG_INTEGER, "the RSA modulus")?;
    while let [0, rest @ ..] = n {
        n = rest;
    }
    match n.first() {
        None => Err(KeyError::Der("empty RSA modulus".into())),
        Some(&top) => Ok((n.len() - 1) * 8 + (8 - top.leading_zeros() as usize)),
    }
}

/// The named curve of an EC key from its parameters OID.
fn ec_kind(curve: Option<&[u8]>) -> Result<KeyKind, KeyError> {
    match curve {
        Some(OID_P256) => Ok(KeyKind::EcdsaP256),
        Some(OID_P384) => Ok(KeyKind::EcdsaP384),
        Some(_) => Err(KeyError::Unsupported(
            "only the P-256 and P-384 curves are supported".into(),
        )),
        None => Err(KeyError::Unsupported("EC key without a named curve".into())),
    }
}

/// The curve named inside a SEC1 ECPrivateKey (`[0]` parameters).
fn sec1_curve(der: &[u8]) -> Result<KeyKind, KeyError> {
    let mut outer = Der::new(der);
    let body = outer.expect(TAG_SEQUENCE, "an ECPrivateKey SEQUENCE")?;
    let mut d = Der::new(body);
    d.expect(TAG_INTEGER, "the EC key version")?;
    d.expect(TAG_OCTET_STRING, "the EC private scalar")?;
    while !d.is_empty() {
        let (tag, v) = d.any()?;
        if tag == 0xa0 {
            let mut p = Der::new(v);
            let oid = p.expect(TAG_OID, "a named curve")?;
            return ec_kind(Some(oid));
        }
    }
    Err(KeyError::Unsupported(
        "EC private key without curve parameters".into(),
    ))
}

// ---------------------------------------------------------------------------
// Private keys
// ---------------------------------------------------------------------------

enum PrivateInner {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
}

/// A parsed private key, ready to sign from any thread.
pub struct PrivateKey {
    inner: PrivateInner,
    kind: KeyKind,
    bits: usize,
    /// The PKCS#8 said `id-RSASSA-PSS`: the key is only for PSS.
    pss_only: bool,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, {} bits)", self.kind.name(), self.bits)
    }
}

fn rejected(what: &str, e: impl fmt::Display) -> KeyError {
    KeyError::Der(format!("{what} rejected: {e}"))
}

impl PrivateKey {
    /// Reads a PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let block = read_pem(pem)?;
        match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.der),
            "RSA PRIVATE KEY" => Self::from_rsa_pkcs1_der(&block.der, false),
            "EC PRIVATE KEY" => {
                let kind = sec1_curve(&block.der)?;
                Self::from_ec_der(&block.der, kind)
            }
            other => Err(KeyError::Pem(format!(
                "expected a private key PEM, found '{other}'"
            ))),
        }
    }

    /// Reads an unencrypted PKCS#8 PrivateKeyInfo.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let mut outer = Der::new(der);
        let body = outer.expect(TAG_SEQUENCE, "a PKCS#8 SEQUENCE")?;
        let mut d = Der::new(body);
        d.expect(TAG_INTEGER, "the PKCS#8 version")?;
        let alg = d.expect(TAG_SEQUENCE, "the PKCS#8 AlgorithmIdentifier")?;
        let key = d.expect(TAG_OCTET_STRING, "the PKCS#8 private key")?;
        let (oid, params) = algorithm_identifier(alg)?;
        match oid {
            OID_RSA => Self::from_rsa_pkcs1_der(key, false),
            OID_RSA_PSS => Self::from_rsa_pkcs1_der(key, true),
            OID_ED25519 => {
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(|e| rejected("Ed25519 key", e))?;
                Ok(PrivateKey {
                    inner: PrivateInner::Ed25519(pair),
                    kind: KeyKind::Ed25519,
                    bits: 256,
                    pss_only: false,
                })
            }
            OID_EC_PUBLIC_KEY => {
                let kind = ec_kind(params)?;
                Self::from_ec_der(der, kind)
            }
            _ => Err(KeyError::Unsupported(
                "the PKCS#8 key is not RSA, Ed25519 or ECDSA".into(),
            )),
        }
    }

    fn from_rsa_pkcs1_der(der: &[u8], pss_only: bool) -> Result<Self, KeyError> {
        let bits = rsa_modulus_bits(der, true)?;
        if bits < 2048 {
            return Err(KeyError::Unusable(format!(
                "a {bits}-bit RSA key cannot sign (2048 bits at least); its public key can still verify"
            )));
        }
        let pair = RsaKeyPair::from_der(der).map_err(|e| rejected("RSA key", e))?;
        Ok(PrivateKey {
            inner: PrivateInner::Rsa(pair),
            kind: KeyKind::Rsa,
            bits,
            pss_only,
        })
    }

    fn from_ec_der(der: &[u8], kind: KeyKind) -> Result<Self, KeyError> {
        let (alg, bits) = match kind {
            KeyKind::EcdsaP256 => (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, 256),
            _ => (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, 384),
        };
        let pair =
            EcdsaKeyPair::from_private_key_der(alg, der).map_err(|e| rejected("EC key", e))?;
        Ok(PrivateKey {
            inner: PrivateInner::Ecdsa(pair),
            kind,
            bits,
            pss_only: false,
        })
    }

    /// A new RSA key of 2048, 3072, 4096 or 8192 bits.
    pub fn generate_rsa(bits: usize) -> Result<Self, KeyError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => {
                return Err(KeyError::Unsupported(format!(
                    "RSA key size {bits}: choose 2048, 3072, 4096 or 8192"
                )))
            }
        };
        let pair = RsaKeyPair::generate(size).map_err(|e| KeyError::Crypto(e.to_string()))?;
        Ok(PrivateKey {
            inner: PrivateInner::Rsa(pair),
            kind: KeyKind::Rsa,
            bits,
            pss_only: false,
        })
    }

    /// A new Ed25519 key.
    pub fn generate_ed25519() -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::generate().map_err(|e| KeyError::Crypto(e.to_string()))?;
        Ok(PrivateKey {
            inner: PrivateInner::Ed25519(pair),
            kind: KeyKind::Ed25519,
            bits: 256,
            pss_only: false,
        })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The RSA modulus size, or the curve size.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The algorithm to use when nothing else says which.
    pub fn default_alg(&self) -> SigAlg {
        match self.kind {
            KeyKind::Rsa if self.pss_only => SigAlg::RsaPssSha512,
            KeyKind::Rsa => SigAlg::RsaPkcs1Sha256,
            KeyKind::Ed25519 => SigAlg::Ed25519,
            KeyKind::EcdsaP256 => SigAlg::EcdsaP256Sha256,
            KeyKind::EcdsaP384 => SigAlg::EcdsaP384Sha384,
        }
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256, the signature of Mastodon and
    /// LD signatures.
    pub fn sign_rsa_sha256(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.sign(SigAlg::RsaPkcs1Sha256, msg)
    }

    /// Signs `msg` with `alg`, which must fit the key.
    pub fn sign(&self, alg: SigAlg, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        if !alg.fits(self.kind) || (self.pss_only && alg != SigAlg::RsaPssSha512) {
            return Err(KeyError::Unusable(format!(
                "a {} key cannot sign with {}",
                self.kind.name(),
                alg.rfc9421_name()
            )));
        }
        let crypto = |e: aws_lc_rs::error::Unspecified| KeyError::Crypto(e.to_string());
        match &self.inner {
            PrivateInner::Rsa(pair) => {
                let encoding: &'static dyn signature::RsaEncoding = match alg {
                    SigAlg::RsaPssSha512 => &signature::RSA_PSS_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                // The RNG only matters for PSS salts; aws-lc draws its own.
                pair.sign(encoding, &SystemRandom::new(), msg, &mut sig)
                    .map_err(crypto)?;
                Ok(sig)
            }
            PrivateInner::Ed25519(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
            PrivateInner::Ecdsa(pair) => Ok(pair
                .sign(&SystemRandom::new(), msg)
                .map_err(crypto)?
                .as_ref()
                .to_vec()),
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        match &self.inner {
            PrivateInner::Rsa(pair) => {
                let mut pk = PublicKey::from_rsa_pkcs1_der(pair.public_key().as_ref())?;
                pk.pss_only = self.pss_only;
                Ok(pk)
            }
            PrivateInner::Ed25519(pair) => {
                PublicKey::from_raw(KeyKind::Ed25519, pair.public_key().as_ref())
            }
            PrivateInner::Ecdsa(pair) => PublicKey::from_raw(self.kind, pair.public_key().as_ref()),
        }
    }

    /// The key as unencrypted PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let crypto = |e: aws_lc_rs::error::Unspecified| KeyError::Crypto(e.to_string());
        match &self.inner {
            PrivateInner::Rsa(pair) => {
                let der: Pkcs8V1Der = pair.as_der().map_err(crypto)?;
                Ok(der.as_ref().to_vec())
            }
            PrivateInner::Ed25519(pair) => Ok(pair.to_pkcs8v1().map_err(crypto)?.as_ref().to_vec()),
            PrivateInner::Ecdsa(pair) => Ok(pair.to_pkcs8v1().map_err(crypto)?.as_ref().to_vec()),
        }
    }

    /// The key as a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        Ok(write_pem("PRIVATE KEY", &self.to_pkcs8_der()?))
    }
}

// ---------------------------------------------------------------------------
// Public keys
// ---------------------------------------------------------------------------

/// A parsed public key, ready to verify from any thread.
pub struct PublicKey {
    /// Parsed once for the key's main algorithm (PKCS#1 v1.5 SHA-256 for
    /// RSA, which is what the Fediverse uses), so verification does not
    /// re-parse the key.
    parsed: ParsedPublicKey,
    /// The raw key for the other algorithms (PKCS#1 RSAPublicKey, EC point
    /// or Ed25519 bytes).
    raw: Vec<u8>,
    kind: KeyKind,
    bits: usize,
    pss_only: bool,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}, {} bits)", self.kind.name(), self.bits)
    }
}

impl PublicKey {
    /// Reads an SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) PEM. A
    /// private key PEM is accepted too and gives its public half.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let block = read_pem(pem)?;
        match block.label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&block.der),
            "RSA PUBLIC KEY" => Self::from_rsa_pkcs1_der(&block.der),
            _ => PrivateKey::from_pem(pem)?.public_key(),
        }
    }

    /// Reads a SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let mut outer = Der::new(der);
        let body = outer.expect(TAG_SEQUENCE, "an SPKI SEQUENCE")?;
        let mut d = Der::new(body);
        let alg = d.expect(TAG_SEQUENCE, "the SPKI AlgorithmIdentifier")?;
        let bits = d.expect(TAG_BIT_STRING, "the SPKI key BIT STRING")?;
        let key = match bits.split_first() {
            Some((0, key)) => key,
            _ => return Err(KeyError::Der("the key BIT STRING has unused bits".into())),
        };
        let (oid, params) = algorithm_identifier(alg)?;
        match oid {
            OID_RSA => Self::from_rsa_pkcs1_der(key),
            OID_RSA_PSS => {
                let mut pk = Self::from_rsa_pkcs1_der(key)?;
                pk.pss_only = true;
                Ok(pk)
            }
            OID_ED25519 => Self::from_raw(KeyKind::Ed25519, key),
            OID_EC_PUBLIC_KEY => Self::from_raw(ec_kind(params)?, key),
            _ => Err(KeyError::Unsupported(
                "the SPKI key is not RSA, Ed25519 or ECDSA".into(),
            )),
        }
    }

    /// Reads a PKCS#1 RSAPublicKey.
    pub fn from_rsa_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let bits = rsa_modulus_bits(der, false)?;
        if !(1024..=8192).contains(&bits) {
            return Err(KeyError::Unsupported(format!(
                "RSA keys of {bits} bits (1024 to 8192 are accepted)"
            )));
        }
        let parsed = ParsedPublicKey::new(
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            der,
        )
        .map_err(|e| rejected("RSA public key", e))?;
        Ok(PublicKey {
            parsed,
            raw: der.to_vec(),
            kind: KeyKind::Rsa,
            bits,
            pss_only: false,
        })
    }

    /// An Ed25519 key (32 bytes) or an EC point (uncompressed SEC1).
    fn from_raw(kind: KeyKind, raw: &[u8]) -> Result<Self, KeyError> {
        let (alg, bits): (&'static dyn signature::VerificationAlgorithm, usize) = match kind {
            KeyKind::Ed25519 => (&signature::ED25519, 256),
            KeyKind::EcdsaP256 => (&signature::ECDSA_P256_SHA256_FIXED, 256),
            KeyKind::EcdsaP384 => (&signature::ECDSA_P384_SHA384_FIXED, 384),
            KeyKind::Rsa => return Self::from_rsa_pkcs1_der(raw),
        };
        if kind == KeyKind::Ed25519 && raw.len() != 32 {
            return Err(KeyError::Der("an Ed25519 public key is 32 bytes".into()));
        }
        let parsed = ParsedPublicKey::new(alg, raw).map_err(|e| rejected("public key", e))?;
        Ok(PublicKey {
            parsed,
            raw: raw.to_vec(),
            kind,
            bits,
            pss_only: false,
        })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The algorithm to use when nothing else says which.
    pub fn default_alg(&self) -> SigAlg {
        match self.kind {
            KeyKind::Rsa if self.pss_only => SigAlg::RsaPssSha512,
            KeyKind::Rsa => SigAlg::RsaPkcs1Sha256,
            KeyKind::Ed25519 => SigAlg::Ed25519,
            KeyKind::EcdsaP256 => SigAlg::EcdsaP256Sha256,
            KeyKind::EcdsaP384 => SigAlg::EcdsaP384Sha384,
        }
    }

    /// Checks an RSASSA-PKCS1-v1_5 SHA-256 signature (false for non-RSA keys).
    pub fn verify_rsa_sha256(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.verify(SigAlg::RsaPkcs1Sha256, msg, sig)
    }

    /// Checks a signature of `alg`; false when it does not verify or the
    /// algorithm does not fit the key.
    pub fn verify(&self, alg: SigAlg, msg: &[u8], sig: &[u8]) -> bool {
        if !alg.fits(self.kind) || (self.pss_only && alg != SigAlg::RsaPssSha512) {
            return false;
        }
        match alg {
            SigAlg::RsaPssSha512 => {
                UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA512, &self.raw)
                    .verify(msg, sig)
                    .is_ok()
            }
            // The parsed key was made for exactly this key's main algorithm.
            _ => self.parsed.verify_sig(msg, sig).is_ok(),
        }
    }

    /// The key as SubjectPublicKeyInfo DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        let der: PublicKeyX509Der = self
            .parsed
            .as_der()
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        Ok(der.as_ref().to_vec())
    }

    /// The key as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        Ok(write_pem("PUBLIC KEY", &self.to_spki_der()?))
    }

    /// The raw key: PKCS#1 RSAPublicKey, EC point or Ed25519 bytes.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
}

// ---------------------------------------------------------------------------
// Python classes
// ---------------------------------------------------------------------------

/// A parsed private key (RSA, Ed25519 or ECDSA). Parse once, sign many times.
#[pyclass(frozen, name = "PrivateKey", module = "wildebeest_trio._rust")]
pub struct PyPrivateKey {
    pub key: Arc<PrivateKey>,
}

#[pymethods]
impl PyPrivateKey {
    /// Reads a PKCS#8, PKCS#1 or SEC1 PEM (newlines may have become spaces).
    #[staticmethod]
    fn from_pem(py: Python<'_>, pem: &str) -> PyResult<Self> {
        let pem = pem.to_owned();
        let key = py.allow_threads(move || parse_guarded(|| PrivateKey::from_pem(&pem)))?;
        Ok(PyPrivateKey { key: Arc::new(key) })
    }

    /// Generates an RSA key (2048, 3072, 4096 or 8192 bits).
    #[staticmethod]
    #[pyo3(signature = (bits = 2048))]
    fn generate_rsa(py: Python<'_>, bits: usize) -> PyResult<Self> {
        let key = py.allow_threads(move || PrivateKey::generate_rsa(bits))?;
        Ok(PyPrivateKey { key: Arc::new(key) })
    }

    /// Generates an Ed25519 key.
    #[staticmethod]
    fn generate_ed25519() -> PyResult<Self> {
        Ok(PyPrivateKey {
            key: Arc::new(PrivateKey::generate_ed25519()?),
        })
    }

    /// The key type: "rsa", "ed25519", "ecdsa-p256" or "ecdsa-p384".
    #[getter]
    fn kind(&self) -> &'static str {
        self.key.kind().name()
    }

    /// The RSA modulus size or the curve size, in bits.
    #[getter]
    fn bits(&self) -> usize {
        self.key.bits()
    }

    /// The matching public key.
    fn public_key(&self) -> PyResult<PyPublicKey> {
        Ok(PyPublicKey {
            key: Arc::new(self.key.public_key()?),
        })
    }

    /// The key as a PKCS#8 PEM.
    fn to_pem(&self) -> PyResult<String> {
        Ok(self.key.to_pem()?)
    }

    /// Signs raw bytes; `algorithm` is an RFC 9421 name, default by key type.
    #[pyo3(signature = (message, algorithm = None))]
    fn sign<'py>(
        &self,
        py: Python<'py>,
        message: &[u8],
        algorithm: Option<&str>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let alg = match algorithm {
            Some(name) => sig_alg_from_name(name)?,
            None => self.key.default_alg(),
        };
        let key = self.key.clone();
        let msg = message.to_vec();
        let sig = py.allow_threads(move || key.sign(alg, &msg))?;
        Ok(PyBytes::new(py, &sig))
    }

    fn __repr__(&self) -> String {
        format!(
            "<PrivateKey {} {} bits>",
            self.key.kind().name(),
            self.key.bits()
        )
    }
}

/// A parsed public key (RSA of 1024 bits or more, Ed25519 or ECDSA).
#[pyclass(frozen, name = "PublicKey", module = "wildebeest_trio._rust")]
pub struct PyPublicKey {
    pub key: Arc<PublicKey>,
}

#[pymethods]
impl PyPublicKey {
    /// Reads an SPKI or PKCS#1 PEM (newlines may have become spaces).
    #[staticmethod]
    fn from_pem(py: Python<'_>, pem: &str) -> PyResult<Self> {
        let pem = pem.to_owned();
        let key = py.allow_threads(move || parse_guarded(|| PublicKey::from_pem(&pem)))?;
        Ok(PyPublicKey { key: Arc::new(key) })
    }

    /// The key type: "rsa", "ed25519", "ecdsa-p256" or "ecdsa-p384".
    #[getter]
    fn kind(&self) -> &'static str {
        self.key.kind().name()
    }

    /// The RSA modulus size or the curve size, in bits.
    #[getter]
    fn bits(&self) -> usize {
        self.key.bits()
    }

    /// The key as an SPKI PEM.
    fn to_pem(&self) -> PyResult<String> {
        Ok(self.key.to_pem()?)
    }

    /// Checks a signature over raw bytes; `algorithm` is an RFC 9421 name.
    #[pyo3(signature = (message, signature, algorithm = None))]
    fn verify(
        &self,
        py: Python<'_>,
        message: &[u8],
        signature: &[u8],
        algorithm: Option<&str>,
    ) -> PyResult<bool> {
        let alg = match algorithm {
            Some(name) => sig_alg_from_name(name)?,
            None => self.key.default_alg(),
        };
        Ok(py.allow_threads(|| self.key.verify(alg, message, signature)))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.downcast::<PyPublicKey>() {
            Ok(o) => {
                let o = o.get();
                self.key.kind == o.key.kind && self.key.raw == o.key.raw
            }
            Err(_) => false,
        }
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.key.raw.hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "<PublicKey {} {} bits>",
            self.key.kind().name(),
            self.key.bits()
        )
    }
}

/// Maps an algorithm name (RFC 9421 names, plus `rsa-sha256`) to `SigAlg`.
pub fn sig_alg_from_name(name: &str) -> PyResult<SigAlg> {
    match name {
        "rsa-v1_5-sha256" | "rsa-sha256" => Ok(SigAlg::RsaPkcs1Sha256),
        "rsa-pss-sha512" => Ok(SigAlg::RsaPssSha512),
        "ecdsa-p256-sha256" => Ok(SigAlg::EcdsaP256Sha256),
        "ecdsa-p384-sha384" => Ok(SigAlg::EcdsaP384Sha384),
        "ed25519" => Ok(SigAlg::Ed25519),
        _ => Err(InvalidKey::new_err(format!(
            "unknown signature algorithm '{name}'"
        ))),
    }
}

/// A private key from either a `PrivateKey` handle or a PEM `str`.
pub fn extract_private_key(obj: &Bound<'_, PyAny>) -> PyResult<Arc<PrivateKey>> {
    if let Ok(handle) = obj.downcast::<PyPrivateKey>() {
        return Ok(handle.get().key.clone());
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        let pem = s.to_str()?;
        return Ok(Arc::new(parse_guarded(|| PrivateKey::from_pem(pem))?));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "expected a PrivateKey or a PEM string",
    ))
}

/// A public key from either a `PublicKey` handle, a `PrivateKey` handle (its
/// public half) or a PEM `str`.
pub fn extract_public_key(obj: &Bound<'_, PyAny>) -> PyResult<Arc<PublicKey>> {
    if let Ok(handle) = obj.downcast::<PyPublicKey>() {
        return Ok(handle.get().key.clone());
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        let pem = s.to_str()?;
        return Ok(Arc::new(parse_guarded(|| PublicKey::from_pem(pem))?));
    }
    if let Ok(handle) = obj.downcast::<PyPrivateKey>() {
        return Ok(Arc::new(handle.get().key.public_key()?));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "expected a PublicKey or a PEM string",
    ))
}

/// `(private PKCS#8 PEM, public SPKI PEM)` for a new RSA key.
#[pyfunction]
#[pyo3(signature = (bits = 2048))]
fn generate_rsa_keypair(py: Python<'_>, bits: usize) -> PyResult<(String, String)> {
    let pair = py.allow_threads(move || -> Result<(String, String), KeyError> {
        let key = PrivateKey::generate_rsa(bits)?;
        Ok((key.to_pem()?, key.public_key()?.to_pem()?))
    })?;
    Ok(pair)
}

/// `(private PKCS#8 PEM, public SPKI PEM)` for a new Ed25519 key.
#[pyfunction]
fn generate_ed25519_keypair() -> PyResult<(String, String)> {
    let key = PrivateKey::generate_ed25519()?;
    Ok((key.to_pem()?, key.public_key()?.to_pem()?))
}

/// Adds the key classes, key functions and the base exceptions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("SignatureError", py.get_type::<SignatureError>())?;
    m.add("InvalidKey", py.get_type::<InvalidKey>())?;
    m.add_class::<PyPrivateKey>()?;
    m.add_class::<PyPublicKey>()?;
    m.add_function(wrap_pyfunction!(generate_rsa_keypair, m)?)?;
    m.add_function(wrap_pyfunction!(generate_ed25519_keypair, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rsa_round_trips() {
        let key = PrivateKey::generate_rsa(2048).unwrap();
        let pem = key.to_pem().unwrap();
        let again = PrivateKey::from_pem(&pem.replace('\n', " ")).unwrap();
        let public = PublicKey::from_pem(&again.public_key().unwrap().to_pem().unwrap()).unwrap();
        let sig = key.sign_rsa_sha256(b"hello").unwrap();
        assert!(public.verify_rsa_sha256(b"hello", &sig));
        assert!(!public.verify_rsa_sha256(b"hellO", &sig));
        assert_eq!(public.bits(), 2048);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(PublicKey::from_pem("").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
