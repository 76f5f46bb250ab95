//! Who is calling. The identity comes from the channel, never from a
//! request body.
//!
//! Over TLS (the only way a deployed coordinator serves) the caller is the
//! common name of the client certificate it presented, which the
//! deployment's CA issued: a roster id for an agent, a party name (see
//! [`crate::authz`]) for people. No certificate is `UNAUTHENTICATED`.
//!
//! Only a coordinator started with `insecure_plaintext` (loopback only, for
//! development) takes plaintext calls; those name themselves in the
//! `x-quorate-identity` header, which identifies but does not authenticate.

use quorate_types::ParticipantId;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic::{Request, Status};

pub use quorate_wire::client::IDENTITY_HEADER;

pub fn caller<T>(request: &Request<T>) -> Result<ParticipantId, Status> {
    match request.extensions().get::<TlsConnectInfo<TcpConnectInfo>>() {
        Some(tls) => from_certificate(tls),
        None => from_header(request),
    }
}

fn from_certificate(tls: &TlsConnectInfo<TcpConnectInfo>) -> Result<ParticipantId, Status> {
    let certs = tls.peer_certs().ok_or_else(|| {
        Status::unauthenticated(
            "no client certificate: present the certificate the deployment's CA issued you",
        )
    })?;
    let leaf = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("empty client certificate chain"))?;
    identity_of(leaf.as_ref()).map_err(Status::unauthenticated)
}

/// The identity a client certificate (DER, already verified against the
/// deployment's CA) names: its common name.
pub fn identity_of(leaf: &[u8]) -> Result<ParticipantId, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|_| "the client certificate does not parse".to_string())?;
    let name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or_else(|| "the client certificate has no common name".to_string())?;
    ParticipantId::new(name)
        .map_err(|e| format!("the client certificate's common name is not an identity: {e}"))
}

fn from_header<T>(request: &Request<T>) -> Result<ParticipantId, Status> {
    let value = request.metadata().get(IDENTITY_HEADER).ok_or_else(|| {
        Status::unauthenticated(format!("no {IDENTITY_HEADER} header: who is calling?"))
    })?;
    let text = value
        .to_str()
        .map_err(|_| Status::unauthenticated(format!("{IDENTITY_HEADER} is not ASCII")))?;
    ParticipantId::new(text).map_err(|e| Status::unauthenticated(e.to_string()))
}
