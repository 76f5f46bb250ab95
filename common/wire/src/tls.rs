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

/// How a client keeps its connection to the coordinator honest (`[network]`
/// in an agent's configuration): an HTTP/2 ping every `keepalive_ms` (also
/// while idle, and TCP keepalives as often), and a connection whose ping
/// goes unanswered for `keepalive_timeout_ms` is closed, so that a
/// half-open connection (a peer or middlebox gone silent) ends and the
/// client reconnects instead of waiting forever; and a deadline on each
/// call, `call_timeout_ms`, until its reply starts (a stream's items may
/// come later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    pub keepalive_ms: u64,
    pub keepalive_timeout_ms: u64,
    pub call_timeout_ms: u64,
}

impl Default for Network {
    fn default() -> Self {
        Self {
            keepalive_ms: 10_000,
            keepalive_timeout_ms: 10_000,
            call_timeout_ms: 30_000,
        }
    }
}

impl Network {
    /// Checks that every setting is at least 10 ms.
    pub fn check(&self) -> Result<(), String> {
        for (field, value) in [
            ("keepalive_ms", self.keepalive_ms),
            ("keepalive_timeout_ms", self.keepalive_timeout_ms),
            ("call_timeout_ms", self.call_timeout_ms),
        ] {
            if value < 10 {
                return Err(format!(
                    "network.{field}: {value} ms is too short; give at least 10"
                ));
            }
        }
        Ok(())
    }
}

/// Connects to the coordinator at `url`: over mutual TLS when `tls` is
/// given (an `https://` URL), else in plaintext (only a coordinator started
/// with `insecure_plaintext` on loopback accepts that), with the default
/// [`Network`] settings.
pub async fn channel(url: &str, tls: Option<&TlsFiles>) -> Result<Channel, String> {
    channel_with(url, tls, &Network::default()).await
}

/// Connects to the first of `coordinators` that answers, trying them in
/// turn from the one at `from` (wrapping around): the replicas of a
/// coordinator over PostgreSQL. With the index of the one connected, to
/// start from next time; or why each failed.
pub async fn channel_any(
    coordinators: &crate::coordinators::Coordinators,
    from: usize,
    tls: Option<&TlsFiles>,
    network: &Network,
) -> Result<(Channel, usize), String> {
    let urls = coordinators.addresses();
    let mut failures = Vec::new();
    for k in 0..urls.len() {
        let i = (from + k) % urls.len();
        match channel_with(&urls[i], tls, network).await {
            Ok(channel) => return Ok((channel, i)),
            Err(e) => failures.push(e),
        }
    }
    Err(failures.join("; "))
}

/// Connects to the replica of `coordinators` that takes writes: the one
/// whose health service says [`crate::coordinators::WRITER_SERVICE`] is
/// serving. A single address is connected to as it is; with several, if
/// none says it takes writes now (a takeover under way), the first that
/// answers.
pub async fn channel_writer(
    coordinators: &crate::coordinators::Coordinators,
    tls: Option<&TlsFiles>,
    network: &Network,
) -> Result<Channel, String> {
    if coordinators.addresses().len() == 1 {
        return channel_any(coordinators, 0, tls, network)
            .await
            .map(|(c, _)| c);
    }
    let mut failures = Vec::new();
    let mut reachable = None;
    for url in coordinators.addresses() {
        let channel = match channel_with(url, tls, network).await {
            Ok(channel) => channel,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        if takes_writes(&channel).await {
            return Ok(channel);
        }
        reachable.get_or_insert(channel);
    }
    reachable.ok_or_else(|| failures.join("; "))
}

/// Whether the replica at the other end of `channel` takes writes: its
/// health service says [`crate::coordinators::WRITER_SERVICE`] serves.
pub async fn takes_writes(channel: &Channel) -> bool {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let asked = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: crate::coordinators::WRITER_SERVICE.into(),
        })
        .await;
    asked.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
}

/// As [`channel`], with `network`'s keepalives and call deadline.
pub async fn channel_with(
    url: &str,
    tls: Option<&TlsFiles>,
    network: &Network,
) -> Result<Channel, String> {
    network.check()?;
    let ms = std::time::Duration::from_millis;
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("coordinator address {url:?}: {e}"))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .http2_keep_alive_interval(ms(network.keepalive_ms))
        .keep_alive_timeout(ms(network.keepalive_timeout_ms))
        .keep_alive_while_idle(true)
        // TCP keepalives count whole seconds.
        .tcp_keepalive(Some(std::time::Duration::from_secs(
            network.keepalive_ms.div_ceil(1000),
        )))
        .timeout(ms(network.call_timeout_ms));
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
    // The whole connection, handshakes included, within the call deadline:
    // a peer gone silent mid-handshake answers no keepalive yet.
    let within = ms(network.call_timeout_ms);
    match tokio::time::timeout(within, endpoint.connect()).await {
        Ok(connected) => connected.map_err(|e| {
            format!("cannot reach the coordinator at {url}: {e}; is it running, and are the TLS files right?")
        }),
        Err(_) => Err(format!(
            "cannot reach the coordinator at {url}: no connection within {within:?}"
        )),
    }
}
