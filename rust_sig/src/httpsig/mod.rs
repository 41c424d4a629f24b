//! HTTP signatures: draft-cavage-12 and RFC 9421, with Mastodon's rules,
//! plus the Digest / Content-Digest helpers. Python reaches this through
//! `wildebeest_trio.signatures`.

pub mod cavage;
pub mod digest;
pub mod errors;
pub mod message;
pub mod rfc9421;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyString};
use rayon::prelude::*;

use crate::keys::{extract_private_key, extract_public_key, KeyKind, PrivateKey, PublicKey};
use errors::{
    digest_mismatch, expired, guard, invalid, malformed, required, unsupported, Kind, SigError,
    SigResult,
};
use message::{format_http_date, parse_http_date, Headers, Target};
use rfc9421::{Alg, Ctx, Msg, SigMeta, SignKey, VerifyKey};

/// Which rules a verification applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Only what the specifications require.
    Spec,
    /// The specifications plus Mastodon's requirements.
    Mastodon,
}

impl Policy {
    fn parse(name: &str) -> SigResult<Policy> {
        match name {
            "mastodon" => Ok(Policy::Mastodon),
            "spec" => Ok(Policy::Spec),
            other => Err(SigError::new(
                Kind::Internal,
                format!("unknown policy {other:?} (use \"mastodon\" or \"spec\")"),
            )),
        }
    }
}

/// Which signature scheme a request uses or should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Cavage,
    Rfc9421,
}

impl Scheme {
    fn parse(name: &str) -> SigResult<Scheme> {
        match name {
            "cavage" => Ok(Scheme::Cavage),
            "rfc9421" => Ok(Scheme::Rfc9421),
            other => Err(SigError::new(
                Kind::Internal,
                format!("unknown scheme {other:?} (use \"cavage\" or \"rfc9421\")"),
            )),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Scheme::Cavage => "cavage",
            Scheme::Rfc9421 => "rfc9421",
        }
    }
}

/// What a parsed or verified signature says.
#[derive(Debug, Clone)]
pub struct Info {
    pub key_id: String,
    pub scheme: Scheme,
    pub algorithm: Option<String>,
    pub components: Vec<String>,
    pub created: Option<f64>,
    pub expires: Option<f64>,
    pub label: Option<String>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
}

type InfoTuple = (
    String,
    &'static str,
    Option<String>,
    Vec<String>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Info {
    fn into_tuple(self) -> InfoTuple {
        (
            self.key_id,
            self.scheme.name(),
            self.algorithm,
            self.components,
            self.created,
            self.expires,
            self.label,
            self.nonce,
            self.tag,
        )
    }
}

/// The time window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub now: f64,
    /// Oldest accepted `created`/`Date` when there is no `expires`; None: no limit.
    pub max_age: Option<f64>,
    /// How far ahead a `created` may be, and how far past `expires`.
    pub max_skew: f64,
}

/// Mastodon caps a sender's `expires` at 12 hours after creation.
const MAX_EXPIRY: f64 = 12.0 * 3600.0;

fn check_window(
    created: Option<f64>,
    expires: Option<f64>,
    w: Window,
    policy: Policy,
) -> SigResult<()> {
    let outside = "Signed request date outside acceptable time window";
    if let Some(c) = created {
        if c > w.now + w.max_skew {
            return Err(expired(format!(
                "{outside}: created {:.0} s in the future",
                c - w.now
            )));
        }
    }
    if let Some(e) = expires {
        let deadline = match (created, policy) {
            (Some(c), Policy::Mastodon) => e.min(c + MAX_EXPIRY),
            _ => e,
        };
        if w.now > deadline + w.max_skew {
            return Err(expired(format!(
                "{outside}: expired {:.0} s ago",
                w.now - deadline
            )));
        }
    } else if let (Some(c), Some(age)) = (created, w.max_age) {
        if w.now - c > age {
            return Err(expired(format!(
                "{outside}: created {:.0} s ago",
                w.now - c
            )));
        }
    }
    Ok(())
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn is_get(method: &str) -> bool {
    method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD")
}

fn is_post(method: &str) -> bool {
    method.eq_ignore_ascii_case("POST")
}

// ---------------------------------------------------------------------------
// Signing a request
// ---------------------------------------------------------------------------

/// One request to sign.
pub struct SignJob {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub key_id: String,
    pub key: Arc<PrivateKey>,
    pub scheme: Scheme,
    pub now: Option<f64>,
}

/// Signs a request the way Mastodon does; returns the headers to add.
pub fn sign_request(job: &SignJob) -> SigResult<Vec<(String, String)>> {
    let target = Target::parse(&job.url)?;
    let mut headers = Headers::new(job.headers.clone());
    let now = job.now.unwrap_or_else(unix_now);
    let mut added: Vec<(String, String)> = Vec::with_capacity(4);
    let mut add = |headers: &mut Headers, name: &str, value: String| {
        headers.push(name, &value);
        added.push((name.to_string(), value));
    };
    if !headers.contains("host") {
        let host = target
            .authority
            .clone()
            .ok_or_else(|| malformed("no Host header and the URL has no host"))?;
        add(&mut headers, "Host", host);
    }
    if !headers.contains("date") {
        add(&mut headers, "Date", format_http_date(now.floor() as i64));
    }
    let with_body = job.body.is_some() || !is_get(&job.method);
    let body: &[u8] = job.body.as_deref().unwrap_or(b"");
    let key = &job.key;
    match job.scheme {
        Scheme::Cavage => {
            if with_body {
                match headers.combined("digest") {
                    Some(existing) => digest::verify_digest_value(&existing, body, Policy::Spec)?,
                    None => add(&mut headers, "Digest", digest::digest_header(body)),
                }
            }
            let mut signed: Vec<String> =
                vec!["(request-target)".into(), "host".into(), "date".into()];
            if with_body {
                signed.push("digest".into());
                if headers.contains("content-type") {
                    signed.push("content-type".into());
                }
            } else if headers.contains("accept") {
                signed.push("accept".into());
            }
            let (alg_name, alg) = match key.kind() {
                KeyKind::Rsa => ("rsa-sha256", crate::keys::SigAlg::RsaPkcs1Sha256),
                KeyKind::Ed25519 => ("hs2019", crate::keys::SigAlg::Ed25519),
                k => {
                    return Err(unsupported(format!(
                        "draft-cavage signing with a {} key",
                        k.name()
                    )))
                }
            };
            let text =
                cavage::signing_string(&signed, &job.method, &target, &headers, None, None, true)?;
            let sig = key.sign(alg, text.as_bytes())?;
            let value = format!(
                "keyId={},algorithm=\"{alg_name}\",headers=\"{}\",signature=\"{}\"",
                cavage::quote(&job.key_id),
                signed.join(" "),
                message::b64(&sig)
            );
            add(&mut headers, "Signature", value);
        }
        Scheme::Rfc9421 => {
            let mut components = vec![
                rfc9421::parse_component("@method")?,
                rfc9421::parse_component("@target-uri")?,
            ];
            if with_body {
                match headers.combined("content-digest") {
                    Some(existing) => {
                        digest::verify_content_digest_value(&existing, body, Policy::Spec)?
                    }
                    None => add(
                        &mut headers,
                        "Content-Digest",
                        digest::content_digest_header(body, &["sha-256".to_string()])?,
                    ),
                }
                components.push(rfc9421::parse_component("content-digest")?);
            }
            let meta = SigMeta::for_signing(
                components,
                Some(now.floor() as i64),
                Some(job.key_id.clone()),
                None,
                None,
                None,
                None,
            )?;
            let msg = Msg {
                method: Some(job.method.clone()),
                target: Some(target),
                status: None,
                headers,
            };
            let ctx = Ctx {
                msg: &msg,
                req: None,
            };
            let (params, sig, _base) =
                rfc9421::sign(ctx, &meta, &SignKey::Private(key.clone()), None)?;
            added.push(("Signature-Input".into(), format!("sig1={params}")));
            added.push(("Signature".into(), format!("sig1=:{}:", message::b64(&sig))));
        }
    }
    Ok(added)
}

// ---------------------------------------------------------------------------
// Parsing and verifying a request
// ---------------------------------------------------------------------------

enum Found<'a> {
    Cavage(String),
    Rfc9421(&'a Headers),
}

fn find_signature<'a>(headers: &'a Headers, policy: Policy) -> SigResult<Found<'a>> {
    if headers.contains("signature-input") {
        return Ok(Found::Rfc9421(headers));
    }
    if let Some(v) = headers.combined("signature") {
        return Ok(Found::Cavage(v));
    }
    if policy == Policy::Spec {
        if let Some(auth) = headers.combined("authorization") {
            if auth.len() > 10 && auth[..10].eq_ignore_ascii_case("signature ") {
                return Ok(Found::Cavage(auth));
            }
        }
    }
    Err(cavage::no_signature())
}

fn pick_rfc9421<'a>(
    sigs: &'a rfc9421::Signatures,
    label: Option<&str>,
    policy: Policy,
) -> SigResult<&'a (String, SigMeta, Option<Vec<u8>>)> {
    match label {
        Some(l) => sigs
            .entries
            .iter()
            .find(|(name, _, _)| name == l)
            .ok_or_else(|| SigError::new(Kind::Missing, format!("no signature labelled {l:?}"))),
        None => {
            if policy == Policy::Mastodon && sigs.entries.len() != 1 {
                return Err(malformed(
                    "Mastodon accepts exactly one signature per request",
                ));
            }
            Ok(&sigs.entries[0])
        }
    }
}

fn rfc9421_info(label: &str, meta: &SigMeta, alg: Option<String>) -> Info {
    Info {
        key_id: meta.keyid.clone().unwrap_or_default(),
        scheme: Scheme::Rfc9421,
        algorithm: alg.or_else(|| meta.alg.clone()),
        components: meta.component_names(),
        created: meta.created.map(|c| c as f64),
        expires: meta.expires.map(|e| e as f64),
        label: Some(label.to_string()),
        nonce: meta.nonce.clone(),
        tag: meta.tag.clone(),
    }
}

fn cavage_created(p: &cavage::Params, headers: &Headers, policy: Policy) -> SigResult<Option<f64>> {
    if p.algorithm == "hs2019" {
        if let Some(c) = p.created {
            return Ok(Some(c as f64));
        }
    }
    let use_date = policy == Policy::Mastodon || p.headers.iter().any(|h| h == "date");
    if !use_date {
        return Ok(p.created.map(|c| c as f64));
    }
    match headers.combined("date") {
        Some(d) => parse_http_date(&d).map(|t| Some(t as f64)).ok_or_else(|| {
            malformed(format!(
                "Invalid Date header: not RFC 2616 compliant date: {d:?}"
            ))
        }),
        None if policy == Policy::Mastodon => {
            Err(malformed("Invalid Date header: the request has no Date"))
        }
        None => Ok(None),
    }
}

/// Parses the request's signature without verifying it.
pub fn parse_signature(
    method: &str,
    url: &str,
    headers: &Headers,
    label: Option<&str>,
) -> SigResult<Info> {
    let _ = (method, url);
    match find_signature(headers, Policy::Spec)? {
        Found::Cavage(value) => {
            let p = cavage::parse_header(&value)?;
            let created = match p.created {
                Some(c) => Some(c as f64),
                None => headers
                    .combined("date")
                    .and_then(|d| parse_http_date(&d))
                    .map(|t| t as f64),
            };
            Ok(Info {
                key_id: p.key_id,
                scheme: Scheme::Cavage,
                algorithm: Some(p.algorithm),
                components: p.headers,
                created,
                expires: p.expires,
                label: None,
                nonce: None,
                tag: None,
            })
        }
        Found::Rfc9421(h) => {
            let sigs = rfc9421::parse_signatures(h)?;
            let (l, meta, _) = pick_rfc9421(&sigs, label, Policy::Spec)?;
            Ok(rfc9421_info(l, meta, None))
        }
    }
}

/// Everything `verify_request` needs besides the request.
#[derive(Debug, Clone)]
pub struct VerifyOpts {
    pub window: Window,
    pub policy: Policy,
    pub label: Option<String>,
}

/// Verifies a request's signature under `opts.policy`.
pub fn verify_request(
    method: &str,
    url: &str,
    headers: &Headers,
    body: Option<&[u8]>,
    key: &Arc<PublicKey>,
    opts: &VerifyOpts,
) -> SigResult<Info> {
    let policy = opts.policy;
    let body = body.unwrap_or(b"");
    match find_signature(headers, policy)? {
        Found::Cavage(value) => {
            let p = cavage::parse_header(&value)?;
            cavage::check_pseudo_headers(&p)?;
            let alg = cavage::resolve_alg(&p.algorithm, key.kind())?;
            let target = Target::parse(url)?;
            let signs = |h: &str| p.headers.iter().any(|x| x == h);
            if policy == Policy::Mastodon {
                if !signs("date") && !signs("(created)") {
                    return Err(required(
                        "Mastodon requires the Date header or (created) pseudo-header to be signed",
                    ));
                }
                if !signs("(request-target)") && !signs("digest") {
                    return Err(required("Mastodon requires the (request-target) pseudo-header or the Digest header to be signed"));
                }
                if is_get(method) && !signs("host") {
                    return Err(required(
                        "Mastodon requires the Host header to be signed when doing a GET request",
                    ));
                }
                if is_post(method) && !signs("digest") {
                    return Err(required("Mastodon requires the Digest header to be signed when doing a POST request"));
                }
            }
            if signs("digest") {
                let d = headers
                    .combined("digest")
                    .ok_or_else(|| digest_mismatch("the Digest header is signed but absent"))?;
                digest::verify_digest_value(&d, body, policy)?;
            }
            if signs("content-digest") {
                let d = headers.combined("content-digest").ok_or_else(|| {
                    digest_mismatch("the Content-Digest header is signed but absent")
                })?;
                digest::verify_content_digest_value(&d, body, policy)?;
            }
            let created = cavage_created(&p, headers, policy)?;
            check_window(created, p.expires, opts.window, policy)?;
            let text = cavage::signing_string(
                &p.headers, method, &target, headers, p.created, p.expires, true,
            )?;
            let mut ok = cavage::check(key, alg, &text, &p.signature);
            if !ok
                && policy == Policy::Mastodon
                && target.query.is_some()
                && signs("(request-target)")
            {
                // Older Mastodon versions signed the path without its query.
                let text = cavage::signing_string(
                    &p.headers, method, &target, headers, p.created, p.expires, false,
                )?;
                ok = cavage::check(key, alg, &text, &p.signature);
            }
            if !ok {
                return Err(invalid(format!(
                    "Verification failed for {} using {}",
                    p.key_id, p.algorithm
                )));
            }
            Ok(Info {
                key_id: p.key_id,
                scheme: Scheme::Cavage,
                algorithm: Some(p.algorithm),
                components: p.headers,
                created,
                expires: p.expires,
                label: None,
                nonce: None,
                tag: None,
            })
        }
        Found::Rfc9421(h) => {
            let sigs = rfc9421::parse_signatures(h)?;
            let (label, meta, sig) = pick_rfc9421(&sigs, opts.label.as_deref(), policy)?;
            let sig = sig.as_ref().ok_or_else(|| {
                malformed(format!(
                    "the Signature header has no byte sequence for {label:?}"
                ))
            })?;
            if policy == Policy::Mastodon {
                if meta.keyid.is_none() {
                    return Err(required("the keyid signature parameter is required"));
                }
                if meta.created.is_none() {
                    return Err(required("the created signature parameter is required"));
                }
                for needed in ["@method", "@target-uri"] {
                    if !meta.covers(needed) {
                        return Err(required(format!(
                            "Mastodon requires {needed} to be covered"
                        )));
                    }
                }
                if is_post(method) && !meta.covers("content-digest") {
                    return Err(required("Mastodon requires the Content-Digest header to be signed when doing a POST request"));
                }
            }
            let vkey = VerifyKey::Public(key.clone());
            let alg = rfc9421::choose_alg(meta.alg.as_deref(), None, &vkey)?;
            if meta.covers("content-digest") {
                let d = headers.combined("content-digest").ok_or_else(|| {
                    digest_mismatch("the Content-Digest header is covered but absent")
                })?;
                digest::verify_content_digest_value(&d, body, policy)?;
            }
            check_window(
                meta.created.map(|c| c as f64),
                meta.expires.map(|e| e as f64),
                opts.window,
                policy,
            )?;
            let msg = Msg {
                method: Some(method.to_string()),
                target: Some(Target::parse(url)?),
                status: None,
                headers: headers.clone(),
            };
            let base = rfc9421::signature_base(
                Ctx {
                    msg: &msg,
                    req: None,
                },
                meta,
            )?;
            if !vkey.verify(alg, base.as_bytes(), sig) {
                return Err(invalid(format!(
                    "Verification failed for {} using {}",
                    meta.keyid.as_deref().unwrap_or("(no keyid)"),
                    alg.name()
                )));
            }
            Ok(rfc9421_info(label, meta, Some(alg.name().to_string())))
        }
    }
}

// ---------------------------------------------------------------------------
// Python functions
// ---------------------------------------------------------------------------

type Pairs = Vec<(String, String)>;

fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> SigResult<T> + Send) -> PyResult<T> {
    Ok(py.allow_threads(move || guard(AssertUnwindSafe(f)))?)
}

#[pyfunction]
#[pyo3(signature = (method, url, headers, body, key_id, private_key, scheme = "cavage", now = None))]
#[allow(clippy::too_many_arguments)]
#[pyo3(name = "sign_request")]
fn sign_request_py(
    py: Python<'_>,
    method: String,
    url: String,
    headers: Pairs,
    body: Option<&[u8]>,
    key_id: String,
    private_key: &Bound<'_, PyAny>,
    scheme: &str,
    now: Option<f64>,
) -> PyResult<Pairs> {
    let job = SignJob {
        method,
        url,
        headers,
        body: body.map(<[u8]>::to_vec),
        key_id,
        key: extract_private_key(private_key)?,
        scheme: Scheme::parse(scheme)?,
        now,
    };
    run(py, move || sign_request(&job))
}

fn pools() -> &'static Mutex<HashMap<usize, Arc<rayon::ThreadPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn pool(threads: usize) -> SigResult<Arc<rayon::ThreadPool>> {
    let mut map = pools()
        .lock()
        .map_err(|_| SigError::new(Kind::Internal, "thread pool lock poisoned"))?;
    if let Some(p) = map.get(&threads) {
        return Ok(p.clone());
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| SigError::new(Kind::Internal, format!("thread pool: {e}")))?,
    );
    map.insert(threads, p.clone());
    Ok(p)
}

// Bodies arrive as PyBackedBytes: extracting `bytes` into a Vec<u8> would
// go through the sequence protocol one int at a time (30 us for 2 KB).
type JobTuple<'py> = (
    String,
    String,
    Pairs,
    Option<PyBackedBytes>,
    String,
    Bound<'py, PyAny>,
    String,
    Option<f64>,
);

/// Signs many requests on all cores (or `threads` of them) with the GIL released.
#[pyfunction]
#[pyo3(signature = (jobs, threads = None))]
#[pyo3(name = "sign_many")]
fn sign_many_py(
    py: Python<'_>,
    jobs: Vec<JobTuple<'_>>,
    threads: Option<usize>,
) -> PyResult<Vec<Pairs>> {
    // Batches usually reuse one PEM string: parse each distinct one once.
    let mut parsed: HashMap<String, Arc<PrivateKey>> = HashMap::new();
    let mut work = Vec::with_capacity(jobs.len());
    for (method, url, headers, body, key_id, key_obj, scheme, now) in jobs {
        let key = if let Ok(s) = key_obj.downcast::<PyString>() {
            let pem = s.to_str()?.to_string();
            match parsed.get(&pem) {
                Some(k) => k.clone(),
                None => {
                    let k = Arc::new(PrivateKey::from_pem(&pem)?);
                    parsed.insert(pem, k.clone());
                    k
                }
            }
        } else {
            extract_private_key(&key_obj)?
        };
        let body = body.map(|b| b.to_vec());
        work.push(SignJob {
            method,
            url,
            headers,
            body,
            key_id,
            key,
            scheme: Scheme::parse(&scheme)?,
            now,
        });
    }
    run(py, move || {
        let results: Vec<SigResult<Pairs>> = match threads {
            Some(1) => work.iter().map(sign_request).collect(),
            Some(n) => pool(n.max(1))?.install(|| work.par_iter().map(sign_request).collect()),
            None => work.par_iter().map(sign_request).collect(),
        };
        results.into_iter().collect()
    })
}

#[pyfunction]
#[pyo3(signature = (method, url, headers, label = None))]
#[pyo3(name = "parse_signature")]
fn parse_signature_py(
    py: Python<'_>,
    method: String,
    url: String,
    headers: Pairs,
    label: Option<String>,
) -> PyResult<InfoTuple> {
    run(py, move || {
        let h = Headers::new(headers);
        parse_signature(&method, &url, &h, label.as_deref()).map(Info::into_tuple)
    })
}

#[pyfunction]
#[pyo3(signature = (method, url, headers, body, public_key, now, max_age, max_skew, policy, label = None))]
#[allow(clippy::too_many_arguments)]
#[pyo3(name = "verify_request")]
fn verify_request_py(
    py: Python<'_>,
    method: &str,
    url: &str,
    headers: Pairs,
    body: Option<&[u8]>,
    public_key: &Bound<'_, PyAny>,
    now: Option<f64>,
    max_age: Option<f64>,
    max_skew: f64,
    policy: &str,
    label: Option<String>,
) -> PyResult<InfoTuple> {
    let key = extract_public_key(public_key)?;
    let opts = VerifyOpts {
        window: Window {
            now: now.unwrap_or_else(unix_now),
            max_age,
            max_skew,
        },
        policy: Policy::parse(policy)?,
        label,
    };
    run(py, move || {
        let h = Headers::new(headers);
        verify_request(method, url, &h, body, &key, &opts).map(Info::into_tuple)
    })
}

#[pyfunction]
#[pyo3(name = "digest_header")]
fn digest_header_py(body: &[u8]) -> String {
    digest::digest_header(body)
}

#[pyfunction]
#[pyo3(signature = (body, algorithms))]
#[pyo3(name = "content_digest_header")]
fn content_digest_header_py(body: &[u8], algorithms: Vec<String>) -> PyResult<String> {
    Ok(digest::content_digest_header(body, &algorithms)?)
}

#[pyfunction]
#[pyo3(signature = (headers, body, policy = "spec"))]
#[pyo3(name = "verify_digest")]
fn verify_digest_py(headers: Pairs, body: &[u8], policy: &str) -> PyResult<()> {
    let h = Headers::new(headers);
    Ok(guard(AssertUnwindSafe(|| {
        digest::verify_digest_headers(&h, body, Policy::parse(policy)?)
    }))?)
}

// --- the low-level RFC 9421 face --------------------------------------------

type ReqTuple = (Option<String>, Option<String>, Pairs);

fn build_msg(
    method: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    headers: Pairs,
) -> SigResult<Msg> {
    let target = url.as_deref().map(Target::parse).transpose()?;
    Ok(Msg {
        method,
        target,
        status,
        headers: Headers::new(headers),
    })
}

fn sign_key(obj: &Bound<'_, PyAny>) -> PyResult<SignKey> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(SignKey::Hmac(b.as_bytes().to_vec()));
    }
    Ok(SignKey::Private(extract_private_key(obj)?))
}

fn verify_key(obj: &Bound<'_, PyAny>) -> PyResult<VerifyKey> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(VerifyKey::Hmac(b.as_bytes().to_vec()));
    }
    Ok(VerifyKey::Public(extract_public_key(obj)?))
}

/// Returns (Signature-Input member, Signature member, signature base).
#[pyfunction]
#[pyo3(signature = (components, key, method = None, url = None, status = None, headers = Vec::new(),
                    request = None, label = "sig1".to_string(), created = None, expires = None,
                    nonce = None, tag = None, alg = None, keyid = None, algorithm = None))]
#[allow(clippy::too_many_arguments)]
#[pyo3(name = "rfc9421_sign")]
fn rfc9421_sign_py(
    py: Python<'_>,
    components: Vec<String>,
    key: &Bound<'_, PyAny>,
    method: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    headers: Pairs,
    request: Option<ReqTuple>,
    label: String,
    created: Option<i64>,
    expires: Option<i64>,
    nonce: Option<String>,
    tag: Option<String>,
    alg: Option<String>,
    keyid: Option<String>,
    algorithm: Option<String>,
) -> PyResult<(String, String, String)> {
    let key = sign_key(key)?;
    run(py, move || {
        let msg = build_msg(method, url, status, headers)?;
        let req = request
            .map(|(m, u, h)| build_msg(m, u, None, h))
            .transpose()?;
        let items = components
            .iter()
            .map(|c| rfc9421::parse_component(c))
            .collect::<SigResult<Vec<_>>>()?;
        let chosen = match (&alg, &algorithm) {
            (Some(a), Some(b)) if a != b => {
                return Err(unsupported(format!("alg={a} but algorithm={b}")))
            }
            (Some(a), _) | (None, Some(a)) => Some(Alg::from_name(a)?),
            (None, None) => None,
        };
        let meta = SigMeta::for_signing(items, created, keyid, alg, expires, nonce, tag)?;
        let ctx = Ctx {
            msg: &msg,
            req: req.as_ref(),
        };
        let (params, sig, base) = rfc9421::sign(ctx, &meta, &key, chosen)?;
        Ok((
            rfc9421::dict_member_input(&label, &params)?,
            rfc9421::dict_member_signature(&label, &sig)?,
            base,
        ))
    })
}

/// The signature base for explicit components and parameters.
#[pyfunction]
#[pyo3(signature = (components, method = None, url = None, status = None, headers = Vec::new(),
                    request = None, created = None, expires = None, nonce = None, tag = None,
                    alg = None, keyid = None))]
#[allow(clippy::too_many_arguments)]
#[pyo3(name = "rfc9421_base")]
fn rfc9421_base_py(
    components: Vec<String>,
    method: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    headers: Pairs,
    request: Option<ReqTuple>,
    created: Option<i64>,
    expires: Option<i64>,
    nonce: Option<String>,
    tag: Option<String>,
    alg: Option<String>,
    keyid: Option<String>,
) -> PyResult<String> {
    Ok(guard(AssertUnwindSafe(|| {
        let msg = build_msg(method, url, status, headers)?;
        let req = request
            .map(|(m, u, h)| build_msg(m, u, None, h))
            .transpose()?;
        let items = components
            .iter()
            .map(|c| rfc9421::parse_component(c))
            .collect::<SigResult<Vec<_>>>()?;
        let meta = SigMeta::for_signing(items, created, keyid, alg, expires, nonce, tag)?;
        rfc9421::signature_base(
            Ctx {
                msg: &msg,
                req: req.as_ref(),
            },
            &meta,
        )
    }))?)
}

/// Verifies one RFC 9421 signature of a request or response.
#[pyfunction]
#[pyo3(signature = (key, method = None, url = None, status = None, headers = Vec::new(), request = None,
                    label = None, algorithm = None, now = None, max_age = None, max_skew = 0.0,
                    required = Vec::new(), body = None))]
#[allow(clippy::too_many_arguments)]
#[pyo3(name = "rfc9421_verify")]
fn rfc9421_verify_py(
    py: Python<'_>,
    key: &Bound<'_, PyAny>,
    method: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    headers: Pairs,
    request: Option<ReqTuple>,
    label: Option<String>,
    algorithm: Option<String>,
    now: Option<f64>,
    max_age: Option<f64>,
    max_skew: f64,
    required: Vec<String>,
    body: Option<PyBackedBytes>,
) -> PyResult<InfoTuple> {
    let key = verify_key(key)?;
    run(py, move || {
        let msg = build_msg(method, url, status, headers)?;
        let req = request
            .map(|(m, u, h)| build_msg(m, u, None, h))
            .transpose()?;
        let sigs = rfc9421::parse_signatures(&msg.headers)?;
        let (label, meta, sig) = pick_rfc9421(&sigs, label.as_deref(), Policy::Spec)?;
        let sig = sig.as_ref().ok_or_else(|| {
            malformed(format!(
                "the Signature header has no byte sequence for {label:?}"
            ))
        })?;
        for needed in &required {
            let item = rfc9421::parse_component(needed)?;
            if !meta.components.iter().any(|c| c == &item) {
                return Err(errors::required(format!(
                    "the signature does not cover {needed}"
                )));
            }
        }
        let alg = rfc9421::choose_alg(meta.alg.as_deref(), algorithm.as_deref(), &key)?;
        if let Some(body) = &body {
            if meta.covers("content-digest") {
                let d = msg.headers.combined("content-digest").ok_or_else(|| {
                    digest_mismatch("the Content-Digest header is covered but absent")
                })?;
                digest::verify_content_digest_value(&d, body, Policy::Spec)?;
            }
        }
        let window = Window {
            now: now.unwrap_or_else(unix_now),
            max_age,
            max_skew,
        };
        check_window(
            meta.created.map(|c| c as f64),
            meta.expires.map(|e| e as f64),
            window,
            Policy::Spec,
        )?;
        let base = rfc9421::signature_base(
            Ctx {
                msg: &msg,
                req: req.as_ref(),
            },
            meta,
        )?;
        if !key.verify(alg, base.as_bytes(), sig) {
            return Err(invalid(format!(
                "signature {label:?} does not verify ({})",
                alg.name()
            )));
        }
        Ok(rfc9421_info(label, meta, Some(alg.name().to_string())).into_tuple())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(sign_request_py, m)?)?;
    m.add_function(wrap_pyfunction!(sign_many_py, m)?)?;
    m.add_function(wrap_pyfunction!(parse_signature_py, m)?)?;
    m.add_function(wrap_pyfunction!(verify_request_py, m)?)?;
    m.add_function(wrap_pyfunction!(digest_header_py, m)?)?;
    m.add_function(wrap_pyfunction!(content_digest_header_py, m)?)?;
    m.add_function(wrap_pyfunction!(verify_digest_py, m)?)?;
    m.add_function(wrap_pyfunction!(rfc9421_sign_py, m)?)?;
    m.add_function(wrap_pyfunction!(rfc9421_base_py, m)?)?;
    m.add_function(wrap_pyfunction!(rfc9421_verify_py, m)?)?;
    Ok(())
}

#[cfg(test)]
mod timing {
    use super::*;

    #[test]
    #[ignore]
    fn sign_costs() {
        let key = Arc::new(PrivateKey::generate_rsa(2048).unwrap());
        let job = SignJob {
            method: "POST".into(),
            url: "https://remote.example/inbox".into(),
            headers: vec![("Content-Type".into(), "application/activity+json".into())],
            body: Some(vec![b'x'; 1900]),
            key_id: "k".into(),
            key: key.clone(),
            scheme: Scheme::Cavage,
            now: None,
        };
        for _ in 0..3 {
            let t = std::time::Instant::now();
            for _ in 0..200 {
                key.sign(crate::keys::SigAlg::RsaPkcs1Sha256, &[b'x'; 250])
                    .unwrap();
            }
            let bare = t.elapsed() / 200;
            let t = std::time::Instant::now();
            for _ in 0..200 {
                sign_request(&job).unwrap();
            }
            let full = t.elapsed() / 200;
            eprintln!("bare {bare:?} full {full:?}");
        }
    }
}
