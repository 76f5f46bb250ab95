//! 3. self-approval.

use super::*;

pub(super) fn alice_requests(prevent_self_approval: bool) -> Harness {
    let policy = Policy {
        requesters: vec!["alice".into()],
        prevent_self_approval,
        ..Policy::default()
    };
    Harness::requested(policy, request("alice", None))
}

#[test]
fn the_requesters_own_approval_does_not_count() {
    let mut h = alice_requests(true);
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(
        h.ceremony.approvals().len(),
        3,
        "alice's approval is recorded"
    );
    assert_eq!(h.ceremony.shortfall().any, 1);
    let progress = h.progress();
    assert!(progress.starts_with("2 approvals counted"), "{progress}");
    assert!(
        progress.contains("needs 1 more approval from anyone"),
        "{progress}"
    );

    // A 4th approval forms the package, without alice.
    let actions = h.approve("dave", at(4 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["bob", "carol", "dave"]),
        }]
    );
    assert!(h.ceremony.package_for(&pid("alice")).is_none());
    h.sign_all(at(4 * MINUTE + 30 * SECOND));
}

#[test]
fn the_requesters_approval_counts_when_self_approval_is_allowed() {
    let mut h = alice_requests(false);
    assert_eq!(h.approve("alice", at(MINUTE)), vec![]);
    assert_eq!(h.approve("bob", at(2 * MINUTE)), vec![]);
    let actions = h.approve("carol", at(3 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "bob", "carol"]),
        }]
    );
    h.sign_all(at(3 * MINUTE + 30 * SECOND));
}
