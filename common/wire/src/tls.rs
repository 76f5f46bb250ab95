//! The client side of mutual TLS: which CA to trust and which certificate
//! proves who this client is.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use zeroize::Zeroizing;

/// A party's TLS files: the deployment's CA, and its own certificate (whose
/// common name is its identity: a roster id or a party name) and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

impl TlsFiles {
    pub fn client_config(&self) -> Result<ClientTlsConfig, String> {
        let ca = read(&self.ca, "CA certificate")?;
        let cert = read(&self.cert, "client certificate")?;
        let key = Zeroizing::new(read(&self.key, "client key")?);
        Ok(ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(ca))
            .identity(Identity::from_pem(cert, &*key)))
    }
}

/// Connects to the coordinator at `url`: over mutual TLS when `tls` is
/// given (an `https://` URL), else in plaintext (only a coordinator started
/// with `insecure_plaintext` on loopback accepts that).
pub async fn channel(url: &str, tls: Option<&TlsFiles>) -> Result<Channel, String> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("coordinator address {url:?}: {e}"))?
        .connect_timeout(std::time::Duration::from_secs(5));
    match tls {
        Some(files) => {
            if !url.starts_with("https://") {
                return Err(format!(
                    "coordinator address {url:?}: with TLS files, use an https:// address"
                ));
            }
            endpoint = endpoint
                .tls_config(files.client_config()?)
                .map_err(|e| format!("TLS settings: {e}"))?;
        }
        None if url.starts_with("https://") => {
            return Err(format!(
                "{url} needs TLS: give the CA certificate, your certificate and key \
                 (--tls-ca, --tls-cert, --tls-key or QUORATE_TLS_CA/CERT/KEY)"
            ));
        }
        None => {}
    }
    endpoint.connect().await.map_err(|e| {
        format!("cannot reach the coordinator at {url}: {e}; is it running, and are the TLS files right?")
    })
}
