//! Connecting to the coordinator as a named identity.

use quorate_wire::audit_client::AuditClient;
use quorate_wire::ceremonies_client::CeremoniesClient;
use quorate_wire::client::Identify;
use quorate_wire::key_groups_client::KeyGroupsClient;
use quorate_wire::tls::TlsFiles;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type Ceremonies = CeremoniesClient<InterceptedService<Channel, Identify>>;
pub type KeyGroups = KeyGroupsClient<InterceptedService<Channel, Identify>>;
pub type Audit = AuditClient<InterceptedService<Channel, Identify>>;

/// Where the coordinator is and who this client is: over TLS, the client
/// certificate says who; `identity` only names a caller of a development
/// coordinator serving plaintext.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub identity: String,
    pub tls: Option<TlsFiles>,
}

#[derive(Clone)]
pub struct Clients {
    pub ceremonies: Ceremonies,
    pub key_groups: KeyGroups,
    pub audit: Audit,
}

impl Clients {
    pub async fn connect(target: &Target) -> anyhow::Result<Self> {
        let channel = quorate_wire::tls::channel(&target.url, target.tls.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("{e} (--coordinator / QUORATE_COORDINATOR)"))?;
        let identify = Identify::new(&target.identity).map_err(anyhow::Error::msg)?;
        Ok(Self {
            ceremonies: CeremoniesClient::with_interceptor(channel.clone(), identify.clone()),
            key_groups: KeyGroupsClient::with_interceptor(channel.clone(), identify.clone()),
            audit: AuditClient::with_interceptor(channel, identify),
        })
    }
}

/// An error naming what the coordinator answered.
pub fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!(
        "the coordinator answered {:?}: {}",
        status.code(),
        status.message()
    )
}
