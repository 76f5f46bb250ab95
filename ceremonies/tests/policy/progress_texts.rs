//! 9. progress texts.

use super::break_glass::break_glass;
use super::deadlines::deadlines_policy;
use super::self_approval::alice_requests;
use super::veto::veto_policy;
use super::*;

#[test]
fn progress_no_approvals_yet() {
    let h = Harness::new(roles_policy());
    insta::assert_snapshot!("progress_no_approvals", h.progress());
}

#[test]
fn progress_two_approvals_missing_release() {
    let mut h = Harness::new(roles_policy());
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    insta::assert_snapshot!("progress_missing_release", h.progress());
}

#[test]
fn progress_requesters_approval_not_counted() {
    let mut h = alice_requests(true);
    h.approve("alice", at(MINUTE));
    h.approve("bob", at(2 * MINUTE));
    insta::assert_snapshot!("progress_self_approval_not_counted", h.progress());
}

#[test]
fn progress_waiting_for_shares() {
    let mut h = Harness::new(roles_policy());
    for (i, name) in ["alice", "carol", "erin"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    h.submit("alice", at(3 * MINUTE + 30 * SECOND));
    insta::assert_snapshot!("progress_waiting_for_shares", h.progress());
}

#[test]
fn progress_signer_dropped_reform_pending() {
    let mut h = Harness::new(deadlines_policy());
    drop_carol_at_signing_deadline(&mut h);
    insta::assert_snapshot!("progress_signer_dropped", h.progress());
}

#[test]
fn progress_expired() {
    let mut h = Harness::new(deadlines_policy());
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    h.deadline(at(HOUR)).expect("the approval deadline");
    insta::assert_snapshot!("progress_expired", h.progress());
}

#[test]
fn progress_vetoed() {
    let mut h = Harness::new(veto_policy());
    h.approve("alice", at(MINUTE));
    h.reject("carol", at(2 * MINUTE));
    insta::assert_snapshot!("progress_vetoed", h.progress());
}

#[test]
fn progress_cancelled() {
    let mut h = Harness::new(roles_policy());
    h.send(
        Event::Cancelled {
            by: "release-manager".into(),
            reason: "wrong tarball".into(),
        },
        at(MINUTE),
    )
    .expect("the requester may cancel");
    insta::assert_snapshot!("progress_cancelled", h.progress());
}

#[test]
fn progress_break_glass_collecting() {
    let mut h = break_glass();
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    insta::assert_snapshot!("progress_break_glass_collecting", h.progress());
}

#[test]
fn progress_break_glass_awaiting_review_then_reviewed() {
    let mut h = break_glass();
    for (i, name) in ["alice", "carol", "bob"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    h.sign_all(at(3 * MINUTE + 30 * SECOND));
    insta::assert_snapshot!("progress_break_glass_awaiting_review", h.progress());
    h.review("auditor", "checked against the advisory", at(HOUR))
        .expect("the review is accepted");
    insta::assert_snapshot!("progress_break_glass_reviewed", h.progress());
}
