//! Clean transcripts.

use super::*;

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
