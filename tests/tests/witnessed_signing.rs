//! Agents whose key group's policy names witnesses release a signature share only once their own
//! approval is in a checkpoint a quorum of the witnesses cosigned: with a
//! witness down, every share waits; with it back, the ceremony signs.

use std::time::Duration;

use quorate::local::{LocalDeployment, Options, sample_roster};
use quorate_ceremonies::{Entry, Event};
use quorate_e2e::*;

/// The share events the record holds for `ceremony`.
async fn shares(d: &LocalDeployment, ceremony: &str) -> usize {
    record_entries(d)
        .await
        .iter()
        .filter(|e| {
            matches!(e, Entry::CeremonyEvent { ceremony: c, event: Event::ShareSubmitted { .. }, .. }
                if c.as_str() == ceremony)
        })
        .count()
}

/// The sample deployment with two witnesses, which every agent trusts.
async fn deploy_witnessed(dir: &std::path::Path) -> LocalDeployment {
    let options = Options {
        witnesses: 2,
        ..Default::default()
    };
    LocalDeployment::start_with(dir, "release", &sample_roster(None), 3, options)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shares_wait_for_a_quorum_of_witnesses() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy_witnessed(dir.path()).await;
    let named = d.group.policy.witnesses.clone().unwrap();
    assert_eq!(
        (named.keys.len(), named.quorum),
        (2, 2),
        "the policy names both"
    );
    for config in d.agent_configs.values() {
        assert!(
            config.witnesses.is_empty(),
            "the agents take them from the policy"
        );
    }

    // With both witnesses up, a ceremony signs as before.
    let first = request(&d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &first, T).await.unwrap();
    }
    let s = d.wait_finished(&first, T).await.unwrap();
    verify(&d, &s);

    // One of the two witnesses goes down: its cosignature is missing from
    // every new checkpoint, and the agents (quorum: both) hold their shares.
    d.witnesses[1].stop().await.unwrap();
    let second = request(&d, &MANIFEST.replace("1.0.0", "1.0.1")).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &second, T).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        shares(&d, &second).await,
        0,
        "no share before the witnesses cosign"
    );
    let open = status(&d, &second).await;
    assert!(!is_finished(&open), "{open:?}");

    // Back on its port with its state, it cosigns; the shares follow.
    d.witnesses[1].restart().await.unwrap();
    let s = d.wait_finished(&second, T).await.unwrap();
    verify(&d, &s);
    assert_eq!(shares(&d, &second).await, 3);
    d.stop().await.unwrap();
}

/// A coordinator that has its checkpoints cosigned by a witness of its own
/// choosing, which the agents do not trust, gets no share: a coordinator
/// cannot stand in for the witnesses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cosignatures_from_a_witness_the_agents_do_not_trust_get_no_share() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy_witnessed(dir.path()).await;
    let mut own = quorate::local::witnesses::LocalWitness::start(
        &dir.path().join("coordinators-own-witness"),
        "witness.localhost/captive",
        &d.log_verifier_key,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    d.stop_coordinator().await.unwrap();
    d.coordinator_config.witnesses = vec![own.config()];
    d.start_coordinator().await.unwrap();

    let id = request(&d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    // The captive witness cosigns at once; the agents wait for theirs.
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let cosigned = quorate::audit::wait_cosigned(&mut audit, 1, T)
        .await
        .unwrap();
    assert!(
        cosigned.contains("— witness.localhost/captive "),
        "{cosigned}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        shares(&d, &id).await,
        0,
        "no share on a captive witness's word"
    );
    assert!(!is_finished(&status(&d, &id).await));
    own.stop().await.unwrap();
    d.stop().await.unwrap();
}

/// A split view: a second coordinator with the same log key and a copy of
/// the record serves three of the agents, and asks them to sign. The
/// witnesses have seen the honest history, so they cosign nothing of the
/// fork's, and the agents it shows its history to release no share.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_shown_a_forked_history_release_no_share() {
    use quorate::client::{Clients, Target};
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy_witnessed(dir.path()).await;
    d.stop_coordinator().await.unwrap();
    let fork_dir = dir.path().join("fork");
    copy_dir(&d.coordinator_config.data_dir, &fork_dir);
    d.start_coordinator().await.unwrap();
    // The honest history grows and is witnessed.
    request(&d, MANIFEST).await;
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let (latest, _) = quorate::audit::checkpoints(&mut audit).await.unwrap();
    let size = quorate::audit::witnesses::size_of(&latest).unwrap();
    quorate::audit::wait_cosigned(&mut audit, size, T)
        .await
        .unwrap();

    let fork = quorate_coordinator::start(&quorate_coordinator::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: fork_dir,
        metrics_listen: None,
        page_listen: None,
        ..d.coordinator_config.clone()
    })
    .await
    .unwrap();
    let fork_url = format!("https://{}", fork.addr);
    for who in ["alice", "carol", "erin"] {
        d.stop_agent(&pid(who)).await;
        d.agent_configs.get_mut(&pid(who)).unwrap().coordinator = fork_url.clone().into();
        d.start_agent(&pid(who)).await.unwrap();
    }
    let as_on_fork = |identity: &str| Target {
        url: fork_url.clone(),
        ..d.target(identity).unwrap()
    };
    let mut requester = Clients::connect(&as_on_fork(quorate::local::REQUESTER))
        .await
        .unwrap();
    let forked = requester
        .ceremonies
        .create(quorate_wire::CreateCeremonyRequest {
            key_group: "release".into(),
            message: MANIFEST.replace("1.0.0", "6.6.6").into_bytes(),
            label: "SHA256SUMS".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &forked, T).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = requester
        .ceremonies
        .get(quorate_wire::GetCeremonyRequest { id: forked.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(!is_finished(&status), "{status:?}");
    assert!(status.signature.is_empty());
    let mut fork_audit = Clients::connect(&as_on_fork(quorate::local::AUDITOR))
        .await
        .unwrap()
        .audit;
    let (fork_note, fork_cosigned) = quorate::audit::checkpoints(&mut fork_audit).await.unwrap();
    assert!(quorate::audit::witnesses::size_of(&fork_note).unwrap() > size);
    assert!(
        quorate::audit::witnesses::size_of(&fork_cosigned).is_none(),
        "no witness cosigned the fork: {fork_cosigned:?}"
    );
    fork.stop().await.unwrap();
    d.stop().await.unwrap();
}

fn is_finished(s: &quorate_wire::CeremonyStatus) -> bool {
    quorate::local::is_finished(s)
}

/// The agents are the witnesses (as in the quickstart): the policy names
/// their five keys and needs three. Two agents away, the other three still
/// witness and sign; an agent restarted keeps its witness state.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_are_the_witnesses() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        agent_witnesses: true,
        ..Default::default()
    };
    let mut d =
        LocalDeployment::start_with(dir.path(), "release", &sample_roster(None), 3, options)
            .await
            .unwrap();
    let named = d.group.policy.witnesses.clone().unwrap();
    assert_eq!((named.keys.len(), named.quorum), (5, 3));
    let verifiers: Vec<quorate_tlog::WitnessVerifier> = named
        .keys
        .iter()
        .map(|k| quorate_tlog::WitnessVerifier::parse(k).unwrap())
        .collect();
    sign_version(&d, "1.0.1").await;
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let (_, cosigned) = quorate::audit::checkpoints(&mut audit).await.unwrap();
    let found = quorate_tlog::verify_cosignatures(&cosigned, &verifiers).unwrap();
    assert!(found.len() >= 3, "{cosigned}");

    // bob and dave away: alice, carol and erin are still three witnesses.
    d.stop_agent(&pid("bob")).await;
    d.stop_agent(&pid("dave")).await;
    sign_version(&d, "1.0.2").await;
    // bob's witness port, kept bound for his restart, closes connections
    // at once, as a port nobody serves refuses them.
    let bobs = d.agent_configs[&pid("bob")].witness_listen.unwrap();
    let mut connection = tokio::net::TcpStream::connect(bobs).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(T, tokio::io::AsyncReadExt::read(&mut connection, &mut byte))
        .await
        .expect("the connection is closed, not held open");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // alice restarted: her witness takes up from its state on disk.
    let state = d.agent_configs[&pid("alice")]
        .state_dir
        .join("witness")
        .join("logs");
    // (A save in progress leaves a temporary file beside it for a moment.)
    let files: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    assert_eq!(files.len(), 1, "one log followed: {files:?}");
    d.stop_agent(&pid("alice")).await;
    d.start_agent(&pid("alice")).await.unwrap();
    sign_version(&d, "1.0.3").await;
    d.stop().await.unwrap();
}

/// alice, carol and erin sign the manifest of `version`.
async fn sign_version(d: &LocalDeployment, version: &str) {
    let id = request(d, &MANIFEST.replace("1.0.0", version)).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(d, &s);
}
