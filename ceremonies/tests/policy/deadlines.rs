//! 6. deadlines, each at its boundary.

use super::*;

pub(super) fn deadlines_policy() -> Policy {
    Policy {
        deadlines: short_deadlines(),
        ..roles_policy()
    }
}

#[test]
fn approval_deadline_expires_exactly_at_its_boundary() {
    let mut h = Harness::new(deadlines_policy());
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));

    h.not_due(at(HOUR - MS), at(HOUR));
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);

    let actions = h.deadline(at(HOUR)).expect("the approval deadline is due");
    assert_eq!(h.ceremony.state(), State::Expired);
    let reason = h.reason().to_string();
    assert!(reason.contains("approval deadline"), "{reason}");
    assert!(reason.contains("1h"), "{reason}");
    assert!(reason.contains("1 more approval from release"), "{reason}");
    assert!(matches!(
        h.outcome(),
        Outcome::Expired {
            reason: ExpiryReason::ApprovalDeadline {
                deadline_ms: 3_600_000,
                ..
            }
        }
    ));
    assert_eq!(actions, vec![Action::Close(h.outcome())]);
    let progress = h.progress();
    assert!(progress.contains("approval deadline"), "{progress}");
    assert_eq!(h.ceremony.next_deadline(), None);

    let err = h.refused(Event::DeadlinePassed, at(2 * HOUR));
    assert_eq!(
        err,
        CeremonyError::Finished {
            state: State::Expired
        }
    );
}

#[test]
fn signing_deadline_drops_the_late_signer_and_reforms_without_it() {
    let mut h = Harness::new(deadlines_policy());
    let formed = drop_carol_at_signing_deadline(&mut h);
    assert_eq!(formed, at(10 * MINUTE));
    // Waiting for commitments: only the overall cap applies.
    assert_eq!(h.ceremony.next_deadline(), Some(at(3 * HOUR)));

    // The dropped signer is out for the rest of the ceremony.
    let commitments = h.agent("carol").commit();
    let err = h.refused(
        Event::Committed {
            participant: pid("carol"),
            commitments,
        },
        at(11 * MINUTE + SECOND),
    );
    assert!(
        matches!(&err, CeremonyError::ParticipantDropped { participant, .. } if participant == &pid("carol")),
        "{err:?}"
    );

    assert_eq!(
        h.commit("alice", at(11 * MINUTE + 10 * SECOND)),
        vec![Action::RequestCommitments {
            from: ids(&["erin"]),
        }]
    );
    let reformed = at(11 * MINUTE + 20 * SECOND);
    assert_eq!(
        h.commit("erin", reformed),
        vec![Action::SendSigningPackage {
            attempt: 2,
            signers: ids(&["alice", "erin", "dave"]),
        }]
    );
    assert_eq!(h.ceremony.attempts(), 2);
    assert_eq!(h.round().attempt(), 2);
    assert!(!h.round().is_signer(&pid("carol")));
    assert_eq!(h.round().formed_at(), reformed);
    assert_eq!(
        h.ceremony.next_deadline(),
        Some(at(11 * MINUTE + 20 * SECOND + MINUTE))
    );
    h.not_due(
        at(11 * MINUTE + 20 * SECOND + MINUTE - MS),
        at(11 * MINUTE + 20 * SECOND + MINUTE),
    );
    h.sign_all(at(11 * MINUTE + 30 * SECOND));
    assert_eq!(h.ceremony.state(), State::Signed);
    assert_eq!(h.ceremony.next_deadline(), None);
}

#[test]
fn overall_deadline_caps_the_approval_phase() {
    let mut h = Harness::new(deadlines_policy());
    h.approve("alice", at(MINUTE));
    // The clock was not handed in before: at the cap, the cap is the reason.
    h.deadline(at(3 * HOUR)).expect("a deadline is due");
    assert_eq!(h.ceremony.state(), State::Expired);
    assert!(h.reason().contains("overall deadline"), "{}", h.reason());
    assert!(h.reason().contains("3h"), "{}", h.reason());
}

#[test]
fn overall_deadline_caps_the_commitment_phase() {
    let mut h = Harness::new(deadlines_policy());
    drop_carol_at_signing_deadline(&mut h);
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert_eq!(h.ceremony.next_deadline(), Some(at(3 * HOUR)));
    h.not_due(at(3 * HOUR - MS), at(3 * HOUR));
    let actions = h.deadline(at(3 * HOUR)).expect("the overall deadline");
    assert_eq!(h.ceremony.state(), State::Expired);
    let reason = h.reason().to_string();
    assert!(reason.contains("overall deadline"), "{reason}");
    assert!(matches!(
        h.outcome(),
        Outcome::Expired {
            reason: ExpiryReason::OverallDeadline { .. }
        }
    ));
    assert_eq!(actions, vec![Action::Close(h.outcome())]);
}

#[test]
fn overall_deadline_caps_the_signing_phase() {
    let mut h = Harness::new(deadlines_policy());
    drop_carol_at_signing_deadline(&mut h);
    h.commit("alice", at(HOUR));
    // Attempt 2 goes out 30s before the cap: its 60s do not extend it.
    let formed = at(3 * HOUR - 30 * SECOND);
    let actions = h.commit("erin", formed);
    assert!(
        matches!(
            actions.as_slice(),
            [Action::SendSigningPackage { attempt: 2, .. }]
        ),
        "{actions:?}"
    );
    assert_eq!(h.ceremony.next_deadline(), Some(at(3 * HOUR)));
    h.submit("alice", at(3 * HOUR - 10 * SECOND));
    h.not_due(at(3 * HOUR - MS), at(3 * HOUR));
    h.deadline(at(3 * HOUR)).expect("the overall deadline");
    assert_eq!(h.ceremony.state(), State::Expired);
    assert!(h.reason().contains("overall deadline"), "{}", h.reason());
    assert!(h.ceremony.package_for(&pid("erin")).is_none());
}

#[test]
fn next_deadline_follows_the_phase() {
    let mut h = Harness::new(deadlines_policy());
    // Collecting approvals: the approval deadline, from creation.
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));
    // Signing: the signing deadline, from when the package was formed.
    h.approve("erin", at(50 * MINUTE));
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.ceremony.next_deadline(), Some(at(51 * MINUTE)));
    // The approval deadline no longer applies once the package is out.
    h.submit("alice", at(50 * MINUTE + SECOND));
    h.submit("carol", at(50 * MINUTE + 2 * SECOND));
    h.not_due(at(51 * MINUTE - MS), at(51 * MINUTE));
    h.sign_all(at(51 * MINUTE - MS));
    assert_eq!(h.ceremony.next_deadline(), None);
}
