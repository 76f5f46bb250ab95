//! The coordinator as a real process over a real PostgreSQL (the
//! throwaway cluster `tests/run` starts): its embedded record moves to the
//! database with `migrate --to-postgres`, its data_dir becomes the
//! replica's mirror, a ceremony approved across a SIGKILL signs, a mirror
//! lost with its disk is rebuilt from the database, and the record moves
//! back with `migrate --to-embedded`, with the same root all along.

#[path = "../../coordinator/tests/pg/mod.rs"]
mod pg;

use std::process::Command;

use quorate_coordinator::store::{CeremonyStore, DATABASE_FILE, HASH_FILE, RedbStore};
use quorate_e2e::process::CoordinatorProcess;
use quorate_e2e::*;
use quorate_types::CeremonyId;
use quorate_wire::CeremonyState;

const BIN: &str = env!("CARGO_BIN_EXE_quorate-coordinator-process");

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
