use super::*;

const T: u16 = 3;

fn roster() -> Roster {
    let people = [
        ("alice", "engineering"),
        ("bob", "engineering"),
        ("carol", "security"),
        ("dave", "security"),
        ("erin", "release"),
    ];
    let text: String = people
        .iter()
        .map(|(id, role)| {
            format!("[[participant]]\nid = \"{id}\"\nname = \"{id}\"\nrole = \"{role}\"\n\n")
        })
        .collect();
    Roster::from_toml(&text).unwrap()
}

/// The ```toml block of the module documentation, so the test follows the doc.
fn doc_example() -> String {
    let text: String = include_str!("../../policy.rs")
        .lines()
        .skip_while(|l| l.trim() != "//! ```toml")
        .skip(1)
        .take_while(|l| l.trim() != "//! ```")
        .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start_matches(' ')))
        .collect();
    assert!(text.contains("[emergency]"), "doc example not found");
    text
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn doc_example_parses_and_validates() {
    let policy = Policy::from_toml(&doc_example()).unwrap();
    policy.validate(&roster(), T).unwrap();
    assert_eq!(policy.requesters, ["release-manager"]);
    assert!(policy.prevent_self_approval);
    assert_eq!(policy.veto_roles, ["security"]);
    assert_eq!(policy.required.len(), 3);
    assert_eq!(policy.deadlines, Deadlines::default());
    let e = policy.emergency.as_ref().unwrap();
    assert_eq!(e.declarers, ["release-manager"]);
    assert_eq!(e.reviewers, ["auditor"]);
    assert_eq!(e.required, BTreeMap::from([("security".to_string(), 1)]));
    assert_eq!(e.deadlines, Deadlines::emergency());
}

#[test]
fn defaults_are_as_documented() {
    let policy = Policy::from_toml("").unwrap();
    assert_eq!(policy, Policy::default());
    assert!(policy.prevent_self_approval);
    assert!(policy.requesters.is_empty() && policy.approvals.is_none());
    assert_eq!(policy.deadlines.approval, 24 * HOUR);
    assert_eq!(policy.deadlines.signing, Duration::from_secs(60));
    assert_eq!(policy.deadlines.overall, 72 * HOUR);
    assert!(policy.emergency.is_none() && policy.emergency_rules(T).is_none());
    policy.validate(&roster(), T).unwrap();

    let text = "[emergency]\ndeclarers = [\"erin\"]\nreviewers = [\"carol\"]\n";
    let policy = Policy::from_toml(text).unwrap();
    let e = policy.emergency.as_ref().unwrap();
    assert_eq!(e.deadlines.approval, HOUR);
    assert_eq!(e.deadlines.signing, Duration::from_secs(60));
    assert_eq!(e.deadlines.overall, 4 * HOUR);
    assert_eq!(policy.emergency_rules(T).unwrap().signers, T);
    policy.validate(&roster(), T).unwrap();
}

#[test]
fn to_toml_round_trips() {
    let mut full = Policy::from_toml(&doc_example()).unwrap();
    full.approvals = Some(4);
    full.deadlines.signing = Duration::from_secs(90);
    for policy in [
        Policy::default(),
        Policy::from_toml(&doc_example()).unwrap(),
        full,
    ] {
        let text = policy.to_toml();
        assert!(!text.is_empty(), "{policy:?} did not serialise");
        assert_eq!(Policy::from_toml(&text).unwrap(), policy, "{text}");
    }
}

/// Asserts `text` parses but fails validation on `field`, with `words` in the why.
fn rejects(text: &str, field: &str, words: &[&str]) {
    let policy = Policy::from_toml(text).unwrap_or_else(|e| panic!("{text}\ndoes not parse: {e}"));
    let err = match policy.validate(&roster(), T) {
        Ok(()) => panic!("{text}\nvalidated, but should not"),
        Err(e) => e,
    };
    assert_eq!(err.field, field, "{text}\n{err}");
    for word in words {
        assert!(err.why.contains(word), "{text}\n{err}\nlacks {word:?}");
    }
    assert!(
        err.to_string().starts_with(&format!("policy {field}: ")),
        "{err}"
    );
}

#[test]
fn rejections_name_the_field() {
    rejects("approvals = 2", "approvals", &["2 is below", "t = 3"]);
    rejects(
        "[required]\nsecurity = 3",
        "required.security",
        &["needs 3", "has 2 security"],
    );
    rejects("[required]\nops = 1", "required.ops", &["ops", "has 0"]);
    rejects("veto_roles = [\"legal\"]", "veto_roles[0]", &["\"legal\""]);
    rejects(
        "veto_roles = [\"security\", \"legal\"]",
        "veto_roles[1]",
        &["legal"],
    );
    rejects("approvals = 6", "approvals", &["needs 6", "5 participants"]);
    rejects(
        "[deadlines]\nsigning = \"0s\"",
        "deadlines.signing",
        &["zero"],
    );
    let late = "[deadlines]\napproval = \"48h\"\noverall = \"24h\"";
    rejects(
        late,
        "deadlines.overall",
        &["at least as long as the approval"],
    );

    let no_declarers = "[emergency]\ndeclarers = []\nreviewers = [\"carol\"]";
    rejects(no_declarers, "emergency.declarers", &["declare"]);
    let no_reviewers = "[emergency]\ndeclarers = [\"erin\"]\nreviewers = []";
    rejects(no_reviewers, "emergency.reviewers", &["review"]);
    let e = "[emergency]\ndeclarers = [\"erin\"]\nreviewers = [\"carol\"]\n";
    // Break-glass can never go below t.
    rejects(
        &format!("{e}approvals = 2"),
        "emergency.approvals",
        &["below", "t = 3"],
    );
    rejects(
        &format!("{e}approvals = 1"),
        "emergency.approvals",
        &["below"],
    );
    let two_release = format!("{e}required = {{ release = 2 }}");
    rejects(
        &two_release,
        "emergency.required.release",
        &["has 1 release"],
    );
    let late = format!("{e}deadlines = {{ approval = \"5h\", overall = \"4h\" }}");
    rejects(&late, "emergency.deadlines.overall", &["at least as long"]);
}

#[test]
fn self_approval_that_breaks_the_quorum_is_rejected() {
    let everyone = "approvals = 5\nrequesters = [\"alice\"]\n";
    rejects(everyone, "prevent_self_approval", &["requester alice"]);
    let allowed = Policy::from_toml(&format!("prevent_self_approval = false\n{everyone}"));
    allowed.unwrap().validate(&roster(), T).unwrap();

    // Without erin no one from release is left to approve.
    let release = "requesters = [\"erin\"]\n[required]\nrelease = 1\n";
    rejects(release, "prevent_self_approval", &["requester erin"]);

    // A requester who is not a participant, or a quorum that survives
    // without the requester, is fine.
    for ok in [
        "approvals = 5\nrequesters = [\"mallory\"]",
        "approvals = 4\nrequesters = [\"alice\"]",
    ] {
        Policy::from_toml(ok)
            .unwrap()
            .validate(&roster(), T)
            .unwrap();
    }
}

/// A parse error: reported on the `file` field, with toml's message.
fn parse_error(text: &str) -> String {
    let err = Policy::from_toml(text).unwrap_err();
    assert_eq!(err.field, "file", "{err}");
    err.to_string()
}

#[test]
fn parse_errors_name_the_line_or_the_field() {
    let err = parse_error("requesters = [\"erin\"]\napprovals = = 3\n");
    assert!(err.contains("line 2"), "{err}");
    let err = parse_error("[deadlines]\napproval = \"1h\"\n\n[required\nsecurity = 1\n");
    assert!(err.contains("line 4"), "{err}");

    for (text, name) in [
        ("aprovals = 3", "`aprovals`"),
        (
            "[deadlines]\nsigning = \"60s\"\nreview = \"1h\"",
            "`review`",
        ),
        (
            "[emergency]\ndeclarers = []\nreviewers = []\nvetoes = 1",
            "`vetoes`",
        ),
    ] {
        let err = parse_error(text);
        assert!(
            err.contains(&format!("unknown field {name}")),
            "{text}\n{err}"
        );
    }

    let err = parse_error("[deadlines]\napproval = \"soon\"\n");
    assert!(err.contains("\"soon\" is not a duration"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn rules_take_the_largest_of_approvals_required_and_t() {
    let signers = |text: &str| Policy::from_toml(text).unwrap().rules(T).signers;
    assert_eq!(signers(""), 3);
    assert_eq!(signers("approvals = 4"), 4);
    assert_eq!(signers("approvals = 1"), 3, "never below t");
    assert_eq!(signers("[required]\nengineering = 2\nsecurity = 2"), 4);
    assert_eq!(signers("approvals = 5\n[required]\nengineering = 2"), 5);

    let policy = Policy::from_toml(&doc_example()).unwrap();
    let rules = policy.rules(T);
    assert_eq!(rules.required, policy.required);
    assert_eq!(rules.deadlines, policy.deadlines);
    let emergency = policy.emergency_rules(T).unwrap();
    assert_eq!(emergency.signers, T, "break-glass never goes below t");
    assert_eq!(emergency.deadlines, Deadlines::emergency());
}

#[test]
fn satisfiable_checks_count_and_roles() {
    let (eng, sec, rel) = ("engineering", "security", "release");
    let rules = Policy::from_toml(&doc_example()).unwrap().rules(T);
    assert!(satisfiable(&[eng, sec, rel], &rules));
    assert!(satisfiable(&[sec, rel, eng, eng], &rules));
    assert!(!satisfiable(&[eng, eng, sec], &rules), "no release");
    assert!(!satisfiable(&[eng, sec], &rules), "too few");
    assert!(!satisfiable(&[], &rules));

    let two_sec = Policy::from_toml("approvals = 4\n[required]\nsecurity = 2");
    let two_sec = two_sec.unwrap().rules(T);
    assert!(satisfiable(&[sec, sec, rel, eng], &two_sec));
    assert!(
        !satisfiable(&[sec, rel, eng, eng], &two_sec),
        "one security"
    );
    assert!(!satisfiable(&[sec, sec, rel], &two_sec), "too few");
}

#[test]
fn emergency_deadlines_left_out_take_the_break_glass_defaults() {
    let p = Policy::from_toml(
        "[emergency]\ndeclarers = [\"rm\"]\nreviewers = [\"auditor\"]\ndeadlines = { approval = \"2h\" }\n",
    )
    .unwrap();
    let d = p.emergency.unwrap().deadlines;
    assert_eq!(d.approval, Duration::from_secs(2 * 3600));
    assert_eq!(d.signing, Duration::from_secs(60));
    assert_eq!(d.overall, Duration::from_secs(4 * 3600));
}

#[test]
fn huge_role_counts_do_not_overflow() {
    let p = Policy::from_toml("[required]\na = 40000\nb = 40000\n").unwrap();
    assert_eq!(p.rules(3).signers, u16::MAX);
}

#[test]
fn break_glass_declarers_cannot_count_towards_their_own_quorum() {
    let p = Policy::from_toml(
        "[emergency]\ndeclarers = [\"erin\"]\nreviewers = [\"auditor\"]\napprovals = 5\n",
    )
    .unwrap();
    let err = p.validate(&roster(), T).unwrap_err();
    assert_eq!(err.field, "emergency.declarers");
}

#[test]
fn witnesses_are_named_by_key_with_a_quorum_they_can_meet() {
    let policy = Policy::from_toml(&doc_example()).unwrap();
    let w = policy.witnesses.clone().unwrap();
    assert_eq!((w.keys.len(), w.quorum), (2, 2));
    // A policy without witnesses encodes as before: no `witnesses` key.
    let without = Policy {
        witnesses: None,
        ..policy.clone()
    };
    assert!(
        !serde_json::to_string(&without)
            .unwrap()
            .contains("witnesses")
    );
    let with = |keys: &[&str], quorum| Policy {
        witnesses: Some(Witnesses {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            quorum,
        }),
        ..policy.clone()
    };
    let a = "a.example/w1+0a0b0c0d+BAAA";
    let b = "b.example/w1+01234567+BAAA";
    with(&[a, b], 1).validate(&roster(), T).unwrap();
    for (bad, field, says) in [
        (with(&[], 1), "witnesses.keys", "at least one"),
        (with(&[a, b], 3), "witnesses.quorum", "between 1 and the 2"),
        (with(&[a, b], 0), "witnesses.quorum", "between 1 and the 2"),
        (with(&[a, "nonsense"], 1), "witnesses.keys[1]", "<name>+"),
        (
            with(&[a, "x+0a0b0c0z+BAAA"], 1),
            "witnesses.keys[1]",
            "<name>+",
        ),
        (
            with(&[a, "a.example/w1+0a0b0c0e+BAAB"], 1),
            "witnesses.keys[1]",
            "listed twice",
        ),
    ] {
        let err = bad.validate(&roster(), T).unwrap_err();
        assert_eq!(err.field, field, "{err:?}");
        assert!(err.why.contains(says), "{err:?}");
    }
    // It round-trips through TOML.
    let toml = policy.to_toml();
    assert_eq!(Policy::from_toml(&toml).unwrap(), policy);
}

#[test]
fn with_requester_keys_everyone_who_may_ask_has_one() {
    let policy = Policy::from_toml(&doc_example()).unwrap();
    assert_eq!(policy.requester_keys.len(), 1);
    // A policy without them encodes as before: no `requester_keys` key.
    let without = Policy {
        requester_keys: BTreeMap::new(),
        ..policy.clone()
    };
    without.validate(&roster(), T).unwrap();
    assert!(
        !serde_json::to_string(&without)
            .unwrap()
            .contains("requester_keys")
    );
    // A requester or declarer left without a key could never ask.
    let key = policy.requester_keys["release-manager"];
    let mut deputy = policy.clone();
    deputy.requesters.push("release-deputy".into());
    let err = deputy.validate(&roster(), T).unwrap_err();
    assert_eq!(err.field, "requester_keys");
    assert!(
        err.why.contains("release-deputy (in requesters)"),
        "{err:?}"
    );
    deputy.requester_keys.insert("release-deputy".into(), key);
    deputy.validate(&roster(), T).unwrap();
    let mut declarer = policy.clone();
    if let Some(e) = &mut declarer.emergency {
        e.declarers = vec!["incident-lead".into()];
    }
    let err = declarer.validate(&roster(), T).unwrap_err();
    assert!(
        err.why.contains("incident-lead (in emergency.declarers)"),
        "{err:?}"
    );
    // A key that is not one is named.
    let bad = doc_example().replace("3b6a27bc", "zz6a27bc");
    let err = Policy::from_toml(&bad).unwrap_err();
    assert!(err.why.contains("not hex"), "{err:?}");
    // It round-trips through TOML.
    assert_eq!(Policy::from_toml(&policy.to_toml()).unwrap(), policy);
}
