//! A coordinator store written by an earlier release is migrated, then
//! opens and serves under this one (DESIGN invariant 6).
//!
//! `tests/vectors/v1-store/` holds the data directory of a real
//! coordinator, written by the release whose record entries were
//! `quorate-entry/v1` and whose store was sled, after four ceremonies: one
//! signed, one vetoed, one cancelled and one still collecting approvals.
//! It was written once by
//!
//! ```sh
//! QUORATE_WRITE_STORE=tests/vectors/v1-store \
//!   cargo test -p quorate-e2e --test frozen_store -- --ignored write_store
//! ```
//!
//! (which now writes a store of today's format, for the next frozen store)
//! and is never rewritten. The test copies it, checks that a coordinator
//! refuses it as it is, migrates it (`quorate-coordinator migrate
//! --from-sled`, which needs `quorate-sled-export`: `tests/run` builds it
//! and names it in `QUORATE_SLED_EXPORT`), starts a coordinator on the
//! migrated store with fresh TLS, and checks that every ceremony is there in its
//! recorded state, that each replays offline against the frozen log key,
//! and that new ceremonies are recorded after the old entries, across a
//! restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quorate::client::Clients;
use quorate::local::{AUDITOR, DEPUTY, OPERATOR, Options, REQUESTER};
use quorate::pki::LocalPki;
use quorate_coordinator::authz::{Party, Role};
use quorate_coordinator::clock::Clock;
use quorate_coordinator::config::Config;
use quorate_coordinator::migrate::OldRoot;
use quorate_e2e::*;
use quorate_tlog::LogVerifier;
use quorate_types::{CeremonyId, Policy};
use quorate_wire::{self as proto, CeremonyState};
use serde::{Deserialize, Serialize};

/// A frozen ceremony: its id and the state it was left in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Frozen {
    id: String,
    state: String,
    approvals: Vec<String>,
}

/// What the frozen store holds, and when it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Expected {
    /// The coordinator's clock when the store was written (unix ms): the
    /// test runs at this time, so that no deadline passes however old the
    /// store gets.
    written_at: i64,
    ceremonies: BTreeMap<String, Frozen>,
}

/// A clock held at one time.
struct Still(i64);

impl quorate_coordinator::clock::Clock for Still {
    fn now(&self) -> quorate_ceremonies::Timestamp {
        quorate_ceremonies::Timestamp(self.0)
    }
}

fn frozen_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/v1-store")
}

/// A copy of the frozen sled store in `dir/old`.
fn old_store(dir: &Path) -> PathBuf {
    let old = dir.join("old");
    copy_dir(&frozen_dir().join("coordinator"), &old);
    // git keeps no file modes but the executable bit; the log key is
    // refused unless only its owner may read it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = old.join("log-key.json");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    old
}

/// Every file under `dir` with its bytes.
fn files_of(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_of(&entry.path()));
        } else {
            out.insert(entry.path(), std::fs::read(entry.path()).unwrap());
        }
    }
    out
}

fn state_name(status: &proto::CeremonyStatus) -> String {
    status.state().as_str_name().to_string()
}

/// The policy the frozen ceremonies ran under: security may veto.
fn policy() -> Policy {
    Policy {
        veto_roles: vec!["security".into()],
        ..Policy::default()
    }
}

/// Writes the store of today's code into `$QUORATE_WRITE_STORE`, a folder
/// that must not exist yet: a frozen store is never overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "writes the frozen store; run by hand, once per store version"]
async fn write_store() {
    let out = PathBuf::from(
        std::env::var_os("QUORATE_WRITE_STORE").expect("QUORATE_WRITE_STORE=<new folder>"),
    );
    std::fs::create_dir(&out).expect("a new folder (a frozen store is never overwritten)");
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        policy: policy(),
        ..Options::default()
    };
    let d = deploy_with(dir.path(), options).await;
    let mut frozen = BTreeMap::new();

    let signed = request(&d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &signed, T).await.unwrap();
    }
    d.wait_finished(&signed, T).await.unwrap();

    let vetoed = request(&d, "vetoed\n").await;
    d.approve(&pid("alice"), &vetoed, T).await.unwrap();
    d.wait_pending(&pid("dave"), &vetoed, T).await.unwrap();
    d.control(&pid("dave"))
        .await
        .unwrap()
        .reject(proto::DecideRequest {
            ceremony: vetoed.clone(),
            reason: "not the build CI made".into(),
        })
        .await
        .unwrap();
    d.wait_finished(&vetoed, T).await.unwrap();

    let cancelled = request(&d, "cancelled\n").await;
    d.approve(&pid("bob"), &cancelled, T).await.unwrap();
    d.clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .cancel(proto::CancelCeremonyRequest {
            id: cancelled.clone(),
            reason: "wrong build".into(),
        })
        .await
        .unwrap();

    let open = request(&d, "open\n").await;
    d.approve(&pid("alice"), &open, T).await.unwrap();
    wait_for(&d, &open, "alice's approval", |s| s.approvals.len() == 1).await;

    for (label, id) in [
        ("signed", signed),
        ("vetoed", vetoed),
        ("cancelled", cancelled),
        ("open", open),
    ] {
        let s = status(&d, &id).await;
        frozen.insert(
            label.to_string(),
            Frozen {
                id,
                state: state_name(&s),
                approvals: s.approvals.iter().map(|a| a.participant.clone()).collect(),
            },
        );
    }
    let vkey = d.log_verifier_key.clone();
    d.stop().await.unwrap();
    let written_at = quorate_coordinator::clock::SystemClock.now().unix_ms();
    copy_dir(&dir.path().join("coordinator"), &out.join("coordinator"));
    std::fs::write(out.join("log.vkey"), format!("{vkey}\n")).unwrap();
    let json = serde_json::to_string_pretty(&Expected {
        written_at,
        ceremonies: frozen,
    })
    .unwrap();
    std::fs::write(out.join("expected.json"), json + "\n").unwrap();
}

/// A coordinator on a copy of the frozen store, with fresh TLS and the
/// same parties the store's record lists.
async fn start_on(dir: &Path, pki: &LocalPki, now: i64) -> quorate_coordinator::RunningCoordinator {
    start_on_dir(&dir.join("coordinator"), pki, now)
        .await
        .unwrap()
}

async fn start_on_dir(
    data_dir: &Path,
    pki: &LocalPki,
    now: i64,
) -> anyhow::Result<quorate_coordinator::RunningCoordinator> {
    let server = pki.server().unwrap();
    let party = |name: &str, role| Party {
        name: name.into(),
        roles: vec![role],
    };
    let config = Config {
        tls: Some(quorate_coordinator::tls::ServerTls {
            cert: server.cert,
            key: server.key,
            client_ca: server.client_ca,
        }),
        insecure_plaintext: false,
        parties: vec![
            party(REQUESTER, Role::Requester),
            party(DEPUTY, Role::Requester),
            party(AUDITOR, Role::Auditor),
            party(OPERATOR, Role::Operator),
        ],
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        store: None,
        store_ca: None,
        replica: None,
        advertise: None,
        metrics_listen: None,
        page_listen: None,
        alert_command: None,
        alert_webhook: None,
        alert_webhook_ca: None,
        log_origin: quorate_coordinator::config::default_origin(),
        limits: Default::default(),
        witnesses: Vec::new(),
    };
    quorate_coordinator::start_with_clock(&config, std::sync::Arc::new(Still(now))).await
}

async fn clients(addr: std::net::SocketAddr, pki: &LocalPki, who: &str) -> Clients {
    Clients::connect(&quorate::client::Target {
        url: format!("https://{addr}"),
        identity: who.into(),
        tls: Some(pki.client(who).unwrap()),
    })
    .await
    .unwrap()
}

/// Every frozen ceremony is served in its recorded state and replays.
async fn check_frozen(clients: &mut Clients, frozen: &BTreeMap<String, Frozen>, log: &LogVerifier) {
    for (label, want) in frozen {
        let s = clients
            .ceremonies
            .get(proto::GetCeremonyRequest {
                id: want.id.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"))
            .into_inner();
        assert_eq!(state_name(&s), want.state, "{label}");
        let approvals: Vec<String> = s.approvals.iter().map(|a| a.participant.clone()).collect();
        assert_eq!(approvals, want.approvals, "{label}");
        let id = CeremonyId::new(&want.id).unwrap();
        let transcript = quorate::audit::export(&mut clients.audit, &id)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let report = quorate_ceremonies::replay::replay(&transcript, log);
        if proto::convert::is_open(s.state()) {
            // An open ceremony's transcript replays cleanly as far as it
            // goes, and fails only for ending before the ceremony did.
            let fields: Vec<&str> = report.findings.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, ["entries"], "{label}:\n{report}");
        } else {
            assert!(report.passed, "{label}:\n{report}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_v1_store_opens_serves_and_grows() {
    let frozen_dir = frozen_dir();
    let expected: Expected =
        serde_json::from_str(&std::fs::read_to_string(frozen_dir.join("expected.json")).unwrap())
            .unwrap();
    let frozen = expected.ceremonies;
    assert_eq!(
        frozen
            .values()
            .map(|f| f.state.as_str())
            .collect::<Vec<_>>(),
        [
            "CEREMONY_STATE_CANCELLED",
            "CEREMONY_STATE_COLLECTING_APPROVALS",
            "CEREMONY_STATE_SIGNED",
            "CEREMONY_STATE_REJECTED"
        ],
        "the frozen store's ceremonies, by label"
    );
    let log = LogVerifier::parse(
        std::fs::read_to_string(frozen_dir.join("log.vkey"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old = old_store(dir.path());
    let pki = LocalPki::create(&dir.path().join("tls")).unwrap();

    // The old store is refused as it is: a new record beside it would
    // hide its history.
    let refused = start_on_dir(&old, &pki, expected.written_at)
        .await
        .err()
        .expect("a start on a sled store is refused");
    assert!(
        refused
            .to_string()
            .contains("quorate-coordinator migrate --from-sled"),
        "{refused}"
    );

    // Migrated into the data directory the coordinator serves, the old
    // store left as it was.
    let before_migration = files_of(&old);
    let migrated =
        quorate_coordinator::migrate::from_sled(&old, &dir.path().join("coordinator"), None)
            .await
            .unwrap();
    assert_eq!(
        files_of(&old),
        before_migration,
        "the old store is only read"
    );
    assert_eq!(migrated.entries, 17);
    assert_eq!(
        migrated.old_root_from,
        OldRoot::HashFile { synced: false },
        "small stores never synced their hash file"
    );

    let coordinator = start_on(dir.path(), &pki, expected.written_at).await;
    assert_eq!(coordinator.log_verifier_key, log.verifier_key());
    let mut auditor = clients(coordinator.addr, &pki, AUDITOR).await;
    check_frozen(&mut auditor, &frozen, &log).await;

    // It takes new work after the old entries: a ceremony requested and
    // cancelled now is recorded, and the log still extends the old one.
    let before = auditor
        .audit
        .checkpoint(proto::CheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut requester = clients(coordinator.addr, &pki, REQUESTER).await;
    let new = requester
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message: b"after the upgrade\n".to_vec(),
            label: "SHA256SUMS".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    requester
        .ceremonies
        .cancel(proto::CancelCeremonyRequest {
            id: new.id.clone(),
            reason: "only a test".into(),
        })
        .await
        .unwrap();
    coordinator.stop().await.unwrap();

    // Restarted over old and new entries alike.
    let coordinator = start_on(dir.path(), &pki, expected.written_at).await;
    let mut auditor = clients(coordinator.addr, &pki, AUDITOR).await;
    check_frozen(&mut auditor, &frozen, &log).await;
    let s = auditor
        .ceremonies
        .get(proto::GetCeremonyRequest { id: new.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.state(), CeremonyState::Cancelled);
    let after = auditor
        .audit
        .checkpoint(proto::CheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    let old = log.verify_checkpoint(&before.note).unwrap();
    let new_checkpoint = log.verify_checkpoint(&after.note).unwrap();
    assert!(new_checkpoint.size > old.size);
    let proof = auditor
        .audit
        .consistency_proof(proto::ConsistencyProofRequest {
            old_size: old.size,
            new_size: new_checkpoint.size,
        })
        .await
        .unwrap()
        .into_inner();
    let proof = quorate_tlog::ConsistencyProof {
        old_size: old.size,
        new_size: new_checkpoint.size,
        hashes: proof
            .hashes
            .iter()
            .map(|h| quorate_tlog::Hash(h.as_slice().try_into().unwrap()))
            .collect(),
    };
    quorate_tlog::check_consistency(&proof, old.root, new_checkpoint.root).unwrap();
    coordinator.stop().await.unwrap();
}

/// A migration whose old root does not match what it copied keeps
/// nothing: here the old store's hash file was damaged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_whose_roots_differ_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let old = old_store(dir.path());
    let hashes = old.join("hashes");
    let mut bytes = std::fs::read(&hashes).unwrap();
    // Every hash, so that whichever the root is made of is wrong.
    for slot in bytes.chunks_mut(32) {
        slot[0] ^= 1;
    }
    std::fs::write(&hashes, bytes).unwrap();
    let new = dir.path().join("new");
    let err = quorate_coordinator::migrate::from_sled(&old, &new, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("differs from the old one's"), "{err}");
    assert!(err.contains("nothing was migrated"), "{err}");
    for made in ["record.redb", "hashes", "log-key.json"] {
        assert!(!new.join(made).exists(), "{made} was left behind");
    }
}
