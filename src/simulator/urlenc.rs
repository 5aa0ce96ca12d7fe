//! `application/x-www-form-urlencoded` decoding and encoding, for query strings
//! and the OAuth token form.

/// Decodes `a=1&b=x%20y` into pairs, in order. `+` is a space; invalid
/// percent escapes are kept literally; invalid UTF-8 is replaced.
pub(crate) fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes a query value (unreserved characters stay as they are).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'*' | b',') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs decode with `+`, escapes and unicode; encoding round-trips.
    #[test]
    fn round_trip() {
        let pairs = parse_pairs("name=Ventes+%E2%80%93*&id=a,b&id=c&flag&bad=%zz");
        assert_eq!(pairs[0], ("name".into(), "Ventes –*".into()));
        assert_eq!(pairs[1], ("id".into(), "a,b".into()));
        assert_eq!(pairs[3], ("flag".into(), "".into()));
        assert_eq!(pairs[4], ("bad".into(), "%zz".into()));
        let v = "Support \"VIP\" \\ Billing";
        assert_eq!(parse_pairs(&format!("n={}", encode(v)))[0].1, v);
    }
}
