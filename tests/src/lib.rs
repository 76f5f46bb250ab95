//! Helpers for the end-to-end tests: a local deployment in a temporary
//! directory, and raw gRPC clients that act as one participant.

pub mod browser;
pub mod fake_audit;
pub mod faulty_disk;
pub mod process;
pub mod proxy;

use std::time::Duration;

use quorate::local::{LocalDeployment, REQUESTER, sample_roster};
use quorate_secrets::keyfile::KeyShareFile;
use quorate_types::ParticipantId;
use quorate_wire::client::Identify;
use quorate_wire::signer_client::SignerClient;
use quorate_wire::{self as proto, CeremonyState};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Bound on every wait in the tests.
pub const T: Duration = Duration::from_secs(30);

pub type RawSigner = SignerClient<InterceptedService<Channel, Identify>>;

pub fn pid(id: &str) -> ParticipantId {
    ParticipantId::new(id).unwrap()
}

/// Logs to the test's output: warnings, or what `RUST_LOG` asks for.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// The quickstart's 3-of-5 roster, deployed in `dir`.
pub async fn deploy(dir: &std::path::Path) -> LocalDeployment {
    deploy_with(dir, quorate::local::Options::default()).await
}

/// As [`deploy`], started with `options`.
pub async fn deploy_with(
    dir: &std::path::Path,
    options: quorate::local::Options,
) -> LocalDeployment {
    init_tracing();
    LocalDeployment::start_with(dir, "release", &sample_roster(None), 3, options)
        .await
        .unwrap()
}

pub const MANIFEST: &str = "\
9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  quorate-1.0.0.tar.gz
60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752  quorate-1.0.0.zip
";

/// Requests a ceremony over `MANIFEST` and returns its id.
pub async fn request(d: &LocalDeployment, message: &str) -> String {
    let mut request = proto::CreateCeremonyRequest {
        key_group: "release".into(),
        message: message.as_bytes().to_vec(),
        label: "SHA256SUMS".into(),
        ..Default::default()
    };
    d.sign_request(REQUESTER, &mut request).unwrap();
    d.clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .create(request)
        .await
        .unwrap()
        .into_inner()
        .id
}

/// Waits (at most [`T`]) for the alert `kind` in the file an alert
/// command appends to, one JSON document a line; the alert.
pub async fn alert_line(alerts: &std::path::Path, kind: &str) -> serde_json::Value {
    let line = tokio::time::timeout(T, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(alerts)
                && let Some(line) = text.lines().find(|l| l.contains(kind))
            {
                return line.to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} alert in {} within {T:?}", alerts.display()));
    serde_json::from_str(&line).expect("an alert is JSON")
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

/// The first page of the ceremonies the requester lists.
pub async fn listed(d: &LocalDeployment) -> Vec<proto::CeremonyStatus> {
    d.clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .list(proto::ListCeremoniesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .ceremonies
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

/// Waits until `who`'s agent has checked ceremony `id`'s record after the
/// ceremony ended, asserting that no check of it found a problem.
pub async fn wait_checked_after_end(d: &LocalDeployment, who: &str, id: &str) {
    let ceremony = quorate_types::CeremonyId::new(id).unwrap();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let found = d.agents[&pid(who)].agent.record_check_of(&ceremony);
        if let Some(found) = &found {
            assert!(!found.is_problem(), "{who}: {}", found.describe());
            if found
                .describe()
                .ends_with("checked after the ceremony ended")
            {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who}'s agent did not check the ended ceremony: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A channel to the coordinator over mutual TLS with `id`'s certificate.
pub async fn channel_as(d: &LocalDeployment, id: &str) -> Channel {
    let files = d.tls_files(id).unwrap();
    quorate_wire::tls::channel(&d.url(), Some(&files))
        .await
        .unwrap()
}

/// A channel over TLS that trusts the coordinator but presents no client
/// certificate.
pub async fn anonymous_channel(d: &LocalDeployment) -> Channel {
    let ca = std::fs::read(d.pki.ca_cert()).unwrap();
    tonic::transport::Endpoint::from_shared(d.url())
        .unwrap()
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca)),
        )
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A gRPC client of the Signer service calling as `id`.
pub async fn raw_signer(d: &LocalDeployment, id: &str) -> RawSigner {
    SignerClient::with_interceptor(channel_as(d, id).await, Identify::new(id).unwrap())
}

/// `GET path` over HTTPS (trusting the deployment's CA) as `identity`'s
/// client certificate; the raw response.
pub async fn https_get(d: &LocalDeployment, addr: std::net::SocketAddr, path: &str) -> String {
    https_get_as(d, addr, path, Some(quorate::local::OPERATOR))
        .await
        .unwrap()
}

/// `GET path` over HTTPS as `identity` (or with no client certificate).
pub async fn https_get_as(
    d: &LocalDeployment,
    addr: std::net::SocketAddr,
    path: &str,
    identity: Option<&str>,
) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(d.pki.ca_cert()).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match identity {
        None => config.with_no_client_auth(),
        Some(id) => {
            let files = d.tls_files(id).unwrap();
            let certs = CertificateDer::pem_file_iter(&files.cert)
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
            let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&files.key).unwrap();
            config.with_client_auth_cert(certs, key).unwrap()
        }
    };
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut bytes = Vec::new();
    // The server may close without close_notify; what was read counts.
    let _ = tls.read_to_end(&mut bytes).await;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The key package of `id`, read from its share file as its agent reads it.
pub fn key_package(d: &LocalDeployment, id: &str) -> frost_ed25519::keys::KeyPackage {
    let config = &d.agent_configs[&pid(id)];
    KeyShareFile::load(&config.key_share, passphrase(d, id))
        .unwrap()
        .key_package()
        .unwrap()
}

/// The passphrase the local deployment sealed `id`'s key files with.
pub fn passphrase<'a>(d: &'a LocalDeployment, id: &str) -> &'a quorate_secrets::Passphrase {
    d.agent_configs[&pid(id)]
        .passphrase
        .as_ref()
        .expect("a local deployment hands each agent its passphrase")
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
    decision: quorate_types::Decision,
) -> Vec<u8> {
    let key = quorate_secrets::IdentityKey::load(
        &d.agent_configs[&pid(who)].identity_key,
        passphrase(d, who),
    )
    .unwrap();
    quorate_types::Statement {
        ceremony: quorate_types::CeremonyId::new(id).unwrap(),
        key_group: d.group.name.clone(),
        participant: pid(who),
        message_sha256: quorate_types::Sha256Digest::of(message),
        break_glass: false,
        decision,
        at_unix_ms: 1_700_000_000_000,
        follow_ups: Vec::new(),
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
        quorate_types::Decision::Approve,
    )
}

/// Every entry of the coordinator's record, read as the auditor.
pub async fn record_entries(d: &LocalDeployment) -> Vec<quorate_ceremonies::Entry> {
    raw_record(d)
        .await
        .iter()
        .map(|e| quorate_ceremonies::Entry::decode(e).unwrap())
        .collect()
}

/// Every entry of the coordinator's record as the bytes it keeps, read as
/// the auditor.
pub async fn raw_record(d: &LocalDeployment) -> Vec<Vec<u8>> {
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let note = audit
        .checkpoint(proto::CheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .note;
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let mut out = Vec::new();
    let mut start = 0;
    while start < size {
        let end = (start + 1000).min(size);
        let reply = audit
            .entries(proto::EntriesRequest { start, end })
            .await
            .unwrap()
            .into_inner();
        // A reply may stop short of `end` (its bytes are capped).
        start = reply.entries.last().map_or(end, |e| e.index + 1);
        out.extend(reply.entries.into_iter().map(|e| e.entry));
    }
    out
}

/// Copies the directory `from` (a store, say) to `to`, recursively.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The sample roster's key group `release`, 3 of 5 under `policy`, dealt
/// into `dir/keys` with one random passphrase for every file: the dealt
/// group, each participant's files (in roster order) and the passphrase.
pub fn dealt_keys(
    dir: &std::path::Path,
    policy: quorate_types::Policy,
) -> (
    quorate::keygen::Dealt,
    Vec<quorate::keygen::Written>,
    quorate_secrets::Passphrase,
) {
    let roster = quorate::local::sample_roster(None);
    let dealt = quorate::keygen::deal(
        quorate_types::KeyGroupName::new("release").unwrap(),
        &roster,
        3,
        policy,
    )
    .unwrap();
    let passphrase = quorate_secrets::Passphrase::random();
    let passphrases = roster
        .ids()
        .map(|id| (id.clone(), passphrase.clone()))
        .collect();
    let files = quorate::keygen::write(
        &dealt,
        &dir.join("keys"),
        &passphrases,
        &quorate_secrets::sealed::KdfParams::for_random_passphrase(),
    )
    .unwrap();
    (dealt, files, passphrase)
}

/// A webhook receiver on loopback: its `http://` URL, the bodies POSTed to
/// it, in order, and its task (abort it when done).
pub async fn webhook_receiver() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let (posted_tx, posted) = tokio::sync::mpsc::unbounded_channel::<String>();
    let app = axum::Router::new().route(
        "/alert",
        axum::routing::post(move |body: String| {
            let posted_tx = posted_tx.clone();
            async move {
                let _ = posted_tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alert", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    (url, posted, task)
}

/// How many entries the record holds (its latest checkpoint's size).
pub async fn record_size(d: &LocalDeployment) -> u64 {
    let note = d
        .clients(quorate::local::AUDITOR)
        .await
        .unwrap()
        .audit
        .checkpoint(quorate_wire::CheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .note;
    note.lines().nth(1).unwrap().parse().unwrap()
}
