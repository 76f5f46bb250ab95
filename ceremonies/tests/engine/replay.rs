//! Replay and storage.

use super::*;

/// A ceremony with every kind of event: a rejection, a dropped signer, lost
/// nonces, two attempts, and refused events (which are not recorded).
fn eventful() -> Harness {
    let mut h = Harness::new();
    h.reject("erin");
    for name in ["alice", "bob", "carol"] {
        h.approve(name);
    }
    // alice's approval delivered twice (her agent keeps its nonces).
    let again = h.log[1].0.clone();
    h.refused(again);
    h.approve("dave");
    h.submit("alice");
    let Event::ShareSubmitted { share, .. } = h.share_of("carol") else {
        unreachable!()
    };
    // bob passes off carol's share: dropped, attempt 1 abandoned.
    h.send(Event::ShareSubmitted {
        participant: pid("bob"),
        attempt: 1,
        share,
    })
    .expect("accepted");
    h.commit("alice");
    h.commit("carol");
    assert_eq!(h.round().attempt(), 2);
    h.sign_all();
    h
}

#[test]
fn replay_rebuilds_the_live_ceremony() {
    let h = eventful();
    let replayed = Ceremony::replay(
        request(MESSAGE),
        h.group.clone(),
        h.log.iter().map(|(e, t)| (e, *t)),
    )
    .expect("the log replays");
    assert_eq!(replayed, h.ceremony);
    assert_eq!(replayed.state(), State::Signed);

    // Every prefix replays to the state the live ceremony had then.
    let mut live = Ceremony::new(request(MESSAGE), h.group.clone()).expect("a valid request");
    for (n, (event, at)) in h.log.iter().enumerate() {
        live.handle(event, *at).expect("the logged event applies");
        let prefix = Ceremony::replay(
            request(MESSAGE),
            h.group.clone(),
            h.log[..=n].iter().map(|(e, t)| (e, *t)),
        )
        .expect("a prefix replays");
        assert_eq!(prefix, live, "after event {n}");
    }
}

#[test]
fn replay_names_the_first_bad_event() {
    let h = eventful();
    let replay = |events: &[(Event, Timestamp)]| {
        Ceremony::replay(
            request(MESSAGE),
            h.group.clone(),
            events.iter().map(|(e, t)| (e, *t)),
        )
    };
    // Events are numbered from 1; 0 is the request itself.
    let first_share = h
        .log
        .iter()
        .position(|(e, _)| matches!(e, Event::ShareSubmitted { .. }))
        .expect("a share in the log");

    // An event recorded twice.
    let mut doubled = h.log.clone();
    doubled.insert(2, h.log[1].clone());
    let (index, err) = replay(&doubled).expect_err("a doubled approval");
    assert_eq!(index, 3);
    assert!(
        matches!(err, CeremonyError::AlreadyDecided { .. }),
        "{err:?}"
    );

    // A digest changed by whoever keeps the record: the approver's
    // signature no longer verifies.
    let mut tampered = h.log.clone();
    let Event::Approved { statement, .. } = &mut tampered[2].0 else {
        panic!("event 2 is an approval: {:?}", tampered[2].0);
    };
    statement.statement.message_sha256 = Sha256Digest::of(b"something else");
    let approver = statement.statement.participant.clone();
    let (index, err) = replay(&tampered).expect_err("a changed digest");
    assert_eq!(index, 3);
    assert!(
        matches!(&err, CeremonyError::BadStatement { participant, .. } if *participant == approver),
        "{err:?}"
    );

    // The approver itself signed an approval of another digest.
    let Event::Approved { statement, .. } = &mut tampered[2].0 else {
        unreachable!()
    };
    *statement = h.agents[&approver].sign_statement(statement.statement.clone());
    let (index, err) = replay(&tampered).expect_err("an approval of another digest");
    assert_eq!(index, 3);
    assert!(
        matches!(err, CeremonyError::MessageMismatch { .. }),
        "{err:?}"
    );

    // Two approvals removed (carol's and dave's): no package is out when
    // the first share arrives, two events earlier than it was recorded.
    let mut missing = h.log.clone();
    missing.drain(3..5);
    let (index, err) = replay(&missing).expect_err("missing approvals");
    assert_eq!(index, first_share - 2 + 1);
    assert!(
        matches!(err, CeremonyError::NoSigningPackage { .. }),
        "{err:?}"
    );

    // The sender of a share changed.
    let mut moved = h.log.clone();
    if let Event::ShareSubmitted { participant, .. } = &mut moved[first_share].0 {
        *participant = pid("erin");
    }
    let (index, err) = replay(&moved).expect_err("a share from a non-signer");
    assert_eq!(index, first_share + 1);
    assert!(
        matches!(err, CeremonyError::NotInSigningSet { .. }),
        "{err:?}"
    );

    // Events after the end.
    let mut longer = h.log.clone();
    longer.push(h.log[0].clone());
    let (index, err) = replay(&longer).expect_err("an event after the end");
    assert_eq!(index, longer.len());
    assert!(
        matches!(
            err,
            CeremonyError::Finished {
                state: State::Signed
            }
        ),
        "{err:?}"
    );

    // A bad request is index 0.
    let (index, err) = Ceremony::replay(request(b""), h.group.clone(), std::iter::empty())
        .expect_err("an empty message");
    assert_eq!(index, 0);
    assert!(matches!(err, CeremonyError::InvalidRequest(_)), "{err:?}");
}

#[test]
fn events_round_trip_through_json() {
    let mut h = eventful();
    // Add the kinds eventful() lacks.
    let mut c = Harness::new();
    c.send(Event::Cancelled {
        by: "release-manager".into(),
        reason: "superseded by 1.0.1".into(),
    })
    .expect("cancel");
    h.log.extend(c.log);

    let mut kinds = BTreeSet::new();
    for (event, _) in &h.log {
        let json = serde_json::to_string(event).expect("an event serializes");
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        kinds.insert(value["type"].as_str().expect("a type tag").to_owned());
        let back: Event = serde_json::from_str(&json).expect("an event deserializes");
        assert_eq!(&back, event, "{json}");
        assert_eq!(back.sender(), event.sender());
    }
    assert_eq!(
        kinds,
        [
            "approved",
            "cancelled",
            "committed",
            "rejected",
            "share_submitted"
        ]
        .map(String::from)
        .into()
    );

    // The stored form replays to the same ceremony.
    let h = eventful();
    let stored = serde_json::to_string(&h.log.iter().map(|(e, _)| e).collect::<Vec<_>>())
        .expect("the log serializes");
    let loaded: Vec<Event> = serde_json::from_str(&stored).expect("the log deserializes");
    let replayed = Ceremony::replay(
        request(MESSAGE),
        h.group.clone(),
        loaded.iter().zip(h.log.iter().map(|(_, t)| *t)),
    )
    .expect("the stored log replays");
    assert_eq!(replayed, h.ceremony);

    let json = serde_json::to_string(&request(MESSAGE)).expect("the request serializes");
    let back: Request = serde_json::from_str(&json).expect("the request deserializes");
    assert_eq!(back, request(MESSAGE));
}
