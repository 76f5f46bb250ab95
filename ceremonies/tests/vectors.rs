//! The frozen record vectors: transcripts written by an earlier release,
//! which every later release must decode and replay to the same verdict
//! (DESIGN invariant 6), and a snapshot of how today's code encodes each
//! kind of entry.
//!
//! `tests/vectors/v1/` holds, per scenario of `support::frozen`, the
//! transcript as `quorate audit export` writes it (`NAME.transcript.json`),
//! plus the log's verifier key (`log.vkey`) and what each replay must find
//! (`expected.json`). They were written once, by
//!
//! ```sh
//! QUORATE_WRITE_VECTORS=ceremonies/tests/vectors/v1 \
//!   cargo test -p quorate-ceremonies --test vectors -- --ignored write_vectors
//! ```
//!
//! and are never rewritten: a change that makes one fail changed how an
//! old entry decodes or replays.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use quorate_ceremonies::record::{Entry, RefusalReason, RefusedAction};
use quorate_ceremonies::replay::{Report, Transcript, replay};
use quorate_ceremonies::{Action, Event, Timestamp};
use quorate_tlog::LogVerifier;
use quorate_types::{CeremonyId, ParticipantId, Party, PartyRole};
use serde::{Deserialize, Serialize};

/// What the replay of one frozen transcript must find: the verdict, not
/// the words it is reported in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    state: String,
    /// Events replayed.
    steps: usize,
    signature: Option<String>,
    follow_up_signatures: Vec<String>,
    break_glass: Option<String>,
    reviewed: bool,
}

impl Expected {
    fn of(report: &Report) -> Self {
        Self {
            state: report.state.clone(),
            steps: report.steps.len(),
            signature: report.signature.clone(),
            follow_up_signatures: report.follow_up_signatures.clone(),
            break_glass: report.request.as_ref().and_then(|r| r.break_glass.clone()),
            reviewed: report.review.is_some(),
        }
    }
}

fn v1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/v1")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn frozen_v1_transcripts_replay_to_their_recorded_verdict() {
    let dir = v1();
    let log = LogVerifier::parse(read(&dir.join("log.vkey")).trim()).expect("the log key");
    let expected: BTreeMap<String, Expected> =
        serde_json::from_str(&read(&dir.join("expected.json"))).expect("expected.json");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("the vectors folder")
        .map(|e| {
            e.expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|name| name.strip_suffix(".transcript.json").map(String::from))
        .collect();
    assert_eq!(
        files,
        expected.keys().cloned().collect::<BTreeSet<_>>(),
        "every frozen transcript has its expectation, and no expectation lacks its transcript"
    );
    // The cases the record must keep replaying, whatever else is added.
    for case in [
        "raw",
        "sshsig",
        "dsse",
        "git-tag",
        "minisign-batch",
        "dropped-signer",
        "invalid-share",
        "expired",
        "vetoed",
        "cancelled",
        "break-glass-reviewed",
        "roster-change",
    ] {
        assert!(files.contains(case), "no frozen transcript for {case}");
    }
    for (name, want) in &expected {
        let path = dir.join(format!("{name}.transcript.json"));
        let transcript: Transcript = serde_json::from_str(&read(&path))
            .unwrap_or_else(|e| panic!("{name}: not a transcript: {e}"));
        // Every entry is still a v1 entry that decodes (which checks it is
        // in v1's canonical form).
        for (i, e) in transcript.entries.iter().enumerate() {
            assert_eq!(Entry::version_of(e.entry.as_bytes()), Some(1), "{name}");
            Entry::decode(e.entry.as_bytes())
                .unwrap_or_else(|err| panic!("{name}: entry {i} no longer decodes: {err}"));
        }
        let report = replay(&transcript, &log);
        assert!(report.passed, "{name}:\n{report}");
        assert_eq!(report.findings, vec![], "{name}");
        assert_eq!(&Expected::of(&report), want, "{name}");
    }
}

/// The frozen invalid-share transcript with `change` made to the entry
/// holding its dropped signer, logged afresh (as whoever holds the log key
/// could) so that every proof holds: what the replay finds is about the
/// entry itself.
fn relogged_invalid_share(change: impl Fn(&str) -> String) -> (Transcript, usize) {
    let text = read(&v1().join("invalid-share.transcript.json"));
    let transcript: Transcript = serde_json::from_str(&text).expect("a transcript");
    let mut log: Vec<Vec<u8>> = transcript
        .entries
        .iter()
        .map(|e| e.entry.as_bytes().to_vec())
        .collect();
    let at = transcript
        .entries
        .iter()
        .position(|e| e.entry.contains("drop_signer"))
        .expect("an entry that drops a signer");
    log[at] = change(&transcript.entries[at].entry).into_bytes();
    let ours: Vec<u64> = (0..log.len() as u64).collect();
    let key = support::transcript::log_key();
    let relogged =
        support::transcript::transcript_of(&log, &ours, transcript.ceremony.as_str(), &key);
    (relogged, at)
}

#[test]
fn a_v1_decision_is_checked_field_by_field_and_its_prose_is_left_alone() {
    let log = LogVerifier::parse(read(&v1().join("log.vkey")).trim()).expect("the log key");
    // As recorded, relogged: passes.
    let (same, _) = relogged_invalid_share(|e| e.to_string());
    let report = replay(&same, &log);
    assert!(report.passed, "{report}");

    // Another participant dropped: caught at that entry, in its decisions.
    let (other, at) = relogged_invalid_share(|e| {
        e.replace(
            r#""action":"drop_signer","participant":"alice""#,
            r#""action":"drop_signer","participant":"erin""#,
        )
    });
    let report = replay(&other, &log);
    assert!(!report.passed);
    let first = report.first_finding().expect("a finding");
    assert_eq!(first.entry, Some(at), "{report}");
    assert!(first.field.starts_with("decisions["), "{report}");

    // The v1 words reworded: words are shown, never compared (a new
    // release may word its reasons differently, and frost-core's error
    // text in them may change), so the replay still passes, and shows the
    // words recorded.
    let (reworded, _) =
        relogged_invalid_share(|e| e.replace("Invalid signature share.", "the share is not valid"));
    let report = replay(&reworded, &log);
    assert!(report.passed, "{report}");
    assert!(
        report.to_string().contains("the share is not valid"),
        "{report}"
    );
}

/// A transcript whose request names rules this release does not know is
/// not judged by today's rules: the replay stops at the request.
#[test]
fn a_request_of_unknown_rules_is_not_replayed_by_todays_rules() {
    let log = LogVerifier::parse(read(&v1().join("log.vkey")).trim()).expect("the log key");
    let text = read(&v1().join("raw.transcript.json"));
    let transcript: Transcript = serde_json::from_str(&text).expect("a transcript");
    let mut entries: Vec<Vec<u8>> = transcript
        .entries
        .iter()
        .map(|e| e.entry.as_bytes().to_vec())
        .collect();
    let at = transcript
        .entries
        .iter()
        .position(|e| e.entry.contains("\"entry\":\"ceremony_requested\""))
        .expect("a request");
    let request = String::from_utf8(entries[at].clone()).expect("UTF-8");
    let later = request
        .strip_suffix("}}")
        .map(|head| format!("{head},\"rules\":2}}}}"))
        .expect("a request entry ends its request and itself");
    assert!(Entry::decode(later.as_bytes()).is_ok(), "{later}");
    entries[at] = later.into_bytes();
    let ours: Vec<u64> = (0..entries.len() as u64).collect();
    let relogged = support::transcript::transcript_of(
        &entries,
        &ours,
        transcript.ceremony.as_str(),
        &support::transcript::log_key(),
    );
    let report = replay(&relogged, &log);
    assert!(!report.passed);
    let first = report.first_finding().expect("a finding");
    assert_eq!(first.entry, Some(at), "{report}");
    assert!(
        first.problem.contains("version 2 of the ceremony rules"),
        "{report}"
    );
    assert!(report.steps.is_empty(), "no event was judged: {report}");
}

/// Writes the vectors of today's code into `$QUORATE_WRITE_VECTORS`, a
/// folder that must not exist yet: frozen vectors are never overwritten.
#[test]
#[ignore = "writes the frozen vectors; run by hand, once per record version"]
fn write_vectors() {
    let out = PathBuf::from(
        std::env::var_os("QUORATE_WRITE_VECTORS").expect("QUORATE_WRITE_VECTORS=<new folder>"),
    );
    std::fs::create_dir(&out).expect("a new folder (frozen vectors are never overwritten)");
    let key = support::transcript::log_key();
    std::fs::write(out.join("log.vkey"), format!("{}\n", key.verifier_key())).expect("log.vkey");
    let log = key.verifier().expect("the verifier");
    let mut expected = BTreeMap::new();
    for (name, recorded) in support::frozen::all() {
        let report = replay(&recorded.transcript, &log);
        assert!(report.passed, "{name}:\n{report}");
        let json = serde_json::to_vec_pretty(&recorded.transcript).expect("a transcript");
        std::fs::write(out.join(format!("{name}.transcript.json")), json).expect("a transcript");
        expected.insert(name.to_string(), Expected::of(&report));
    }
    let json = serde_json::to_string_pretty(&expected).expect("expectations");
    std::fs::write(out.join("expected.json"), json + "\n").expect("expected.json");
}

/// One entry of each kind, each event type and each decision, as today's
/// code encodes it (`quorate-entry/v2`). A change here changes the record's bytes: new
/// behaviour gets a new entry kind or version, never a new encoding of an
/// old one.
#[test]
fn entry_encodings() {
    let mut seen = BTreeSet::new();
    let mut examples = Vec::new();
    let mut keep = |shape: String, entry: &Entry| {
        if seen.insert(shape.clone()) {
            examples.push(format!(
                "# {shape}\n{}\n",
                String::from_utf8_lossy(&entry.encode())
            ));
        }
    };
    for (_, recorded) in support::frozen::all() {
        for entry in recorded.entries() {
            let kind = entry.kind().to_string();
            match &entry {
                Entry::CeremonyEvent {
                    event, decisions, ..
                } => {
                    keep(format!("{kind}: {}", event_type(event)), &entry);
                    for decision in decisions {
                        keep(format!("decision: {}", decision_type(decision)), &entry);
                    }
                }
                _ => keep(kind, &entry),
            }
        }
    }
    let at = Timestamp(1_700_000_000_000);
    keep(
        "parties changed".into(),
        &Entry::PartiesChanged {
            at,
            by: "coordinator.toml".into(),
            parties: vec![Party {
                name: "release-manager".into(),
                roles: vec![PartyRole::Requester],
            }],
        },
    );
    keep(
        "refused action".into(),
        &Entry::Refused {
            at,
            caller: "mallory".into(),
            ceremony: Some(CeremonyId::new("release-1.0.0").expect("an id")),
            action: RefusedAction::Approve,
            why: RefusalReason::ForeignStatement {
                owner: ParticipantId::new("alice").expect("an id"),
            },
        },
    );
    insta::assert_snapshot!(examples.concat());
}

fn event_type(event: &Event) -> &'static str {
    match event {
        Event::Approved { .. } => "approved",
        Event::Cancelled { .. } => "cancelled",
        Event::Committed { .. } => "committed",
        Event::DeadlinePassed => "deadline passed",
        Event::Rejected { .. } => "rejected",
        Event::Reviewed { .. } => "reviewed",
        Event::ShareSubmitted { .. } => "share submitted",
    }
}

fn decision_type(action: &Action) -> String {
    match action {
        Action::AbandonAttempt { .. } => "abandon attempt".into(),
        Action::Close(outcome) => format!(
            "close ({})",
            serde_json::to_value(outcome).expect("an outcome")["outcome"]
                .as_str()
                .unwrap_or("?")
        ),
        Action::ContinueBatch { .. } => "continue batch".into(),
        Action::DropSigner { .. } => "drop signer".into(),
        Action::RequestCommitments { .. } => "request commitments".into(),
        Action::SendSigningPackage { .. } => "send signing package".into(),
    }
}

/// A v1 entry (whose prose no replay compares) after a v2 one is not one
/// any release wrote: the replay names it.
#[test]
fn a_v1_entry_after_a_v2_entry_is_caught() {
    let log = LogVerifier::parse(read(&v1().join("log.vkey")).trim()).expect("the log key");
    // The invalid-share ceremony recorded today (v2), with its dropped
    // signer's entry swapped for the frozen v1 one.
    let recorded = support::transcript::reformed_after_invalid_share();
    let frozen: Transcript =
        serde_json::from_str(&read(&v1().join("invalid-share.transcript.json"))).expect("v1");
    let position = |t: &Transcript| {
        t.entries
            .iter()
            .position(|e| e.entry.contains("drop_signer"))
            .expect("a dropped signer")
    };
    let mut entries: Vec<Vec<u8>> = recorded
        .transcript
        .entries
        .iter()
        .map(|e| e.entry.as_bytes().to_vec())
        .collect();
    let at = position(&recorded.transcript);
    entries[at] = frozen.entries[position(&frozen)].entry.clone().into_bytes();
    let ours: Vec<u64> = (0..entries.len() as u64).collect();
    let relogged = support::transcript::transcript_of(
        &entries,
        &ours,
        recorded.transcript.ceremony.as_str(),
        &support::transcript::log_key(),
    );
    let report = replay(&relogged, &log);
    assert!(!report.passed);
    let first = report.first_finding().expect("a finding");
    assert_eq!(first.entry, Some(at), "{report}");
    assert!(first.problem.contains("quorate-entry/v1"), "{report}");
}
