//! 1. roles.

use super::*;

#[test]
fn three_approvals_without_release_do_not_form_a_package() {
    let mut h = Harness::new(roles_policy());
    assert_eq!(h.ceremony.rules().signers, 3);
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(h.ceremony.phase(), &Phase::ExpectApprovals);
    assert_eq!(h.ceremony.attempts(), 0);
    let shortfall = h.ceremony.shortfall();
    assert_eq!(shortfall.by_role, role_counts(&[("release", 1)]));
    assert_eq!(shortfall.any, 0);
    let progress = h.progress();
    assert!(
        progress.contains("needs 1 more approval from release"),
        "{progress}"
    );
    assert!(progress.contains("3 approvals counted"), "{progress}");
}

#[test]
fn release_approval_completes_one_of_each_role_and_signs() {
    let mut h = Harness::new(roles_policy());
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    let actions = h.approve("erin", at(4 * MINUTE));
    // Bob's approval is not needed: one of each role, in approval order.
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "carol", "erin"]),
        }]
    );
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.signers().len(), 3);
    let mut roles: Vec<&str> = h.signers().iter().map(|s| h.role_of(s)).collect();
    roles.sort_unstable();
    assert_eq!(roles, ["engineering", "release", "security"]);
    assert!(h.ceremony.shortfall().is_empty());
    assert!(h.ceremony.package_for(&pid("bob")).is_none());

    // The agents' own check accepts what the engine formed.
    let approved: Vec<ParticipantId> = h
        .ceremony
        .approvals()
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    let quorum = check_signing_set(
        &h.group,
        &h.ceremony.rules(),
        "release-manager",
        h.round().signers(),
        &approved,
    )
    .expect("the engine's signing set satisfies the policy");
    assert_eq!(
        quorum.signers(),
        ids(&["alice", "carol", "erin"]).as_slice()
    );

    h.sign_all(at(4 * MINUTE + 30 * SECOND));
    assert_eq!(h.ceremony.state(), State::Signed);
}

#[test]
fn two_required_from_a_role_are_chosen_over_earlier_approvers() {
    let policy = Policy {
        required: role_counts(&[("security", 2)]),
        ..Policy::default()
    };
    let mut h = Harness::new(policy);
    for (i, name) in ["alice", "bob", "erin"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    let progress = h.progress();
    assert!(
        progress.contains("needs 2 more approvals from security"),
        "{progress}"
    );
    assert_eq!(h.approve("carol", at(4 * MINUTE)), vec![]);
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
fn approvals_above_the_threshold_widen_the_signing_set() {
    let policy = Policy {
        approvals: Some(4),
        ..Policy::default()
    };
    let mut h = Harness::new(policy);
    assert_eq!(h.ceremony.rules().signers, 4);
    for (i, name) in ["alice", "bob", "carol"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    let progress = h.progress();
    assert!(
        progress.contains("needs 1 more approval from anyone"),
        "{progress}"
    );
    let actions = h.approve("dave", at(4 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "bob", "carol", "dave"]),
        }]
    );
    h.sign_all(at(4 * MINUTE + 30 * SECOND));
}
