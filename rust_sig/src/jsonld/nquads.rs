//! The RDF data model used by toRdf and canonicalization, with an N-Quads
//! reader and the canonical N-Quads writer of RDFC-1.0.

use std::sync::Arc;

use super::error::JsonLdError;

pub const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
pub const RDF_LANGSTRING: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString";

/// One RDF term. Blank node labels are stored without the `_:` prefix.
/// Strings are shared: a subject or predicate repeats in many quads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    Iri(Arc<str>),
    Blank(Arc<str>),
    Literal {
        value: Arc<str>,
        datatype: Arc<str>,
        language: Option<Arc<str>>,
    },
}

/// One quad; `graph` is `None` for the default graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quad {
    pub subject: Term,
    pub predicate: Term,
    pub object: Term,
    pub graph: Option<Term>,
}

/// Writes a literal's lexical form in canonical N-Quads escaping: ECHAR for
/// the characters that have one, uppercase UCHAR for the other controls.
fn write_escaped(out: &mut String, s: &str) {
    // Copy runs of plain bytes at once; only controls, '"' and '\\' (all
    // ASCII) need escaping, so splitting at their byte offsets is safe.
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f | 0x7f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{:04X}", b));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Writes one term; `blank` writes the label for a blank node label.
pub fn write_term(out: &mut String, t: &Term, blank: &dyn Fn(&str, &mut String)) {
    match t {
        Term::Iri(i) => {
            out.push('<');
            out.push_str(i);
            out.push('>');
        }
        Term::Blank(b) => {
            out.push_str("_:");
            blank(b, out);
        }
        Term::Literal {
            value,
            datatype,
            language,
        } => write_literal(out, value, datatype, language.as_deref()),
    }
}

/// Writes a literal: quoted and escaped, then its language or datatype.
pub fn write_literal(out: &mut String, value: &str, datatype: &str, language: Option<&str>) {
    out.push('"');
    write_escaped(out, value);
    out.push('"');
    if let Some(l) = language {
        out.push('@');
        out.push_str(l);
    } else if datatype != XSD_STRING {
        out.push_str("^^<");
        out.push_str(datatype);
        out.push('>');
    }
}

/// A small recursive-descent N-Quads reader (RDF 1.1 N-Quads grammar).
struct Reader<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
}

/// An N-Quads syntax error at a line.
fn bad(line: usize, msg: &str) -> JsonLdError {
    JsonLdError::invalid("invalid N-Quads", format!("line {line}: {msg}"))
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Skips spaces and tabs (not newlines: a statement ends its line).
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn read_uchar(&mut self, len: usize) -> Result<char, JsonLdError> {
        let hex = self
            .text
            .get(self.pos..self.pos + len)
            .ok_or_else(|| bad(self.line, "truncated escape"))?;
        let v = u32::from_str_radix(hex, 16).map_err(|_| bad(self.line, "bad escape"))?;
        self.pos += len;
        char::from_u32(v).ok_or_else(|| bad(self.line, "escape is not a character"))
    }

    fn read_iri(&mut self) -> Result<String, JsonLdError> {
        // At '<'.
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == b'>' || c == b'\\' || c <= 0x20 || b"\"{}|^`".contains(&c) {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'>') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'u') => {
                            self.pos += 1;
                            self.read_uchar(4)?
                        }
                        Some(b'U') => {
                            self.pos += 1;
                            self.read_uchar(8)?
                        }
                        _ => return Err(bad(self.line, "bad escape in IRI")),
                    };
                    out.push(c);
                }
                _ => return Err(bad(self.line, "bad character in IRI")),
            }
        }
        if !out.contains(':') {
            return Err(bad(self.line, "relative IRI"));
        }
        Ok(out)
    }

    fn read_blank(&mut self) -> Result<String, JsonLdError> {
        // At '_'.
        if self.s.get(self.pos + 1) != Some(&b':') {
            return Err(bad(self.line, "bad blank node"));
        }
        self.pos += 2;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' || c >= 0x80 {
                self.pos += 1;
            } else {
                break;
            }
        }
        // A label cannot end with '.'.
        while self.pos > start && self.s[self.pos - 1] == b'.' {
            self.pos -= 1;
        }
        if self.pos == start {
            return Err(bad(self.line, "empty blank node label"));
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn read_literal(&mut self) -> Result<Term, JsonLdError> {
        self.pos += 1;
        let mut value = String::new();
        loop {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c == b'\n' || c == b'\r' {
                    break;
                }
                self.pos += 1;
            }
            value.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let e = self
                        .peek()
                        .ok_or_else(|| bad(self.line, "truncated escape"))?;
                    self.pos += 1;
                    let c = match e {
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b'f' => '\u{c}',
                        b'"' => '"',
                        b'\'' => '\'',
                        b'\\' => '\\',
                        b'u' => self.read_uchar(4)?,
                        b'U' => self.read_uchar(8)?,
                        _ => return Err(bad(self.line, "bad escape in literal")),
                    };
                    value.push(c);
                }
                _ => return Err(bad(self.line, "unterminated literal")),
            }
        }
        match self.peek() {
            Some(b'@') => {
                self.pos += 1;
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == b'-' {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                if self.pos == start {
                    return Err(bad(self.line, "empty language tag"));
                }
                Ok(Term::Literal {
                    value: value.into(),
                    datatype: RDF_LANGSTRING.into(),
                    language: Some(self.text[start..self.pos].into()),
                })
            }
            Some(b'^') => {
                if self.s.get(self.pos + 1) != Some(&b'^')
                    || self.s.get(self.pos + 2) != Some(&b'<')
                {
                    return Err(bad(self.line, "bad datatype"));
                }
                self.pos += 2;
                let datatype = self.read_iri()?;
                Ok(Term::Literal {
                    value: value.into(),
                    datatype: datatype.into(),
                    language: None,
                })
            }
            _ => Ok(Term::Literal {
                value: value.into(),
                datatype: XSD_STRING.into(),
                language: None,
            }),
        }
    }

    fn read_term(&mut self) -> Result<Term, JsonLdError> {
        self.skip_ws();
        match self.peek() {
            Some(b'<') => Ok(Term::Iri(self.read_iri()?.into())),
            Some(b'_') => Ok(Term::Blank(self.read_blank()?.into())),
            Some(b'"') => self.read_literal(),
            _ => Err(bad(self.line, "expected a term")),
        }
    }

    /// Skips blanks, comments and line ends; false at the end of input.
    fn skip_to_statement(&mut self) -> bool {
        loop {
            self.skip_ws();
            match self.peek() {
                None => return false,
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                }
                Some(b'\r') => self.pos += 1,
                Some(b'#') => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.pos += 1;
                    }
                }
                Some(_) => return true,
            }
        }
    }
}

/// Parses N-Quads text.
pub fn parse_nquads(text: &str) -> Result<Vec<Quad>, JsonLdError> {
    let mut r = Reader {
        s: text.as_bytes(),
        text,
        pos: 0,
        line: 1,
    };
    let mut quads = Vec::new();
    while r.skip_to_statement() {
        let subject = r.read_term()?;
        if matches!(subject, Term::Literal { .. }) {
            return Err(bad(r.line, "literal subject"));
        }
        let predicate = r.read_term()?;
        if !matches!(predicate, Term::Iri(_)) {
            return Err(bad(r.line, "predicate must be an IRI"));
        }
        let object = r.read_term()?;
        r.skip_ws();
        let graph = if r.peek() == Some(b'.') {
            None
        } else {
            let g = r.read_term()?;
            if matches!(g, Term::Literal { .. }) {
                return Err(bad(r.line, "literal graph name"));
            }
            r.skip_ws();
            Some(g)
        };
        if r.peek() != Some(b'.') {
            return Err(bad(r.line, "expected '.'"));
        }
        r.pos += 1;
        r.skip_ws();
        match r.peek() {
            None | Some(b'\n') | Some(b'\r') | Some(b'#') => {}
            _ => return Err(bad(r.line, "trailing characters")),
        }
        quads.push(Quad {
            subject,
            predicate,
            object,
            graph,
        });
    }
    // Duplicates are kept: canonicalization treats the quads as a set.
    Ok(quads)
}
