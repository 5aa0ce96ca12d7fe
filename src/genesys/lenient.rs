//! Lenient text for the queue listing: one queue with a broken name must not
//! make the whole list unreadable, and no name may carry control characters
//! into a label value.
//!
//! The rule: invalid UTF-8 bytes, lone UTF-16 surrogate escapes (`\ud800`) and
//! control characters (C0 including NUL, TAB, CR, LF and ESC; DEL; C1) each
//! become U+FFFD, the Unicode replacement character.

use std::borrow::Cow;

/// The replacement for every character that cannot be used as is.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Repairs a JSON body so that it parses whatever its strings hold: invalid
/// UTF-8 becomes U+FFFD, and a `\uXXXX` escape of a surrogate not part of a
/// valid high-low pair becomes `\uFFFD`. Valid input is returned unchanged.
pub fn repair_json(body: &[u8]) -> Cow<'_, [u8]> {
    let text = String::from_utf8_lossy(body);
    if !text.contains("\\u") {
        return match text {
            Cow::Borrowed(_) => Cow::Borrowed(body),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    let mut changed = matches!(text, Cow::Owned(_));
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at..];
        match surrogate_at(escape) {
            Some(0xD800..=0xDBFF)
                if matches!(surrogate_at(&escape[6..]), Some(0xDC00..=0xDFFF)) =>
            {
                out.push_str(&escape[..12]);
                rest = &escape[12..];
            }
            Some(_) => {
                out.push_str("\\uFFFD");
                changed = true;
                rest = &escape[6..];
            }
            None => {
                // Any other escape: copy the backslash and the escaped character.
                let len = escape[1..].chars().next().map_or(0, char::len_utf8);
                out.push_str(&escape[..1 + len]);
                rest = &escape[1 + len..];
            }
        }
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out.into_bytes())
    } else {
        Cow::Borrowed(body)
    }
}

/// The code unit of a `\uXXXX` escape at the start of `text` when it is a
/// surrogate (U+D800–U+DFFF).
fn surrogate_at(text: &str) -> Option<u16> {
    let hex = text.strip_prefix("\\u")?.get(..4)?;
    let unit = u16::from_str_radix(hex, 16).ok()?;
    (0xD800..=0xDFFF).contains(&unit).then_some(unit)
}

/// A name with every control character replaced by U+FFFD.
pub fn clean_name(name: String) -> String {
    if name.chars().any(char::is_control) {
        name.chars()
            .map(|c| if c.is_control() { REPLACEMENT } else { c })
            .collect()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(body: &[u8]) -> String {
        let value: serde_json::Value = serde_json::from_slice(&repair_json(body)).expect("parses");
        value["name"].as_str().expect("name").to_owned()
    }

    /// Lone surrogates and invalid bytes become U+FFFD; valid pairs and other escapes survive.
    #[test]
    fn repairs_only_what_is_broken() {
        assert_eq!(repaired(br#"{"name":"a\ud800b"}"#), "a\u{FFFD}b");
        assert_eq!(repaired(br#"{"name":"a\udc00"}"#), "a\u{FFFD}");
        assert_eq!(repaired(br#"{"name":"\ud800\ud800"}"#), "\u{FFFD}\u{FFFD}");
        assert_eq!(repaired(br#"{"name":"\ud83d\ude00"}"#), "\u{1F600}");
        assert_eq!(repaired(br#"{"name":"x\\ud800"}"#), "x\\ud800");
        assert_eq!(repaired(br#"{"name":"q\"\u00e9"}"#), "q\"\u{e9}");
        assert_eq!(repaired(b"{\"name\":\"a\xff\xfeb\"}"), "a\u{FFFD}\u{FFFD}b");
        let valid = br#"{"name":"plain"}"#;
        assert!(matches!(repair_json(valid), Cow::Borrowed(_)));
    }

    /// NUL, ESC, other C0 and C1 controls and DEL become U+FFFD; printable text is kept.
    #[test]
    fn control_characters_replaced() {
        assert_eq!(
            clean_name(String::from("a\0b\u{1b}[31m\u{7f}\u{85}\tc")),
            "a\u{FFFD}b\u{FFFD}[31m\u{FFFD}\u{FFFD}\u{FFFD}c"
        );
        assert_eq!(clean_name(String::from("Sales – EMEA ✓")), "Sales – EMEA ✓");
    }
}
