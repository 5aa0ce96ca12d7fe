//! Builds a rustls server configuration from validated [`TlsSettings`]:
//! reads the certificate chain, the private key and the client CA bundle
//! (PEM), restricts protocol versions and sets up client verification.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::file::{ClientAuth, Pem, TlsSettings, TlsVersion};

/// The rustls configuration for `settings`; errors name the file or setting.
pub fn server_config(settings: &TlsSettings) -> Result<ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: Vec<&'static SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (settings.min_version..=settings.max_version).contains(v))
    .map(|(_, p)| p)
    .collect();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: unusable protocol versions: {e}"))?;
    let builder = match (settings.client_auth, &settings.client_ca_file) {
        (ClientAuth::None, _) | (_, None) => builder.with_no_client_auth(),
        (mode, Some(ca_file)) => {
            builder.with_client_cert_verifier(client_verifier(mode, ca_file, provider)?)
        }
    };
    let certs = certificates(&settings.cert)?;
    let key = private_key(&settings.key)?;
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        format!("tls_server_config: the key does not match the certificate or is unusable: {e}")
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn client_verifier(
    mode: ClientAuth,
    ca_file: &Path,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, String> {
    let what = format!("tls_server_config.client_ca_file {}", ca_file.display());
    let pem = read(ca_file, &what)?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{what}: not a PEM certificate bundle: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{what}: unusable CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{what}: no certificate found"));
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = if mode == ClientAuth::VerifyIfGiven {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder.build().map_err(|e| format!("{what}: {e}"))
}

fn certificates(source: &Pem) -> Result<Vec<CertificateDer<'static>>, String> {
    let (pem, what) = pem_bytes(source, "cert")?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what}: not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{what}: no certificate found"));
    }
    Ok(certs)
}

fn private_key(source: &Pem) -> Result<PrivateKeyDer<'static>, String> {
    let (pem, what) = pem_bytes(source, "key")?;
    // The parser's message could quote key material; keep only its kind.
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        let kind = match e {
            rustls::pki_types::pem::Error::NoItemsFound => "no private key found",
            _ => "not a PEM private key (PKCS#8, PKCS#1 or SEC1)",
        };
        format!("{what}: {kind}")
    })
}

/// The PEM text and a description of where it came from, for errors.
fn pem_bytes(source: &Pem, field: &str) -> Result<(Vec<u8>, String), String> {
    match source {
        Pem::File(path) => {
            let what = format!("tls_server_config.{field}_file {}", path.display());
            Ok((read(path, &what)?, what))
        }
        Pem::Inline(text) => Ok((
            text.expose().as_bytes().to_vec(),
            format!("tls_server_config.{field}"),
        )),
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what}: cannot read: {e}"))
}
