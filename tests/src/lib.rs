//! Helpers for the end-to-end tests: a local deployment in a temporary
//! directory, and raw gRPC clients that act as one participant.

use std::time::Duration;

use quorate::local::{LocalDeployment, REQUESTER, sample_roster};
use quorate_common::proto::client::Identify;
use quorate_common::proto::signer_client::SignerClient;
use quorate_common::proto::{self, CeremonyState};
use quorate_common::{ParticipantId, keyfile::KeyShareFile};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Bound on every wait in the tests.
pub const T: Duration = Duration::from_secs(30);

pub type RawSigner = SignerClient<InterceptedService<Channel, Identify>>;

pub fn pid(id: &str) -> ParticipantId {
    ParticipantId::new(id).unwrap()
}

/// The quickstart's 3-of-5 roster, deployed in `dir`.
pub async fn deploy(dir: &std::path::Path) -> LocalDeployment {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    LocalDeployment::start(dir, "release", &sample_roster(None), 3)
        .await
        .unwrap()
}

pub const MANIFEST: &str = "\
9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  quorate-1.0.0.tar.gz
60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752  quorate-1.0.0.zip
";

/// Requests a ceremony over `MANIFEST` and returns its id.
pub async fn request(d: &LocalDeployment, message: &str) -> String {
    d.clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message: message.as_bytes().to_vec(),
            label: "SHA256SUMS".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id
}

pub async fn status(d: &LocalDeployment, id: &str) -> proto::CeremonyStatus {
    d.clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .get(proto::GetCeremonyRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

/// Polls until `pred` holds for the ceremony's status.
pub async fn wait_for(
    d: &LocalDeployment,
    id: &str,
    what: &str,
    pred: impl Fn(&proto::CeremonyStatus) -> bool,
) -> proto::CeremonyStatus {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let s = status(d, id).await;
        if pred(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; last status: {}",
            s.summary
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A gRPC client of the Signer service calling as `id`.
pub async fn raw_signer(d: &LocalDeployment, id: &str) -> RawSigner {
    let channel = tonic::transport::Endpoint::from_shared(d.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    SignerClient::with_interceptor(channel, Identify::new(id).unwrap())
}

/// The key package of `id`, read from its share file as its agent reads it.
pub fn key_package(d: &LocalDeployment, id: &str) -> frost_ed25519::keys::KeyPackage {
    let config = &d.agent_configs[&pid(id)];
    KeyShareFile::load(&config.key_share)
        .unwrap()
        .key_package()
        .unwrap()
}

/// Checks a signed status's signature with ed25519-dalek, strictly.
pub fn verify(d: &LocalDeployment, s: &proto::CeremonyStatus) {
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    let key: [u8; 32] = hex::decode(&d.group.group_key).unwrap().try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&s.signature).unwrap();
    key.verify_strict(&s.message, &sig).unwrap();
}

/// A decision by `who` about ceremony `id` over `message`, signed with the
/// identity key its agent uses, as the Approve/Reject requests carry it.
pub fn signed(
    d: &LocalDeployment,
    who: &str,
    id: &str,
    message: &[u8],
    decision: quorate_common::Decision,
) -> Vec<u8> {
    let key = quorate_common::IdentityKey::load(&d.agent_configs[&pid(who)].identity_key).unwrap();
    quorate_common::Statement {
        ceremony: quorate_common::CeremonyId::new(id).unwrap(),
        key_group: d.group.name.clone(),
        participant: pid(who),
        message_sha256: quorate_common::Sha256Digest::of(message),
        break_glass: false,
        decision,
        at_unix_ms: 1_700_000_000_000,
    }
    .sign(&key)
    .to_bytes()
}

pub fn approval(d: &LocalDeployment, who: &str, id: &str) -> Vec<u8> {
    signed(
        d,
        who,
        id,
        MANIFEST.as_bytes(),
        quorate_common::Decision::Approve,
    )
}
