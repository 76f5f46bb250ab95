//! The auditor's offline replay (`quorate_ceremonies::replay`) over
//! transcripts recorded as the coordinator records them, from real FROST
//! ceremonies with seeded randomness (`support::transcript`): clean ones
//! pass and say what happened; any single change to an entry, to the order
//! or set of entries, to a proof or to the checkpoint is caught, and the
//! first finding names the entry that was changed.
//!
//! One test binary; each section of tests is a module of it.

mod clean;
mod json_leaves;
mod key_group_history;
mod roster_changes;
mod tampering;

use json_leaves::*;
use tampering::*;

#[path = "../support/mod.rs"]
mod support;

use std::fmt;
use std::sync::LazyLock;

use quorate_ceremonies::record::{ENTRY_PREFIX, Entry};
use quorate_ceremonies::replay::{Report, Transcript, replay};
use quorate_tlog::{Checkpoint, LogKey};
use quorate_types::CeremonyId;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use support::transcript::{self as scenario, Recorded};

static CLEAN: LazyLock<Recorded> = LazyLock::new(scenario::clean);
static BREAK_GLASS: LazyLock<Recorded> = LazyLock::new(scenario::break_glass_reviewed);
static REFORMED: LazyLock<Recorded> = LazyLock::new(scenario::reformed_after_invalid_share);
static BATCH: LazyLock<Recorded> = LazyLock::new(scenario::minisign_batch);

fn scenarios() -> [(&'static str, &'static Recorded); 4] {
    [
        ("clean", &CLEAN),
        ("break-glass", &BREAK_GLASS),
        ("reformed", &REFORMED),
        ("batch", &BATCH),
    ]
}

fn check(transcript: &Transcript) -> Report {
    replay(transcript, &scenario::verifier())
}

/// `f` over `items` on every core: a debug-build replay takes a large
/// fraction of a second (it re-verifies every signature and share), and
/// some tests here replay hundreds of transcripts.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread"))
            .collect()
    })
}

/// `t` (the ceremony's entries, changed) as whoever holds the log key
/// could present it: the changed entries logged in place of the recorded
/// ones, each proved against a freshly signed checkpoint.
fn relogged(recorded: &Recorded, t: &Transcript) -> Transcript {
    let mut log = recorded.log.clone();
    for (k, e) in t.entries.iter().enumerate() {
        log[recorded.ours[k] as usize] = e.entry.clone().into_bytes();
    }
    scenario::transcript_of(
        &log,
        &recorded.ours,
        scenario::CEREMONY,
        &scenario::log_key(),
    )
}

/// The first finding as `(entry, field)`, for assertions.
fn first(report: &Report) -> (Option<usize>, String) {
    let f = report
        .first_finding()
        .unwrap_or_else(|| panic!("replay found nothing wrong:\n{report}"));
    (f.entry, f.field.clone())
}
