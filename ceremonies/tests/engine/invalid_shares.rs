//! Invalid shares.

use super::*;

#[test]
fn share_over_another_message_drops_signer_and_next_attempt_excludes_it() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    assert_eq!(h.approve("dave"), vec![]);
    let attempt_1 = h.round().clone();
    assert_eq!(h.submit("alice"), vec![]);

    // bob signs the same commitments over another message.
    let forged = SigningPackage::new(
        attempt_1.package().signing_commitments().clone(),
        b"another message",
    );
    let share = h.agent("bob").sign(&forged);
    let actions = h
        .send(Event::ShareSubmitted {
            participant: pid("bob"),
            attempt: 1,
            share,
        })
        .expect("an invalid share is an accepted event");
    let [
        Action::DropSigner {
            participant,
            reason,
        },
        Action::AbandonAttempt { attempt: 1, .. },
        Action::RequestCommitments { from },
    ] = actions.as_slice()
    else {
        panic!("unexpected actions {actions:?}");
    };
    assert_eq!(participant, &pid("bob"));
    assert_eq!(reason, &DropReason::InvalidShare { attempt: 1 });
    // dave's approval commitments are unused; alice and carol used theirs.
    assert_eq!(from, &ids(&["alice", "carol"]));
    assert!(h.ceremony.dropped().contains_key(&pid("bob")));
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert!(h.ceremony.wants_commitments_from(&pid("alice")));
    assert!(h.ceremony.wants_commitments_from(&pid("carol")));
    assert!(!h.ceremony.wants_commitments_from(&pid("bob")));
    assert!(!h.ceremony.wants_commitments_from(&pid("dave")));
    assert!(!h.ceremony.wants_commitments_from(&pid("erin")));

    // A dropped signer's commitments are refused.
    let commitments = h.agent("bob").commit();
    let err = h.refused(Event::Committed {
        participant: pid("bob"),
        commitments,
    });
    assert!(
        matches!(err, CeremonyError::ParticipantDropped { .. }),
        "{err:?}"
    );

    assert_eq!(
        h.commit("alice"),
        vec![Action::RequestCommitments {
            from: ids(&["carol"]),
        }]
    );
    let actions = h.commit("carol");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 2,
            signers: ids(&["alice", "carol", "dave"]),
        }]
    );
    let attempt_2 = h.round().clone();
    assert!(!attempt_2.is_signer(&pid("bob")));
    assert!(
        commitment_set(&attempt_1).is_disjoint(&commitment_set(&attempt_2)),
        "attempt 2 reuses commitments of attempt 1"
    );
    assert!(h.ceremony.package_for(&pid("bob")).is_none());

    let signature = h.sign_all();
    assert_eq!(h.ceremony.attempts(), 2);
    assert_verifies(&h.group, MESSAGE, &signature);
}

#[test]
fn share_copied_from_another_signer_drops_the_sender() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let attempt_1 = h.round().clone();
    let Event::ShareSubmitted { share, .. } = h.share_of("alice") else {
        unreachable!()
    };
    // carol passes off alice's share as hers.
    let actions = h
        .send(Event::ShareSubmitted {
            participant: pid("carol"),
            attempt: 1,
            share,
        })
        .expect("an invalid share is an accepted event");
    assert!(
        matches!(actions.as_slice(), [
            Action::DropSigner { participant, .. },
            Action::AbandonAttempt { attempt: 1, .. },
        ] if *participant == pid("carol")),
        "{actions:?}"
    );
    assert!(h.ceremony.dropped().contains_key(&pid("carol")));
    // Two usable approvals are left: a new approver is needed.
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert!(h.ceremony.wants_commitments_from(&pid("alice")));
    assert!(h.ceremony.wants_commitments_from(&pid("bob")));
    assert!(!h.ceremony.wants_commitments_from(&pid("carol")));

    assert_eq!(
        h.approve("dave"),
        vec![Action::RequestCommitments {
            from: ids(&["alice", "bob"]),
        }]
    );
    h.commit("alice");
    let actions = h.commit("bob");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 2,
            signers: ids(&["alice", "bob", "dave"]),
        }]
    );
    let attempt_2 = h.round().clone();
    assert!(commitment_set(&attempt_1).is_disjoint(&commitment_set(&attempt_2)));
    // erin approving now changes nothing about attempt 2.
    assert_eq!(h.approve("erin"), vec![]);

    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
}

#[test]
fn dropping_a_signer_when_too_few_are_left_closes_the_ceremony() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    h.reject("dave");
    h.reject("erin");
    let Event::ShareSubmitted { share, .. } = h.share_of("alice") else {
        unreachable!()
    };
    let actions = h
        .send(Event::ShareSubmitted {
            participant: pid("bob"),
            attempt: 1,
            share,
        })
        .expect("an invalid share is an accepted event");
    assert!(
        matches!(
            actions.last(),
            Some(Action::Close(Outcome::Rejected { .. }))
        ),
        "{actions:?}"
    );
    assert_eq!(h.ceremony.state(), State::Rejected);
}
