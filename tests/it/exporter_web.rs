//! `--web.config.file`, end to end through the real binary in `--demo` mode:
//! TLS, basic authentication against bcrypt hashes, security headers, mutual
//! TLS, certificates and users rotated without a restart, and bad files
//! refused with one line. Certificates come from a test CA made here; the
//! password hashes were made with Python's `bcrypt`, not the exporter's code.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::util::exporter::{binary, spawn_listening};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};

/// bcrypt (cost 10) of `scrape-me`.
const HASH_SCRAPE_ME: &str = "$2y$10$DPIyBWQdEj3kRAFw7.uBN.OxG3N9T3ez4RwBzvH1C8Gsm.XjjafxG";
/// bcrypt (cost 10) of `rotated-pass`.
const HASH_ROTATED: &str = "$2b$10$HX5Lt2hUfYE4cMSCAtVOiu9sOogFd7mW0VTLVvUIkUv2aHFbdPmGO";

/// A certificate authority able to sign server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, PEM.
struct Pair {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn sign(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Pair {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("params");
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn server(&self) -> Pair {
        self.sign(
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(&self) -> Pair {
        self.sign(&["prometheus"], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir =
        std::env::temp_dir().join(format!("genesys-web-{name}-{}-{nanos}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write(path: &Path, text: &str) {
    // Write then rename, as secret managers do, so a reader never sees half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// The demo exporter serving under `config`; killed on drop.
struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &Path) -> Running {
    let mut cmd = binary();
    cmd.args(["--demo", "--web.listen-address", "127.0.0.1:0"])
        .env("GENESYS_EXPORTER_WEB_CONFIG_FILE", config);
    let (child, base) = spawn_listening(cmd);
    Running { child, base }
}

/// An HTTPS client trusting only `ca`, presenting `identity` if given.
fn https_client(ca: &str, identity: Option<&Pair>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA pem"))
        .timeout(Duration::from_secs(30));
    if let Some(pair) = identity {
        let pem = format!("{}{}", pair.cert, pair.key);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    builder.build().expect("client")
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    user: Option<(&str, &str)>,
) -> reqwest::Result<reqwest::Response> {
    let mut req = client.get(url);
    if let Some((u, p)) = user {
        req = req.basic_auth(u, Some(p));
    }
    req.send().await
}

/// Polls until `check` holds, for at most `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// TLS with basic auth: every endpoint refuses missing or wrong credentials
/// with 401 and a Basic challenge, serves metrics to the right ones with the
/// configured security header, and plain HTTP gets no answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_protect_every_endpoint() {
    let dir = scratch("auth");
    let ca = Ca::new("test CA");
    let server = ca.server();
    write(&dir.join("server.crt"), &server.cert);
    write(&dir.join("server.key"), &server.key);
    let config = dir.join("web-config.yml");
    write(
        &config,
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n\
             basic_auth_users:\n  prometheus: '{HASH_SCRAPE_ME}'\n"
        ),
    );
    let running = start(&config);
    assert!(running.base.starts_with("https://"), "{}", running.base);
    let client = https_client(&ca.pem(), None);
    let metrics = format!("{}/metrics", running.base);

    for path in ["/metrics", "/", "/-/healthy", "/-/ready"] {
        let url = format!("{}{path}", running.base);
        for user in [
            None,
            Some(("prometheus", "wrong")),
            Some(("nobody", "scrape-me")),
        ] {
            let resp = get(&client, &url, user).await.expect("TLS answer");
            assert_eq!(resp.status(), 401, "{path} with {user:?}");
            let challenge = resp.headers()["www-authenticate"].to_str().unwrap_or("");
            assert!(challenge.starts_with("Basic"), "{challenge}");
            assert_eq!(resp.headers()["x-frame-options"], "deny");
        }
    }
    let creds = Some(("prometheus", "scrape-me"));
    eventually(Duration::from_secs(90), "genesys_up 1 over TLS", || {
        let client = client.clone();
        let metrics = metrics.clone();
        async move {
            let Ok(resp) = get(&client, &metrics, creds).await else {
                return false;
            };
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["x-frame-options"], "deny");
            let text = resp.text().await.unwrap_or_default();
            text.lines().any(|l| l == "genesys_up 1")
        }
    })
    .await;

    let plain = format!(
        "http://{}/metrics",
        running.base.trim_start_matches("https://")
    );
    let answer = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
        .get(&plain)
        .send()
        .await;
    assert!(
        !matches!(&answer, Ok(r) if r.status().is_success()),
        "plain HTTP must not be served: {answer:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mutual TLS: no client certificate or one from another CA is refused in
/// the handshake; the right one is served. Replacing the server certificate
/// and the users in place takes effect on the next connection, no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_and_rotation() {
    let dir = scratch("mtls");
    let ca = Ca::new("server CA");
    let clients = Ca::new("client CA");
    let stranger = Ca::new("someone else");
    let server = ca.server();
    write(&dir.join("server.crt"), &server.cert);
    write(&dir.join("server.key"), &server.key);
    write(&dir.join("clients.crt"), &clients.pem());
    let config = dir.join("web-config.yml");
    let config_text = |hash: &str| {
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.crt\n  \
             min_version: TLS12\n\
             basic_auth_users:\n  prometheus: '{hash}'\n"
        )
    };
    write(&config, &config_text(HASH_SCRAPE_ME));
    let running = start(&config);
    let url = format!("{}/-/healthy", running.base);
    let creds = Some(("prometheus", "scrape-me"));
    let identity = clients.client();

    let anonymous = https_client(&ca.pem(), None);
    assert!(
        get(&anonymous, &url, creds).await.is_err(),
        "no client cert"
    );
    let foreign = https_client(&ca.pem(), Some(&stranger.client()));
    assert!(
        get(&foreign, &url, creds).await.is_err(),
        "foreign client cert"
    );
    let trusted = https_client(&ca.pem(), Some(&identity));
    let resp = get(&trusted, &url, creds).await.expect("mutual TLS");
    assert_eq!(resp.status(), 200);

    // Rotate the server certificate to one from a new CA, and the password.
    let next_ca = Ca::new("next server CA");
    let next = next_ca.server();
    write(&dir.join("server.key"), &next.key);
    write(&dir.join("server.crt"), &next.cert);
    write(&config, &config_text(HASH_ROTATED));
    let rotated = https_client(&next_ca.pem(), Some(&identity));
    eventually(Duration::from_secs(30), "the rotated certificate", || {
        let rotated = rotated.clone();
        let url = url.clone();
        async move {
            matches!(get(&rotated, &url, Some(("prometheus", "rotated-pass"))).await,
                Ok(r) if r.status() == 200)
        }
    })
    .await;
    let old = https_client(&ca.pem(), Some(&identity));
    assert!(
        get(&old, &url, creds).await.is_err(),
        "old CA no longer matches"
    );
    let resp = get(&rotated, &url, creds).await.expect("TLS");
    assert_eq!(resp.status(), 401, "the old password is gone");

    // A broken change is not applied: the last good configuration stays.
    write(
        &config,
        "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
    );
    let fresh = https_client(&next_ca.pem(), Some(&identity));
    let resp = get(&fresh, &url, Some(("prometheus", "rotated-pass")))
        .await
        .expect("still served");
    assert_eq!(resp.status(), 200);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A web config that cannot be used stops the exporter and check-config
/// with exit status 2 and one line naming the flag, the file and the setting.
#[test]
fn unusable_web_config_is_refused() {
    let dir = scratch("bad");
    let ca = Ca::new("test CA");
    let server = ca.server();
    write(&dir.join("server.crt"), &server.cert);
    write(&dir.join("other.key"), &ca.server().key);
    let config = dir.join("web-config.yml");
    for (text, needle) in [
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: other.key\n",
            "cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
            "does not match",
        ),
        ("basic_auth_users:\n  prometheus: scrape-me\n", "bcrypt"),
        ("tls_server_config:\n  cert_file: [\n", "tls_server_config"),
    ] {
        write(&config, text);
        for check in [true, false] {
            let mut cmd = binary();
            if check {
                cmd.arg("check-config");
            }
            let out = cmd
                .args(["--demo", "--web.listen-address", "127.0.0.1:0"])
                .arg("--web.config.file")
                .arg(&config)
                .output()
                .expect("binary runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{text:?}: {stderr}");
            let line = stderr.trim();
            assert_eq!(line.lines().count(), 1, "{line}");
            assert!(line.contains("--web.config.file"), "{line}");
            assert!(line.contains("web-config.yml"), "{line}");
            assert!(line.contains(needle), "{text:?}: {line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
