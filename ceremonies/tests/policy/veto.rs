//! 5. veto.

use super::*;

pub(super) fn veto_policy() -> Policy {
    Policy {
        veto_roles: vec!["security".into()],
        ..Policy::default()
    }
}

#[test]
fn a_rejection_from_a_veto_role_ends_the_ceremony() {
    let mut h = Harness::new(veto_policy());
    h.approve("alice", at(MINUTE));
    h.approve("bob", at(2 * MINUTE));
    let actions = h.reject("carol", at(3 * MINUTE));
    assert_eq!(h.ceremony.state(), State::Rejected);
    let reason = h.reason();
    assert!(reason.contains("vetoed by carol"), "{reason}");
    assert!(reason.contains("security"), "{reason}");
    assert_eq!(
        h.outcome(),
        Outcome::Rejected {
            reason: RejectionReason::Vetoed {
                by: pid("carol"),
                role: "security".into()
            }
        }
    );
    // The veto's words are carol's, in her signed statement, and shown.
    let progress = h.progress();
    assert!(
        progress.contains("the tarball does not match the CI build"),
        "{progress}"
    );
    assert_eq!(actions, vec![Action::Close(h.outcome())]);
    assert_eq!(h.ceremony.next_deadline(), None);
    let event = h.approval("erin");
    let err = h.refused(event, at(4 * MINUTE));
    assert_eq!(
        err,
        CeremonyError::Finished {
            state: State::Rejected
        }
    );
}

#[test]
fn a_rejection_outside_the_veto_roles_does_not_end_the_ceremony() {
    let mut h = Harness::new(veto_policy());
    assert_eq!(h.reject("bob", at(MINUTE)), vec![]);
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(h.reject("erin", at(2 * MINUTE)), vec![]);
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    h.approve("alice", at(3 * MINUTE));
    h.approve("carol", at(4 * MINUTE));
    let actions = h.approve("dave", at(5 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "carol", "dave"]),
        }]
    );
    h.sign_all(at(5 * MINUTE + 30 * SECOND));
}

#[test]
fn a_veto_while_the_package_is_out_ends_the_ceremony() {
    let mut h = Harness::new(veto_policy());
    h.approve("alice", at(MINUTE));
    h.approve("bob", at(2 * MINUTE));
    h.approve("erin", at(3 * MINUTE));
    assert_eq!(h.ceremony.state(), State::Signing);
    h.submit("alice", at(3 * MINUTE + 30 * SECOND));
    let actions = h.reject("dave", at(3 * MINUTE + 45 * SECOND));
    assert!(
        matches!(
            actions.as_slice(),
            [Action::Close(Outcome::Rejected { .. })]
        ),
        "{actions:?}"
    );
    assert_eq!(h.ceremony.state(), State::Rejected);
    assert!(h.reason().contains("vetoed by dave"), "{}", h.reason());
    assert!(h.ceremony.package_for(&pid("bob")).is_none());
}
