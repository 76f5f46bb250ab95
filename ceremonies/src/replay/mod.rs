//! An auditor's offline replay of a ceremony transcript.
//!
//! A [`Transcript`] is a ceremony's entries from the record, each with an
//! inclusion proof against one signed checkpoint. [`replay`] checks, with
//! nothing but the log's verifier key: the checkpoint's signature; every
//! entry's inclusion and canonical encoding; that the entries are the key
//! group's registration, its roster changes up to the one the request is
//! judged by, the request and every event in order with none missing; and then runs the very engine the coordinator ran over the
//! events, so each signed approval, the policy at each step, the deadlines,
//! each signature share and the aggregate are checked again, and the
//! decisions it makes must be the ones recorded. The [`Report`] says what
//! happened and names the entry and field of every discrepancy.

mod report;
mod steps;
mod witnessed;

pub(crate) use witnessed::witnessed;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use quorate_tlog::{Checkpoint, Hash, InclusionProof, LogVerifier};
use quorate_types::CeremonyId;
use serde::{Deserialize, Serialize};

use crate::ceremony::signature_bytes;
use crate::record::Entry;
use crate::{Action, Ceremony, KeyGroup, Outcome, Phase};
use quorate_types::KeyGroupFile;

pub use report::{Finding, Report, Step};

pub const TRANSCRIPT_FORMAT: &str = "quorate-transcript/v1";

/// A self-contained, offline-checkable account of one ceremony.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    pub format: String,
    pub ceremony: CeremonyId,
    /// The signed checkpoint (C2SP tlog-checkpoint note) every proof is
    /// against.
    pub checkpoint: String,
    /// The key group's registration, its roster changes up to the request's
    /// version, the request, then every event.
    pub entries: Vec<TranscriptEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptEntry {
    /// Position in the log.
    pub index: u64,
    /// The entry's canonical bytes (they are UTF-8).
    pub entry: String,
    /// Inclusion proof of the entry in the checkpoint's tree.
    pub proof: Vec<Hash>,
}

/// Replays `transcript` against the log key `log`. Never fails: everything
/// wrong is a finding in the report.
pub fn replay(transcript: &Transcript, log: &LogVerifier) -> Report {
    Replayer::new(log).replay(transcript)
}

/// Replays many transcripts against one log key, keeping what they share:
/// each verified checkpoint and each key group's checked registration
/// (parsing a public key package checks every point, which cost more than
/// the rest of a small ceremony's replay). Safe to share across threads.
pub struct Replayer<'a> {
    log: &'a LogVerifier,
    checkpoints: Mutex<HashMap<String, Checkpoint>>,
    key_groups: Mutex<HashMap<Hash, Arc<KeyGroup>>>,
}

/// Entries each cache holds at most; it starts afresh when full.
const CACHED: usize = 1024;

impl<'a> Replayer<'a> {
    pub fn new(log: &'a LogVerifier) -> Self {
        Self {
            log,
            checkpoints: Mutex::default(),
            key_groups: Mutex::default(),
        }
    }

    /// As [`replay`].
    pub fn replay(&self, transcript: &Transcript) -> Report {
        let log = self.log;
        let mut report = Report::new(transcript.ceremony.clone());
        if transcript.format != TRANSCRIPT_FORMAT {
            report.finding(
                None,
                "format",
                format!("is {:?}, expected {TRANSCRIPT_FORMAT:?}", transcript.format),
            );
            return report;
        }
        let checkpoint = match self.checkpoint(&transcript.checkpoint) {
            Ok(c) => c,
            Err(e) => {
                report.finding(None, "checkpoint", e.to_string());
                return report;
            }
        };
        if checkpoint.origin != log.name() {
            report.finding(
                None,
                "checkpoint",
                format!(
                    "is of log {:?}, but the log key is {:?}'s",
                    checkpoint.origin,
                    log.name()
                ),
            );
            return report;
        }
        report.checkpoint = Some(report::CheckpointSummary {
            origin: checkpoint.origin.clone(),
            size: checkpoint.size,
            root: checkpoint.root.to_string(),
            signed_by: log.name().to_string(),
            witnessed_by: Vec::new(),
        });
        let entries = decode_all(transcript, &checkpoint, &mut report);
        run(self, transcript, &entries, &mut report);
        report
    }

    fn checkpoint(&self, note: &str) -> Result<Checkpoint, quorate_tlog::RecordError> {
        if let Some(c) = lock(&self.checkpoints).get(note) {
            return Ok(c.clone());
        }
        let checkpoint = self.log.verify_checkpoint(note)?;
        let mut cache = lock(&self.checkpoints);
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(note.to_string(), checkpoint.clone());
        Ok(checkpoint)
    }

    /// The key group of registration entry `bytes` (decoded as `file`),
    /// checked.
    fn registered(
        &self,
        bytes: &[u8],
        file: &KeyGroupFile,
    ) -> Result<Arc<KeyGroup>, (&'static str, String)> {
        let leaf = quorate_tlog::leaf_hash(bytes);
        if let Some(g) = lock(&self.key_groups).get(&leaf) {
            return Ok(g.clone());
        }
        let group = Arc::new(KeyGroup::with_package(file, file.checked_package()?));
        let mut cache = lock(&self.key_groups);
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(leaf, group.clone());
        Ok(group)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Checks each entry's place, inclusion and encoding; returns the decoded
/// entries (None where an entry does not decode).
fn decode_all(
    transcript: &Transcript,
    checkpoint: &Checkpoint,
    report: &mut Report,
) -> Vec<Option<Entry>> {
    let mut previous: Option<u64> = None;
    let mut later_version: Option<usize> = None;
    let mut out = Vec::with_capacity(transcript.entries.len());
    for (i, e) in transcript.entries.iter().enumerate() {
        // v1 is the first release's wording: once a later version was
        // written, a v1 entry (whose prose no replay compares) is not one
        // the coordinator wrote.
        match (Entry::version_of(e.entry.as_bytes()), later_version) {
            (Some(1), Some(first)) => report.finding(
                Some(i),
                "entry",
                format!(
                    "is a quorate-entry/v1 entry after entry {first}, a later version's: \
                     no release writes v1 entries after it"
                ),
            ),
            (Some(v), None) if v > 1 => later_version = Some(i),
            _ => {}
        }
        if let Some(p) = previous
            && e.index <= p
        {
            report.finding(
                Some(i),
                "index",
                format!(
                    "{} does not come after the previous entry's {p}: entries are out of order or repeated",
                    e.index
                ),
            );
        }
        previous = Some(e.index);
        let proof = InclusionProof {
            index: e.index,
            tree_size: checkpoint.size,
            hashes: e.proof.clone(),
        };
        let leaf = quorate_tlog::leaf_hash(e.entry.as_bytes());
        if let Err(why) = quorate_tlog::check_inclusion(&proof, leaf, checkpoint.root) {
            report.finding(
                Some(i),
                "proof",
                format!(
                    "entry {} is not in the checkpointed log as given: {why}",
                    e.index
                ),
            );
        }
        match Entry::decode(e.entry.as_bytes()) {
            Ok(entry) => out.push(Some(entry)),
            Err(why) => {
                report.finding(Some(i), "entry", why.to_string());
                out.push(None);
            }
        }
    }
    out
}

/// Rebuilds the ceremony with the engine and compares every decision.
fn run(
    replayer: &Replayer<'_>,
    transcript: &Transcript,
    entries: &[Option<Entry>],
    report: &mut Report,
) {
    let Some(Some(Entry::KeyGroupRegistered { at, by, key_group })) = entries.first() else {
        report.finding(
            Some(0),
            "entry",
            "the first entry must be the key group's registration".into(),
        );
        return;
    };
    let registered = match replayer.registered(transcript.entries[0].entry.as_bytes(), key_group) {
        Ok(g) => g,
        Err((field, why)) => {
            report.finding(Some(0), &format!("key_group.{field}"), why);
            return;
        }
    };
    let Some((group, changes)) = roster_in_effect(registered, entries, report) else {
        return;
    };
    let mut summary = report::GroupSummary::new(&group, *at, by);
    summary.roster_changes = changes;
    report.key_group = Some(summary);
    if let Some(witnesses) = &group.policy.witnesses {
        match witnessed(&transcript.checkpoint, witnesses) {
            Ok(by) => {
                if let Some(c) = report.checkpoint.as_mut() {
                    c.witnessed_by = by;
                }
            }
            Err(why) => report.finding(None, "checkpoint", why),
        }
    }
    let first_event = group.version as usize + 2;
    let request_at = first_event - 1;
    let Some(Some(Entry::CeremonyRequested { at, request })) = entries.get(request_at) else {
        report.finding(
            Some(request_at),
            "entry",
            "after the key group's registration and roster changes must come the ceremony's request".into(),
        );
        return;
    };
    if request.id != transcript.ceremony {
        report.finding(
            Some(request_at),
            "request.id",
            format!(
                "is {}, but the transcript is of ceremony {}",
                request.id, transcript.ceremony
            ),
        );
    }
    if *at != request.created_at {
        report.finding(
            Some(request_at),
            "at",
            "differs from request.created_at".to_string(),
        );
    }
    if request.key_group_version != group.version {
        report.finding(
            Some(request_at),
            "request.key_group_version",
            format!(
                "is {}, but the transcript holds the key group's roster changes up to {}: a roster change is missing or extra",
                request.key_group_version, group.version
            ),
        );
        return;
    }
    let mut ceremony = match Ceremony::new(request.clone(), group.clone()) {
        Ok(c) => c,
        Err(e) => {
            report.finding(
                Some(request_at),
                "request",
                format!("the engine refuses it: {e}"),
            );
            return;
        }
    };
    report.request = Some(report::RequestSummary::new(request));
    let mut last_at = *at;
    for (i, entry) in entries.iter().enumerate().skip(first_event) {
        let Some(entry) = entry else { continue };
        let Entry::CeremonyEvent {
            at,
            ceremony: id,
            seq,
            event,
            decisions,
        } = entry
        else {
            report.finding(
                Some(i),
                "entry",
                format!("expected a ceremony event, found {}", entry.kind()),
            );
            continue;
        };
        if *id != transcript.ceremony {
            report.finding(Some(i), "ceremony", format!("belongs to ceremony {id}"));
            continue;
        }
        if *seq != ceremony.version() {
            report.finding(
                Some(i),
                "seq",
                format!(
                    "is event {seq}, but event {} comes next: an entry is missing, repeated or out of order",
                    ceremony.version()
                ),
            );
            not_replayed(entries.len(), i, report);
            break;
        }
        if *at < last_at {
            report.finding(
                Some(i),
                "at",
                "is earlier than the entry before it".to_string(),
            );
        }
        last_at = *at;
        let before = ceremony.clone();
        match ceremony.handle(event, *at) {
            Ok(actions) => {
                let disagreement = first_disagreement(&actions, decisions);
                if let Some(j) = disagreement {
                    report.finding(
                        Some(i),
                        &format!("decisions[{j}]"),
                        format!(
                            "the engine decides {}, the record says {}",
                            steps::describe_action(actions.get(j)),
                            steps::describe_action(decisions.get(j))
                        ),
                    );
                }
                // Shown as recorded when they agree: a v1 entry's words
                // are the record's, not today's.
                let shown = if disagreement.is_none() {
                    decisions
                } else {
                    &actions
                };
                report.steps.push(steps::step(
                    i,
                    transcript.entries[i].index,
                    *at,
                    &before,
                    event,
                    shown,
                ));
            }
            Err(e) => {
                report.finding(
                    Some(i),
                    steps::field_of(&e),
                    format!("the engine refuses this event: {e}"),
                );
                not_replayed(entries.len(), i, report);
                break;
            }
        }
    }
    finish(&ceremony, report);
}

/// The key group as its registration (entry 0) and the roster changes
/// right after it leave it, with a line per change for the report. Each
/// change must be of this key group, numbered 1, 2, ... in order, and one
/// the coordinator may make (the same share holders, a valid policy).
fn roster_in_effect(
    registered: Arc<KeyGroup>,
    entries: &[Option<Entry>],
    report: &mut Report,
) -> Option<(Arc<KeyGroup>, Vec<String>)> {
    let mut group = registered;
    let mut lines = Vec::new();
    for (i, entry) in entries.iter().enumerate().skip(1) {
        let (at, by, name, v) = match entry {
            Some(Entry::RosterChanged {
                at,
                by,
                key_group,
                version,
                ..
            }) => (at, by, key_group, version),
            Some(Entry::KeyGroupChanged {
                at,
                by,
                key_group,
                version,
            }) => (at, by, &key_group.name, version),
            _ => break,
        };
        let refresh = matches!(entry, Some(Entry::KeyGroupChanged { .. }));
        let kind = if refresh { "refresh" } else { "roster change" };
        if *name != group.name {
            report.finding(
                Some(i),
                "key_group",
                format!("is a {kind} of {name}, not of {}", group.name),
            );
            return None;
        }
        if *v != group.version + 1 {
            report.finding(
                Some(i),
                "version",
                format!(
                    "is {v}, but change {} comes next: a {kind} is missing, repeated or out of order",
                    group.version + 1
                ),
            );
            return None;
        }
        let changed = match entry {
            Some(Entry::KeyGroupChanged { key_group, .. }) => group.with_refresh(key_group),
            Some(Entry::RosterChanged { roster, .. }) => group.with_roster(roster.clone()),
            _ => break,
        };
        match changed {
            Ok(changed) => group = Arc::new(changed),
            Err(why) => {
                report.finding(Some(i), if refresh { "key_group" } else { "roster" }, why);
                return None;
            }
        }
        let what = if refresh {
            "version {v}: shares refreshed"
        } else {
            "roster version {v}"
        };
        lines.push(format!(
            "{} recorded {} by {by}",
            what.replace("{v}", &v.to_string()),
            report::time(*at)
        ));
    }
    Some((group, lines))
}

/// After entry `i` cannot be applied, the ceremony's later state is
/// unknown: say so once rather than once per entry.
fn not_replayed(len: usize, i: usize, report: &mut Report) {
    if i + 1 < len {
        report.finding(
            Some(i + 1),
            "entry",
            format!(
                "entries {} to {} not replayed: the ceremony cannot be rebuilt past entry {i}",
                i + 1,
                len - 1
            ),
        );
    }
}

/// The first decision the engine makes now that the record does not hold.
fn first_disagreement(now: &[Action], recorded: &[Action]) -> Option<usize> {
    (0..now.len().max(recorded.len())).find(|&j| match (now.get(j), recorded.get(j)) {
        (Some(a), Some(b)) => !a.agrees_with(b),
        _ => true,
    })
}

/// The outcome, checked once more with plain Ed25519.
fn finish(ceremony: &Ceremony, report: &mut Report) {
    report.state = ceremony.state().to_string();
    // (After another finding the replay stopped early anyway.)
    if !matches!(ceremony.phase(), Phase::Done(_)) && report.findings.is_empty() {
        report.finding(
            None,
            "entries",
            format!(
                "the transcript ends while the ceremony is {}: it was cut short, or exported \
                 before the ceremony ended; only an ended ceremony's transcript replays",
                report.state
            ),
        );
    }
    report.review = ceremony.review_record().map(|r| {
        format!(
            "reviewed by {} at {}: {}",
            r.by,
            report::time(r.at),
            r.notes
        )
    });
    if let Phase::Done(Outcome::Signed { .. }) = ceremony.phase() {
        // Every message of the batch, each over the one its rule makes of
        // the signature before it.
        let signatures: Vec<[u8; 64]> = ceremony
            .batch_signatures()
            .iter()
            .map(signature_bytes)
            .collect();
        let request = ceremony.request();
        let verified = ed25519_dalek::VerifyingKey::from_bytes(&ceremony.key_group().group_key())
            .map_err(|e| format!("the group key is not an Ed25519 key: {e}"))
            .and_then(|key| {
                quorate_types::batch::verify(
                    &request.message,
                    &request.follow_ups,
                    &signatures,
                    &key,
                )
                .map_err(|e| e.to_string())
            });
        if let Err(why) = verified {
            report.finding(
                None,
                "signature",
                format!("the aggregate signature does not verify: {why}"),
            );
        }
        let mut hexes = signatures.iter().map(hex::encode);
        report.signature = hexes.next();
        report.follow_up_signatures = hexes.collect();
    }
}
