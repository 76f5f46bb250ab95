//! Deadlines take effect at their time, whatever arrives first.

use super::deadlines::deadlines_policy;
use super::*;

#[test]
fn a_late_approval_meets_the_ceremony_as_its_deadline_left_it() {
    let mut h = Harness::new(deadlines_policy());
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));
    // The approval deadline (1h) passed before the clock's own event came:
    // erin's approval must not form a signing package.
    let approval = h.approval("erin");
    let err = h.refused(approval, at(HOUR + 5 * SECOND));
    assert!(matches!(err, CeremonyError::Finished { .. }), "{err:?}");
}

#[test]
fn a_late_share_is_refused_once_the_signing_deadline_passed() {
    let mut h = Harness::new(deadlines_policy());
    for (i, name) in ["alice", "carol", "erin"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    // Package at 3m, signing deadline 60s: a share at 4m05s comes too late.
    let round = h.ceremony.package_for(&pid("alice")).unwrap().clone();
    let share = h.agent("alice").sign(round.package());
    let late = Event::ShareSubmitted {
        participant: pid("alice"),
        attempt: round.attempt(),
        share,
    };
    let err = h.refused(late, at(4 * MINUTE + 5 * SECOND));
    assert!(
        matches!(err, CeremonyError::NoSigningPackage { .. }),
        "{err:?}"
    );
}

#[test]
fn check_signing_set_refuses_a_repeated_signer() {
    let h = Harness::new(roles_policy());
    let group = h.ceremony.key_group().clone();
    let rules = group.policy.rules(group.threshold);
    let signers = [pid("carol"), pid("carol"), pid("erin"), pid("alice")];
    let err = check_signing_set(&group, &rules, "release-manager", &signers, &signers).unwrap_err();
    assert_eq!(err, PolicyViolation::Repeated(pid("carol")));
}
