//! 7. break-glass.

use super::*;

#[test]
fn break_glass_needs_justification_declarer_and_emergency_policy() {
    let (group, _) = key_group(emergency_policy());

    for blank in ["", "   \n"] {
        let err = Ceremony::new(request("release-manager", Some(blank)), group.clone())
            .expect_err("no justification");
        assert!(
            matches!(err, CeremonyError::InvalidRequest(ref why) if why.contains("justification")),
            "{err:?}"
        );
    }

    // Not a declarer: not even a participant nor a listed requester may.
    for who in ["mallory", "alice"] {
        let err = Ceremony::new(request(who, Some("prod is down")), group.clone())
            .expect_err("not a declarer");
        assert_eq!(
            err,
            CeremonyError::NotAllowed {
                who: who.into(),
                action: format!("declare break-glass for key group {GROUP}"),
            }
        );
    }

    // No emergency policy: no break-glass, whoever asks.
    let (plain, _) = key_group(Policy {
        requesters: vec!["release-manager".into()],
        ..roles_policy()
    });
    let err = Ceremony::new(request("release-manager", Some("prod is down")), plain)
        .expect_err("no emergency policy");
    assert!(
        matches!(err, CeremonyError::InvalidRequest(ref why) if why.contains("no emergency policy")),
        "{err:?}"
    );

    let c = Ceremony::new(request("release-manager", Some("prod is down")), group)
        .expect("a declarer with a justification");
    assert!(c.is_break_glass());
    assert_eq!(c.rules().required, role_counts(&[("security", 1)]));
    assert_eq!(c.rules().signers, THRESHOLD);
}

pub(super) fn break_glass() -> Harness {
    Harness::requested(
        emergency_policy(),
        request(
            "release-manager",
            Some("CVE fix must ship before the embargo"),
        ),
    )
}

#[test]
fn break_glass_relaxes_roles_but_never_goes_below_threshold() {
    let mut h = break_glass();
    assert_eq!(h.approve("alice", at(MINUTE)), vec![]);
    assert_eq!(h.approve("carol", at(2 * MINUTE)), vec![]);
    // Security is there, but two approvals never make a signing set.
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(h.ceremony.shortfall().any, 1);
    assert!(
        h.progress().starts_with("BREAK-GLASS: "),
        "{}",
        h.progress()
    );

    // A third, without release: enough under break-glass.
    let actions = h.approve("bob", at(3 * MINUTE));
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "carol", "bob"]),
        }]
    );
    h.sign_all(at(3 * MINUTE + 30 * SECOND));
    assert_eq!(h.ceremony.state(), State::AwaitingReview);
    assert!(h.ceremony.signature().is_some());
    assert!(h.ceremony.review_record().is_none());
}

#[test]
fn break_glass_still_needs_its_required_roles() {
    let mut h = break_glass();
    for (i, name) in ["alice", "bob", "erin"].into_iter().enumerate() {
        assert_eq!(h.approve(name, at((i as i64 + 1) * MINUTE)), vec![]);
    }
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert!(
        h.progress().contains("needs 1 more approval from security"),
        "{}",
        h.progress()
    );
    let actions = h.approve("dave", at(4 * MINUTE));
    assert!(
        matches!(actions.as_slice(), [Action::SendSigningPackage { signers, .. }]
            if signers.contains(&pid("dave")) && signers.len() == 3),
        "{actions:?}"
    );
}

#[test]
fn an_emergency_approvals_count_below_t_is_raised_to_t() {
    let mut policy = emergency_policy();
    if let Some(e) = policy.emergency.as_mut() {
        e.approvals = Some(2);
        e.required.clear();
    }
    let (group, agents) = key_group_unchecked(policy);
    group
        .policy
        .validate(&group.roster, THRESHOLD)
        .expect_err("validation refuses approvals below t");
    // Even if such a policy reached the engine, it would not go below t.
    let mut h = Harness::start(
        group,
        agents,
        request("release-manager", Some("prod is down")),
    );
    assert_eq!(h.ceremony.rules().signers, THRESHOLD);
    h.approve("alice", at(MINUTE));
    h.approve("bob", at(2 * MINUTE));
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    h.approve("erin", at(3 * MINUTE));
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.signers().len(), 3);
}

#[test]
fn break_glass_runs_under_the_emergency_deadlines() {
    let mut h = break_glass();
    // Emergency: approval 1h, overall 4h (the normal policy has 24h / 72h).
    assert_eq!(h.ceremony.rules().deadlines, Deadlines::emergency());
    assert_eq!(h.ceremony.next_deadline(), Some(at(HOUR)));
    h.approve("alice", at(MINUTE));
    h.not_due(at(HOUR - MS), at(HOUR));
    h.deadline(at(HOUR))
        .expect("the emergency approval deadline");
    assert_eq!(h.ceremony.state(), State::Expired);
}

#[test]
fn break_glass_review_by_a_reviewer_with_notes_completes_it() {
    let mut h = break_glass();
    h.approve("alice", at(MINUTE));
    h.approve("carol", at(2 * MINUTE));

    // Not while it is still open.
    let err = h.refused(
        Event::Reviewed {
            by: "auditor".into(),
            notes: "too early".into(),
        },
        at(2 * MINUTE + SECOND),
    );
    assert!(
        matches!(err, CeremonyError::NoReviewNeeded(ref why) if why.contains("still open")),
        "{err:?}"
    );

    h.approve("bob", at(3 * MINUTE));
    h.sign_all(at(3 * MINUTE + 30 * SECOND));
    assert_eq!(h.ceremony.state(), State::AwaitingReview);

    // Not a reviewer: not even the declarer or a signer.
    for who in ["mallory", "release-manager", "carol"] {
        let err = h.refused(
            Event::Reviewed {
                by: who.into(),
                notes: "looks fine".into(),
            },
            at(HOUR),
        );
        assert_eq!(
            err,
            CeremonyError::NotAllowed {
                who: who.into(),
                action: "review break-glass ceremonies of this key group".into(),
            }
        );
    }
    // A review without notes is no review.
    for notes in ["", "  \t"] {
        let err = h.refused(
            Event::Reviewed {
                by: "auditor".into(),
                notes: notes.into(),
            },
            at(HOUR),
        );
        assert!(
            matches!(err, CeremonyError::InvalidRequest(ref why) if why.contains("notes")),
            "{err:?}"
        );
    }
    assert_eq!(h.ceremony.state(), State::AwaitingReview);

    let notes = "checked the CVE patch against the advisory; tarball matches CI";
    h.review("auditor", notes, at(2 * HOUR))
        .expect("the auditor's review is accepted");
    assert_eq!(h.ceremony.state(), State::Signed);
    let record = h.ceremony.review_record().expect("a review record");
    assert_eq!(record.by, "auditor");
    assert_eq!(record.notes, notes);
    assert_eq!(record.at, at(2 * HOUR));

    let err = h.refused(
        Event::Reviewed {
            by: "auditor".into(),
            notes: "again".into(),
        },
        at(3 * HOUR),
    );
    assert!(
        matches!(err, CeremonyError::NoReviewNeeded(ref why) if why.contains("already")),
        "{err:?}"
    );
    assert_eq!(h.ceremony.state(), State::Signed);
}

#[test]
fn statements_acknowledge_break_glass_exactly_when_it_was_declared() {
    let bad_statement = |err: CeremonyError, name: &str, why: &str| {
        assert!(
            matches!(&err, CeremonyError::BadStatement { participant, why: w }
                if *participant == pid(name) && w.contains(why)),
            "expected a bad statement of {name} ({why}), got {err:?}"
        );
    };

    // A break-glass ceremony: an approver that did not see it was one
    // (its statement says break_glass = false) is not counted.
    let mut h = break_glass();
    let mut unaware = h.agents[&pid("carol")].statement(&h.ceremony, Decision::Approve);
    assert!(unaware.break_glass, "the agent states what it saw");
    unaware.break_glass = false;
    let statement = h.agents[&pid("carol")].sign_statement(unaware);
    let approval = h.approved_with("carol", statement);
    let err = h.refused(approval, at(MINUTE));
    bad_statement(
        err,
        "carol",
        "this is a break-glass ceremony, but the statement does not acknowledge it",
    );
    let mut unaware = h.agents[&pid("dave")].statement(&h.ceremony, reject("no"));
    unaware.break_glass = false;
    let rejection = Event::Rejected {
        statement: h.agents[&pid("dave")].sign_statement(unaware),
    };
    let err = h.refused(rejection, at(MINUTE));
    bad_statement(err, "dave", "does not acknowledge");
    assert!(h.ceremony.statements().is_empty());
    // Acknowledged, it counts.
    h.approve("carol", at(2 * MINUTE));
    let approval = h
        .ceremony
        .approval_of(&pid("carol"))
        .expect("carol approved");
    assert!(approval.statement.break_glass);

    // A normal ceremony in the same key group: a statement claiming
    // break-glass is refused.
    let mut h = Harness::new(emergency_policy());
    let mut claimed = h.agents[&pid("carol")].statement(&h.ceremony, Decision::Approve);
    assert!(!claimed.break_glass);
    claimed.break_glass = true;
    let statement = h.agents[&pid("carol")].sign_statement(claimed);
    let approval = h.approved_with("carol", statement);
    let err = h.refused(approval, at(MINUTE));
    bad_statement(
        err,
        "carol",
        "it claims a break-glass ceremony, but this one is not",
    );
    h.approve("carol", at(2 * MINUTE));
    assert_eq!(h.ceremony.statements().len(), 1);
}

#[test]
fn a_normal_ceremony_needs_no_review() {
    // With an emergency policy in the key group, and without one.
    for policy in [emergency_policy(), roles_policy()] {
        let mut h = Harness::new(policy);
        for (i, name) in ["alice", "carol", "erin"].into_iter().enumerate() {
            h.approve(name, at((i as i64 + 1) * MINUTE));
        }
        h.sign_all(at(3 * MINUTE + 30 * SECOND));
        assert_eq!(h.ceremony.state(), State::Signed);
        let err = h.refused(
            Event::Reviewed {
                by: "auditor".into(),
                notes: "looks fine".into(),
            },
            at(HOUR),
        );
        assert!(matches!(err, CeremonyError::NoReviewNeeded(_)), "{err:?}");
        assert!(h.ceremony.review_record().is_none());
    }
}
