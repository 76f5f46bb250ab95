//! Agents check the whole policy themselves, from the coordinator's proven
//! record, before they release a share. Here the coordinator applies a
//! laxer policy than the one the agents hold (as a coordinator that skips
//! part of the policy would): a security reviewer's veto it ignores, or a
//! requester the policy does not list. The agents see it in the record and
//! refuse round 2. A request the agents' policy does not take as the
//! requester's (unsigned, or signed by a key that is not the requester's)
//! they refuse to show or approve at all.

use std::time::Duration;

use quorate::local::{LocalDeployment, REQUESTER};
use quorate_e2e::*;
use quorate_secrets::GroupFileIo;
use quorate_types::KeyGroupFile;

/// Restarts alice's, carol's and erin's agents with `stricter` applied to
/// the policy in their key group file (the coordinator keeps its own).
async fn stricter_agents(d: &mut LocalDeployment, stricter: impl Fn(&mut quorate_types::Policy)) {
    for who in ["alice", "carol", "erin"] {
        d.stop_agent(&pid(who)).await;
        let path = d.agent_configs[&pid(who)].key_group.clone();
        let mut file = KeyGroupFile::load(&path).unwrap();
        stricter(&mut file.policy);
        file.save(&path).unwrap();
        d.start_agent(&pid(who)).await.unwrap();
    }
}

/// Approves `id` as alice, carol and erin, then checks that two seconds
/// later no share was released and each agent shows a refusal saying `why`.
async fn refused_by_all(d: &LocalDeployment, id: &str, why: &str) {
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), id, T).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = status(d, id).await;
    assert!(s.signature.is_empty(), "{s:?}");
    for who in ["alice", "carol", "erin"] {
        let review = d
            .control(&pid(who))
            .await
            .unwrap()
            .show(quorate_wire::ShowRequest {
                ceremony: id.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            review.refusals.iter().any(|r| r.contains(why)),
            "{who}: {:?}",
            review.refusals
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_veto_in_the_record_stops_round_two() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    stricter_agents(&mut d, |p| p.veto_roles = vec!["security".into()]).await;
    let id = request(&d, MANIFEST).await;
    // dave (security) rejects; the coordinator's policy has no veto, so
    // it goes on and forms a signing set of alice, carol and erin.
    let dave = pid("dave");
    d.wait_pending(&dave, &id, T).await.unwrap();
    d.control(&dave)
        .await
        .unwrap()
        .reject(quorate_wire::DecideRequest {
            ceremony: id.clone(),
            reason: "the advisory does not match".into(),
        })
        .await
        .unwrap();
    refused_by_all(&d, &id, "dave (security, a veto role) rejected").await;
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_from_a_requester_the_policy_does_not_list_is_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    stricter_agents(&mut d, |p| {
        p.requesters = vec![quorate::local::DEPUTY.into()];
    })
    .await;
    let id = request(&d, MANIFEST).await;
    not_shown_by_any(&d, &id, "requester release-manager is not among").await;
    d.stop().await.unwrap();
}

/// Waits until each of alice's, carol's and erin's agents has been told of
/// `id`, then checks that none shows it (pending leaves it out; show and
/// approve refuse it, saying `why`) and that no share was released.
async fn not_shown_by_any(d: &LocalDeployment, id: &str, why: &str) {
    for who in ["alice", "carol", "erin"] {
        let mut control = d.control(&pid(who)).await.unwrap();
        let show = || {
            let mut control = control.clone();
            async move {
                control
                    .show(quorate_wire::ShowRequest {
                        ceremony: id.into(),
                    })
                    .await
            }
        };
        let deadline = tokio::time::Instant::now() + T;
        let refused = loop {
            match show().await {
                Err(e) if e.code() == tonic::Code::NotFound => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "{who} never heard of {id}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => break other.unwrap_err(),
            }
        };
        assert_eq!(
            refused.code(),
            tonic::Code::PermissionDenied,
            "{who}: {refused:?}"
        );
        assert!(
            refused.message().contains(why),
            "{who}: {}",
            refused.message()
        );
        let pending = control
            .pending(quorate_wire::PendingRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(
            pending
                .reviews
                .iter()
                .all(|r| r.ceremony.as_ref().is_none_or(|c| c.id != id)),
            "{who} lists {id} as pending"
        );
        let approve = control
            .approve(quorate_wire::DecideRequest {
                ceremony: id.into(),
                reason: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            approve.code(),
            tonic::Code::PermissionDenied,
            "{who}: {approve:?}"
        );
    }
    let s = status(d, id).await;
    assert!(s.approvals.is_empty() && s.signature.is_empty(), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_the_coordinator_made_up_is_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    // The agents' policy takes only requests the release manager signed;
    // the coordinator's takes any, as one that forges requests would.
    let key = quorate_secrets::IdentityKey::generate(pid(REQUESTER), &mut rand_core::OsRng);
    stricter_agents(&mut d, |p| {
        p.requester_keys = [(REQUESTER.to_string(), key.public())].into();
    })
    .await;
    let id = request(&d, MANIFEST).await;
    not_shown_by_any(&d, &id, "this one is unsigned").await;
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_signed_by_a_key_that_is_not_the_requesters_is_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let options = quorate::local::Options {
        signed_requests: true,
        ..Default::default()
    };
    let mut d = deploy_with(dir.path(), options).await;
    // The coordinator was given a key for the release manager that is not
    // theirs; the agents hold the real one.
    let real = quorate_secrets::IdentityKey::generate(pid(REQUESTER), &mut rand_core::OsRng);
    stricter_agents(&mut d, |p| {
        p.requester_keys.insert(REQUESTER.into(), real.public());
    })
    .await;
    let id = request(&d, MANIFEST).await;
    not_shown_by_any(&d, &id, "does not verify under release-manager's key").await;
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_compromise_hand_over_outside_break_glass_is_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    // The agents' policy has break-glass, so a hand-over of their key as
    // compromised is theirs to sign only under it; the coordinator's
    // policy has none, and takes it as an ordinary request.
    stricter_agents(&mut d, |p| {
        p.emergency = Some(quorate_types::policy::Emergency {
            declarers: vec![REQUESTER.into()],
            reviewers: vec!["auditor".into()],
            approvals: None,
            required: Default::default(),
            deadlines: quorate_types::policy::Deadlines::emergency(),
        });
    })
    .await;
    let key: [u8; 32] = hex::decode(&d.group.group_key).unwrap().try_into().unwrap();
    let statement = quorate_types::handover::HandOver {
        old_key_group: "release".into(),
        old_key: key,
        new_key_group: "release-2".into(),
        new_key: [9; 32],
        new_threshold: 3,
        new_roster_sha256: "00".repeat(32),
        new_policy_sha256: "11".repeat(32),
        at_unix_ms: 1_800_000_000_000,
        compromised: true,
        reason: "stolen laptops".into(),
    }
    .to_bytes();
    let id = request(&d, std::str::from_utf8(&statement).unwrap()).await;
    not_shown_by_any(
        &d,
        &id,
        "hands our key over as compromised outside break-glass",
    )
    .await;
    d.stop().await.unwrap();
}
