//! The auditor's offline replay (`quorate_ceremonies::replay`) over
//! transcripts recorded as the coordinator records them, from real FROST
//! ceremonies with seeded randomness (`support::transcript`): clean ones
//! pass and say what happened; any single change to an entry, to the order
//! or set of entries, to a proof or to the checkpoint is caught, and the
//! first finding names the entry that was changed.

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

// === clean transcripts ===

#[test]
fn clean_transcripts_replay_to_the_recorded_outcome() {
    for (name, recorded) in scenarios() {
        let t = &recorded.transcript;
        let report = check(t);
        assert!(report.passed, "{name}:\n{report}");
        assert_eq!(report.findings, vec![], "{name}");
        assert_eq!(report.first_finding(), None, "{name}");
        assert_eq!(report.state, "signed", "{name}");
        assert_eq!(
            report.state,
            recorded.ceremony.state().to_string(),
            "{name}"
        );
        // One step per event, each naming its transcript and log position.
        assert_eq!(report.steps.len(), t.entries.len() - 2, "{name}");
        for (k, step) in report.steps.iter().enumerate() {
            assert_eq!(step.entry, k + 2, "{name}");
            assert_eq!(step.index, t.entries[k + 2].index, "{name}");
        }
        let signature = recorded.ceremony.signature().expect("signed");
        assert_eq!(
            report.signature,
            Some(hex::encode(signature.serialize().expect("signature bytes"))),
            "{name}"
        );
        let checkpoint = report.checkpoint.as_ref().expect("a checkpoint summary");
        assert_eq!(checkpoint.origin, scenario::LOG_ORIGIN);
        assert_eq!(checkpoint.size, recorded.log.len() as u64);
        // The ceremony's entries are not the whole log, nor contiguous in it.
        assert!(
            t.entries.windows(2).any(|w| w[1].index > w[0].index + 1),
            "{name}: indexes {:?}",
            recorded.ours
        );
        assert!(t.entries[0].index > 0);
    }
    assert!(BREAK_GLASS.transcript.entries.len() > 8);
    let review = check(&BREAK_GLASS.transcript).review;
    assert!(
        review
            .as_deref()
            .is_some_and(|r| r.starts_with("reviewed by auditor")),
        "{review:?}"
    );
    let text = check(&REFORMED.transcript).to_string();
    assert!(text.contains("INVALID signature share"), "{text}");
    assert!(text.contains("attempt 2"), "{text}");
    // A batch: both messages' signatures are re-checked and reported.
    let report = check(&BATCH.transcript);
    let signatures = BATCH.ceremony.batch_signatures();
    assert_eq!(signatures.len(), 2);
    assert_eq!(
        report.follow_up_signatures,
        vec![hex::encode(
            signatures[1].serialize().expect("signature bytes")
        )]
    );
    let request = report.request.as_ref().expect("a request summary");
    assert_eq!(request.follow_ups.len(), 1);
    assert!(request.follow_ups[0].contains("hashed"), "{request:?}");
}

/// Every message of a replayed batch must verify: a transcript whose final
/// signature is swapped for another valid-looking one is caught even when
/// the log key holder logs it.
#[test]
fn a_batch_whose_follow_up_signature_was_altered_is_caught() {
    let mut t = BATCH.transcript.clone();
    let i = position(&t, |e| {
        matches!(e, Entry::CeremonyEvent { decisions, .. }
            if serde_json::to_value(decisions).expect("JSON")[0]["outcome"] == "signed")
    });
    alter(&mut t, i, "/decisions/0/follow_ups/0");
    let report = check(&relogged(&BATCH, &t));
    assert_eq!(
        first(&report),
        (Some(i), "decisions[0]".to_string()),
        "{report}"
    );
    // And a statement that approves the message but not the batch's
    // trusted comment does not count.
    let mut t = BATCH.transcript.clone();
    let i = position(&t, |e| is_event(e, "approved"));
    alter(&mut t, i, "/event/statement/statement/follow_ups/0/suffix");
    let report = check(&relogged(&BATCH, &t));
    assert_eq!(first(&report).0, Some(i), "{report}");
}

#[test]
fn transcripts_are_reproducible() {
    let again = scenario::clean();
    assert_eq!(again.transcript, CLEAN.transcript);
    assert_eq!(again.log, CLEAN.log);
    let again = scenario::reformed_after_invalid_share();
    assert_eq!(again.transcript, REFORMED.transcript);
}

#[test]
fn the_report_serializes_for_tools() {
    let json = serde_json::to_string(&check(&CLEAN.transcript)).expect("JSON");
    assert!(json.contains("\"passed\":true"), "{json}");
    let transcript_json = serde_json::to_string(&CLEAN.transcript).expect("JSON");
    let back: Transcript = serde_json::from_str(&transcript_json).expect("a transcript");
    assert_eq!(back, CLEAN.transcript);
}

#[test]
fn clean_reports_read_as_expected() {
    insta::assert_snapshot!("clean_report", check(&CLEAN.transcript).to_string());
    insta::assert_snapshot!(
        "break_glass_reviewed_report",
        check(&BREAK_GLASS.transcript).to_string()
    );
    insta::assert_snapshot!(
        "reformed_after_invalid_share_report",
        check(&REFORMED.transcript).to_string()
    );
    insta::assert_snapshot!(
        "minisign_batch_report",
        check(&BATCH.transcript).to_string()
    );
}

// === an order-keeping JSON value, to change one leaf of an entry ===

/// A JSON value that keeps object keys in their order (serde_json's
/// `Value` sorts them), so that an unchanged value re-encodes to the very
/// bytes it came from.
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    U(u64),
    I(i64),
    F(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::U(n) => s.serialize_u64(*n),
            Json::I(n) => s.serialize_i64(*n),
            Json::F(x) => s.serialize_f64(*x),
            Json::Str(text) => s.serialize_str(text),
            Json::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Obj(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json, E> {
                Ok(Json::U(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json, E> {
                Ok(Json::I(n))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Json, E> {
                Ok(Json::F(x))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Json, E> {
                Ok(Json::Str(text.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Arr(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    fields.push((k, v));
                }
                Ok(Json::Obj(fields))
            }
        }
        d.deserialize_any(V)
    }
}

/// Calls `f` on every leaf (not an array or object) of `json` with its
/// path, e.g. `event.statement.signature` or `decisions[0].signers[1]`.
fn for_each_leaf(json: &mut Json, path: &str, f: &mut dyn FnMut(&str, &mut Json)) {
    match json {
        Json::Arr(items) => {
            for (k, item) in items.iter_mut().enumerate() {
                for_each_leaf(item, &format!("{path}[{k}]"), f);
            }
        }
        Json::Obj(fields) => {
            for (key, value) in fields.iter_mut() {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                for_each_leaf(value, &p, f);
            }
        }
        leaf => f(path, leaf),
    }
}

/// The next character in its class (hex digits 0-9a-f, then other
/// letters), wrapping around; `None` for anything else.
fn next_char(c: char) -> Option<char> {
    Some(match c {
        '0'..='8' | 'a'..='e' | 'g'..='y' | 'A'..='Y' => char::from(c as u8 + 1),
        '9' => 'a',
        'f' => '0',
        'z' => 'g',
        'Z' => 'A',
        _ => return None,
    })
}

/// Changes a leaf minimally: flips a bool, adds one to a number, moves the
/// last letter or digit of a string on by one (so hex stays hex). Returns
/// false for a leaf that cannot be changed so (null).
fn change(leaf: &mut Json) -> bool {
    match leaf {
        Json::Null | Json::Arr(_) | Json::Obj(_) => return false,
        Json::Bool(b) => *b = !*b,
        Json::U(n) => *n = n.checked_add(1).unwrap_or(u64::MAX - 1),
        Json::I(n) => *n = n.checked_add(1).unwrap_or(i64::MAX - 1),
        Json::F(x) => *x += 1.0,
        Json::Str(text) => {
            let last = text
                .char_indices()
                .rev()
                .find_map(|(k, c)| next_char(c).map(|n| (k, c, n)));
            match last {
                Some((k, c, n)) => {
                    text.replace_range(k..k + c.len_utf8(), n.encode_utf8(&mut [0; 4]))
                }
                None => text.push('x'),
            }
        }
    }
    true
}

/// Spells a lowercase hex string in upper case: the same bytes to a hex
/// decoder, but not the canonical spelling. Returns false for a leaf that
/// is not such a string.
fn respell(leaf: &mut Json) -> bool {
    match leaf {
        Json::Str(text)
            if text.len() % 2 == 0
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && text.bytes().any(|b| b.is_ascii_lowercase()) =>
        {
            *text = text.to_ascii_uppercase();
            true
        }
        _ => false,
    }
}

fn parse_entry(text: &str) -> Json {
    let body = text
        .as_bytes()
        .strip_prefix(ENTRY_PREFIX)
        .expect("an entry starts with its prefix");
    serde_json::from_slice(body).expect("an entry is JSON")
}

fn encode_json(json: &Json) -> String {
    let mut bytes = ENTRY_PREFIX.to_vec();
    bytes.extend(serde_json::to_vec(json).expect("JSON"));
    String::from_utf8(bytes).expect("UTF-8")
}

/// A way to change a leaf; false if it does not apply to that leaf.
type Change = fn(&mut Json) -> bool;

/// One changed leaf of one entry.
struct Mutation {
    /// Position of the entry in the transcript.
    entry: usize,
    path: String,
    /// The changed entry: canonical if it still decodes as an entry, else
    /// the compact JSON of the changed value.
    text: String,
}

/// Every single-leaf change of every entry of `transcript` (each leaf
/// changed minimally, and each hex string also spelled in upper case), and
/// how many changes were skipped because they mean the same entry.
fn mutations(transcript: &Transcript) -> (Vec<Mutation>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, e) in transcript.entries.iter().enumerate() {
        let original = Entry::decode(e.entry.as_bytes()).expect("a canonical entry");
        let json = parse_entry(&e.entry);
        assert_eq!(
            encode_json(&json),
            e.entry,
            "the order-keeping JSON re-encodes entry {i} to its bytes"
        );
        let mut paths = Vec::new();
        for_each_leaf(&mut json.clone(), "", &mut |p, _| paths.push(p.to_string()));
        let hows: [(&str, Change); 2] = [("", change), (" (upper-case hex)", respell)];
        for (n, path) in paths.iter().enumerate() {
            for (suffix, how) in hows {
                let mut changed = json.clone();
                let mut k = 0;
                let mut did = false;
                for_each_leaf(&mut changed, "", &mut |_, leaf| {
                    if k == n {
                        did = how(leaf);
                    }
                    k += 1;
                });
                if !did {
                    continue;
                }
                let compact = encode_json(&changed);
                let body = &compact.as_bytes()[ENTRY_PREFIX.len()..];
                let text = match serde_json::from_slice::<Entry>(body) {
                    // The change means the same entry (another spelling of
                    // the same value): not a tamper.
                    Ok(entry) if entry == original || entry.encode() == e.entry.as_bytes() => {
                        skipped += 1;
                        continue;
                    }
                    Ok(entry) => String::from_utf8(entry.encode()).expect("UTF-8"),
                    Err(_) => compact,
                };
                assert_ne!(text, e.entry);
                out.push(Mutation {
                    entry: i,
                    path: format!("{path}{suffix}"),
                    text,
                });
            }
        }
    }
    (out, skipped)
}

// === tampering, with the log's own checkpoint ===

/// Every single-field change of every entry, against the checkpoint the log
/// signed: replay fails, and the first finding is at the changed entry.
#[test]
fn any_changed_field_of_any_entry_is_caught_at_that_entry() {
    let mut cases = Vec::new();
    let mut skipped = 0;
    for (name, recorded) in scenarios() {
        let (mutations, same) = mutations(&recorded.transcript);
        skipped += same;
        cases.extend(mutations.into_iter().map(|m| (name, recorded, m)));
    }
    let wrong: Vec<String> = par_map(&cases, |(name, recorded, m)| {
        let mut t = recorded.transcript.clone();
        t.entries[m.entry].entry = m.text.clone();
        let report = check(&t);
        let first = report.first_finding();
        (report.passed || first.and_then(|f| f.entry) != Some(m.entry)).then(|| {
            format!(
                "{name}: entry {} {}: first finding {:?}",
                m.entry, m.path, first
            )
        })
    })
    .into_iter()
    .flatten()
    .collect();
    let checked = cases.len();
    eprintln!("single-field tampers: {checked} checked, {skipped} skipped as meaning the same");
    assert_eq!(wrong, Vec::<String>::new());
    assert!(checked > 200, "only {checked} mutations were checked");
}

/// The same changes made by whoever holds the log key: the changed entry
/// is logged and proved as if it had always been there, so only the
/// engine and the signatures inside the entries can catch it. What each
/// change leads to is in the snapshot; the ones nothing but the log
/// vouches for (times within the deadlines, free-text notes, display
/// names) say "not detected".
#[test]
fn changed_fields_logged_by_the_log_key_holder() {
    let recorded = &*CLEAN;
    let (mutations, _) = mutations(&recorded.transcript);
    let lines = par_map(&mutations, |m| {
        let mut t = recorded.transcript.clone();
        t.entries[m.entry].entry = m.text.clone();
        let report = check(&relogged(recorded, &t));
        let outcome = match report.first_finding() {
            None => "not detected".to_string(),
            Some(f) => match f.entry {
                Some(e) if e == m.entry => f.field.clone(),
                Some(e) => format!("entry {e}, {}", f.field),
                None => f.field.clone(),
            },
        };
        (
            m.entry,
            m.path.clone(),
            outcome,
            report.first_finding().cloned(),
        )
    });
    // Whatever an approver signed, the engine decided, or orders the
    // events is caught at the changed entry itself.
    for (entry, path, outcome, finding) in &lines {
        let bound = [
            "entry",
            "seq",
            "ceremony",
            "event.type",
            "event.statement",
            "event.participant",
            "event.attempt",
            "event.share",
            "decisions",
        ]
        .iter()
        .any(|p| {
            path == p || path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}["))
        });
        if bound {
            assert_eq!(
                finding.as_ref().and_then(|f| f.entry),
                Some(*entry),
                "entry {entry} {path}: {outcome}"
            );
        }
    }
    let table: String = lines
        .iter()
        .map(|(entry, path, outcome, _)| format!("[{entry}] {path}: {outcome}\n"))
        .collect();
    insta::assert_snapshot!("relogged_single_field_tampers", table);
}

fn flip_hex_digit(text: &mut String) {
    let mut json = Json::Str(std::mem::take(text));
    assert!(change(&mut json));
    let Json::Str(changed) = json else {
        unreachable!()
    };
    *text = changed;
}

/// Position in the transcript of the first event entry matching `pred`.
fn position(t: &Transcript, pred: impl Fn(&Entry) -> bool) -> usize {
    t.entries
        .iter()
        .position(|e| pred(&Entry::decode(e.entry.as_bytes()).expect("an entry")))
        .expect("an entry of that kind")
}

fn is_event(entry: &Entry, kind: &str) -> bool {
    matches!(entry, Entry::CeremonyEvent { event, .. }
        if serde_json::to_value(event).expect("JSON")["type"] == kind)
}

/// Changes the string at `pointer` (a JSON pointer into the entry body) of
/// entry `i`, keeping the entry canonical.
fn alter(t: &mut Transcript, i: usize, pointer: &str) {
    let mut value: serde_json::Value =
        serde_json::from_slice(&t.entries[i].entry.as_bytes()[ENTRY_PREFIX.len()..]).expect("JSON");
    let field = value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("entry {i} has {pointer}"));
    let mut text = field.as_str().expect("a string").to_string();
    flip_hex_digit(&mut text);
    *field = serde_json::Value::String(text);
    let entry: Entry = serde_json::from_value(value).expect("still an entry");
    t.entries[i].entry = String::from_utf8(entry.encode()).expect("UTF-8");
}

#[test]
fn a_dropped_event_is_caught_at_the_entry_after_it() {
    for (name, recorded) in scenarios() {
        let t0 = &recorded.transcript;
        // Every event but the last: dropping it leaves a gap in seq.
        for j in 2..t0.entries.len() - 1 {
            let mut t = t0.clone();
            t.entries.remove(j);
            let report = check(&t);
            let (entry, field) = first(&report);
            assert_eq!(entry, Some(j), "{name}, dropped {j}:\n{report}");
            assert_eq!(field, "seq", "{name}, dropped {j}:\n{report}");
        }
    }
    // Without the registration or the request there is nothing to replay.
    for j in [0, 1] {
        let mut t = CLEAN.transcript.clone();
        t.entries.remove(j);
        assert_eq!(first(&check(&t)), (Some(j), "entry".to_string()));
    }
}

/// A transcript that ends early tells a true but shorter story: replay
/// cannot know that the log holds more, so it passes, and the outcome it
/// reports is where the shortened ceremony stood.
#[test]
fn a_transcript_cut_short_replays_to_an_earlier_state() {
    let mut t = CLEAN.transcript.clone();
    t.entries.pop();
    let report = check(&t);
    assert!(report.passed, "{report}");
    assert_eq!(report.state, "signing");
    assert_eq!(report.signature, None);

    let mut t = BREAK_GLASS.transcript.clone();
    t.entries.pop();
    let report = check(&t);
    assert!(report.passed, "{report}");
    assert_eq!(report.state, "signed, awaiting review");
    assert_eq!(report.review, None);
}

#[test]
fn swapped_events_are_caught() {
    for (name, recorded) in scenarios() {
        let t0 = &recorded.transcript;
        for j in 2..t0.entries.len() - 1 {
            let mut t = t0.clone();
            t.entries.swap(j, j + 1);
            let report = check(&t);
            let (entry, field) = first(&report);
            assert_eq!(entry, Some(j + 1), "{name}, swapped {j}:\n{report}");
            assert_eq!(field, "index", "{name}, swapped {j}:\n{report}");
            // The engine's view names the first one out of place, too.
            assert!(
                report
                    .findings
                    .iter()
                    .any(|f| f.entry == Some(j) && f.field == "seq"),
                "{name}, swapped {j}:\n{report}"
            );
        }
    }
}

#[test]
fn a_duplicated_event_is_caught() {
    for (name, recorded) in scenarios() {
        let t0 = &recorded.transcript;
        for j in 2..t0.entries.len() {
            let mut t = t0.clone();
            t.entries.insert(j + 1, t0.entries[j].clone());
            let report = check(&t);
            let (entry, field) = first(&report);
            assert_eq!(entry, Some(j + 1), "{name}, duplicated {j}:\n{report}");
            assert_eq!(field, "index", "{name}, duplicated {j}:\n{report}");
            assert!(
                report
                    .findings
                    .iter()
                    .any(|f| f.entry == Some(j + 1) && f.field == "seq"),
                "{name}, duplicated {j}:\n{report}"
            );
        }
    }
}

/// Each hash of each entry's proof altered, a hash dropped or added, and
/// the entry moved to another log position: each is caught at its entry.
#[test]
fn any_altered_proof_is_caught_at_its_entry() {
    let t0 = &CLEAN.transcript;
    let mut cases: Vec<(usize, String, Transcript)> = Vec::new();
    for (i, e) in t0.entries.iter().enumerate() {
        assert!(!e.proof.is_empty());
        for h in 0..e.proof.len() {
            let mut t = t0.clone();
            t.entries[i].proof[h].0[31] ^= 1;
            cases.push((i, format!("hash {h} altered"), t));
        }
        let mut t = t0.clone();
        t.entries[i].proof.pop();
        cases.push((i, "a hash short".into(), t));
        let mut t = t0.clone();
        t.entries[i].proof.push(e.proof[0]);
        cases.push((i, "a hash too many".into(), t));
        let mut t = t0.clone();
        t.entries[i].index += 1;
        cases.push((i, "index + 1".into(), t));
    }
    let reports = par_map(&cases, |(_, _, t)| check(t));
    for ((i, what, _), report) in cases.iter().zip(&reports) {
        let (entry, field) = first(report);
        assert_eq!(entry, Some(*i), "entry {i}, {what}:\n{report}");
        if !what.starts_with("index") {
            assert_eq!(field, "proof", "entry {i}, {what}:\n{report}");
            assert_eq!(report.findings.len(), 1, "entry {i}, {what}:\n{report}");
        }
    }
    assert!(cases.len() > 40, "{}", cases.len());
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let body = Checkpoint::parse(
        &scenario::verifier()
            .verify_note(&CLEAN.transcript.checkpoint)
            .expect("the log's note"),
    )
    .expect("a checkpoint");
    for key in [
        LogKey::from_seed(scenario::LOG_ORIGIN, &[0x17; 32]).expect("a key"),
        LogKey::from_seed("mallory.example/log", &scenario::LOG_SEED).expect("a key"),
    ] {
        let mut t = CLEAN.transcript.clone();
        t.checkpoint = key.sign_checkpoint(&body).expect("signed");
        let report = check(&t);
        assert_eq!(first(&report), (None, "checkpoint".to_string()), "{report}");
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.checkpoint, None);
    }
    // The log's signature, on an altered body.
    let mut t = CLEAN.transcript.clone();
    t.checkpoint = t.checkpoint.replacen(
        &format!("\n{}\n", body.size),
        &format!("\n{}\n", body.size + 1),
        1,
    );
    assert_ne!(t.checkpoint, CLEAN.transcript.checkpoint);
    assert_eq!(first(&check(&t)), (None, "checkpoint".to_string()));
}

#[test]
fn a_checkpoint_of_another_tree_fails_every_proof() {
    let recorded = &*CLEAN;
    let key = scenario::log_key();
    // A larger tree: the same log and one more entry.
    let mut larger = recorded.log.clone();
    larger.push(recorded.log[0].clone());
    // Another tree of the same size: the first (unrelated) entry differs.
    let mut other = recorded.log.clone();
    let mut first_entry = String::from_utf8(other[0].clone()).expect("UTF-8");
    first_entry = first_entry.replace("ops-admin", "ops-admix");
    other[0] = first_entry.into_bytes();
    for log in [larger, other] {
        let signed = scenario::transcript_of(&log, &recorded.ours, scenario::CEREMONY, &key);
        let mut t = recorded.transcript.clone();
        t.checkpoint = signed.checkpoint;
        let report = check(&t);
        assert_eq!(first(&report), (Some(0), "proof".to_string()), "{report}");
        for i in 0..t.entries.len() {
            assert!(
                report
                    .findings
                    .iter()
                    .any(|f| f.entry == Some(i) && f.field == "proof"),
                "entry {i}:\n{report}"
            );
        }
    }
}

#[test]
fn an_altered_signature_share_is_caught_at_its_entry() {
    for (name, recorded) in scenarios() {
        let mut t = recorded.transcript.clone();
        let i = position(&t, |e| is_event(e, "share_submitted"));
        alter(&mut t, i, "/event/share/share");
        let report = check(&t);
        assert_eq!(
            first(&report),
            (Some(i), "proof".to_string()),
            "{name}:\n{report}"
        );
        // Logged so by the log key holder, the share itself gives it away:
        // the engine drops the signer where the record says nothing.
        let report = check(&relogged(recorded, &t));
        assert_eq!(
            first(&report),
            (Some(i), "decisions[0]".to_string()),
            "{name}:\n{report}"
        );
    }
}

#[test]
fn an_altered_aggregate_signature_is_caught_at_its_entry() {
    for (name, recorded) in scenarios() {
        let mut t = recorded.transcript.clone();
        let i = position(&t, |e| {
            matches!(e, Entry::CeremonyEvent { decisions, .. }
                if serde_json::to_value(decisions).expect("JSON")[0]["outcome"] == "signed")
        });
        alter(&mut t, i, "/decisions/0/signature");
        let report = check(&t);
        let (entry, field) = first(&report);
        assert_eq!(entry, Some(i), "{name}:\n{report}");
        assert!(
            field == "proof" || field.starts_with("decisions"),
            "{name}:\n{report}"
        );
        let report = check(&relogged(recorded, &t));
        assert_eq!(
            first(&report),
            (Some(i), "decisions[0]".to_string()),
            "{name}:\n{report}"
        );
    }
}

#[test]
fn a_transcript_of_another_ceremony_id_is_caught_at_the_request() {
    let mut t = CLEAN.transcript.clone();
    t.ceremony = CeremonyId::new("release-1.0.1").expect("an id");
    let report = check(&t);
    assert_eq!(
        first(&report),
        (Some(1), "request.id".to_string()),
        "{report}"
    );
    // Every event is of the ceremony the transcript does not claim.
    for i in 2..t.entries.len() {
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.entry == Some(i) && f.field == "ceremony"),
            "{report}"
        );
    }
}

#[test]
fn a_non_canonical_entry_is_caught() {
    let recorded = &*CLEAN;
    let i = 3;
    let spaced = recorded.transcript.entries[i].entry.replacen(",", ", ", 1);
    assert!(Entry::decode(spaced.as_bytes()).is_err());
    // As the transcript gives it: not what the log holds, and not canonical.
    let mut t = recorded.transcript.clone();
    t.entries[i].entry = spaced;
    let report = check(&t);
    assert_eq!(first(&report), (Some(i), "proof".to_string()), "{report}");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.entry == Some(i) && f.field == "entry" && f.problem.contains("canonical")),
        "{report}"
    );
    // As a log that took the non-canonical bytes would prove it.
    let report = check(&relogged(recorded, &t));
    let f = report.first_finding().expect("a finding");
    assert_eq!((f.entry, f.field.as_str()), (Some(i), "entry"), "{report}");
    assert!(f.problem.contains("canonical"), "{report}");
}

#[test]
fn an_unknown_transcript_format_is_refused() {
    let mut t = CLEAN.transcript.clone();
    t.format = "quorate-transcript/v2".into();
    assert_eq!(first(&check(&t)), (None, "format".to_string()));
}

#[test]
fn a_tampered_report_reads_as_expected() {
    let mut t = CLEAN.transcript.clone();
    let i = position(&t, |e| is_event(e, "approved"));
    alter(&mut t, i, "/event/statement/signature");
    let report = check(&t);
    assert_eq!(first(&report), (Some(i), "proof".to_string()));
    insta::assert_snapshot!("tampered_approval_signature_report", report.to_string());
}

// === roster changes ===

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
