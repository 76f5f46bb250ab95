//! Roster changes.

use super::*;

static ROSTER_CHANGED: LazyLock<Recorded> = LazyLock::new(scenario::after_roster_change);

#[test]
fn a_ceremony_after_a_roster_change_replays_under_that_roster() {
    let recorded = &*ROSTER_CHANGED;
    let report = check(&recorded.transcript);
    assert!(report.passed, "{report}");
    assert_eq!(report.state, "signed");
    let text = report.to_string();
    assert!(text.contains("roster version 1 recorded"), "{text}");
    assert!(text.contains("bob (release)"), "{text}");
    // Registration, roster change, request, then the events.
    assert_eq!(report.steps.first().map(|s| s.entry), Some(3));
}

#[test]
fn a_roster_change_left_out_or_altered_is_caught() {
    let recorded = &*ROSTER_CHANGED;
    // Left out: the request names version 1, the transcript holds none.
    let mut t = recorded.transcript.clone();
    t.entries.remove(1);
    let report = check(&t);
    assert_eq!(
        first(&report),
        (Some(1), "request.key_group_version".into()),
        "{report}"
    );
    // Left out by the log key holder too: still caught at the request.
    let mut ours = recorded.ours.clone();
    ours.remove(1);
    let t = scenario::transcript_of(
        &recorded.log,
        &ours,
        scenario::CEREMONY,
        &scenario::log_key(),
    );
    assert_eq!(
        first(&check(&t)),
        (Some(1), "request.key_group_version".into())
    );
    // Renumbered, or adding a share holder, even when logged as such.
    let entries = recorded.entries();
    let Entry::RosterChanged {
        at,
        by,
        key_group,
        roster,
        ..
    } = entries[1].clone()
    else {
        panic!("entry 1 is {}", entries[1].kind())
    };
    let renumbered = Entry::RosterChanged {
        at,
        by: by.clone(),
        key_group: key_group.clone(),
        version: 2,
        roster: roster.clone(),
    };
    let mut grown = roster.clone();
    let mut zed = grown.participants[0].clone();
    zed.id = quorate_types::ParticipantId::new("zed").expect("an id");
    grown.participants.push(zed);
    let added = Entry::RosterChanged {
        at,
        by,
        key_group,
        version: 1,
        roster: grown,
    };
    for (bad, field) in [(renumbered, "version"), (added, "roster")] {
        let mut t = recorded.transcript.clone();
        t.entries[1].entry = String::from_utf8(bad.encode()).expect("UTF-8");
        let report = check(&relogged(recorded, &t));
        assert_eq!(first(&report), (Some(1), field.into()), "{report}");
    }
}
