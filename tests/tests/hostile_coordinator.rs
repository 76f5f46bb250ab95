//! A real agent against a coordinator that lies: it sends a signing package
//! whose message differs from the approved one, a signing set the policy
//! forbids, a signer whose approval it forged, or a batch's follow-up that
//! is not what the approved rule makes of the first signature. The agent
//! must refuse it, destroy the nonces, and sign only a package for the
//! approved message whose every signer's signed approval checks out.
//!
//! Over 500 lines: the lying coordinator is a gRPC server of its own; the
//! gate's cases are table tests in `participant/src/gate/tests`, and these
//! four stay end to end.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use frost_ed25519::SigningPackage;
use frost_ed25519::round1::SigningCommitments;
use frost_ed25519::round2::SignatureShare;
use quorate_ceremonies::{Action, Entry, Event, Timestamp};
use quorate_e2e::fake_audit::FakeAudit;
use quorate_e2e::{T, pid};
use quorate_participant::AgentConfig;
use quorate_participant::signer::Nonces;
use quorate_tlog::LogKey;
use quorate_types::batch::FollowUp;
use quorate_types::{KeyGroupName, sha256};
use quorate_wire::audit_server::AuditServer;
use quorate_wire::signer_server::{Signer, SignerServer};
use quorate_wire::{self as proto, CeremonyState};
use rand_core::OsRng;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status};

/// What the agent called.
#[derive(Debug)]
enum Call {
    /// The commitments and the agent's signed statement.
    Approve(SigningCommitments, Vec<u8>),
    Commit(SigningCommitments),
    Share(u32, SignatureShare),
}

#[derive(Clone)]
struct Hostile {
    calls: mpsc::UnboundedSender<Call>,
    feed: Arc<Mutex<Option<WorkSender>>>,
    version: Arc<Mutex<u64>>,
}

type WorkSender = mpsc::Sender<Result<proto::Work, Status>>;
type WorkStream = Pin<Box<dyn Stream<Item = Result<proto::Work, Status>> + Send>>;

impl Hostile {
    fn ack(&self) -> Response<proto::Ack> {
        let mut v = self.version.lock().unwrap();
        *v += 1;
        Response::new(proto::Ack {
            ceremony: Some(proto::CeremonyStatus {
                id: "c0ffee".into(),
                version: *v,
                ..Default::default()
            }),
            // No receipt: this coordinator promises nothing.
            receipt: String::new(),
        })
    }
}

#[tonic::async_trait]
impl Signer for Hostile {
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
        let c = SigningCommitments::deserialize(&r.get_ref().commitments).unwrap();
        self.calls
            .send(Call::Approve(c, r.get_ref().statement.clone()))
            .unwrap();
        Ok(self.ack())
    }

    async fn reject(
        &self,
        _: Request<proto::RejectRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn commit(
        &self,
        r: Request<proto::CommitRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        let c = SigningCommitments::deserialize(&r.get_ref().commitments).unwrap();
        self.calls.send(Call::Commit(c)).unwrap();
        Ok(self.ack())
    }

    async fn submit_share(
        &self,
        r: Request<proto::SubmitShareRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        let share = SignatureShare::deserialize(&r.get_ref().signature_share).unwrap();
        self.calls
            .send(Call::Share(r.get_ref().attempt, share))
            .unwrap();
        Ok(self.ack())
    }

    async fn note_backup(
        &self,
        _: Request<proto::NoteBackupRequest>,
    ) -> Result<Response<proto::NoteBackupReply>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// The honest ceremony's entries: the request, alice's, carol's and erin's
/// approvals, and the signing set of the three formed at attempt 1.
fn honest_record(
    statements: &Statements,
    follow_ups: &[FollowUp],
    commitments: &[(&str, SigningCommitments)],
) -> Vec<Vec<u8>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let id = quorate_types::CeremonyId::new("c0ffee").unwrap();
    let request = Entry::CeremonyRequested {
        at: Timestamp(now),
        request: quorate_ceremonies::Request {
            id: id.clone(),
            key_group: KeyGroupName::new("release").unwrap(),
            requester: "release-manager".into(),
            label: "SHA256SUMS".into(),
            message: quorate_e2e::MANIFEST.as_bytes().to_vec(),
            created_at: Timestamp(now),
            break_glass: None,
            context: Vec::new(),
            key_group_version: 0,
            follow_ups: follow_ups.to_vec(),
            rules: 1,
            signed: None,
        },
    };
    let mut record = vec![request.encode()];
    for (seq, (who, c)) in commitments.iter().enumerate() {
        let last = seq + 1 == commitments.len();
        record.push(
            Entry::CeremonyEvent {
                at: Timestamp(now),
                ceremony: id.clone(),
                seq: seq as u64,
                event: Event::Approved {
                    statement: quorate_types::SignedStatement::from_bytes(&statements[*who])
                        .unwrap(),
                    commitments: *c,
                },
                decisions: if last {
                    vec![Action::SendSigningPackage {
                        attempt: 1,
                        signers: commitments.iter().map(|(w, _)| pid(w)).collect(),
                    }]
                } else {
                    Vec::new()
                },
            }
            .encode(),
        );
    }
    record
}

async fn next(calls: &mut mpsc::UnboundedReceiver<Call>) -> Call {
    tokio::time::timeout(T, calls.recv())
        .await
        .unwrap()
        .unwrap()
}

/// Signed statements the hostile coordinator holds, by participant.
type Statements = BTreeMap<String, Vec<u8>>;

fn work(
    message: &[u8],
    state: CeremonyState,
    version: u64,
    package: Option<&SigningPackage>,
    statements: &Statements,
) -> proto::Work {
    work_with(
        message,
        state,
        version,
        package,
        &["alice", "carol", "erin"],
        statements,
    )
}

fn work_with(
    message: &[u8],
    state: CeremonyState,
    version: u64,
    package: Option<&SigningPackage>,
    signers: &[&str],
    statements: &Statements,
) -> proto::Work {
    let mut status = proto::CeremonyStatus {
        id: "c0ffee".into(),
        key_group: "release".into(),
        requester: "release-manager".into(),
        label: "SHA256SUMS".into(),
        message: message.to_vec(),
        message_sha256: sha256(message).to_vec(),
        threshold: 3,
        version,
        attempt: 1,
        ..Default::default()
    };
    status.set_state(state);
    if package.is_some() {
        status.signing_set = signers.iter().map(|s| s.to_string()).collect();
        status.approvals = signers
            .iter()
            .map(|s| proto::Approval {
                participant: s.to_string(),
                statement: statements.get(*s).cloned().unwrap_or_default(),
                ..Default::default()
            })
            .collect();
    }
    proto::Work {
        ceremony: Some(status),
        commitments_wanted: false,
        signing_package: package.map(|p| p.serialize().unwrap()).unwrap_or_default(),
    }
}

/// How the coordinator lies.
enum Lie {
    /// The package signs another message than the one approved.
    OtherMessage,
    /// The signing set has no release approver, which the policy requires.
    ForbiddenSigningSet,
    /// Erin never approved; the coordinator shows an approval it made up.
    ForgedApproval,
    /// A batch (a minisign signature): the follow-up's package signs a
    /// genuine signature of the message followed by another trusted comment
    /// than the approved one.
    OtherFollowUp,
}

/// The batch the ceremony signs: its follow-ups, and the signatures of
/// the messages signed so far as the coordinator shows them.
struct Batch {
    follow_ups: Vec<FollowUp>,
    signatures: Vec<Vec<u8>>,
}

impl Batch {
    fn on(&self, mut w: proto::Work) -> proto::Work {
        if let Some(status) = w.ceremony.as_mut() {
            status.follow_ups = self.follow_ups.iter().map(Into::into).collect();
            status.batch_signatures = self.signatures.clone();
        }
        w
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_refuses_a_package_for_another_message() {
    agent_refuses(Lie::OtherMessage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_refuses_a_signing_set_the_policy_forbids() {
    agent_refuses(Lie::ForbiddenSigningSet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_refuses_a_signer_whose_approval_was_forged() {
    agent_refuses(Lie::ForgedApproval).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_refuses_a_follow_up_that_is_not_the_approved_one() {
    agent_refuses(Lie::OtherFollowUp).await;
}

async fn agent_refuses(lie: Lie) {
    let dir = tempfile::tempdir().unwrap();
    let policy = quorate_types::Policy::from_toml(
        "[required]\nengineering = 1\nsecurity = 1\nrelease = 1\n",
    )
    .unwrap();
    let (dealt, shares, passphrase) = quorate_e2e::dealt_keys(dir.path(), policy);
    let public = dealt.group.public_key_package().unwrap();
    let key_of = |i: usize| dealt.shares[i].key_package().unwrap();

    let (calls_tx, mut calls) = mpsc::unbounded_channel();
    let log = Arc::new(LogKey::generate(&mut OsRng, "hostile.localhost/log").unwrap());
    let hostile = Hostile {
        calls: calls_tx,
        feed: Arc::new(Mutex::new(None)),
        version: Arc::new(Mutex::new(1)),
    };
    // Its record: nothing until the test records the honest ceremony.
    let record = FakeAudit::new(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(SignerServer::new(hostile.clone()))
            .add_service(AuditServer::new(record.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );

    let agent = quorate_participant::start(AgentConfig {
        id: pid("alice"),
        coordinator: format!("http://{addr}").into(),
        key_share: shares[0].share.clone(),
        identity_key: shares[0].identity.clone().unwrap(),
        passphrase: Some(passphrase),
        // The hostile coordinator serves the record only once the test
        // has it record the honest ceremony.
        witnesses: Vec::new(),
        witness_quorum: None,
        witness_listen: None,
        alert_command: None,
        alert_webhook: None,
        log_key: Some(log.verifier_key()),
        tls: None,
        key_group: dir.path().join("keys").join("group.json"),
        state_dir: dir.path().join("alice"),
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
            if let Some(feed) = hostile.feed.lock().unwrap().clone() {
                return feed;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();

    let approved = quorate_e2e::MANIFEST.as_bytes();
    let mut batch = Batch {
        follow_ups: Vec::new(),
        signatures: Vec::new(),
    };
    if let Lie::OtherFollowUp = lie {
        batch.follow_ups = vec![FollowUp::SignatureThen {
            suffix: b"approved comment".to_vec(),
        }];
    }
    feed.send(Ok(batch.on(work(
        approved,
        CeremonyState::CollectingApprovals,
        1,
        None,
        &Statements::new(),
    ))))
    .await
    .unwrap();
    let mut control = quorate_participant::control::connect(&agent.agent.config.socket_path())
        .await
        .unwrap();
    let pending = tokio::time::timeout(T, async {
        loop {
            let p = control
                .pending(proto::PendingRequest {})
                .await
                .unwrap()
                .into_inner();
            if !p.reviews.is_empty() {
                return p;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(pending.reviews[0].ceremony.as_ref().unwrap().id, "c0ffee");
    control
        .approve(proto::DecideRequest {
            ceremony: "c0ffee".into(),
            reason: String::new(),
        })
        .await
        .unwrap();
    let Call::Approve(alice_c, alice_statement) = next(&mut calls).await else {
        panic!("expected the approval")
    };
    // The others' genuine approvals, signed with their identity keys.
    let approve = |i: usize, who: &str| {
        quorate_types::Statement {
            ceremony: quorate_types::CeremonyId::new("c0ffee").unwrap(),
            key_group: KeyGroupName::new("release").unwrap(),
            participant: pid(who),
            message_sha256: quorate_types::Sha256Digest::of(approved),
            break_glass: false,
            decision: quorate_types::Decision::Approve,
            at_unix_ms: 1_700_000_000_000,
            follow_ups: batch.follow_ups.clone(),
        }
        .sign(&dealt.identities[i])
        .to_bytes()
    };
    let mut statements = Statements::from([
        ("alice".to_string(), alice_statement),
        ("bob".to_string(), approve(1, "bob")),
        ("carol".to_string(), approve(2, "carol")),
        ("erin".to_string(), approve(4, "erin")),
    ]);

    // The others' commitments, made here with their real shares.
    let bob = Nonces::generate(&key_of(1), &mut OsRng);
    let carol = Nonces::generate(&key_of(2), &mut OsRng);
    let erin = Nonces::generate(&key_of(4), &mut OsRng);
    let commitments = |alice: SigningCommitments| {
        BTreeMap::from([
            (pid("alice").identifier(), alice),
            (pid("carol").identifier(), *carol.commitments()),
            (pid("erin").identifier(), *erin.commitments()),
        ])
    };

    match lie {
        Lie::OtherMessage => {
            let tampered = [
                approved,
                b"0000000000000000000000000000000000000000000000000000000000000000  backdoor.tar.gz\n",
            ]
            .concat();
            let package = SigningPackage::new(commitments(alice_c), &tampered);
            feed.send(Ok(batch.on(work(
                approved,
                CeremonyState::Signing,
                3,
                Some(&package),
                &statements,
            ))))
            .await
            .unwrap();
        }
        Lie::ForgedApproval => {
            // Carol's key signs "erin approves": not erin's signature.
            let genuine = statements["erin"].clone();
            let mut forged = quorate_types::SignedStatement::from_bytes(&genuine).unwrap();
            forged = forged.statement.sign(&dealt.identities[2]);
            statements.insert("erin".into(), forged.to_bytes());
            let package = SigningPackage::new(commitments(alice_c), approved);
            feed.send(Ok(batch.on(work(
                approved,
                CeremonyState::Signing,
                3,
                Some(&package),
                &statements,
            ))))
            .await
            .unwrap();
            statements.insert("erin".into(), genuine);
        }
        Lie::ForbiddenSigningSet => {
            // Alice, Bob (engineering) and Carol (security): no release.
            let set = BTreeMap::from([
                (pid("alice").identifier(), alice_c),
                (pid("bob").identifier(), *bob.commitments()),
                (pid("carol").identifier(), *carol.commitments()),
            ]);
            let package = SigningPackage::new(set, approved);
            let signers = ["alice", "bob", "carol"];
            let w = work_with(
                approved,
                CeremonyState::Signing,
                3,
                Some(&package),
                &signers,
                &statements,
            );
            feed.send(Ok(batch.on(w))).await.unwrap();
        }
        Lie::OtherFollowUp => {
            // A genuine signature of the approved message by carol, erin
            // and bob, then a package for it followed by another comment.
            let signers = [(1, "bob"), (2, "carol"), (4, "erin")];
            let nonces: Vec<Nonces> = signers
                .iter()
                .map(|(i, _)| Nonces::generate(&key_of(*i), &mut OsRng))
                .collect();
            let set = signers
                .iter()
                .zip(&nonces)
                .map(|((_, who), n)| (pid(who).identifier(), *n.commitments()))
                .collect();
            let first = SigningPackage::new(set, approved);
            let shares = signers
                .iter()
                .zip(nonces)
                .map(|((i, who), n)| {
                    let digest = quorate_types::Sha256Digest::of(approved);
                    let share = quorate_participant::signer::sign(&digest, &first, n, &key_of(*i));
                    (pid(who).identifier(), share.unwrap())
                })
                .collect();
            let signature = frost_ed25519::aggregate(&first, &shares, &public)
                .unwrap()
                .serialize()
                .unwrap();
            let mut other = signature.clone();
            other.extend_from_slice(b"another comment");
            let package = SigningPackage::new(commitments(alice_c), &other);
            let lying = Batch {
                follow_ups: batch.follow_ups.clone(),
                signatures: vec![signature],
            };
            feed.send(Ok(lying.on(work(
                approved,
                CeremonyState::Signing,
                3,
                Some(&package),
                &statements,
            ))))
            .await
            .unwrap();
        }
    }
    // Then the honest package with the same commitment: the nonces are gone
    // (destroyed when the lie was refused), so the agent commits afresh
    // instead of signing. A share here would mean it signed the lie's nonces.
    let honest = SigningPackage::new(commitments(alice_c), approved);
    feed.send(Ok(batch.on(work(
        approved,
        CeremonyState::Signing,
        4,
        Some(&honest),
        &statements,
    ))))
    .await
    .unwrap();
    let Call::Commit(fresh) = next(&mut calls).await else {
        panic!("the agent released a share for a package it must refuse")
    };
    assert_ne!(fresh, alice_c);
    // The refusal is in alice's journal, and `show` puts it before her.
    let review = control
        .show(proto::ShowRequest {
            ceremony: "c0ffee".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let why = match lie {
        Lie::OtherMessage | Lie::OtherFollowUp => "message is not the approved one",
        Lie::ForgedApproval | Lie::ForbiddenSigningSet => "signing set violates the policy",
    };
    assert_eq!(review.refusals.len(), 1, "{:?}", review.refusals);
    assert!(review.refusals[0].contains(why), "{:?}", review.refusals);
    let shown = quorate_participant::control::describe(&review);
    assert!(shown.contains("REFUSED by this agent"), "{shown}");

    // With its fresh commitment in an honest package, recorded with the
    // approvals that formed it, it signs, and the share is valid for the
    // approved message.
    record.set_record(honest_record(
        &statements,
        &batch.follow_ups,
        &[
            ("alice", fresh),
            ("carol", *carol.commitments()),
            ("erin", *erin.commitments()),
        ],
    ));
    let honest = SigningPackage::new(commitments(fresh), approved);
    feed.send(Ok(batch.on(work(
        approved,
        CeremonyState::Signing,
        6,
        Some(&honest),
        &statements,
    ))))
    .await
    .unwrap();
    let Call::Share(attempt, share) = next(&mut calls).await else {
        panic!("expected a share")
    };
    assert_eq!(attempt, 1);
    let id = pid("alice").identifier();
    frost_core::verify_signature_share(
        id,
        &public.verifying_shares()[&id],
        &share,
        &honest,
        public.verifying_key(),
    )
    .unwrap();

    agent.stop().await;
    server.abort();
}
