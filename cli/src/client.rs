//! Connecting to the coordinator as a named identity.

use quorate_wire::audit_client::AuditClient;
use quorate_wire::ceremonies_client::CeremoniesClient;
use quorate_wire::client::Identify;
use quorate_wire::coordinators::Coordinators;
use quorate_wire::key_ceremonies_client::KeyCeremoniesClient;
use quorate_wire::key_groups_client::KeyGroupsClient;
use quorate_wire::tls::TlsFiles;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type Ceremonies = CeremoniesClient<InterceptedService<Channel, Identify>>;
pub type KeyGroups = KeyGroupsClient<InterceptedService<Channel, Identify>>;
pub type Audit = AuditClient<InterceptedService<Channel, Identify>>;
pub type KeyCeremonies = KeyCeremoniesClient<InterceptedService<Channel, Identify>>;

/// Where the coordinator is and who this client is: over TLS, the client
/// certificate says who; `identity` only names a caller of a development
/// coordinator serving plaintext. `url` may list the addresses of a
/// coordinator's replicas, separated by commas: the one that takes writes
/// serves (else the first that answers).
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub identity: String,
    pub tls: Option<TlsFiles>,
}

/// The largest reply the clients take.
pub const MAX_REPLY: usize = 256 * 1024 * 1024;

#[derive(Clone)]
pub struct Clients {
    pub ceremonies: Ceremonies,
    pub key_groups: KeyGroups,
    pub key_ceremonies: KeyCeremonies,
    pub audit: Audit,
}

impl Clients {
    pub async fn connect(target: &Target) -> anyhow::Result<Self> {
        let coordinators = Coordinators::parse(&target.url)
            .map_err(|e| anyhow::anyhow!("{e} (--coordinator / QUORATE_COORDINATOR)"))?;
        let channel = quorate_wire::tls::channel_writer(
            &coordinators,
            target.tls.as_ref(),
            &Default::default(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e} (--coordinator / QUORATE_COORDINATOR)"))?;
        let identify = Identify::new(&target.identity).map_err(anyhow::Error::msg)?;
        Ok(Self {
            ceremonies: CeremoniesClient::with_interceptor(channel.clone(), identify.clone()),
            key_groups: KeyGroupsClient::with_interceptor(channel.clone(), identify.clone()),
            key_ceremonies: KeyCeremoniesClient::with_interceptor(
                channel.clone(),
                identify.clone(),
            ),
            // A large key ceremony's entries come in one reply (8 MB for
            // a 67-of-100 DKG): more than gRPC's default 4 MiB.
            audit: AuditClient::with_interceptor(channel, identify)
                .max_decoding_message_size(MAX_REPLY),
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

/// How many times a create is tried when the coordinator cannot be
/// reached or its reply is lost: the pauses between them (100 ms doubling
/// to 2 s) add up to about 13 s, more than a standby replica takes to
/// take over from a dead one (its 5 s lease, then its start).
pub const CREATE_TRIES: u32 = 10;

/// Whether a failed call may simply be made again: the coordinator was
/// not reached, or its answer was lost.
fn transient(status: &tonic::Status) -> bool {
    use tonic::Code;
    matches!(
        status.code(),
        Code::Unavailable
            | Code::Unknown
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Aborted
    )
}

/// Asks for a ceremony under `request.request_id` (made up if empty),
/// trying again, with the same request id, while the coordinator cannot be
/// reached or its reply is lost: a request made twice makes one ceremony.
/// If it still cannot confirm the request, the error says how to find it.
pub async fn create_ceremony(
    target: &Target,
    mut request: quorate_wire::CreateCeremonyRequest,
) -> anyhow::Result<quorate_wire::CeremonyStatus> {
    if request.request_id.is_empty() {
        request.request_id = crate::request::fresh_request_id();
    }
    let mut pause = std::time::Duration::from_millis(100);
    let mut last = String::new();
    for _ in 0..CREATE_TRIES {
        match Clients::connect(target).await {
            Ok(mut clients) => match clients.ceremonies.create(request.clone()).await {
                Ok(status) => return Ok(status.into_inner()),
                Err(status) if transient(&status) => last = status.message().to_string(),
                Err(status) => return Err(status_error(status)),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(2));
    }
    anyhow::bail!(
        "the coordinator did not confirm the request ({last}); it may have made it: run the \
         same command with --request-id {} to get that ceremony (a request is never made \
         twice), or look for it with `quorate ceremonies --key-group {}`",
        request.request_id,
        request.key_group
    )
}
