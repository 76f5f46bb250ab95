//! `Entry::lifecycle` (which ceremonies are live, read from the record
//! alone) agrees with the engine at every step of every frozen transcript:
//! live exactly while the engine's state is not final, and ending in the
//! engine's final state.

use std::path::Path;
use std::sync::Arc;

use quorate_ceremonies::lifecycle::{Lifecycle, is_live};
use quorate_ceremonies::replay::Transcript;
use quorate_ceremonies::{Ceremony, Entry, KeyGroup};

#[test]
fn the_record_says_when_a_ceremony_ends_as_the_engine_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/v1");
    let mut checked = 0;
    let mut ended_in_review = 0;
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        if !path.to_string_lossy().ends_with(".transcript.json") {
            continue;
        }
        let name = path.display().to_string();
        let transcript: Transcript =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let entries: Vec<Entry> = transcript
            .entries
            .iter()
            .map(|e| Entry::decode(e.entry.as_bytes()).unwrap())
            .collect();
        let mut group: Option<Arc<KeyGroup>> = None;
        let mut ceremony: Option<Ceremony> = None;
        let (mut live, mut break_glass) = (false, false);
        for entry in &entries {
            match entry {
                Entry::KeyGroupRegistered { key_group, .. } => {
                    group = Some(Arc::new(KeyGroup::from_file(key_group).unwrap()));
                }
                Entry::RosterChanged { roster, .. } => {
                    let g = group.as_ref().unwrap();
                    group = Some(Arc::new(g.with_recorded_roster(roster.clone()).unwrap()));
                }
                Entry::CeremonyRequested { request, .. } => {
                    ceremony =
                        Some(Ceremony::new(request.clone(), group.clone().unwrap()).unwrap());
                }
                Entry::CeremonyEvent { event, at, .. } => {
                    ceremony.as_mut().unwrap().handle(event, *at).unwrap();
                }
                _ => {}
            }
            match entry.lifecycle() {
                Lifecycle::Opens { break_glass: b, .. } => (live, break_glass) = (true, b),
                Lifecycle::Ends { ending, .. } if live => {
                    if let Some(state) = ending.state(break_glass) {
                        live = false;
                        let engine = ceremony.as_ref().unwrap().state();
                        assert_eq!(state, engine, "{name}: the final state");
                        if matches!(entry, Entry::CeremonyEvent { event, .. }
                            if matches!(event, quorate_ceremonies::Event::Reviewed { .. }))
                        {
                            ended_in_review += 1;
                        }
                    }
                }
                _ => {}
            }
            if let Some(c) = &ceremony {
                assert_eq!(live, is_live(c.state()), "{name}: at {entry:?}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 13, "every frozen transcript");
    assert!(
        ended_in_review > 0,
        "a break-glass ceremony ends at its review"
    );
}
