//! A string that must never be printed: OAuth client secrets, bearer tokens,
//! TLS keys and password hashes.
//!
//! `Debug` and `Display` both render `***`, so a secret can sit inside any config
//! struct that derives `Debug` without leaking into logs, errors or panics. The
//! value is reachable only through [`Secret::expose`], which makes every use easy
//! to find in review.

use std::fmt;

/// An owned secret string whose formatting is always redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call only where the value is sent on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Read from configuration files (web config passwords, inline keys) and
/// token responses (`access_token`).
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Neither Debug nor Display reveal the value, even nested in a struct.
    #[test]
    fn formatting_is_redacted() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            secret: Secret,
        }
        let holder = Holder {
            secret: Secret::new("hunter2"),
        };
        assert!(!format!("{holder:?}").contains("hunter2"));
        assert!(!format!("{}", holder.secret).contains("hunter2"));
        assert_eq!(holder.secret.expose(), "hunter2");
    }
}
