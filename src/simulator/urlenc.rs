//! `application/x-www-form-urlencoded` decoding (through `form_urlencoded`)
//! and encoding, for query strings and the OAuth token form. The encoder is
//! our own because `nextUri` links echo a request's parameters the way Genesys
//! writes them: `*` wildcards and `,` lists unescaped and a space as `%20`,
//! where `form_urlencoded` would escape `,` and `~` and write `+`.

/// Decodes `a=1&b=x%20y` into pairs, in order. `+` is a space; invalid
/// percent escapes are kept literally; invalid UTF-8 is replaced.
pub(crate) fn parse_pairs(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Percent-encodes a query value (unreserved characters, `*` and `,` stay as
/// they are).
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
        assert_eq!(encode("Sales* a,b~"), "Sales*%20a,b~");
    }
}
