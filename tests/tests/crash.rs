//! The coordinator as a real process, killed with SIGKILL (and stopped with
//! SIGTERM) while ceremonies are under way: a crash never loses an approval
//! or a signature share, and an approved ceremony still signs, well within
//! its signing deadline (no signer is dropped for a share the crash lost).

use quorate::local::REQUESTER;
use quorate_e2e::process::CoordinatorProcess;
use quorate_e2e::*;
use quorate_wire::{self as proto, CeremonyState};
use tonic::Code;

const BIN: &str = env!("CARGO_BIN_EXE_quorate-coordinator-process");

/// A deployment whose coordinator runs as a process, and a ceremony that
/// alice and carol approved (erin's approval is the third it needs).
async fn approved_by_two(
    dir: &std::path::Path,
) -> (quorate::local::LocalDeployment, CoordinatorProcess, String) {
    let mut d = deploy(dir).await;
    let coordinator = CoordinatorProcess::take_over(&mut d, BIN).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    (d, coordinator, id)
}

/// Approved by everyone, signed at the first attempt, nobody dropped.
fn signed_without_loss(d: &quorate::local::LocalDeployment, s: &proto::CeremonyStatus) {
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    assert!(s.dropped.is_empty(), "{:?}", s.dropped);
    assert_eq!(s.attempt, 1, "{}", s.summary);
    verify(d, s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approval_given_while_the_coordinator_is_down_is_delivered_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let (d, mut coordinator, id) = approved_by_two(dir.path()).await;
    d.wait_pending(&pid("erin"), &id, T).await.unwrap();

    coordinator.kill();
    // Erin approves while the coordinator is dead: journaled, not lost.
    let err = d
        .control(&pid("erin"))
        .await
        .unwrap()
        .approve(proto::DecideRequest {
            ceremony: id.clone(),
            reason: String::new(),
        })
        .await
        .expect_err("nobody to deliver the approval to");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.message().contains("journaled"), "{}", err.message());

    coordinator.start(&d).await;
    // The agent sends it again on its own; the ceremony signs.
    let s = d.wait_finished(&id, T).await.unwrap();
    signed_without_loss(&d, &s);
    let approvers: Vec<&str> = s.approvals.iter().map(|a| a.participant.as_str()).collect();
    assert_eq!(approvers, ["alice", "carol", "erin"]);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shares_caught_in_a_crash_are_sent_again_and_the_ceremony_signs() {
    let dir = tempfile::tempdir().unwrap();
    let (d, mut coordinator, id) = approved_by_two(dir.path()).await;
    // Erin's approval forms the package. The coordinator is frozen at
    // once, so the shares the agents send reach a process that never
    // records them, and then it is killed.
    d.approve(&pid("erin"), &id, T).await.unwrap();
    coordinator.signal("STOP");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    coordinator.kill();

    coordinator.start(&d).await;
    let s = d.wait_finished(&id, T).await.unwrap();
    signed_without_loss(&d, &s);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_stops_the_coordinator_gracefully_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let mut coordinator = CoordinatorProcess::take_over(&mut d, BIN).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    let before = status(&d, &id).await;

    let exit = coordinator.terminate().await;
    assert!(
        exit.success(),
        "SIGTERM ends the coordinator cleanly: {exit}"
    );
    coordinator.start(&d).await;
    assert_eq!(status(&d, &id).await, before);
    d.approve(&pid("carol"), &id, T).await.unwrap();
    d.approve(&pid("erin"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    signed_without_loss(&d, &s);
    // The requester is still served after the restart.
    assert_eq!(only_ceremony(&d).await.id, id);
    d.stop().await.unwrap();
}

/// The one ceremony a requester has made so far, if exactly one.
async fn only_ceremony(d: &quorate::local::LocalDeployment) -> proto::CeremonyStatus {
    let mut listed = quorate_e2e::listed(d).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    listed.remove(0)
}

fn manifest_request(request_id: &str) -> proto::CreateCeremonyRequest {
    proto::CreateCeremonyRequest {
        key_group: "release".into(),
        message: MANIFEST.as_bytes().to_vec(),
        label: "SHA256SUMS".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_made_again_gets_the_ceremony_it_made() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let mut clients = d.clients(REQUESTER).await.unwrap();
    let first = clients
        .ceremonies
        .create(manifest_request("release-1.0-rc1"))
        .await
        .unwrap()
        .into_inner();
    let again = clients
        .ceremonies
        .create(manifest_request("release-1.0-rc1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, first.id);
    assert_eq!(only_ceremony(&d).await.id, first.id);

    // The same request id for another message is refused, naming it.
    let mut other = manifest_request("release-1.0-rc1");
    other.message = b"another manifest\n".to_vec();
    let err = clients.ceremonies.create(other).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err}");
    assert!(err.message().contains("request_id") && err.message().contains(&first.id));
    // A request id that is not a name is refused; nothing more is made.
    let err = clients
        .ceremonies
        .create(manifest_request("not a name"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(
        err.message().starts_with("request_id:"),
        "{}",
        err.message()
    );
    assert_eq!(only_ceremony(&d).await.id, first.id);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_caught_in_a_crash_is_retried_and_made_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let mut coordinator = CoordinatorProcess::take_over(&mut d, BIN).await;
    let target = d.target(REQUESTER).unwrap();
    // The coordinator is frozen while the request is on its way, then
    // killed and started again: `quorate sign`'s create tries again with
    // the same request id.
    coordinator.signal("STOP");
    let asking = tokio::spawn(async move {
        quorate::client::create_ceremony(&target, manifest_request("")).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    coordinator.kill();
    coordinator.start(&d).await;
    let made = tokio::time::timeout(T, asking)
        .await
        .expect("the request is answered")
        .unwrap()
        .expect("the request is made after the restart");
    assert_eq!(only_ceremony(&d).await.id, made.id);
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &made.id, T).await.unwrap();
    }
    signed_without_loss(&d, &d.wait_finished(&made.id, T).await.unwrap());
    d.stop().await.unwrap();
}
