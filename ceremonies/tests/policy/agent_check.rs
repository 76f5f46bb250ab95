//! 2. the agent's own check of a signing set.

use super::*;

#[test]
fn check_signing_set_refuses_sets_the_policy_forbids() {
    let (group, _) = key_group(Policy {
        requesters: vec!["alice".into(), "release-manager".into()],
        ..roles_policy()
    });
    let rules = group.policy.rules(THRESHOLD);
    let everyone = ids(&["alice", "bob", "carol", "dave", "erin"]);

    // The right set passes.
    let ok = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["alice", "carol", "erin"]),
        &everyone,
    )
    .expect("one of each role, all approved");
    assert_eq!(ok.signers(), ids(&["alice", "carol", "erin"]).as_slice());

    // Three signers, engineering and security only: no release.
    let err = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["alice", "bob", "carol"]),
        &everyone,
    )
    .expect_err("no release signer");
    assert_eq!(
        err,
        PolicyViolation::Short("1 more approval from release".into())
    );
    assert_eq!(
        err.to_string(),
        "the signing set lacks 1 more approval from release"
    );

    // Too few signers altogether.
    let err = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["carol", "erin"]),
        &everyone,
    )
    .expect_err("two signers");
    assert_eq!(
        err,
        PolicyViolation::Short("1 more approval from engineering".into())
    );

    // A signer that did not approve.
    let err = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["alice", "carol", "erin"]),
        &ids(&["alice", "carol", "bob"]),
    )
    .expect_err("erin did not approve");
    assert_eq!(err, PolicyViolation::NotApproved(pid("erin")));

    // The requester signing its own request.
    let err = check_signing_set(
        &group,
        &rules,
        "alice",
        &ids(&["alice", "carol", "erin"]),
        &everyone,
    )
    .expect_err("alice requested it");
    assert_eq!(err, PolicyViolation::SelfApproval(pid("alice")));

    // Someone not in the roster, even if the coordinator says they approved.
    let mut approved = everyone.clone();
    approved.push(pid("mallory"));
    let err = check_signing_set(
        &group,
        &rules,
        "release-manager",
        &ids(&["alice", "mallory", "erin"]),
        &approved,
    )
    .expect_err("mallory is not in the roster");
    assert_eq!(err, PolicyViolation::NotInRoster("mallory".into()));
}

#[test]
fn check_signing_set_allows_the_requester_when_self_approval_is_allowed() {
    let (group, _) = key_group(Policy {
        prevent_self_approval: false,
        ..roles_policy()
    });
    let rules = group.policy.rules(THRESHOLD);
    check_signing_set(
        &group,
        &rules,
        "alice",
        &ids(&["alice", "carol", "erin"]),
        &ids(&["alice", "carol", "erin"]),
    )
    .expect("self-approval is allowed");
}
