//! An agent checks its own TLS files before it connects. (Kept apart from
//! `secrets.rs`, whose test must own the process's global log subscriber.)

use quorate_e2e::*;

/// An agent checks its own TLS files before it connects: a certificate
/// naming someone else, or a key others can read, is refused with what to
/// fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_refuses_another_agents_certificate_and_a_readable_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    d.stop_agent(&pid("bob")).await;
    let mut config = d.agent_configs[&pid("bob")].clone();
    config.tls = Some(d.pki.client("alice").unwrap());
    let why = match quorate_participant::Agent::open(config) {
        Ok(_) => panic!("bob's agent opened with alice's certificate"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        why.contains("certificate for \"alice\"") && why.contains("this agent is bob"),
        "{why}"
    );

    let mut config = d.agent_configs[&pid("bob")].clone();
    let files = config.tls.clone().unwrap();
    let readable = dir.path().join("bob-readable.key");
    std::fs::copy(&files.key, &readable).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    config.tls = Some(quorate_wire::tls::TlsFiles {
        key: readable,
        ..files
    });
    let why = match quorate_participant::Agent::open(config) {
        Ok(_) => panic!("bob's agent opened with a world-readable key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        why.contains("may be read by others") && why.contains("chmod 600"),
        "{why}"
    );
    // With its own files it opens and signs as before.
    d.start_agent(&pid("bob")).await.unwrap();
    d.stop().await.unwrap();
}
