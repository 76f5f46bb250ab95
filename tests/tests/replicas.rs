//! The coordinator as a real process over a real PostgreSQL (the
//! throwaway cluster `tests/run` starts): its embedded record moves to the
//! database with `migrate --to-postgres`, its data_dir becomes the
//! replica's mirror, a ceremony approved across a SIGKILL signs, a mirror
//! lost with its disk is rebuilt from the database, and the record moves
//! back with `migrate --to-embedded`, with the same root all along; and a
//! second replica process, a standby, takes over when the lease holder is
//! killed mid-ceremony, or when it is cut off from the database (then it
//! stops by itself), where agents and clients find it among their
//! addresses and the ceremony signs, nothing lost or duplicated.

#[path = "../../coordinator/tests/pg/mod.rs"]
mod pg;

use std::process::Command;

use quorate_coordinator::store::{CeremonyStore, DATABASE_FILE, HASH_FILE, RedbStore};
use quorate_e2e::process::CoordinatorProcess;
use quorate_e2e::proxy::Proxy;
use quorate_e2e::*;
use quorate_types::CeremonyId;
use quorate_wire::{self as proto, CeremonyState};

const BIN: &str = env!("CARGO_BIN_EXE_quorate-coordinator-process");

/// A deployment whose coordinator runs as a process over a database of
/// its own, its record migrated there.
async fn over_postgres(
    dir: &std::path::Path,
) -> (quorate::local::LocalDeployment, CoordinatorProcess, String) {
    let url = pg::database().await.unwrap();
    let mut d = deploy(dir).await;
    let mut coordinator = CoordinatorProcess::take_over(&mut d, BIN).await;
    assert!(coordinator.terminate().success());
    let config = coordinator.config().display().to_string();
    migrate(&["--config", &config, "--to-postgres", &url]);
    coordinator.use_store(&url);
    coordinator.start(&d).await;
    (d, coordinator, url)
}

/// Starts a second replica of `first` (a standby: it serves nothing
/// while `first` holds the lease) on a port of its own, over `store` if
/// given (else `first`'s), and has every agent and client of `d` know
/// both addresses.
async fn with_a_standby(
    d: &mut quorate::local::LocalDeployment,
    first: &CoordinatorProcess,
    dir: &std::path::Path,
    store: Option<&str>,
) -> CoordinatorProcess {
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let mut second = first.replica(&dir.join("replica-2"), listen);
    if let Some(url) = store {
        second.use_store(url);
    }
    second.spawn();
    d.add_replica(listen);
    let ids: Vec<_> = d.agent_configs.keys().cloned().collect();
    for id in &ids {
        d.stop_agent(id).await;
        d.start_agent(id).await.unwrap();
    }
    second
}

/// Runs `quorate-coordinator migrate ARGS...`; its standard output.
fn migrate(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("migrate")
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the migration runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "migrate {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coordinator_over_postgres_survives_sigkill_and_a_lost_mirror() {
    let url = pg::database().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let mut coordinator = CoordinatorProcess::take_over(&mut d, BIN).await;
    let embedded_size = record_size(&d).await;
    assert!(coordinator.terminate().success());

    let config = coordinator.config().display().to_string();
    let out = migrate(&["--config", &config, "--to-postgres", &url]);
    assert!(
        out.contains(&format!("migrated {embedded_size} entries")),
        "{out}"
    );
    coordinator.use_store(&url);
    coordinator.start(&d).await;
    assert_eq!(record_size(&d).await, embedded_size);

    // Approved by two, then the coordinator is killed; the third approval
    // reaches the restarted one, and the ceremony signs.
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    coordinator.kill();
    coordinator.start(&d).await;
    d.approve(&pid("erin"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);
    let size = record_size(&d).await;
    assert!(coordinator.terminate().success());

    // The mirror is lost with its disk (the log key and the replica's
    // name are kept): rebuilt from the database at the next start.
    let data_dir = d.coordinator_config.data_dir.clone();
    std::fs::remove_file(data_dir.join(DATABASE_FILE)).unwrap();
    std::fs::remove_file(data_dir.join(HASH_FILE)).unwrap();
    coordinator.start(&d).await;
    assert_eq!(record_size(&d).await, size);
    assert_eq!(status(&d, &id).await.state(), CeremonyState::Signed);
    assert!(coordinator.terminate().success());

    // And back to an embedded store, with the same root.
    let back = dir.path().join("back");
    let out = migrate(&[
        "--config",
        &config,
        "--to-embedded",
        &back.display().to_string(),
    ]);
    assert!(out.contains(&format!("migrated {size} entries")), "{out}");
    let mirror = RedbStore::open(&data_dir).unwrap();
    let copy = RedbStore::open(&back).unwrap();
    assert_eq!(copy.size(), size);
    assert_eq!(copy.root(size).unwrap(), mirror.root(size).unwrap());
    let signed = copy.ceremony(&CeremonyId::new(&id).unwrap()).unwrap();
    assert!(signed.is_some_and(|c| c.events.len() >= 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_standby_takes_over_when_the_lease_holder_is_killed_mid_ceremony() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, mut first, _) = over_postgres(dir.path()).await;
    let mut second = with_a_standby(&mut d, &first, dir.path(), None).await;

    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    d.wait_pending(&pid("erin"), &id, T).await.unwrap();
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let before = quorate::audit::checkpoint(&mut audit).await.unwrap();

    first.kill();
    // Erin approves as the holder dies: delivered now or, journaled, to
    // the standby once it has taken over.
    let approved = d
        .control(&pid("erin"))
        .await
        .unwrap()
        .approve(proto::DecideRequest {
            ceremony: id.clone(),
            reason: String::new(),
        })
        .await;
    if let Err(e) = approved {
        assert!(e.message().contains("journaled"), "{e}");
    }
    // The standby takes the lease once it ends (5 s), then serves.
    second.wait_serving(&d).await;
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);
    let approvers: Vec<&str> = s.approvals.iter().map(|a| a.participant.as_str()).collect();
    assert_eq!(approvers, ["alice", "carol", "erin"]);
    assert!(s.dropped.is_empty(), "{:?}", s.dropped);

    // The second replica signs checkpoints with the same log key, and its
    // log extends the one the first signed.
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let after = quorate::audit::checkpoint(&mut audit).await.unwrap();
    let log = quorate::audit::log_verifier(&d.log_verifier_key).unwrap();
    let consistent = quorate::audit::verify_log(&mut audit, &log, &before, &after)
        .await
        .unwrap();
    assert!(consistent.new.size > consistent.old.size);
    assert!(second.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_cut_off_from_the_database_stops_and_the_standby_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, mut first, url) = over_postgres(dir.path()).await;
    // The first replica reaches the database through a proxy, the
    // standby directly.
    let config: tokio_postgres::Config = url.parse().unwrap();
    let port = config.get_ports()[0];
    let proxy = Proxy::start(([127, 0, 0, 1], port).into()).await.unwrap();
    let via_proxy = url.replace(&format!(":{port}/"), &format!(":{}/", proxy.addr.port()));
    assert!(first.terminate().success());
    first.use_store(&via_proxy);
    first.start(&d).await;
    let mut second = with_a_standby(&mut d, &first, dir.path(), Some(&url)).await;

    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    proxy.partition();
    // Unable to renew its lease, the first stops by itself before the
    // lease can end; the standby takes over.
    let status = first.wait_exit();
    assert!(!status.success(), "{status:?}");
    second.wait_serving(&d).await;
    d.approve(&pid("carol"), &id, T).await.unwrap();
    d.approve(&pid("erin"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);
    let approvers: Vec<&str> = s.approvals.iter().map(|a| a.participant.as_str()).collect();
    assert_eq!(approvers, ["alice", "carol", "erin"]);

    // The standby holds the lease, and since its first entry every entry
    // was appended under its epoch: the cut-off replica appended nothing
    // more.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let holder: String = client
        .query_one("SELECT holder FROM quorate_lease", &[])
        .await
        .unwrap()
        .get(0);
    let second_name = std::fs::read_to_string(dir.path().join("replica-2/replica-name")).unwrap();
    assert_eq!(holder, second_name.trim());
    let stale: i64 = client
        .query_one(
            "SELECT count(*) FROM quorate_entries
             WHERE epoch < (SELECT max(epoch) FROM quorate_entries)
               AND idx > (SELECT min(idx) FROM quorate_entries
                          WHERE epoch = (SELECT max(epoch) FROM quorate_entries))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stale, 0);
    assert!(second.terminate().success());
}
