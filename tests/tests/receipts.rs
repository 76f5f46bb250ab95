//! Receipts from the real coordinator: every approval is answered with a
//! receipt under the log key, the agent journals it, and an auditor checks
//! it against the record: kept, or (for a statement the record lacks)
//! proof of a dropped decision.

use quorate_e2e::*;
use quorate_participant::journal::Journal;
use quorate_tlog::Receipt;
use quorate_types::CeremonyId;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_keep_receipts_that_the_record_honours() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    d.wait_finished(&id, T).await.unwrap();
    let log = quorate::audit::log_verifier(&d.log_verifier_key).unwrap();
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;

    d.stop_agent(&pid("alice")).await;
    let journal = Journal::open(&d.agent_configs[&pid("alice")].state_dir).unwrap();
    let entry = journal
        .get(&CeremonyId::new(&id).unwrap())
        .unwrap()
        .unwrap();
    let note = entry.receipt.expect("alice's agent journaled the receipt");
    let receipt = log.verify_receipt(&note).unwrap();
    assert_eq!(receipt.ceremony, id);
    assert!(receipt.covers(&entry.statement));
    let index = quorate::audit::receipted_entry(&mut audit, &receipt)
        .await
        .unwrap();
    assert!(index.is_some(), "the record holds the receipted statement");
    drop(journal);

    // A receipt the log key signed for a statement the record lacks is
    // what a dropped decision looks like to the auditor.
    let key = quorate_coordinator::log_key::load(
        &d.coordinator_config.data_dir,
        &d.coordinator_config.log_origin,
    )
    .unwrap();
    let dropped = Receipt::for_statement(key.name(), &id, b"a statement never recorded", 1);
    let note = key.sign_receipt(&dropped).unwrap();
    let dropped = log.verify_receipt(&note).unwrap();
    assert_eq!(
        quorate::audit::receipted_entry(&mut audit, &dropped)
            .await
            .unwrap(),
        None
    );
    d.stop().await.unwrap();
}
