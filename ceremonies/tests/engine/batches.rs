//! Batches: follow-up messages signed under the same approvals.

use super::*;

const COMMENT: &[u8] = b"timestamp:1700000000\tfile:quorate-1.0.0.tar.gz\thashed";

fn batch_harness() -> Harness {
    let (group, agents) = key_group();
    let mut request = request(MESSAGE);
    request.follow_ups = vec![FollowUp::SignatureThen {
        suffix: COMMENT.to_vec(),
    }];
    let ceremony = Ceremony::new(request, group.clone()).expect("a valid batch request");
    Harness {
        group,
        agents,
        ceremony,
        log: Vec::new(),
        clock: 1_700_000_000_000,
    }
}

/// The follow-up's signers send their shares: the ceremony closes signed
/// with `first` (message 0's signature, never signed again) and the
/// follow-up's signature over `first` and the comment, which it returns.
fn close_batch(h: &mut Harness, first: Signature) -> Signature {
    let actions = submit_all(h);
    let [
        Action::Close(Outcome::Signed {
            signature,
            follow_ups,
        }),
    ] = actions.as_slice()
    else {
        panic!("the last message's last share should close the ceremony: {actions:?}");
    };
    assert_eq!(*signature, first, "message 0 is not signed again");
    let [second] = follow_ups.as_slice() else {
        panic!("one follow-up signature: {follow_ups:?}");
    };
    let mut message = first.serialize().expect("signature bytes");
    message.extend_from_slice(COMMENT);
    assert_verifies(&h.group, &message, second);
    *second
}

/// Every signer still owing a share sends it; returns the last actions.
fn submit_all(h: &mut Harness) -> Vec<Action> {
    let owing: Vec<ParticipantId> = h
        .round()
        .signers()
        .iter()
        .filter(|s| h.ceremony.package_for(s).is_some())
        .cloned()
        .collect();
    let mut last = Vec::new();
    for s in owing {
        last = h.submit(s.as_str());
    }
    last
}

#[test]
fn a_batch_signs_each_message_in_turn_with_fresh_commitments() {
    let mut h = batch_harness();
    h.approve("alice");
    h.approve("bob");
    let actions = h.approve("carol");
    assert!(matches!(
        actions.as_slice(),
        [Action::SendSigningPackage { attempt: 1, .. }]
    ));
    assert_eq!(h.round().batch_index(), 0);
    assert_eq!(h.round().package().message(), MESSAGE);
    let first_commitments = commitment_set(h.round());

    // The first message's signature does not close the ceremony: the
    // follow-up is signed next, and every signer's nonces were used up.
    let actions = submit_all(&mut h);
    let [
        Action::ContinueBatch {
            signed: 0,
            signature,
        },
        Action::RequestCommitments { from },
    ] = actions.as_slice()
    else {
        panic!("the first message's last share should continue the batch: {actions:?}");
    };
    let first = *signature;
    assert_eq!(from, &ids(&["alice", "bob", "carol"]));
    assert_eq!(h.ceremony.state(), State::CollectingCommitments);
    assert_eq!(h.ceremony.signature(), None);
    assert_eq!(h.ceremony.batch_signatures(), vec![first]);
    assert_verifies(&h.group, MESSAGE, &first);

    // An old share for attempt 1 is refused now.
    let stale = Event::ShareSubmitted {
        participant: pid("alice"),
        attempt: 1,
        share: frost_ed25519::round2::SignatureShare::deserialize(&[1; 32]).expect("a scalar"),
    };
    assert!(matches!(
        h.refused(stale),
        CeremonyError::NoSigningPackage { .. }
    ));

    h.commit("alice");
    h.commit("bob");
    let actions = h.commit("carol");
    assert!(matches!(
        actions.as_slice(),
        [Action::SendSigningPackage { attempt: 2, .. }]
    ));
    assert_eq!(h.round().batch_index(), 1);
    let mut second_message = first.serialize().expect("signature bytes");
    second_message.extend_from_slice(COMMENT);
    assert_eq!(h.round().package().message(), second_message.as_slice());
    assert!(
        commitment_set(h.round()).is_disjoint(&first_commitments),
        "each message gets fresh commitments"
    );

    let second_signature = close_batch(&mut h, first);
    assert_eq!(h.ceremony.signature(), Some(&first));
    assert_eq!(h.ceremony.batch_signatures(), vec![first, second_signature]);
    let key = ed25519_dalek::VerifyingKey::from_bytes(&h.group.group_key()).expect("a key");
    let bytes: Vec<[u8; 64]> = h
        .ceremony
        .batch_signatures()
        .iter()
        .map(|s| s.serialize().expect("bytes").try_into().expect("64 bytes"))
        .collect();
    quorate_types::batch::verify(MESSAGE, &h.ceremony.request().follow_ups, &bytes, &key)
        .expect("the whole batch verifies");

    // Replaying the log rebuilds the same ceremony.
    let replayed = Ceremony::replay(
        h.ceremony.request().clone(),
        h.group.clone(),
        h.log.iter().map(|(e, at)| (e, *at)),
    )
    .expect("the log replays");
    assert_eq!(replayed, h.ceremony);
}

#[test]
fn an_approval_of_another_batch_is_refused() {
    let mut h = batch_harness();
    // Approving the message alone, without the trusted comment.
    let mut statement = h.statement("alice", Decision::Approve);
    statement.follow_ups.clear();
    let signed = h.signed_by("alice", statement);
    let event = h.approved_with("alice", signed);
    assert!(matches!(
        h.refused(event),
        CeremonyError::BadStatement { why, .. } if why.contains("follow-up")
    ));
    // And approving a single-message ceremony as if it were a batch.
    let mut h = Harness::new();
    let mut statement = h.statement("alice", Decision::Approve);
    statement.follow_ups = vec![FollowUp::SignatureThen {
        suffix: COMMENT.to_vec(),
    }];
    let signed = h.signed_by("alice", statement);
    let event = h.approved_with("alice", signed);
    assert!(matches!(
        h.refused(event),
        CeremonyError::BadStatement { .. }
    ));
}

#[test]
fn an_oversized_batch_is_refused_at_the_request() {
    let (group, _) = key_group();
    let mut many = request(MESSAGE);
    many.follow_ups = vec![
        FollowUp::SignatureThen { suffix: Vec::new() };
        quorate_types::batch::MAX_FOLLOW_UPS + 1
    ];
    let err = Ceremony::new(many, group.clone()).expect_err("too many follow-ups");
    assert!(err.to_string().contains("follow_ups"), "{err}");
    let mut long = request(MESSAGE);
    long.follow_ups = vec![FollowUp::SignatureThen {
        suffix: vec![b'a'; quorate_types::batch::MAX_SUFFIX_BYTES + 1],
    }];
    assert!(matches!(
        Ceremony::new(long, group),
        Err(CeremonyError::InvalidRequest(_))
    ));
}

#[test]
fn a_dropped_signer_in_a_follow_up_reforms_that_message_only() {
    let mut h = batch_harness();
    for name in ["alice", "bob", "carol", "dave"] {
        h.approve(name);
    }
    let actions = submit_all(&mut h);
    assert!(matches!(
        actions.as_slice(),
        [Action::ContinueBatch { signed: 0, .. }, ..]
    ));
    let first = h.ceremony.batch_signatures()[0];
    for name in ["alice", "bob", "carol"] {
        h.commit(name);
    }
    // dave's commitments from his approval were never used: the follow-up
    // may go out with them.
    let signers = h.round().signers().to_vec();
    assert_eq!(h.round().batch_index(), 1);
    let attempt = h.round().attempt();
    // The first signer sends a share that does not verify: it is dropped,
    // and the follow-up is re-formed from the others.
    let cheat = signers[0].clone();
    let share = frost_ed25519::round2::SignatureShare::deserialize(&[7; 32]).expect("a scalar");
    let actions = h
        .send(Event::ShareSubmitted {
            participant: cheat.clone(),
            attempt,
            share,
        })
        .expect("recorded");
    assert!(
        matches!(actions.as_slice(), [Action::DropSigner { participant, .. }, ..] if *participant == cheat)
    );
    for name in ["alice", "bob", "carol", "dave"] {
        if pid(name) != cheat && h.ceremony.wants_commitments_from(&pid(name)) {
            h.commit(name);
        }
    }
    assert_eq!(h.round().batch_index(), 1, "still the follow-up");
    assert!(!h.round().is_signer(&cheat));
    close_batch(&mut h, first);
}
