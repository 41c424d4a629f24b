//! The parts of an HTTP message that signatures look at: headers, the
//! request target, and HTTP dates.

use base64::Engine as _;

use super::errors::{malformed, SigResult};

/// Header fields in arrival order, names lowercased.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let entries = pairs
            .into_iter()
            .map(|(mut n, v)| {
                n.make_ascii_lowercase();
                (n, v)
            })
            .collect();
        Headers { entries }
    }

    /// Appends a field (the name is lowercased).
    pub fn push(&mut self, name: &str, value: &str) {
        self.entries
            .push((name.to_ascii_lowercase(), value.to_string()));
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| n == name)
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of `name`, each trimmed, joined with ", " (the rule of both
    /// signature specifications for repeated fields); None when absent.
    pub fn combined(&self, name: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for v in self.all(name) {
            let v = v.trim_matches(|c| c == ' ' || c == '\t');
            match &mut out {
                None => out = Some(v.to_string()),
                Some(s) => {
                    s.push_str(", ");
                    s.push_str(v);
                }
            }
        }
        out
    }
}

/// The request target, split the way signatures need it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Lowercased scheme (`https` when the URL gave only a path).
    pub scheme: String,
    /// The authority as written in the URL, if it had one.
    pub authority: Option<String>,
    /// The path, never empty (`/` at least).
    pub path: String,
    /// The query without its `?`, when there is one (possibly empty).
    pub query: Option<String>,
}

impl Target {
    /// Parses an absolute URL (`https://host/path?q`) or an origin-form
    /// target (`/path?q`, scheme assumed https, authority from `Host`).
    pub fn parse(url: &str) -> SigResult<Self> {
        if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(malformed(
                "the URL contains whitespace or control characters",
            ));
        }
        let (scheme, rest) = match url.find("://") {
            Some(i)
                if i > 0
                    && url[..i]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
            {
                (url[..i].to_ascii_lowercase(), &url[i + 3..])
            }
            _ if url.starts_with('/') => ("https".to_string(), url),
            _ => return Err(malformed(format!("not an absolute URL or a path: {url:?}"))),
        };
        let (authority, rest) = if url.starts_with('/') {
            (None, rest)
        } else {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            if end == 0 {
                return Err(malformed("the URL has no host"));
            }
            (Some(rest[..end].to_string()), &rest[end..])
        };
        let rest = match rest.find('#') {
            Some(i) => &rest[..i],
            None => rest,
        };
        let (path, query) = match rest.find('?') {
            Some(i) => (&rest[..i], Some(rest[i + 1..].to_string())),
            None => (rest, None),
        };
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path.to_string()
        };
        Ok(Target {
            scheme,
            authority,
            path,
            query,
        })
    }

    /// `path?query` as in the request line.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q),
            None => self.path.clone(),
        }
    }

    /// The authority from the URL, else from the Host header.
    pub fn authority_or_host(&self, headers: &Headers) -> Option<String> {
        self.authority.clone().or_else(|| headers.combined("host"))
    }
}

/// `host[:port]` lowercased with the scheme's default port removed, as
/// RFC 9421's `@authority` wants.
pub fn normalize_authority(authority: &str, scheme: &str) -> String {
    let lower = authority.to_ascii_lowercase();
    let default = match scheme {
        "https" => Some(":443"),
        "http" => Some(":80"),
        _ => None,
    };
    match default {
        Some(port) if lower.ends_with(port) && !lower.ends_with(']') => {
            lower[..lower.len() - port.len()].to_string()
        }
        _ => lower,
    }
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes standard base64, padded or not (senders differ).
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(t.trim_end_matches('='))
                .ok()
        })
}

// ---------------------------------------------------------------------------
// HTTP dates
// ---------------------------------------------------------------------------

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn format_http_date(unix: i64) -> String {
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

fn month_index(name: &str) -> Option<i64> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .map(|i| i as i64 + 1)
}

fn parse_hms(t: &str) -> Option<(i64, i64, i64)> {
    let mut it = t.split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let mi: i64 = it.next()?.parse().ok()?;
    let s: i64 = it.next()?.parse().ok()?;
    if it.next().is_some() || t.len() != 8 || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some((h, mi, s))
}

fn to_unix(y: i64, m: i64, d: i64, (h, mi, s): (i64, i64, i64)) -> Option<i64> {
    if !(1..=31).contains(&d) || !(1..=12).contains(&m) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s)
}

/// Parses the three HTTP-date forms of RFC 9110 (IMF-fixdate, RFC 850,
/// asctime), as Mastodon's `Time.httpdate` does.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let t = text.trim();
    let parts: Vec<&str> = t.split_ascii_whitespace().collect();
    match parts.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [wd, d, mon, y, hms, "GMT"] if wd.ends_with(',') && wd.len() == 4 => {
            if d.len() != 2 || y.len() != 4 {
                return None;
            }
            to_unix(
                y.parse().ok()?,
                month_index(mon)?,
                d.parse().ok()?,
                parse_hms(hms)?,
            )
        }
        // Sunday, 06-Nov-94 08:49:37 GMT
        [wd, dmy, hms, "GMT"] if wd.ends_with(',') => {
            let mut it = dmy.split('-');
            let d: i64 = it.next()?.parse().ok()?;
            let m = month_index(it.next()?)?;
            let yy = it.next()?;
            if yy.len() != 2 || it.next().is_some() {
                return None;
            }
            let yy: i64 = yy.parse().ok()?;
            // RFC 9110: a two-digit year more than 50 years ahead is in the past century.
            let y = if yy < 70 { 2000 + yy } else { 1900 + yy };
            to_unix(y, m, d, parse_hms(hms)?)
        }
        // Sun Nov  6 08:49:37 1994
        [_wd, mon, d, hms, y] => {
            if y.len() != 4 {
                return None;
            }
            to_unix(
                y.parse().ok()?,
                month_index(mon)?,
                d.parse().ok()?,
                parse_hms(hms)?,
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784111777));
        assert_eq!(parse_http_date("wrong date"), None);
        assert_eq!(
            parse_http_date("Wed, 20 Dec 2023 10:00:00 GMT"),
            Some(1703066400)
        );
    }

    #[test]
    fn targets() {
        let t = Target::parse("https://Example.com:443/a/b?x=1#frag").unwrap();
        assert_eq!(t.authority.as_deref(), Some("Example.com:443"));
        assert_eq!(t.path_and_query(), "/a/b?x=1");
        assert_eq!(
            normalize_authority("Example.com:443", "https"),
            "example.com"
        );
        let t = Target::parse("/inbox").unwrap();
        assert!(t.authority.is_none());
        assert!(Target::parse("inbox").is_err());
    }
}
