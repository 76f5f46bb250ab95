//! 8. cancel.

use super::*;

#[test]
fn only_the_requester_may_cancel() {
    let mut h = Harness::new(roles_policy());
    h.approve("alice", at(MINUTE));
    for who in ["alice", "mallory", "auditor"] {
        let err = h.refused(
            Event::Cancelled {
                by: who.into(),
                reason: "wrong tarball".into(),
            },
            at(2 * MINUTE),
        );
        assert!(
            matches!(&err, CeremonyError::NotAllowed { who: w, .. } if w == who),
            "{err:?}"
        );
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);

    let actions = h
        .send(
            Event::Cancelled {
                by: "release-manager".into(),
                reason: "wrong tarball".into(),
            },
            at(3 * MINUTE),
        )
        .expect("the requester may cancel");
    let outcome = Outcome::Cancelled {
        by: "release-manager".into(),
        reason: "wrong tarball".into(),
    };
    assert_eq!(actions, vec![Action::Close(outcome)]);
    assert_eq!(h.ceremony.state(), State::Cancelled);
    assert_eq!(h.ceremony.next_deadline(), None);
}

#[test]
fn the_requester_may_cancel_while_signing() {
    let mut h = Harness::new(roles_policy());
    for (i, name) in ["alice", "carol", "erin"].into_iter().enumerate() {
        h.approve(name, at((i as i64 + 1) * MINUTE));
    }
    h.submit("alice", at(3 * MINUTE + 30 * SECOND));
    h.send(
        Event::Cancelled {
            by: "release-manager".into(),
            reason: "superseded by 1.0.1".into(),
        },
        at(3 * MINUTE + 45 * SECOND),
    )
    .expect("the requester may cancel");
    assert_eq!(h.ceremony.state(), State::Cancelled);
    assert!(h.ceremony.package_for(&pid("carol")).is_none());
}
