//! IRI helpers: RFC 3986 reference resolution and the syntactic checks that
//! JSON-LD needs (absolute IRI, keyword form, well-formed for RDF).

/// The length of the scheme if `s` starts with `scheme ":"`.
fn scheme_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphabetic() {
        return None;
    }
    for (i, &c) in b.iter().enumerate().skip(1) {
        if c == b':' {
            return Some(i);
        }
        if !(c.is_ascii_alphanumeric() || c == b'+' || c == b'-' || c == b'.') {
            return None;
        }
    }
    None
}

/// True for an absolute IRI (a scheme followed by ':').
pub fn is_absolute(s: &str) -> bool {
    scheme_len(s).is_some()
}

/// True for a string of the form `@` followed by one or more ASCII letters.
pub fn has_keyword_form(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 1 && b[0] == b'@' && b[1..].iter().all(|c| c.is_ascii_alphabetic())
}

/// True for an absolute IRI usable in RDF: no spaces, controls or the
/// characters that an IRIREF excludes.
pub fn is_well_formed(s: &str) -> bool {
    // One table lookup per byte: this runs on every IRI of every quad.
    const BAD: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i <= b' ' as usize {
            t[i] = true;
            i += 1;
        }
        let mut j = 0;
        let bad = b"<>\"{}|\\^`";
        while j < bad.len() {
            t[bad[j] as usize] = true;
            j += 1;
        }
        t
    };
    let b = s.as_bytes();
    if b.iter().any(|&c| BAD[c as usize]) {
        return false;
    }
    is_absolute(s) && memchr_count(b, b'#') <= 1
}

/// How many times a byte occurs.
fn memchr_count(b: &[u8], c: u8) -> usize {
    b.iter().filter(|&&x| x == c).count()
}

/// True for a well-formed BCP 47 language tag (the simple syntactic check).
pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or("");
    (1..=8).contains(&first.len())
        && first.bytes().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()))
}

/// The parts of a URI reference (RFC 3986 §3).
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

/// Splits a reference into its RFC 3986 components.
fn split(s: &str) -> Parts<'_> {
    let (rest, fragment) = match s.find('#') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (rest, query) = match rest.find('?') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (scheme, rest) = match scheme_len(rest) {
        Some(n) => (Some(&rest[..n]), &rest[n + 1..]),
        None => (None, rest),
    };
    let (authority, path) = if let Some(r) = rest.strip_prefix("//") {
        match r.find('/') {
            Some(i) => (Some(&r[..i]), &r[i..]),
            None => (Some(r), ""),
        }
    } else {
        (None, rest)
    };
    Parts {
        scheme,
        authority,
        path,
        query,
        fragment,
    }
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut out: Vec<&str> = Vec::new();
    // Segments are kept with their leading '/', so joining rebuilds the path.
    let mut owned = String::new();
    loop {
        if input.is_empty() {
            break;
        }
        if let Some(r) = input.strip_prefix("../") {
            input = r;
        } else if let Some(r) = input.strip_prefix("./") {
            input = r;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            out.pop();
        } else if input == "/.." {
            input = "/";
            out.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..]
                .find('/')
                .map(|i| i + start)
                .unwrap_or(input.len());
            out.push(&input[..end]);
            input = &input[end..];
        }
    }
    for s in out {
        owned.push_str(s);
    }
    owned
}

/// Resolves `reference` against `base` (RFC 3986 §5.2.2, strict).
pub fn resolve(base: &str, reference: &str) -> String {
    let r = split(reference);
    let b = split(base);
    let (scheme, authority, path, query);
    let owned_path;
    if r.scheme.is_some() {
        scheme = r.scheme;
        authority = r.authority;
        owned_path = remove_dot_segments(r.path);
        path = owned_path.as_str();
        query = r.query;
    } else {
        scheme = b.scheme;
        if r.authority.is_some() {
            authority = r.authority;
            owned_path = remove_dot_segments(r.path);
            path = owned_path.as_str();
            query = r.query;
        } else {
            authority = b.authority;
            if r.path.is_empty() {
                owned_path = b.path.to_string();
                path = owned_path.as_str();
                query = if r.query.is_some() { r.query } else { b.query };
            } else {
                if r.path.starts_with('/') {
                    owned_path = remove_dot_segments(r.path);
                } else {
                    let merged = if b.authority.is_some() && b.path.is_empty() {
                        format!("/{}", r.path)
                    } else {
                        match b.path.rfind('/') {
                            Some(i) => format!("{}{}", &b.path[..=i], r.path),
                            None => r.path.to_string(),
                        }
                    };
                    owned_path = remove_dot_segments(&merged);
                }
                path = owned_path.as_str();
                query = r.query;
            }
        }
    }
    let mut out = String::with_capacity(base.len() + reference.len());
    if let Some(s) = scheme {
        out.push_str(s);
        out.push(':');
    }
    if let Some(a) = authority {
        out.push_str("//");
        out.push_str(a);
    }
    out.push_str(path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = r.fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn rfc3986_examples() {
        let b = "http://a/b/c/d;p?q";
        for (r, want) in [
            ("g:h", "g:h"),
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("./../g", "http://a/b/g"),
            ("g;x=1/../y", "http://a/b/c/y"),
        ] {
            assert_eq!(resolve(b, r), want, "{r}");
        }
    }
}
