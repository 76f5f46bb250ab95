//! The coordinator's side of TLS: its certificate for every endpoint, and
//! the CA whose client certificates name the callers (mutual TLS).

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use tokio_rustls::rustls;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use zeroize::Zeroizing;

/// `[tls]` in `coordinator.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// The coordinator's certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The CA that issues callers' client certificates (PEM). A caller's
    /// identity is its certificate's common name.
    pub client_ca: PathBuf,
}

fn read(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("tls.{what}: cannot read {}: {e}", path.display()))
}

impl ServerTls {
    /// For the gRPC port: client certificates are asked for but checked by
    /// the handlers, so a caller without one gets `UNAUTHENTICATED` rather
    /// than a failed handshake.
    pub fn grpc(&self) -> anyhow::Result<ServerTlsConfig> {
        let cert = read(&self.cert, "cert")?;
        let key = Zeroizing::new(read(&self.key, "key")?);
        let ca = read(&self.client_ca, "client_ca")?;
        Ok(ServerTlsConfig::new()
            .identity(Identity::from_pem(cert, &*key))
            .client_ca_root(Certificate::from_pem(ca))
            .client_auth_optional(true))
    }

    /// For `/metrics`: mutual TLS, a client certificate from `client_ca`
    /// required.
    pub fn metrics(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        self.https(true)
    }

    /// For the page: a client certificate from `client_ca` is asked for,
    /// and checked if given; a browser without one gets a page saying it
    /// needs one.
    pub fn page(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        self.https(false)
    }

    fn https(&self, certificate_required: bool) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let certs = rustls_pemfile_certs(&read(&self.cert, "cert")?)?;
        let key = Zeroizing::new(read(&self.key, "key")?);
        use rustls::pki_types::pem::PemObject;
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&key)
            .map_err(|e| anyhow::anyhow!("tls.key: {e}"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Scrapers present a client certificate from the deployment's CA,
        // like every caller of the gRPC port: the metrics name key groups
        // and show the coordinator's load.
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile_certs(&read(&self.client_ca, "client_ca")?)? {
            roots
                .add(cert)
                .map_err(|e| anyhow::anyhow!("tls.client_ca: {e}"))?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        );
        let verifier = if certificate_required {
            verifier
        } else {
            verifier.allow_unauthenticated()
        }
        .build()
        .map_err(|e| anyhow::anyhow!("tls.client_ca: {e}"))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(|e| anyhow::anyhow!("tls.cert/tls.key: {e}"))?;
        Ok(Arc::new(config))
    }
}

fn rustls_pemfile_certs(
    pem: &[u8],
) -> anyhow::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("tls.cert: {e}"))
}
