//! Signed statements.

use super::*;

/// `err` is a [`CeremonyError::BadStatement`] of `name` whose reason
/// contains `why`.
#[track_caller]
fn assert_bad_statement(err: &CeremonyError, name: &str, why: &str) {
    assert!(
        matches!(err, CeremonyError::BadStatement { participant, why: w }
            if *participant == pid(name) && w.contains(why)),
        "expected a bad statement of {name} ({why}), got {err:?}"
    );
}

/// The signed statements the accepted approvals and rejections carried.
fn logged_statements(h: &Harness) -> Vec<SignedStatement> {
    h.log
        .iter()
        .filter_map(|(event, _)| match event {
            Event::Approved { statement, .. } | Event::Rejected { statement } => {
                Some(statement.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_ceremony_keeps_the_accepted_statements() {
    let mut h = Harness::new();
    assert!(h.ceremony.statements().is_empty());
    assert_eq!(h.ceremony.approval_of(&pid("alice")), None);

    h.approve("alice");
    h.reject("bob");
    h.approve("carol");
    // A refused statement is not kept (alice's approval delivered twice;
    // her agent keeps its nonces).
    let again = h.log[0].0.clone();
    h.refused(again);

    let kept = logged_statements(&h);
    assert_eq!(h.ceremony.statements(), kept.as_slice());
    let decisions: Vec<_> = kept
        .iter()
        .map(|s| (s.statement.participant.as_str(), &s.statement.decision))
        .collect();
    assert_eq!(
        decisions,
        [
            ("alice", &Decision::Approve),
            ("bob", &reject("bob does not recognise the artifacts")),
            ("carol", &Decision::Approve),
        ]
    );
    // The rejection's reason is the one bob signed.
    assert_eq!(
        h.ceremony.rejections()[0].1,
        "bob does not recognise the artifacts"
    );
    for signed in h.ceremony.statements() {
        let entry = h
            .group
            .roster
            .get(&signed.statement.participant)
            .expect("in the roster");
        let identity = entry.identity.expect("an identity key");
        assert!(signed.verify(&identity), "{signed:?}");
        assert_eq!(signed.statement.ceremony, *h.ceremony.id());
        assert_eq!(signed.statement.message_sha256, h.ceremony.message_sha256());
    }

    assert_eq!(h.ceremony.approval_of(&pid("alice")), Some(&kept[0]));
    assert_eq!(h.ceremony.approval_of(&pid("carol")), Some(&kept[2]));
    assert_eq!(h.ceremony.approval_of(&pid("bob")), None, "bob rejected");
    assert_eq!(h.ceremony.approval_of(&pid("dave")), None);
    assert_eq!(h.ceremony.approval_of(&pid("mallory")), None);

    // The approvals stay with the signed ceremony.
    h.approve("dave");
    h.sign_all();
    assert_eq!(h.ceremony.statements(), logged_statements(&h).as_slice());
    assert_eq!(h.ceremony.statements().len(), 4);
    assert_eq!(h.ceremony.approval_of(&pid("alice")), Some(&kept[0]));
    assert!(h.ceremony.approval_of(&pid("dave")).is_some());
}

#[test]
fn refuses_a_statement_signed_with_another_participants_key() {
    let mut h = Harness::new();
    h.approve("bob");

    // bob's key signs a statement that says it is alice's.
    let forged = h.signed_by("bob", h.statement("alice", Decision::Approve));
    let approval = h.approved_with("alice", forged);
    let err = h.refused(approval);
    assert_bad_statement(&err, "alice", "does not verify with alice's identity key");

    let forged = h.signed_by("bob", h.statement("alice", reject("forged")));
    let err = h.refused(Event::Rejected { statement: forged });
    assert_bad_statement(&err, "alice", "does not verify");

    // Nor can a forged statement take the place of one already made: the
    // signature is checked before anything else about it.
    let forged = h.signed_by("alice", h.statement("bob", reject("forged")));
    let err = h.refused(Event::Rejected { statement: forged });
    assert_bad_statement(&err, "bob", "does not verify");

    // alice's own statement is still accepted.
    assert_eq!(h.approve("alice"), vec![]);
    assert_eq!(h.ceremony.approvals().len(), 2);
}

#[test]
fn refuses_a_statement_altered_after_signing() {
    let mut h = Harness::new();
    let signed = h.decide("alice", Decision::Approve);
    type Alteration = (&'static str, fn(&mut Statement));
    let alterations: [Alteration; 6] = [
        // Refused as a bad signature, not as a message mismatch.
        ("message digest", |s| {
            s.message_sha256 = Sha256Digest::of(b"a different manifest");
        }),
        ("ceremony", |s| {
            s.ceremony = CeremonyId::new("release-0.9.9").expect("a valid ceremony id");
        }),
        ("key group", |s| {
            s.key_group = KeyGroupName::new("other-group").expect("a valid name");
        }),
        ("break-glass flag", |s| s.break_glass = true),
        ("decision time", |s| s.at_unix_ms += 1),
        ("decision", |s| {
            s.decision = reject("not what alice said");
        }),
    ];
    for (what, alter) in alterations {
        let mut altered = signed.clone();
        alter(&mut altered.statement);
        assert_ne!(altered, signed, "{what}");
        let event = if matches!(altered.statement.decision, Decision::Approve) {
            h.approved_with("alice", altered)
        } else {
            Event::Rejected { statement: altered }
        };
        let err = h.refused(event);
        assert_bad_statement(&err, "alice", "does not verify");
    }

    // alice's statement passed off as bob's.
    let mut altered = signed.clone();
    altered.statement.participant = pid("bob");
    let approval = h.approved_with("bob", altered);
    let err = h.refused(approval);
    assert_bad_statement(&err, "bob", "does not verify with bob's identity key");

    // The statement as alice signed it is accepted.
    let approval = h.approved_with("alice", signed.clone());
    assert_eq!(h.send(approval).expect("the approval is accepted"), vec![]);
    assert_eq!(h.ceremony.statements(), [signed]);
}

#[test]
fn refuses_a_statement_about_another_ceremony() {
    let mut h = Harness::new();
    // alice really approved another ceremony of the same key group, over
    // the same message; her statement is carried into this one.
    let mut elsewhere = request(MESSAGE);
    elsewhere.id = CeremonyId::new("release-0.9.9").expect("a valid ceremony id");
    let elsewhere = Ceremony::new(elsewhere, h.group.clone()).expect("a valid request");
    let statement = h.agents[&pid("alice")].decide(&elsewhere, Decision::Approve);
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_bad_statement(
        &err,
        "alice",
        "it is about ceremony release-0.9.9, not release-1.0.0",
    );

    let statement = h.agents[&pid("bob")].decide(&elsewhere, reject("not this one"));
    let err = h.refused(Event::Rejected { statement });
    assert_bad_statement(&err, "bob", "about ceremony release-0.9.9");

    assert!(h.ceremony.statements().is_empty());
    assert_eq!(h.approve("alice"), vec![]);
}

#[test]
fn refuses_a_statement_for_another_key_group() {
    let mut h = Harness::new();
    let mut statement = h.statement("alice", Decision::Approve);
    statement.key_group = KeyGroupName::new("other-group").expect("a valid name");
    let statement = h.signed_by("alice", statement);
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_bad_statement(
        &err,
        "alice",
        "it names key group other-group, not release-signing",
    );

    let mut statement = h.statement("bob", reject("wrong group"));
    statement.key_group = KeyGroupName::new("other-group").expect("a valid name");
    let err = h.refused(Event::Rejected {
        statement: h.signed_by("bob", statement),
    });
    assert_bad_statement(&err, "bob", "key group other-group");
    assert!(h.ceremony.statements().is_empty());
}

#[test]
fn refuses_a_decision_the_event_does_not_claim() {
    let mut h = Harness::new();
    // alice's signed rejection, carried as an approval.
    let statement = h.decide("alice", reject("the tarball is not from CI"));
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_bad_statement(&err, "alice", "it does not approve the ceremony");

    // bob's signed approval, carried as a rejection.
    let err = h.refused(Event::Rejected {
        statement: h.decide("bob", Decision::Approve),
    });
    assert_bad_statement(&err, "bob", "it does not reject the ceremony");

    // Neither counts as a decision: both may still decide.
    assert_eq!(h.ceremony.decision_of(&pid("alice")), None);
    assert_eq!(h.ceremony.decision_of(&pid("bob")), None);
    h.reject("alice");
    h.approve("bob");
    assert_eq!(h.ceremony.decision_of(&pid("alice")), Some("rejected"));
    assert_eq!(h.ceremony.decision_of(&pid("bob")), Some("approved"));
}

/// The break-glass ceremony's side (a statement that does not acknowledge
/// break-glass) is in the policy tests, which set up break-glass.
#[test]
fn refuses_a_break_glass_statement_in_a_normal_ceremony() {
    let mut h = Harness::new();
    assert!(!h.ceremony.is_break_glass());
    let mut statement = h.statement("alice", Decision::Approve);
    assert!(!statement.break_glass, "the agent states what it saw");
    statement.break_glass = true;
    let statement = h.signed_by("alice", statement);
    let approval = h.approved_with("alice", statement);
    let err = h.refused(approval);
    assert_bad_statement(
        &err,
        "alice",
        "it claims a break-glass ceremony, but this one is not",
    );

    let mut statement = h.statement("bob", reject("no emergency"));
    statement.break_glass = true;
    let err = h.refused(Event::Rejected {
        statement: h.signed_by("bob", statement),
    });
    assert_bad_statement(&err, "bob", "claims a break-glass ceremony");
    assert!(h.ceremony.statements().is_empty());
}

#[test]
fn refuses_a_statement_when_the_roster_lists_no_identity_key() {
    let (group, agents) = key_group();
    let mut group = (*group).clone();
    group
        .roster
        .participants
        .iter_mut()
        .find(|p| p.id == pid("carol"))
        .expect("carol is in the roster")
        .identity = None;
    let mut h = Harness::start(Arc::new(group), agents);
    h.approve("alice");

    // carol's statement is properly signed, but nothing says with which key.
    let approval = h.approval("carol");
    let err = h.refused(approval);
    assert_bad_statement(
        &err,
        "carol",
        "the roster of key group release-signing lists no identity key for carol",
    );
    let rejection = h.rejection("carol", "cannot be checked");
    let err = h.refused(rejection);
    assert_bad_statement(&err, "carol", "lists no identity key");

    // The others still approve and sign without her.
    h.approve("bob");
    let actions = h.approve("dave");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "bob", "dave"]),
        }]
    );
    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
}
