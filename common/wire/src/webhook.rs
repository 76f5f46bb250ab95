//! Alert webhooks: one JSON document POSTed to an `http://` URL, or an
//! `https://` one whose server's certificate chains to a given CA. The
//! coordinator posts its break-glass alerts; an agent posts its findings
//! about the coordinator's record, on its own, so that a coordinator that
//! lies cannot hold back the alarm about itself.

use std::path::Path;
use std::time::Duration;

use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// An alert webhook: where it posts, and for an `https://` URL the CA
/// whose certificates its server's must chain to (a PEM file).
#[derive(Clone)]
pub struct Webhook {
    url: String,
    uri: http::Uri,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).finish()
    }
}

impl Webhook {
    /// Checks `url` (`http://host[:port]/path`, or `https://` with `ca`)
    /// and reads `ca`.
    pub fn new(url: &str, ca: Option<&Path>) -> Result<Self, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if uri.host().is_none() {
            return Err(format!("{url:?}: give an http(s)://host[:port]/path URL"));
        }
        let tls = match (uri.scheme_str(), ca) {
            (Some("http"), None) => None,
            (Some("http"), Some(_)) => {
                return Err(format!(
                    "{url:?} is http://: a CA file is for an https:// webhook"
                ));
            }
            (Some("https"), Some(ca)) => Some(connector(ca)?),
            (Some("https"), None) => {
                return Err(format!(
                    "{url:?} is https://: give the CA file that issued its server's certificate \
                     (alert_webhook_ca)"
                ));
            }
            _ => return Err(format!("{url:?}: give an http(s)://host[:port]/path URL")),
        };
        Ok(Self {
            url: url.to_string(),
            uri,
            tls,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// POSTs `json` as `application/json`; Ok once the server answers 2xx
    /// within `within`, else why not.
    pub async fn post_json(&self, json: String, within: Duration) -> Result<(), String> {
        self.post_json_answered(json, within)
            .await
            .map_err(|(_, why)| why)
    }

    /// As [`Self::post_json`]; a failure comes with the server's answer,
    /// when it gave one (a 4xx other than 408 and 429 will not change by
    /// trying again).
    pub async fn post_json_answered(
        &self,
        json: String,
        within: Duration,
    ) -> Result<(), (Option<http::StatusCode>, String)> {
        let url = &self.url;
        match tokio::time::timeout(within, self.post(json)).await {
            Ok(Ok(status)) if status.is_success() => Ok(()),
            Ok(Ok(status)) => Err((Some(status), format!("{url} answered {status}"))),
            Ok(Err(e)) => Err((None, format!("{url}: {e}"))),
            Err(_) => Err((None, format!("{url} did not answer within {within:?}"))),
        }
    }

    async fn post(&self, json: String) -> Result<http::StatusCode, String> {
        let host = self.uri.host().unwrap_or_default();
        // Host: the host and port, never any user information.
        let authority = match self.uri.port_u16() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let Some(tls) = &self.tls else {
            let request = http::Request::post(&self.uri)
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::HOST, &authority)
                .body(Full::new(bytes::Bytes::from(json)))
                .map_err(|e| format!("not a valid request target: {e}"))?;
            let client = Client::builder(TokioExecutor::new()).build_http();
            return client
                .request(request)
                .await
                .map(|r| r.status())
                .map_err(|e| e.to_string());
        };
        // https: one connection, TLS to the URL's host, HTTP/1.1 over it,
        // asking for the path (origin form), as a client of an origin does.
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let request = http::Request::post(path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::HOST, &authority)
            .body(Full::new(bytes::Bytes::from(json)))
            .map_err(|e| format!("not a valid request target: {e}"))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let port = self.uri.port_u16().unwrap_or(443);
        let tcp = tokio::net::TcpStream::connect((bare, port))
            .await
            .map_err(|e| e.to_string())?;
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(bare.to_string())
            .map_err(|e| format!("{host} is not a server name: {e}"))?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        let connection = tokio::spawn(connection);
        let result = sender
            .send_request(request)
            .await
            .map(|r| r.status())
            .map_err(|e| e.to_string());
        connection.abort();
        result
    }
}

/// A TLS client that trusts only the CA certificates in `ca`.
fn connector(ca: &Path) -> Result<tokio_rustls::TlsConnector, String> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(ca).map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{} holds no certificate", ca.display()));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
        config,
    )))
}

/// Whether `url` is an `http://host[:port]/...` URL [`post_json`] takes.
pub fn check_url(url: &str) -> Result<(), String> {
    Webhook::new(url, None).map(|_| ())
}

/// POSTs `json` to the `http://` `url` ([`Webhook::post_json`]).
pub async fn post_json(url: &str, json: String, within: Duration) -> Result<(), String> {
    Webhook::new(url, None)?.post_json(json, within).await
}

#[cfg(test)]
mod tests;
