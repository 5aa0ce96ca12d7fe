//! Exact parsers for the report's CSV (RFC 4180) and JSON output, independent
//! of the code that writes them.

use std::collections::BTreeMap;

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// A scalar of a report JSON row, with numbers parsed exactly (Rust's
/// correctly rounded parser; serde_json's default one may be 1 ulp off).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// `null`.
    Null,
}

impl Scalar {
    /// The number, if this is one.
    pub fn num(&self) -> Option<f64> {
        match self {
            Scalar::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn str(&self) -> &str {
        match self {
            Scalar::Str(s) => s,
            _ => "",
        }
    }
}

/// Parses a JSON array of flat objects (the report's JSON format) into rows,
/// keeping every number exact. Panics on anything else.
pub fn parse_json_rows(text: &str) -> Vec<BTreeMap<String, Scalar>> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let expect = |i: &mut usize, c: u8| {
        skip_ws(i);
        assert_eq!(
            bytes.get(*i),
            Some(&c),
            "expected {:?} at {}",
            c as char,
            *i
        );
        *i += 1;
    };
    let string = |i: &mut usize| -> String {
        skip_ws(i);
        let start = *i;
        assert_eq!(bytes[*i], b'"');
        *i += 1;
        while bytes[*i] != b'"' {
            *i += if bytes[*i] == b'\\' { 2 } else { 1 };
        }
        *i += 1;
        serde_json::from_str(&text[start..*i]).expect("JSON string")
    };
    let mut rows = Vec::new();
    expect(&mut i, b'[');
    skip_ws(&mut i);
    if bytes[i] == b']' {
        return rows;
    }
    loop {
        expect(&mut i, b'{');
        let mut row = BTreeMap::new();
        loop {
            let key = string(&mut i);
            expect(&mut i, b':');
            skip_ws(&mut i);
            let value = match bytes[i] {
                b'"' => Scalar::Str(string(&mut i)),
                b'n' => {
                    assert_eq!(&text[i..i + 4], "null");
                    i += 4;
                    Scalar::Null
                }
                _ => {
                    let start = i;
                    while i < bytes.len()
                        && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                    {
                        i += 1;
                    }
                    Scalar::Num(text[start..i].parse().expect("number"))
                }
            };
            assert!(row.insert(key, value).is_none(), "duplicate key");
            skip_ws(&mut i);
            match bytes[i] {
                b',' => i += 1,
                b'}' => {
                    i += 1;
                    break;
                }
                other => panic!("unexpected {:?}", other as char),
            }
        }
        rows.push(row);
        skip_ws(&mut i);
        match bytes[i] {
            b',' => i += 1,
            b']' => return rows,
            other => panic!("unexpected {:?}", other as char),
        }
    }
}
