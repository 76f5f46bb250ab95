//! Restarts: the coordinator mid-ceremony, an agent between approval and
//! round 2.

use quorate_e2e::*;
use quorate_wire::CeremonyState;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coordinator_restart_mid_ceremony_resumes_from_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("dave"), &id, T).await.unwrap();
    let before = status(&d, &id).await;
    assert_eq!(before.approvals.len(), 2);

    d.stop_coordinator().await.unwrap();
    d.start_coordinator().await.unwrap();

    // Everything acknowledged before the restart is still there.
    let after = status(&d, &id).await;
    assert_eq!(after, before);
    // The agents reconnect on their own and the ceremony finishes.
    d.approve(&pid("bob"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_restarted_between_approval_and_round_two_commits_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();

    // Alice's agent goes down holding the nonces of its approval.
    d.stop_agent(&pid("alice")).await;
    // The third approval forms attempt 1 with Alice's (now lost) commitment.
    d.approve(&pid("erin"), &id, T).await.unwrap();
    let s = wait_for(&d, &id, "attempt 1", |s| {
        s.state() == CeremonyState::Signing
    })
    .await;
    assert_eq!(s.attempt, 1);
    assert!(s.signing_set.contains(&"alice".to_string()));

    // Back up, Alice's agent has no nonces for the package: it must not
    // sign, it commits afresh, and the coordinator re-forms the package.
    d.start_agent(&pid("alice")).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);
    assert_eq!(s.attempt, 2, "{}", s.summary);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agent_restarted_before_the_package_forms_still_signs() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.stop_agent(&pid("alice")).await;
    d.start_agent(&pid("alice")).await.unwrap();
    // The journal remembers the approval: Alice is not asked again.
    let mut control = d.control(&pid("alice")).await.unwrap();
    let pending = control
        .pending(quorate_wire::PendingRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(pending.reviews.is_empty());
    // Whether its fresh commitments land before or after the package forms,
    // the ceremony signs.
    d.approve(&pid("bob"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_whose_log_key_is_lost_is_refused_not_given_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    d.stop_coordinator().await.unwrap();
    let key = d
        .coordinator_config
        .data_dir
        .join(quorate_coordinator::log_key::FILE_NAME);
    let saved = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let refused = d.start_coordinator().await.unwrap_err().to_string();
    assert!(
        refused.contains("log key") && refused.contains("missing") && refused.contains("restore"),
        "{refused}"
    );
    assert!(!key.exists(), "a new log key was made");
    // Restored from its backup, the same key serves the same record.
    std::fs::write(&key, &saved).unwrap();
    d.start_coordinator().await.unwrap();
    assert_eq!(
        d.coordinator.as_ref().unwrap().log_verifier_key,
        d.log_verifier_key
    );
    assert_eq!(status(&d, &id).await.id, id);
    d.stop().await.unwrap();
}

/// An agent that was away when a ceremony it decided on ended (so that no
/// work feed carries the ceremony any more) still checks the record for
/// its statement once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_away_at_the_finish_checks_the_record_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    d.wait_pending(&pid("bob"), &id, T).await.unwrap();
    d.control(&pid("bob"))
        .await
        .unwrap()
        .reject(quorate_wire::DecideRequest {
            ceremony: id.clone(),
            reason: "not this tarball".into(),
        })
        .await
        .unwrap();
    // bob's rejection is acknowledged; then his agent goes away.
    wait_for(&d, &id, "bob's rejection", |s| !s.rejections.is_empty()).await;
    d.stop_agent(&pid("bob")).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    verify(&d, &d.wait_finished(&id, T).await.unwrap());

    d.start_agent(&pid("bob")).await.unwrap();
    wait_checked_after_end(&d, "bob", &id).await;
    d.stop().await.unwrap();
}
