//! Refused events change nothing.

use super::*;

#[test]
fn refuses_unknown_participant() {
    let mut h = Harness::new();
    h.approve("alice");
    // mallory signs properly, with an identity key of her own that the
    // roster does not list.
    let mallory = pid("mallory");
    let mallorys_key = IdentityKey::generate(mallory.clone(), &mut rand_core::OsRng);
    let commitments = h.agent("bob").commit();
    let err = h.refused(Event::Approved {
        statement: support::statement(&mallory, &h.ceremony, Decision::Approve).sign(&mallorys_key),
        commitments,
    });
    assert!(
        matches!(&err, CeremonyError::UnknownParticipant { participant, key_group }
            if *participant == mallory && key_group == "release-signing"),
        "{err:?}"
    );
    let err = h.refused(Event::Rejected {
        statement: support::statement(&mallory, &h.ceremony, reject("no")).sign(&mallorys_key),
    });
    assert!(
        matches!(err, CeremonyError::UnknownParticipant { .. }),
        "{err:?}"
    );
    let err = h.refused(Event::Committed {
        participant: mallory,
        commitments,
    });
    assert!(matches!(err, CeremonyError::NotApproved { .. }), "{err:?}");
}

#[test]
fn refuses_duplicate_approval() {
    let mut h = Harness::new();
    h.approve("alice");
    let again = h.approval("alice");
    let err = h.refused(again);
    assert_eq!(
        err,
        CeremonyError::AlreadyDecided {
            participant: pid("alice"),
            decision: "approved",
        }
    );
    // Nor can an approver change its mind.
    let err = h.refused(h.rejection("alice", "changed my mind"));
    assert!(
        matches!(
            err,
            CeremonyError::AlreadyDecided {
                decision: "approved",
                ..
            }
        ),
        "{err:?}"
    );

    h.reject("bob");
    let late = h.approval("bob");
    let err = h.refused(late);
    assert!(
        matches!(
            err,
            CeremonyError::AlreadyDecided {
                decision: "rejected",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(h.ceremony.approvals().len(), 1);
}

#[test]
fn refuses_approval_of_another_message() {
    let mut h = Harness::new();
    // alice's agent signs, with her own key, an approval of another digest.
    let other = Sha256Digest::of(b"a different manifest");
    let mut statement = h.statement("alice", Decision::Approve);
    statement.message_sha256 = other;
    let statement = h.signed_by("alice", statement);
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_eq!(
        err,
        CeremonyError::MessageMismatch {
            participant: pid("alice"),
            expected: Sha256Digest::of(MESSAGE).to_string(),
            got: other.to_string(),
        }
    );
    let mut statement = h.statement("bob", reject("looked at the wrong thing"));
    statement.message_sha256 = other;
    let err = h.refused(Event::Rejected {
        statement: h.signed_by("bob", statement),
    });
    assert!(
        matches!(err, CeremonyError::MessageMismatch { .. }),
        "{err:?}"
    );
    assert!(h.ceremony.approvals().is_empty());
    assert!(h.ceremony.rejections().is_empty());
}

#[test]
fn refuses_share_from_non_signer() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    // dave approves after the package went out: he is not in attempt 1.
    assert_eq!(h.approve("dave"), vec![]);
    assert!(h.ceremony.package_for(&pid("dave")).is_none());

    let Event::ShareSubmitted { share, .. } = h.share_of("alice") else {
        unreachable!()
    };
    for who in ["dave", "erin", "mallory"] {
        let err = h.refused(Event::ShareSubmitted {
            participant: pid(who),
            attempt: 1,
            share,
        });
        assert_eq!(
            err,
            CeremonyError::NotInSigningSet {
                participant: pid(who),
                attempt: 1,
            }
        );
    }
    assert!(h.ceremony.dropped().is_empty());
}

#[test]
fn refuses_share_for_stale_attempt() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let alice_1 = h.share_of("alice");
    let Event::ShareSubmitted { share, .. } = alice_1.clone() else {
        unreachable!()
    };
    // A share for an attempt that does not exist yet.
    let err = h.refused(Event::ShareSubmitted {
        participant: pid("alice"),
        attempt: 2,
        share,
    });
    assert_eq!(err, CeremonyError::StaleAttempt { got: 2, current: 1 });

    // bob lost his nonces: attempt 1 is abandoned and attempt 2 formed.
    h.agent("bob").nonces = None;
    h.commit("bob");
    h.commit("alice");
    let actions = h.commit("carol");
    assert!(
        matches!(
            actions.as_slice(),
            [Action::SendSigningPackage { attempt: 2, .. }]
        ),
        "{actions:?}"
    );

    // alice's share of attempt 1 arrives late.
    let err = h.refused(alice_1);
    assert_eq!(err, CeremonyError::StaleAttempt { got: 1, current: 2 });
    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
}

#[test]
fn refuses_duplicate_share() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let share = h.share_of("alice");
    assert_eq!(
        h.send(share.clone()).expect("the first share is accepted"),
        vec![]
    );
    let err = h.refused(share);
    assert_eq!(
        err,
        CeremonyError::DuplicateShare {
            participant: pid("alice"),
            attempt: 1,
        }
    );
}

#[test]
fn refuses_share_without_package() {
    let mut h = Harness::new();
    h.approve("alice");
    h.approve("bob");
    // A real share, from another ceremony where a package is out.
    let mut other = Harness::new();
    for name in ["alice", "bob", "carol"] {
        other.approve(name);
    }
    let Event::ShareSubmitted { share, .. } = other.share_of("alice") else {
        unreachable!()
    };
    let err = h.refused(Event::ShareSubmitted {
        participant: pid("alice"),
        attempt: 1,
        share,
    });
    assert_eq!(
        err,
        CeremonyError::NoSigningPackage {
            state: State::CollectingApprovals,
        }
    );
}

#[test]
fn refuses_input_after_the_ceremony_finished() {
    let mut h = Harness::new();
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    let share_after = {
        h.sign_all();
        Event::ShareSubmitted {
            participant: pid("alice"),
            attempt: 1,
            share: match &h.log[3].0 {
                Event::ShareSubmitted { share, .. } => *share,
                other => panic!("expected a share, got {other:?}"),
            },
        }
    };
    let finished = CeremonyError::Finished {
        state: State::Signed,
    };
    let late = h.approval("dave");
    assert_eq!(h.refused(late), finished);
    let late = h.rejection("erin", "too late");
    assert_eq!(h.refused(late), finished);
    let commitments = h.agent("alice").commit();
    assert_eq!(
        h.refused(Event::Committed {
            participant: pid("alice"),
            commitments,
        }),
        finished
    );
    assert_eq!(h.refused(share_after), finished);
    assert_eq!(
        h.refused(Event::Cancelled {
            by: "release-manager".into(),
            reason: "oops".into(),
        }),
        finished
    );

    // The same for a cancelled ceremony.
    let mut h = Harness::new();
    h.approve("alice");
    let actions = h
        .send(Event::Cancelled {
            by: "release-manager".into(),
            reason: "wrong tarball".into(),
        })
        .expect("cancel is accepted");
    assert_eq!(
        actions,
        vec![Action::Close(Outcome::Cancelled {
            by: "release-manager".into(),
            reason: "wrong tarball".into(),
        })]
    );
    let late = h.approval("bob");
    assert_eq!(
        h.refused(late),
        CeremonyError::Finished {
            state: State::Cancelled,
        }
    );
}

#[test]
fn new_refuses_empty_and_oversize_messages() {
    let (group, _) = key_group();
    let err = Ceremony::new(request(b""), group.clone()).expect_err("empty message");
    assert!(matches!(err, CeremonyError::InvalidRequest(_)), "{err:?}");

    let oversize = vec![b'x'; MAX_MESSAGE_BYTES + 1];
    let err = Ceremony::new(request(&oversize), group.clone()).expect_err("oversize message");
    assert!(
        matches!(&err, CeremonyError::InvalidRequest(why) if why.contains("SHA256SUMS")),
        "{err:?}"
    );

    let largest = vec![b'x'; MAX_MESSAGE_BYTES];
    let ceremony = Ceremony::new(request(&largest), group.clone()).expect("the largest message");
    assert_eq!(ceremony.message_sha256(), Sha256Digest::of(&largest));

    let mut elsewhere = request(MESSAGE);
    elsewhere.key_group = KeyGroupName::new("other-group").expect("a valid name");
    let err = Ceremony::new(elsewhere, group).expect_err("wrong key group");
    assert!(matches!(err, CeremonyError::InvalidRequest(_)), "{err:?}");
}
