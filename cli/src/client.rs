//! Connecting to the coordinator as a named identity.

use std::time::Duration;

use quorate_common::proto::audit_client::AuditClient;
use quorate_common::proto::ceremonies_client::CeremoniesClient;
use quorate_common::proto::client::Identify;
use quorate_common::proto::key_groups_client::KeyGroupsClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub type Ceremonies = CeremoniesClient<InterceptedService<Channel, Identify>>;
pub type KeyGroups = KeyGroupsClient<InterceptedService<Channel, Identify>>;
pub type Audit = AuditClient<InterceptedService<Channel, Identify>>;

pub struct Clients {
    pub ceremonies: Ceremonies,
    pub key_groups: KeyGroups,
    pub audit: Audit,
}

impl Clients {
    pub async fn connect(coordinator: &str, identity: &str) -> anyhow::Result<Self> {
        let channel = Endpoint::from_shared(coordinator.to_string())
            .map_err(|e| anyhow::anyhow!("coordinator address {coordinator:?}: {e}"))?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot reach the coordinator at {coordinator}: {e}; is it running? (--coordinator / QUORATE_COORDINATOR)")
            })?;
        let identify = Identify::new(identity).map_err(anyhow::Error::msg)?;
        Ok(Self {
            ceremonies: CeremoniesClient::with_interceptor(channel.clone(), identify.clone()),
            key_groups: KeyGroupsClient::with_interceptor(channel.clone(), identify.clone()),
            audit: AuditClient::with_interceptor(channel, identify),
        })
    }
}
