//! Lost nonces.

use super::*;

#[test]
fn fresh_commitments_from_an_owing_signer_abandon_the_attempt() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let attempt_1 = h.round().clone();
    assert_eq!(h.submit("alice"), vec![]);

    // bob's agent restarted: its nonces are gone and it commits afresh.
    h.agent("bob").nonces = None;
    let actions = h.commit("bob");
    let [
        Action::AbandonAttempt { attempt: 1, .. },
        Action::RequestCommitments { from },
    ] = actions.as_slice()
    else {
        panic!("unexpected actions {actions:?}");
    };
    assert_eq!(from, &ids(&["alice", "carol"]));
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert!(
        h.ceremony.dropped().is_empty(),
        "losing nonces is no offence"
    );
    for name in ["alice", "bob", "carol"] {
        assert!(h.ceremony.package_for(&pid(name)).is_none());
    }
    assert!(h.ceremony.wants_commitments_from(&pid("alice")));
    assert!(h.ceremony.wants_commitments_from(&pid("carol")));
    assert!(!h.ceremony.wants_commitments_from(&pid("bob")));

    // Re-sending the commitments it just sent is refused.
    let Some(Event::Committed { commitments, .. }) = h.log.last().map(|(e, _)| e.clone()) else {
        panic!("the last event is bob's commitments");
    };
    let err = h.refused(Event::Committed {
        participant: pid("bob"),
        commitments,
    });
    assert_eq!(
        err,
        CeremonyError::DuplicateCommitments {
            participant: pid("bob"),
        }
    );

    assert_eq!(
        h.commit("carol"),
        vec![Action::RequestCommitments {
            from: ids(&["alice"]),
        }]
    );
    let actions = h.commit("alice");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 2,
            signers: ids(&["alice", "bob", "carol"]),
        }]
    );
    let attempt_2 = h.round().clone();
    assert!(commitment_set(&attempt_1).is_disjoint(&commitment_set(&attempt_2)));

    let signature = h.sign_all();
    assert_eq!(h.ceremony.attempts(), 2);
    assert_verifies(&h.group, MESSAGE, &signature);
}

#[test]
fn commitments_after_sending_a_share_do_not_abandon_the_attempt() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    h.submit("alice");
    // alice already signed: new commitments are for later, not a lost nonce.
    assert_eq!(h.commit("alice"), vec![]);
    assert_eq!(h.ceremony.state(), State::Signing);
    let signature = h.sign_all();
    assert_eq!(h.ceremony.attempts(), 1);
    assert_verifies(&h.group, MESSAGE, &signature);
}

/// No commitment is ever in two packages (round.rs says so): an agent that
/// re-sends (e.g. a retried RPC) the commitments already used in attempt 1
/// must not get them into attempt 2.
#[test]
fn commitments_of_an_attempt_are_never_reused_in_the_next() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let attempt_1 = h.round().clone();
    let bobs_used = attempt_1
        .package()
        .signing_commitment(&pid("bob").identifier())
        .expect("bob is in attempt 1");

    let before = h.ceremony.clone();
    match h.send(Event::Committed {
        participant: pid("bob"),
        commitments: bobs_used,
    }) {
        // Refusing it is fine (and then nothing may have changed).
        Err(_) => assert_eq!(h.ceremony, before),
        // Accepting it must not put them into another package.
        Ok(_) => {
            h.commit("alice");
            h.commit("carol");
            if let Phase::ExpectShares(attempt_2) = h.ceremony.phase() {
                assert_ne!(attempt_2.attempt(), 1);
                assert!(
                    commitment_set(&attempt_1).is_disjoint(&commitment_set(attempt_2)),
                    "attempt {} reuses bob's commitments of attempt 1",
                    attempt_2.attempt()
                );
            }
        }
    }
}
