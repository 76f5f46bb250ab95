//! A coordinator that answers a decision with a signed receipt and then
//! leaves the decision out of its record. The agent keeps the receipt, its
//! record check finds the statement missing, and the receipt turns that
//! into proof: journaled, shown in `pending`, and raised through the
//! agent's own alert command and webhook. For an approval and for a veto.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use quorate::local::sample_roster;
use quorate_ceremonies::{Entry, Timestamp};
use quorate_e2e::fake_audit::FakeAudit;
use quorate_e2e::{T, pid};
use quorate_participant::AgentConfig;
use quorate_tlog::{LogKey, Receipt};
use quorate_types::{KeyGroupName, sha256};
use quorate_wire::audit_server::AuditServer;
use quorate_wire::signer_server::{Signer, SignerServer};
use quorate_wire::{self as proto, CeremonyState};
use rand_core::OsRng;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status};

const ID: &str = "c0ffee";

type WorkStream = Pin<Box<dyn Stream<Item = Result<proto::Work, Status>> + Send>>;
type WorkSender = mpsc::Sender<Result<proto::Work, Status>>;

/// Receipts every decision; its record ([`FakeAudit`]) holds only the
/// request.
#[derive(Clone)]
struct Dropping {
    feed: Arc<Mutex<Option<WorkSender>>>,
    log: Arc<LogKey>,
}

impl Dropping {
    fn receipted(&self, statement: &[u8]) -> Result<Response<proto::Ack>, Status> {
        let receipt = Receipt::for_statement(self.log.name(), ID, statement, 1_800_000_000_000);
        Ok(Response::new(proto::Ack {
            ceremony: Some(status(CeremonyState::CollectingApprovals)),
            receipt: self.log.sign_receipt(&receipt).unwrap(),
        }))
    }

    /// The record: the request, and nothing the agent sent.
    fn record() -> Vec<Vec<u8>> {
        let request = Entry::CeremonyRequested {
            at: Timestamp(1_800_000_000_000),
            request: quorate_ceremonies::Request {
                id: quorate_types::CeremonyId::new(ID).unwrap(),
                key_group: KeyGroupName::new("release").unwrap(),
                requester: "release-manager".into(),
                label: "SHA256SUMS".into(),
                message: quorate_e2e::MANIFEST.as_bytes().to_vec(),
                created_at: Timestamp(1_800_000_000_000),
                break_glass: None,
                context: Vec::new(),
                key_group_version: 0,
                follow_ups: Vec::new(),
                rules: 1,
                signed: None,
            },
        };
        vec![request.encode()]
    }
}

fn status(state: CeremonyState) -> proto::CeremonyStatus {
    let message = quorate_e2e::MANIFEST.as_bytes();
    let mut status = proto::CeremonyStatus {
        id: ID.into(),
        key_group: "release".into(),
        requester: "release-manager".into(),
        label: "SHA256SUMS".into(),
        message: message.to_vec(),
        message_sha256: sha256(message).to_vec(),
        threshold: 3,
        version: 1,
        attempt: 1,
        ..Default::default()
    };
    status.set_state(state);
    status
}

#[tonic::async_trait]
impl Signer for Dropping {
    type SubscribeStream = WorkStream;

    async fn subscribe(
        &self,
        _: Request<proto::SubscribeRequest>,
    ) -> Result<Response<WorkStream>, Status> {
        let (tx, rx) = mpsc::channel(16);
        *self.feed.lock().unwrap() = Some(tx);
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn approve(
        &self,
        r: Request<proto::ApproveRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        self.receipted(&r.get_ref().statement)
    }

    async fn reject(
        &self,
        r: Request<proto::RejectRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        self.receipted(&r.get_ref().statement)
    }

    async fn commit(
        &self,
        _: Request<proto::CommitRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn submit_share(
        &self,
        _: Request<proto::SubmitShareRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn note_backup(
        &self,
        _: Request<proto::NoteBackupRequest>,
    ) -> Result<Response<proto::NoteBackupReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approval_receipted_and_dropped_is_proven_and_alerted() {
    dropped("alice", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_veto_receipted_and_dropped_is_proven_and_alerted() {
    dropped("carol", false).await;
}

async fn dropped(who: &str, approve: bool) {
    let dir = tempfile::tempdir().unwrap();
    let policy = quorate_types::Policy::from_toml("veto_roles = [\"security\"]\n").unwrap();
    let (_, files, passphrase) = quorate_e2e::dealt_keys(dir.path(), policy);
    let index = sample_roster(None)
        .ids()
        .position(|id| id.as_str() == who)
        .unwrap();
    let mine = &files[index];

    let log = Arc::new(LogKey::generate(&mut OsRng, "dropping.localhost/log").unwrap());
    let fake = Dropping {
        feed: Arc::new(Mutex::new(None)),
        log: log.clone(),
    };
    let record = FakeAudit::new(log.clone());
    record.set_record(Dropping::record());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(SignerServer::new(fake.clone()))
            .add_service(AuditServer::new(record))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let alert_file = dir.path().join("alert.json");
    // The agent's webhook receiver, on loopback.
    let (webhook, mut posted, receiver) = quorate_e2e::webhook_receiver().await;
    let agent = quorate_participant::start(AgentConfig {
        id: pid(who),
        coordinator: format!("http://{addr}").into(),
        key_share: mine.share.clone(),
        identity_key: mine.identity.clone().unwrap(),
        passphrase: Some(passphrase),
        witnesses: Vec::new(),
        witness_quorum: None,
        witness_listen: None,
        alert_command: Some(vec![
            "sh".into(),
            "-c".into(),
            format!("cat > {}", alert_file.display()),
        ]),
        alert_webhook: Some(webhook),
        log_key: Some(log.verifier_key()),
        tls: None,
        key_group: dir.path().join("keys").join("group.json"),
        state_dir: dir.path().join(who),
        socket: None,
        auto_approve: false,
        network: Default::default(),
        page: None,
        alert_webhook_ca: None,
    })
    .await
    .unwrap();
    let feed = tokio::time::timeout(T, async {
        loop {
            if let Some(feed) = fake.feed.lock().unwrap().clone() {
                return feed;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    feed.send(Ok(proto::Work {
        ceremony: Some(status(CeremonyState::CollectingApprovals)),
        commitments_wanted: false,
        signing_package: Vec::new(),
    }))
    .await
    .unwrap();
    let mut control = quorate_participant::control::connect(&agent.agent.config.socket_path())
        .await
        .unwrap();
    tokio::time::timeout(T, async {
        while control
            .pending(proto::PendingRequest {})
            .await
            .unwrap()
            .into_inner()
            .reviews
            .is_empty()
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    let decide = proto::DecideRequest {
        ceremony: ID.into(),
        reason: if approve {
            String::new()
        } else {
            "the advisory does not match".into()
        },
    };
    if approve {
        control.approve(decide).await.unwrap();
    } else {
        control.reject(decide).await.unwrap();
    }

    // The agent's own alarm goes off, with the receipt as proof.
    let alert = tokio::time::timeout(T, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&alert_file)
                && !text.is_empty()
            {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    let alert: serde_json::Value = serde_json::from_str(&alert).unwrap();
    assert_eq!(alert["ceremony"], ID);
    assert_eq!(alert["participant"], who);
    let receipt = alert["problem"]["dropped_statement"]["receipt"]
        .as_str()
        .unwrap_or_else(|| panic!("{alert}"));
    let promised = log.verifier().unwrap().verify_receipt(receipt).unwrap();
    assert_eq!(promised.ceremony, ID);
    // The same finding is POSTed to the agent's own webhook.
    let body = tokio::time::timeout(T, posted.recv())
        .await
        .unwrap()
        .unwrap();
    let hooked: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(hooked, alert);

    // And it stays in front of the approver, in `pending`.
    let pending = control
        .pending(proto::PendingRequest {})
        .await
        .unwrap()
        .into_inner();
    let shown = quorate_participant::control::describe(&pending.reviews[0]);
    assert!(
        shown.contains("RECORD PROBLEM: dropped statement"),
        "{shown}"
    );
    assert!(shown.contains("quorate-receipt/v1"), "{shown}");

    agent.stop().await;
    server.abort();
    receiver.abort();
}
