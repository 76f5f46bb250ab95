//! Record entries for the stores' tests: a ceremony's request and its
//! numbered events.

use quorate_ceremonies::{Entry, Event, Request, Timestamp};
use quorate_types::{CeremonyId, KeyGroupName};

pub fn request(id: &str) -> Entry {
    Entry::CeremonyRequested {
        at: Timestamp(1_700_000_000_000),
        request: Request {
            id: CeremonyId::new(id).unwrap(),
            key_group: KeyGroupName::new("release").unwrap(),
            requester: "release-manager".into(),
            label: "SHA256SUMS".into(),
            message: b"abc  file\n".to_vec(),
            created_at: Timestamp(1_700_000_000_000),
            break_glass: None,
            context: Vec::new(),
            key_group_version: 0,
            rules: 1,
            follow_ups: Vec::new(),
            signed: None,
        },
    }
}

pub fn event(id: &str, seq: u64) -> Entry {
    Entry::CeremonyEvent {
        at: Timestamp(1_700_000_000_000 + seq as i64),
        ceremony: CeremonyId::new(id).unwrap(),
        seq,
        event: Event::DeadlinePassed,
        decisions: Vec::new(),
    }
}
