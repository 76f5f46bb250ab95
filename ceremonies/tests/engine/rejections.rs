//! Rejections.

use super::*;

#[test]
fn three_rejections_of_five_reject_two_do_not() {
    let mut h = Harness::new();
    assert_eq!(h.reject("alice"), vec![]);
    assert_eq!(h.reject("bob"), vec![]);
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert!(!h.ceremony.is_finished());
    assert_eq!(h.ceremony.decision_of(&pid("bob")), Some("rejected"));

    let actions = h.reject("carol");
    let [Action::Close(Outcome::Rejected { reason })] = actions.as_slice() else {
        panic!("unexpected actions {actions:?}");
    };
    let RejectionReason::QuorumImpossible { rejected_by, .. } = reason else {
        panic!("unexpected reason {reason:?}");
    };
    assert_eq!(rejected_by, &ids(&["alice", "bob", "carol"]));
    let text = reason.to_string();
    assert!(text.contains("alice") && text.contains("carol"), "{text}");
    assert_eq!(h.ceremony.state(), State::Rejected);
    assert!(h.ceremony.is_finished());
    assert!(h.ceremony.signature().is_none());
}

#[test]
fn two_rejections_still_let_three_approvers_sign() {
    let mut h = Harness::new();
    h.reject("alice");
    h.approve("bob");
    h.reject("carol");
    h.approve("dave");
    let actions = h.approve("erin");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["bob", "dave", "erin"]),
        }]
    );
    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
}
