//! Roster changes over real mutual TLS: an operator changes a key group's
//! roster, the record keeps each version, every ceremony replays under the
//! roster it was requested with (across a restart), bad changes are refused
//! and change nothing, and the coordinator records the requesters,
//! auditors and operators it starts with whenever they change.

use quorate::audit;
use quorate::local::{AUDITOR, OPERATOR, REQUESTER};
use quorate_ceremonies::Entry;
use quorate_e2e::*;
use quorate_types::{CeremonyId, Party, PartyRole};
use quorate_wire::{self as proto, key_groups_client::KeyGroupsClient};
use tonic::Code;

async fn sign(d: &quorate::local::LocalDeployment) -> String {
    let id = request(d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(d, &s);
    id
}

async fn key_group(d: &quorate::local::LocalDeployment) -> proto::KeyGroup {
    KeyGroupsClient::new(channel_as(d, OPERATOR).await)
        .get(proto::GetKeyGroupRequest {
            name: "release".into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn change(
    d: &quorate::local::LocalDeployment,
    who: &str,
    roster: Vec<proto::RosterEntry>,
) -> Result<proto::KeyGroup, tonic::Status> {
    KeyGroupsClient::new(channel_as(d, who).await)
        .change_roster(proto::ChangeRosterRequest {
            name: "release".into(),
            roster,
        })
        .await
        .map(|r| r.into_inner())
}

/// Replays ceremony `id` from a transcript the auditor exports.
async fn replay(
    d: &quorate::local::LocalDeployment,
    id: &str,
) -> quorate_ceremonies::replay::Report {
    let log = audit::log_verifier(&d.log_verifier_key).unwrap();
    let mut clients = d.clients(AUDITOR).await.unwrap();
    let transcript = audit::export(&mut clients.audit, &CeremonyId::new(id).unwrap())
        .await
        .unwrap();
    quorate_ceremonies::replay::replay(&transcript, &log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_changes_a_roster_and_each_ceremony_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let before = sign(&d).await;
    let registered = key_group(&d).await;
    assert_eq!(registered.roster_version, 0);

    // Alice's display name and Bob's role change; the share holders stay.
    let mut roster = registered.roster.clone();
    roster[0].name = "Alice Liddell (engineering)".into();
    roster[1].role = "release".into();
    let changed = change(&d, OPERATOR, roster.clone()).await.unwrap();
    assert_eq!(changed.roster_version, 1);
    assert_eq!(key_group(&d).await.roster, roster);

    // The record holds the change, by the operator, as version 1.
    let entries = record_entries(&d).await;
    let recorded: Vec<_> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::RosterChanged {
                by,
                key_group,
                version,
                roster,
                ..
            } => Some((by.clone(), key_group.to_string(), *version, roster.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let (by, group, version, recorded_roster) = &recorded[0];
    assert_eq!(
        (by.as_str(), group.as_str(), *version),
        (OPERATOR, "release", 1)
    );
    assert_eq!(recorded_roster.participants[1].role, "release");

    // A ceremony requested now is judged by version 1 and replays with it.
    let after = sign(&d).await;
    let report = replay(&d, &after).await;
    assert!(report.passed, "{report}");
    let text = report.to_string();
    assert!(text.contains("roster version 1 recorded"), "{text}");
    assert!(text.contains("bob (release)"), "{text}");
    // The one signed before still replays under the registered roster.
    let report = replay(&d, &before).await;
    assert!(report.passed, "{report}");
    let text = report.to_string();
    assert!(!text.contains("roster version"), "{text}");
    assert!(text.contains("bob (engineering)"), "{text}");

    // A restart rebuilds both versions from the record.
    d.stop_coordinator().await.unwrap();
    d.start_coordinator().await.unwrap();
    assert_eq!(key_group(&d).await.roster_version, 1);
    for id in [&before, &after] {
        let report = replay(&d, id).await;
        assert!(report.passed, "{id}: {report}");
        assert_eq!(status(&d, id).await.state(), proto::CeremonyState::Signed);
    }
    // And ceremonies go on under version 1.
    let third = sign(&d).await;
    assert!(replay(&d, &third).await.passed);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_roster_changes_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let registered = key_group(&d).await;
    let size = record_entries(&d).await.len();

    let refused = |result: Result<proto::KeyGroup, tonic::Status>, code: Code, says: &str| {
        let err = result.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(err.message().contains(says), "{err}");
    };
    // Only operators change rosters.
    for who in [REQUESTER, AUDITOR, "alice"] {
        refused(
            change(&d, who, registered.roster.clone()).await,
            Code::PermissionDenied,
            "may not change rosters",
        );
    }
    // A share holder added or removed needs new key shares.
    let mut added = registered.roster.clone();
    let mut zed = added[0].clone();
    zed.id = "zed".into();
    added.push(zed);
    refused(
        change(&d, OPERATOR, added).await,
        Code::InvalidArgument,
        "participant zed holds no share",
    );
    let removed = registered.roster[..4].to_vec();
    refused(
        change(&d, OPERATOR, removed).await,
        Code::InvalidArgument,
        "participant erin is missing",
    );
    // The same roster again is no change.
    refused(
        change(&d, OPERATOR, registered.roster.clone()).await,
        Code::InvalidArgument,
        "nothing to change",
    );
    // Every entry needs its identity key, and roles must be filled in.
    let mut no_key = registered.roster.clone();
    no_key[2].identity.clear();
    refused(
        change(&d, OPERATOR, no_key).await,
        Code::InvalidArgument,
        "participant carol has no identity key",
    );
    let mut no_role = registered.roster.clone();
    no_role[3].role = " ".into();
    refused(
        change(&d, OPERATOR, no_role).await,
        Code::InvalidArgument,
        "dave has an empty role",
    );
    // An unknown key group.
    let err = KeyGroupsClient::new(channel_as(&d, OPERATOR).await)
        .change_roster(proto::ChangeRosterRequest {
            name: "nope".into(),
            roster: registered.roster.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");

    assert_eq!(record_entries(&d).await.len(), size);
    assert_eq!(key_group(&d).await, registered);
    d.stop().await.unwrap();
}

fn parties_recorded(entries: &[Entry]) -> Vec<Vec<Party>> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::PartiesChanged { parties, .. } => Some(parties.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_record_keeps_every_change_of_parties() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let first = parties_recorded(&record_entries(&d).await);
    assert_eq!(first.len(), 1, "{first:?}");
    let names: Vec<&str> = first[0].iter().map(|p| p.name.as_str()).collect();
    let mut expected = vec![AUDITOR, quorate::local::DEPUTY, OPERATOR, REQUESTER];
    expected.sort_unstable();
    assert_eq!(names, expected);

    // The same parties again: nothing new is recorded.
    d.stop_coordinator().await.unwrap();
    d.start_coordinator().await.unwrap();
    assert_eq!(parties_recorded(&record_entries(&d).await).len(), 1);

    // A new requester: recorded before anyone is served under it.
    d.stop_coordinator().await.unwrap();
    d.coordinator_config.parties.push(Party {
        name: "release-bot".into(),
        roles: vec![PartyRole::Requester],
    });
    d.start_coordinator().await.unwrap();
    let recorded = parties_recorded(&record_entries(&d).await);
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert!(
        recorded[1]
            .iter()
            .any(|p| p.name == "release-bot" && p.roles == [PartyRole::Requester]),
        "{recorded:?}"
    );
    d.stop().await.unwrap();
}

/// Requests made while the roster changes are each judged by the roster
/// version in force when they are recorded: none recorded after a change
/// names the version before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_racing_a_roster_change_name_the_version_recorded_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let mut roster = key_group(&d).await.roster;
    roster[0].name = "Alice (renamed)".into();
    let requester = d.clients(REQUESTER).await.unwrap();
    // As many as one requester may make at once (the burst limit).
    let creates: Vec<_> = (0..10)
        .map(|i| {
            let mut clients = requester.clone();
            tokio::spawn(async move {
                clients
                    .ceremonies
                    .create(proto::CreateCeremonyRequest {
                        key_group: "release".into(),
                        message: format!("{i:064x}  race-{i}.tar.gz\n").into_bytes(),
                        label: format!("race {i}"),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    change(&d, OPERATOR, roster).await.unwrap();
    for c in creates {
        c.await.unwrap();
    }
    let mut version = 0;
    let mut requests = 0;
    for entry in record_entries(&d).await {
        match entry {
            Entry::RosterChanged { version: v, .. } => version = v,
            Entry::CeremonyRequested { request, .. } => {
                requests += 1;
                assert_eq!(
                    request.key_group_version, version,
                    "request {} was recorded under roster version {version}",
                    request.id
                );
            }
            _ => {}
        }
    }
    assert_eq!((requests, version), (10, 1));
    d.stop().await.unwrap();
}
