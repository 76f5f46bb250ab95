//! Agents check the whole policy themselves, from the coordinator's proven
//! record, before they release a share. Here the coordinator applies a
//! laxer policy than the one the agents hold (as a coordinator that skips
//! part of the policy would): a security reviewer's veto it ignores, or a
//! requester the policy does not list. The agents see it in the record and
//! refuse round 2.

use std::time::Duration;

use quorate::local::LocalDeployment;
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
async fn a_requester_the_policy_does_not_list_gets_no_share() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    stricter_agents(&mut d, |p| {
        p.requesters = vec![quorate::local::DEPUTY.into()];
    })
    .await;
    let id = request(&d, MANIFEST).await;
    refused_by_all(&d, &id, "requester release-manager is not among").await;
    d.stop().await.unwrap();
}
