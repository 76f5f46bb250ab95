//! `Entry::statement_in`, the agents' quick read of a recorded decision,
//! against the full decoding: over every entry of recorded logs (several
//! ceremonies interleaved), it finds exactly the approvals' and
//! rejections' statements, with their ceremony, and nothing else.

mod support;

use quorate_ceremonies::Event;
use quorate_ceremonies::record::{ENTRY_PREFIX, Entry};
use support::transcript as scenario;

/// What the full decoding says `statement_in` must find.
fn expected(entry: &Entry) -> Option<(quorate_types::CeremonyId, quorate_types::SignedStatement)> {
    match entry {
        Entry::CeremonyEvent {
            ceremony,
            event: Event::Approved { statement, .. } | Event::Rejected { statement },
            ..
        } => Some((ceremony.clone(), statement.clone())),
        _ => None,
    }
}

#[test]
fn statement_in_agrees_with_the_full_decoding_on_every_recorded_entry() {
    let mut found = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for recorded in [scenario::clean(), scenario::break_glass_reviewed()] {
        for bytes in &recorded.log {
            let entry = Entry::decode(bytes).expect("a recorded entry");
            kinds.insert(entry.kind());
            let want = expected(&entry);
            found += usize::from(want.is_some());
            assert_eq!(Entry::statement_in(bytes), want, "{entry:?}");
        }
    }
    // The logs hold approvals and entries of other kinds.
    assert!(found >= 6, "{found} statements found");
    assert!(kinds.len() >= 3, "{kinds:?}");
}

#[test]
fn statement_in_finds_a_rejection_and_nothing_in_what_is_not_an_entry() {
    let recorded = scenario::clean();
    let (ceremony, statement) = recorded
        .log
        .iter()
        .find_map(|b| Entry::statement_in(b))
        .expect("an approval");
    let rejection = Entry::CeremonyEvent {
        at: quorate_ceremonies::Timestamp(1_700_000_000_000),
        ceremony: ceremony.clone(),
        seq: 3,
        event: Event::Rejected {
            statement: statement.clone(),
        },
        decisions: Vec::new(),
    }
    .encode();
    assert_eq!(Entry::statement_in(&rejection), Some((ceremony, statement)));
    let body = &rejection[ENTRY_PREFIX.len()..];
    assert_eq!(Entry::statement_in(body), None, "no prefix");
    assert_eq!(
        Entry::statement_in(&rejection[..rejection.len() - 1]),
        None,
        "truncated"
    );
    assert_eq!(Entry::statement_in(b""), None);
}

/// A closed ceremony loaded from its record (`Ceremony::from_record`, as a
/// starting coordinator loads it) shows what the engine that ran it shows;
/// an open one is not loaded that way.
#[test]
fn a_closed_ceremony_from_its_record_is_the_one_the_engine_left() {
    for (name, recorded) in support::frozen::all() {
        let entries = recorded.entries();
        let Some(Entry::CeremonyRequested { request, .. }) = entries
            .iter()
            .find(|e| matches!(e, Entry::CeremonyRequested { .. }))
        else {
            panic!("{name}: no request");
        };
        let events: Vec<_> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::CeremonyEvent {
                    at,
                    event,
                    decisions,
                    ..
                } => Some((event, *at, decisions.as_slice())),
                _ => None,
            })
            .collect();
        let engine = &recorded.ceremony;
        let group = std::sync::Arc::new(engine.key_group().clone());
        let loaded = quorate_ceremonies::Ceremony::from_record(
            request.clone(),
            group.clone(),
            events.clone(),
        )
        .unwrap_or_else(|| panic!("{name}: the record closed it"));
        assert_eq!(loaded.state(), engine.state(), "{name}");
        assert_eq!(loaded.phase(), engine.phase(), "{name}");
        assert_eq!(loaded.approvals(), engine.approvals(), "{name}");
        assert_eq!(loaded.rejections(), engine.rejections(), "{name}");
        assert_eq!(loaded.statements(), engine.statements(), "{name}");
        assert_eq!(loaded.dropped(), engine.dropped(), "{name}");
        assert_eq!(loaded.attempts(), engine.attempts(), "{name}");
        assert_eq!(loaded.version(), engine.version(), "{name}");
        assert_eq!(
            loaded.batch_signatures(),
            engine.batch_signatures(),
            "{name}"
        );
        assert_eq!(loaded.review_record(), engine.review_record(), "{name}");
        assert_eq!(
            loaded.last_round_formed_at(),
            engine.last_round_formed_at(),
            "{name}"
        );
        // Without its last event (the close), the record is of an open
        // ceremony, which is replayed instead.
        let open = &events[..events.len() - 1];
        if !open.iter().any(|(_, _, d)| {
            d.iter()
                .any(|a| matches!(a, quorate_ceremonies::Action::Close(_)))
        }) {
            assert!(
                quorate_ceremonies::Ceremony::from_record(request.clone(), group, open.to_vec())
                    .is_none(),
                "{name}"
            );
        }
    }
}

/// A request runs by the rules version it names; 1 is left out of the
/// encoding (so requests recorded before rules had numbers read as 1), and
/// a version this release does not know is refused, naming it.
#[test]
fn a_request_names_the_rules_it_runs_by() {
    let recorded = scenario::clean();
    let entries = recorded.entries();
    let Some(Entry::CeremonyRequested { request, at }) = entries
        .iter()
        .find(|e| matches!(e, Entry::CeremonyRequested { .. }))
    else {
        panic!("no request");
    };
    assert_eq!(request.rules, 1);
    assert_eq!(quorate_ceremonies::RULES, 1);
    let bytes = Entry::CeremonyRequested {
        at: *at,
        request: request.clone(),
    }
    .encode();
    assert!(!String::from_utf8_lossy(&bytes).contains("\"rules\""));

    let mut later = request.clone();
    later.rules = 2;
    let bytes = Entry::CeremonyRequested {
        at: *at,
        request: later.clone(),
    }
    .encode();
    assert!(String::from_utf8_lossy(&bytes).contains("\"rules\":2"));
    let Ok(Entry::CeremonyRequested { request: back, .. }) = Entry::decode(&bytes) else {
        panic!("a request of later rules still decodes");
    };
    assert_eq!(back.rules, 2);
    let group = std::sync::Arc::new(recorded.ceremony.key_group().clone());
    let err = quorate_ceremonies::Ceremony::new(later, group).expect_err("unknown rules");
    assert!(
        matches!(&err, quorate_ceremonies::CeremonyError::InvalidRequest(why)
            if why.contains("version 2 of the ceremony rules")),
        "{err:?}"
    );
}
