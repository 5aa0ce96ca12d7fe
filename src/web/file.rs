//! The `--web.config.file` format of the Prometheus exporter-toolkit (pure):
//! YAML with `tls_server_config`, `http_server_config` and `basic_auth_users`,
//! parsed strictly and validated into a [`WebConfig`]. Relative file paths
//! are resolved against the config file's directory, as the toolkit does.
//!
//! Settings the toolkit has but this exporter cannot honour (`cipher_suites`,
//! `curve_preferences`, `client_allowed_sans`, TLS 1.0/1.1, client-certificate
//! modes without verification, `rate_limit`) are refused with an error that
//! names them, never silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::secret::Secret;

/// The file as written (field names exactly as the exporter-toolkit's).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, Secret>>,
    #[serde(default)]
    rate_limit: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<Secret>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<Vec<String>>,
    /// Accepted for compatibility; rustls orders cipher suites itself.
    #[serde(default, rename = "prefer_server_cipher_suites")]
    _prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    /// Accepted for compatibility; the exporter serves HTTP/1.1.
    #[serde(default, rename = "http2")]
    _http2: Option<bool>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
}

/// Where a PEM document comes from: a file, or inline text in the config.
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    /// A file path (already resolved against the config's directory).
    File(PathBuf),
    /// Inline PEM text (`cert:` / `key:`); redacted in `Debug` for keys.
    Inline(Secret),
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(p) => write!(f, "File({})", p.display()),
            Pem::Inline(_) => f.write_str("Inline(***)"),
        }
    }
}

/// TLS protocol versions rustls offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// Which client certificates are asked for and how they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `NoClientCert` (the default): none asked for.
    None,
    /// `VerifyClientCertIfGiven`: optional, verified against the client CA when sent.
    VerifyIfGiven,
    /// `RequireAndVerifyClientCert`: mandatory and verified (mutual TLS).
    RequireAndVerify,
}

/// Validated TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server certificate chain.
    pub cert: Pem,
    /// The server private key.
    pub key: Pem,
    /// Client certificate policy.
    pub client_auth: ClientAuth,
    /// CA bundle for client certificates (required when they are verified).
    pub client_ca_file: Option<PathBuf>,
    /// Lowest protocol version accepted.
    pub min_version: TlsVersion,
    /// Highest protocol version accepted.
    pub max_version: TlsVersion,
}

impl TlsSettings {
    /// Every file these settings read, for change detection.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for pem in [&self.cert, &self.key] {
            if let Pem::File(p) = pem {
                files.push(p.clone());
            }
        }
        files.extend(self.client_ca_file.clone());
        files
    }
}

/// A validated web configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebConfig {
    /// TLS, when configured; plain HTTP otherwise.
    pub tls: Option<TlsSettings>,
    /// Extra response headers (security headers only).
    pub headers: Vec<(String, String)>,
    /// Basic-auth users and their bcrypt hashes; empty means no authentication.
    pub users: BTreeMap<String, Secret>,
}

impl WebConfig {
    /// One line saying how endpoints are served, e.g. `HTTPS (TLS12–TLS13),
    /// client certificates required, basic auth (1 user), 1 header`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        match &self.tls {
            None => parts.push(String::from("plain HTTP")),
            Some(tls) => {
                let name = |v: TlsVersion| match v {
                    TlsVersion::Tls12 => "TLS12",
                    TlsVersion::Tls13 => "TLS13",
                };
                parts.push(format!(
                    "HTTPS ({}–{})",
                    name(tls.min_version),
                    name(tls.max_version)
                ));
                match tls.client_auth {
                    ClientAuth::None => {}
                    ClientAuth::VerifyIfGiven => {
                        parts.push(String::from("client certificates verified if given"))
                    }
                    ClientAuth::RequireAndVerify => {
                        parts.push(String::from("client certificates required"))
                    }
                }
            }
        }
        match self.users.len() {
            0 => parts.push(String::from("no authentication")),
            1 => parts.push(String::from("basic auth (1 user)")),
            n => parts.push(format!("basic auth ({n} users)")),
        }
        if !self.headers.is_empty() {
            parts.push(format!("{} security header(s)", self.headers.len()));
        }
        parts.join(", ")
    }
}

/// Response headers the toolkit allows, and the values it accepts for them
/// (`None`: any value).
const ALLOWED_HEADERS: [(&str, Option<&[&str]>); 5] = [
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

/// Parses and validates the text of a web config file located in `dir`.
/// The error is one line naming the setting to fix.
pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
    let raw: RawFile = if text.trim().is_empty() {
        RawFile::default()
    } else {
        serde_yaml_ng::from_str::<Option<RawFile>>(text)
            .map_err(|e| one_line(&e.to_string()))?
            .unwrap_or_default()
    };
    if raw.rate_limit.is_some() {
        return Err(String::from(
            "rate_limit: not supported by genesys_exporter; remove it",
        ));
    }
    let tls = match raw.tls_server_config {
        Some(t) => tls_settings(t, dir)?,
        None => None,
    };
    let http = raw.http_server_config.unwrap_or_default();
    let mut headers = Vec::new();
    for (name, value) in http.headers.unwrap_or_default() {
        headers.push(header(&name, &value)?);
    }
    let users = raw.basic_auth_users.unwrap_or_default();
    for (user, hash) in &users {
        if user.is_empty() || user.contains(':') {
            return Err(format!(
                "basic_auth_users: user name {user:?} must be non-empty and contain no ':'"
            ));
        }
        if !is_bcrypt_hash(hash.expose()) {
            return Err(format!(
                "basic_auth_users.{user}: the password must be a bcrypt hash ($2a$, $2b$ or $2y$), \
                 e.g. from `htpasswd -nBC 10 {user}`"
            ));
        }
    }
    Ok(WebConfig {
        tls,
        headers,
        users,
    })
}

fn tls_settings(raw: RawTls, dir: &Path) -> Result<Option<TlsSettings>, String> {
    for (set, name) in [
        (raw.cipher_suites.is_some(), "cipher_suites"),
        (raw.curve_preferences.is_some(), "curve_preferences"),
        (raw.client_allowed_sans.is_some(), "client_allowed_sans"),
    ] {
        if set {
            return Err(format!(
                "tls_server_config.{name}: not supported by genesys_exporter (rustls chooses \
                 safe defaults); remove it"
            ));
        }
    }
    let cert = pem_source(raw.cert_file, raw.cert.map(Secret::new), "cert", dir)?;
    let key = pem_source(raw.key_file, raw.key, "key", dir)?;
    let (cert, key) = match (cert, key) {
        (None, None) => {
            if raw.client_ca_file.is_some() || raw.client_auth_type.is_some() {
                return Err(String::from(
                    "tls_server_config: client certificate settings need cert_file and key_file",
                ));
            }
            return Ok(None);
        }
        (Some(_), None) => {
            return Err(String::from(
                "tls_server_config: cert_file is set but key_file is missing",
            ))
        }
        (None, Some(_)) => {
            return Err(String::from(
                "tls_server_config: key_file is set but cert_file is missing",
            ))
        }
        (Some(c), Some(k)) => (c, k),
    };
    let client_auth = match raw.client_auth_type.as_deref().unwrap_or("NoClientCert") {
        "" | "NoClientCert" => ClientAuth::None,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        other @ ("RequestClientCert" | "RequireAnyClientCert") => {
            return Err(format!(
                "tls_server_config.client_auth_type: {other} accepts unverified client \
                 certificates and is not supported; use VerifyClientCertIfGiven or \
                 RequireAndVerifyClientCert"
            ))
        }
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown value {other:?} (NoClientCert, \
                 VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
            ))
        }
    };
    let client_ca_file = raw.client_ca_file.map(|f| dir.join(f));
    match (client_auth, &client_ca_file) {
        (ClientAuth::None, Some(_)) => {
            return Err(String::from(
                "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert; \
                 set client_auth_type to RequireAndVerifyClientCert",
            ))
        }
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, None) => {
            return Err(String::from(
                "tls_server_config: client_auth_type verifies client certificates but \
                 client_ca_file is missing",
            ))
        }
        _ => {}
    }
    let min_version = version(raw.min_version.as_deref(), "min_version", TlsVersion::Tls12)?;
    let max_version = version(raw.max_version.as_deref(), "max_version", TlsVersion::Tls13)?;
    if min_version > max_version {
        return Err(String::from(
            "tls_server_config: min_version is above max_version",
        ));
    }
    Ok(Some(TlsSettings {
        cert,
        key,
        client_auth,
        client_ca_file,
        min_version,
        max_version,
    }))
}

fn pem_source(
    file: Option<String>,
    inline: Option<Secret>,
    what: &str,
    dir: &Path,
) -> Result<Option<Pem>, String> {
    let file = file.filter(|f| !f.is_empty());
    let inline = inline.filter(|s| !s.is_empty());
    match (file, inline) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: set either {what}_file or {what}, not both"
        )),
        (Some(f), None) => Ok(Some(Pem::File(dir.join(f)))),
        (None, Some(s)) => Ok(Some(Pem::Inline(s))),
        (None, None) => Ok(None),
    }
}

fn version(value: Option<&str>, field: &str, default: TlsVersion) -> Result<TlsVersion, String> {
    match value {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some(old @ ("TLS10" | "TLS11")) => Err(format!(
            "tls_server_config.{field}: {old} is not supported (insecure); use TLS12 or TLS13"
        )),
        Some(other) => Err(format!(
            "tls_server_config.{field}: unknown version {other:?} (TLS12 or TLS13)"
        )),
    }
}

fn header(name: &str, value: &str) -> Result<(String, String), String> {
    let Some((canonical, allowed)) = ALLOWED_HEADERS
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(name))
    else {
        let names: Vec<&str> = ALLOWED_HEADERS.iter().map(|(h, _)| *h).collect();
        return Err(format!(
            "http_server_config.headers: {name:?} cannot be configured (allowed: {})",
            names.join(", ")
        ));
    };
    if let Some(values) = allowed {
        if !values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
            return Err(format!(
                "http_server_config.headers.{canonical}: invalid value {value:?} (allowed: {})",
                values.join(", ")
            ));
        }
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "http_server_config.headers.{canonical}: the value contains control characters"
        ));
    }
    Ok((canonical.to_string(), value.to_string()))
}

/// True for the modular-crypt bcrypt form `$2x$NN$` + 53 characters.
fn is_bcrypt_hash(hash: &str) -> bool {
    let b = hash.as_bytes();
    b.len() == 60
        && hash.starts_with("$2")
        && matches!(b[2], b'a' | b'b' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
}

/// serde_yaml errors span lines; keep them to one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$10$DPIyBWQdEj3kRAFw7.uBN.OxG3N9T3ez4RwBzvH1C8Gsm.XjjafxG";

    fn ok(text: &str) -> WebConfig {
        parse(text, Path::new("/etc/genesys")).expect("valid")
    }

    fn err(text: &str) -> String {
        parse(text, Path::new("/etc/genesys")).expect_err("invalid")
    }

    /// An empty file (or `{}`) means plain HTTP without authentication.
    #[test]
    fn empty_means_plain_http() {
        assert_eq!(ok(""), WebConfig::default());
        assert_eq!(ok("{}\n"), WebConfig::default());
        assert_eq!(ok("tls_server_config: {}\n").tls, None);
    }

    /// The toolkit's documented example parses; relative paths resolve
    /// against the file's directory, absolute ones stay.
    #[test]
    fn full_example() {
        let c = ok(&format!(
            "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /keys/server.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  \
             min_version: TLS13\n  prefer_server_cipher_suites: true\n\
             http_server_config:\n  http2: false\n  headers:\n    x-frame-options: deny\n    \
             Strict-Transport-Security: max-age=31536000\n\
             basic_auth_users:\n  prometheus: '{HASH}'\n"
        ));
        let tls = c.tls.clone().expect("tls");
        assert_eq!(tls.cert, Pem::File("/etc/genesys/tls/server.crt".into()));
        assert_eq!(tls.key, Pem::File("/keys/server.key".into()));
        assert_eq!(tls.client_auth, ClientAuth::RequireAndVerify);
        assert_eq!(tls.client_ca_file, Some("/etc/genesys/ca.crt".into()));
        assert_eq!(tls.min_version, TlsVersion::Tls13);
        assert_eq!(tls.max_version, TlsVersion::Tls13);
        assert_eq!(tls.files().len(), 3);
        assert_eq!(
            c.headers,
            [
                (
                    "Strict-Transport-Security".into(),
                    "max-age=31536000".into()
                ),
                ("X-Frame-Options".into(), "deny".into())
            ]
        );
        assert_eq!(c.users["prometheus"].expose(), HASH);
        assert_eq!(
            c.summary(),
            "HTTPS (TLS13–TLS13), client certificates required, basic auth (1 user), \
             2 security header(s)"
        );
        assert_eq!(
            WebConfig::default().summary(),
            "plain HTTP, no authentication"
        );
    }

    /// Every refusal names the setting to fix.
    #[test]
    fn refusals_name_the_setting() {
        for (text, needle) in [
            ("tls_server_config:\n  cert_file: a\n", "key_file is missing"),
            ("tls_server_config:\n  key_file: a\n", "cert_file is missing"),
            (
                "tls_server_config:\n  cert_file: a\n  cert: b\n  key_file: k\n",
                "either cert_file or cert",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n",
                "min_version: TLS10 is not supported",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n",
                "min_version is above max_version",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
                "client_ca_file is missing",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n",
                "client_auth_type is NoClientCert",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n",
                "RequireAnyClientCert accepts unverified",
            ),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "cipher_suites: not supported",
            ),
            ("tls_server_config:\n  certfile: a\n", "unknown field `certfile`"),
            (
                "http_server_config:\n  headers:\n    Server: nginx\n",
                "\"Server\" cannot be configured",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "X-Frame-Options: invalid value",
            ),
            ("basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice"),
            ("rate_limit:\n  interval: 1s\n", "rate_limit: not supported"),
            ("tls_server_config: [\n", "tls_server_config"),
        ] {
            let e = err(text);
            assert!(e.contains(needle), "{text:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    /// Inline keys and password hashes never reach Debug output.
    #[test]
    fn secrets_are_redacted() {
        let c = ok(&format!(
            "tls_server_config:\n  cert: CERT-TEXT\n  key: KEY-TEXT\nbasic_auth_users:\n  u: '{HASH}'\n"
        ));
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("KEY-TEXT") && !debug.contains(HASH),
            "{debug}"
        );
        assert_eq!(c.tls.expect("tls").files(), Vec::<PathBuf>::new());
    }
}
