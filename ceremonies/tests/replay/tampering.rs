//! Tampering, with the log's own checkpoint.

use super::*;

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

pub(super) fn flip_hex_digit(text: &mut String) {
    let mut json = Json::Str(std::mem::take(text));
    assert!(change(&mut json));
    let Json::Str(changed) = json else {
        unreachable!()
    };
    *text = changed;
}

/// Position in the transcript of the first event entry matching `pred`.
pub(super) fn position(t: &Transcript, pred: impl Fn(&Entry) -> bool) -> usize {
    t.entries
        .iter()
        .position(|e| pred(&Entry::decode(e.entry.as_bytes()).expect("an entry")))
        .expect("an entry of that kind")
}

pub(super) fn is_event(entry: &Entry, kind: &str) -> bool {
    matches!(entry, Entry::CeremonyEvent { event, .. }
        if serde_json::to_value(event).expect("JSON")["type"] == kind)
}

/// Changes the string at `pointer` (a JSON pointer into the entry body) of
/// entry `i`, keeping the entry canonical.
pub(super) fn alter(t: &mut Transcript, i: usize, pointer: &str) {
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
/// reports where the shortened ceremony stood, and fails: only an ended
/// ceremony's transcript replays.
#[test]
fn a_transcript_cut_short_fails_unless_the_ceremony_had_ended() {
    let mut t = CLEAN.transcript.clone();
    t.entries.pop();
    let report = check(&t);
    assert!(!report.passed, "{report}");
    assert_eq!(report.state, "signing");
    assert_eq!(report.signature, None);
    assert_eq!(first(&report), (None, "entries".to_string()));
    let text = report.to_string();
    assert!(
        text.contains("ends while the ceremony is signing"),
        "{text}"
    );

    // A break-glass ceremony ended when it was signed; its review may
    // come later, so a transcript without it still replays.
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
