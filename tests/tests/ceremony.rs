//! A 3-of-5 ceremony end to end, and its rejection.

use std::process::Command;

use quorate_e2e::*;
use quorate_formats::pem::ed25519_public_key_pem;
use quorate_wire::{self as proto, CeremonyState};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_of_five_signs_and_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;

    // The approver sees everything that will be signed before deciding.
    d.wait_pending(&pid("alice"), &id, T).await.unwrap();
    let review = d
        .control(&pid("alice"))
        .await
        .unwrap()
        .show(proto::ShowRequest {
            ceremony: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(review.decision, "pending");
    assert_eq!(
        review.artifacts,
        ["quorate-1.0.0.tar.gz", "quorate-1.0.0.zip"]
    );
    let shown = quorate_participant::control::describe(&review);
    assert!(shown.contains("requested by: release-manager"), "{shown}");
    assert!(
        shown.contains(&hex::encode(quorate_types::sha256(MANIFEST.as_bytes()))),
        "{shown}"
    );
    assert!(shown.contains("quorate-1.0.0.zip"), "{shown}");

    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);
    assert_eq!(s.attempt, 1);
    let approvers: Vec<_> = s.approvals.iter().map(|a| a.participant.as_str()).collect();
    assert_eq!(approvers, ["alice", "carol", "erin"]);

    // A consumer checks it with the openssl binary; a tampered manifest fails.
    let key: [u8; 32] = hex::decode(&d.group.group_key).unwrap().try_into().unwrap();
    let pem = dir.path().join("group.pub.pem");
    std::fs::write(&pem, ed25519_public_key_pem(&key)).unwrap();
    std::fs::write(dir.path().join("SHA256SUMS"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("SHA256SUMS.sig"), &s.signature).unwrap();
    std::fs::write(dir.path().join("TAMPERED"), MANIFEST.replace("zip", "exe")).unwrap();
    let openssl = |msg: &str| {
        Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&pem)
            .arg("-rawin")
            .arg("-in")
            .arg(dir.path().join(msg))
            .arg("-sigfile")
            .arg(dir.path().join("SHA256SUMS.sig"))
            .output()
            .expect("the openssl binary is installed (see .ci/run)")
    };
    let good = openssl("SHA256SUMS");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("Signature Verified Successfully"));
    assert!(!openssl("TAMPERED").status.success());

    // A fourth approval after the ceremony ended is refused and changes nothing.
    let late = d
        .approve(&pid("bob"), &id, std::time::Duration::from_millis(300))
        .await;
    assert!(late.is_err(), "bob could still approve a signed ceremony");
    assert_eq!(status(&d, &id).await, s);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejections_that_leave_no_quorum_end_the_ceremony() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    for (n, who) in ["bob", "carol", "dave"].into_iter().enumerate() {
        d.wait_pending(&pid(who), &id, T).await.unwrap();
        d.control(&pid(who))
            .await
            .unwrap()
            .reject(proto::DecideRequest {
                ceremony: id.clone(),
                reason: format!("manifest lists the wrong build ({n})"),
            })
            .await
            .unwrap();
        let s = status(&d, &id).await;
        if n < 2 {
            // 5 - rejections >= 3: a quorum is still possible.
            assert_eq!(
                s.state(),
                CeremonyState::CollectingApprovals,
                "{}",
                s.summary
            );
        }
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Rejected);
    assert!(s.summary.contains("rejected by bob"), "{}", s.summary);
    assert_eq!(s.rejections.len(), 3);
    assert!(s.signature.is_empty());

    // Erin can no longer decide: the agent says so, the coordinator too.
    d.wait_pending(&pid("erin"), &id, std::time::Duration::from_millis(1))
        .await
        .unwrap_err();
    let mut erin = raw_signer(&d, "erin").await;
    let err = erin
        .reject(proto::RejectRequest {
            ceremony: id.clone(),
            statement: signed(
                &d,
                "erin",
                &id,
                MANIFEST.as_bytes(),
                quorate_types::Decision::Reject {
                    reason: "late".into(),
                },
            ),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("rejected and takes no more input"),
        "{}",
        err.message()
    );
    d.stop().await.unwrap();
}
