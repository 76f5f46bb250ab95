//! The coordinator as a real process over a real PostgreSQL (the
//! throwaway cluster `tests/run` starts): its embedded record moves to the
//! database with `migrate --to-postgres`, its data_dir becomes the
//! replica's mirror, a ceremony approved across a SIGKILL signs, a mirror
//! lost with its disk is rebuilt from the database, and the record moves
//! back with `migrate --to-embedded`, with the same root all along; and a
//! second replica process, a follower, takes over when the lease holder
//! is killed mid-ceremony, or when it is cut off from the database (then
//! it stops by itself), where agents and clients find it among their
//! addresses and the ceremony signs, nothing lost or duplicated; and
//! three replicas serve agents spread over them, each agent's feed on
//! its own replica, its writes sent to the holder, through the holder's
//! SIGKILL; followers follow key ceremonies; and a replica whose database
//! accepts and then says nothing stops when told, or fails by itself.

#[path = "../../coordinator/tests/pg/mod.rs"]
mod pg;

use std::process::Command;

use quorate_coordinator::store::{CeremonyStore, DATABASE_FILE, HASH_FILE, RedbStore};
use quorate_e2e::process::CoordinatorProcess;
use quorate_e2e::proxy::Proxy;
use quorate_e2e::*;
use quorate_types::CeremonyId;
use quorate_wire::{self as proto, CeremonyState};

const BIN: &str = env!("CARGO_BIN_EXE_quorate-coordinator-process");

/// A deployment whose coordinator runs as a process over a database of
/// its own, its record migrated there.
async fn over_postgres(
    dir: &std::path::Path,
) -> (quorate::local::LocalDeployment, CoordinatorProcess, String) {
    over_postgres_with(dir, Default::default()).await
}

/// As [`over_postgres`], the deployment started with `options`.
async fn over_postgres_with(
    dir: &std::path::Path,
    options: quorate::local::Options,
) -> (quorate::local::LocalDeployment, CoordinatorProcess, String) {
    let url = pg::database().await.unwrap();
    let mut d = deploy_with(dir, options).await;
    let mut coordinator = CoordinatorProcess::take_over(&mut d, BIN).await;
    assert!(coordinator.terminate().await.success());
    let config = coordinator.config().display().to_string();
    migrate(&["--config", &config, "--to-postgres", &url]);
    coordinator.use_store(&url);
    coordinator.start(&d).await;
    (d, coordinator, url)
}

/// Starts another replica of `first` (a follower while `first` holds
/// the lease) in `data_dir`, on a port of its own, over `store` if given
/// (else `first`'s), and waits until it serves; every client of `d`
/// knows its address from then on (agents once restarted).
async fn add_replica(
    d: &mut quorate::local::LocalDeployment,
    first: &CoordinatorProcess,
    data_dir: &std::path::Path,
    store: Option<&str>,
) -> CoordinatorProcess {
    add_replica_with(d, first, data_dir, store, |_| {}).await
}

/// As [`add_replica`], its configuration changed by `edit`.
async fn add_replica_with(
    d: &mut quorate::local::LocalDeployment,
    first: &CoordinatorProcess,
    data_dir: &std::path::Path,
    store: Option<&str>,
    edit: impl FnOnce(&mut toml::Table),
) -> CoordinatorProcess {
    let listen = quorate::local::ports::unused_loopback().unwrap();
    let mut replica = first.replica(data_dir, listen);
    if let Some(url) = store {
        replica.use_store(url);
    }
    replica.configure(edit);
    replica.spawn();
    d.add_replica(listen);
    let deadline = std::time::Instant::now() + T;
    let mut target = d.target(quorate::local::AUDITOR).unwrap();
    target.url = replica.url();
    loop {
        if let Ok(mut c) = quorate::client::Clients::connect(&target).await
            && c.audit
                .checkpoint(proto::CheckpointRequest {})
                .await
                .is_ok()
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the replica serves");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    replica
}

/// Restarts every agent of `d`, to take up its coordinator addresses.
async fn restart_agents(d: &mut quorate::local::LocalDeployment) {
    let ids: Vec<_> = d.agent_configs.keys().cloned().collect();
    for id in &ids {
        d.stop_agent(id).await;
        d.start_agent(id).await.unwrap();
    }
}

/// A second replica of `first`, a follower, that every agent knows of.
async fn with_a_follower(
    d: &mut quorate::local::LocalDeployment,
    first: &CoordinatorProcess,
    dir: &std::path::Path,
    store: Option<&str>,
) -> CoordinatorProcess {
    let second = add_replica(d, first, &dir.join("replica-2"), store).await;
    restart_agents(d).await;
    second
}

/// `who` approves ceremony `id` while no replica may take writes: the
/// approval is delivered, or journaled and sent again until one does.
async fn approve_while_nobody_writes(d: &quorate::local::LocalDeployment, who: &str, id: &str) {
    let approved = d
        .control(&pid(who))
        .await
        .unwrap()
        .approve(proto::DecideRequest {
            ceremony: id.to_string(),
            reason: String::new(),
        })
        .await;
    if let Err(e) = approved {
        assert!(e.message().contains("journaled"), "{e}");
    }
}

/// A ceremony over [`MANIFEST`] that alice, carol and erin approve signs,
/// and its signature verifies under the group key.
async fn signs(d: &quorate::local::LocalDeployment) {
    let id = request(d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(d, &s);
}

/// Every ceremony as the replica at `url` lists it.
async fn listed_at(d: &quorate::local::LocalDeployment, url: &str) -> Vec<proto::CeremonyStatus> {
    let mut clients = clients_at(d, url, quorate::local::AUDITOR).await;
    let asked = proto::ListCeremoniesRequest {
        page_size: 1000,
        ..Default::default()
    };
    let listed = clients.ceremonies.list(asked).await.unwrap().into_inner();
    assert!(listed.next_page_token.is_empty());
    listed.ceremonies
}

/// Waits (at most [`T`]) until the replicas at `followers` list every
/// ceremony as the one at `writer` does: a follower's state, rebuilt
/// from what it followed, is the writer's.
async fn lists_agree(d: &quorate::local::LocalDeployment, writer: &str, followers: &[String]) {
    let deadline = std::time::Instant::now() + T;
    let theirs = listed_at(d, writer).await;
    assert!(!theirs.is_empty());
    for url in followers {
        loop {
            let ours = listed_at(d, url).await;
            if ours == theirs {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{url} lists {ours:?}, the writer {theirs:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// `identity`'s clients of the one replica at `url`.
async fn clients_at(
    d: &quorate::local::LocalDeployment,
    url: &str,
    identity: &str,
) -> quorate::client::Clients {
    // One address: connected to as it is, writer or not.
    let mut target = d.target(identity).unwrap();
    target.url = url.to_string();
    quorate::client::Clients::connect(&target).await.unwrap()
}

/// Runs `quorate-coordinator migrate ARGS...`; its standard output.
fn migrate(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("migrate")
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the migration runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "migrate {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coordinator_over_postgres_survives_sigkill_and_a_lost_mirror() {
    let url = pg::database().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let mut coordinator = CoordinatorProcess::take_over(&mut d, BIN).await;
    let embedded_size = record_size(&d).await;
    assert!(coordinator.terminate().await.success());

    let config = coordinator.config().display().to_string();
    let out = migrate(&["--config", &config, "--to-postgres", &url]);
    assert!(
        out.contains(&format!("migrated {embedded_size} entries")),
        "{out}"
    );
    coordinator.use_store(&url);
    coordinator.start(&d).await;
    assert_eq!(record_size(&d).await, embedded_size);

    // Approved by two, then the coordinator is killed; the third approval
    // reaches the restarted one, and the ceremony signs.
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    coordinator.kill();
    coordinator.start(&d).await;
    d.approve(&pid("erin"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);
    let size = record_size(&d).await;
    assert!(coordinator.terminate().await.success());

    // The mirror is lost with its disk (the log key and the replica's
    // name are kept): rebuilt from the database at the next start.
    let data_dir = d.coordinator_config.data_dir.clone();
    std::fs::remove_file(data_dir.join(DATABASE_FILE)).unwrap();
    std::fs::remove_file(data_dir.join(HASH_FILE)).unwrap();
    coordinator.start(&d).await;
    assert_eq!(record_size(&d).await, size);
    assert_eq!(status(&d, &id).await.state(), CeremonyState::Signed);
    assert!(coordinator.terminate().await.success());

    // And back to an embedded store, with the same root.
    let back = dir.path().join("back");
    let out = migrate(&[
        "--config",
        &config,
        "--to-embedded",
        &back.display().to_string(),
    ]);
    assert!(out.contains(&format!("migrated {size} entries")), "{out}");
    let mirror = RedbStore::open(&data_dir).unwrap();
    let copy = RedbStore::open(&back).unwrap();
    assert_eq!(copy.size(), size);
    assert_eq!(copy.root(size).unwrap(), mirror.root(size).unwrap());
    let signed = copy.ceremony(&CeremonyId::new(&id).unwrap()).unwrap();
    assert!(signed.is_some_and(|c| c.events.len() >= 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_takes_over_when_the_lease_holder_is_killed_mid_ceremony() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, mut first, _) = over_postgres(dir.path()).await;
    let mut second = with_a_follower(&mut d, &first, dir.path(), None).await;

    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    d.wait_pending(&pid("erin"), &id, T).await.unwrap();
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let before = quorate::audit::checkpoint(&mut audit).await.unwrap();

    first.kill();
    // Erin approves as the holder dies: delivered now or, journaled, to
    // the follower once it has taken over.
    approve_while_nobody_writes(&d, "erin", &id).await;
    // The follower takes the lease once it ends (5 s), then writes.
    second.wait_writing(&d).await;
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);
    let approvers: Vec<&str> = s.approvals.iter().map(|a| a.participant.as_str()).collect();
    assert_eq!(approvers, ["alice", "carol", "erin"]);
    assert!(s.dropped.is_empty(), "{:?}", s.dropped);

    // The second replica signs checkpoints with the same log key, and its
    // log extends the one the first signed.
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let after = quorate::audit::checkpoint(&mut audit).await.unwrap();
    let log = quorate::audit::log_verifier(&d.log_verifier_key).unwrap();
    let consistent = quorate::audit::verify_log(&mut audit, &log, &before, &after)
        .await
        .unwrap();
    assert!(consistent.new.size > consistent.old.size);
    assert!(second.terminate().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_cut_off_from_the_database_stops_and_a_follower_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, mut first, url) = over_postgres(dir.path()).await;
    // The first replica reaches the database through a proxy, the two
    // followers directly.
    let config: tokio_postgres::Config = url.parse().unwrap();
    let port = config.get_ports()[0];
    let proxy = Proxy::start(([127, 0, 0, 1], port).into()).await.unwrap();
    let via_proxy = url.replace(&format!(":{port}/"), &format!(":{}/", proxy.addr.port()));
    assert!(first.terminate().await.success());
    first.use_store(&via_proxy);
    first.start(&d).await;
    // The followers advertise an address no client knows them by: the
    // agents find the one that takes over by asking each of theirs.
    let unknown = |c: &mut toml::Table| {
        c.insert("advertise".into(), "https://replica.invalid:7400".into());
    };
    let mut second = add_replica_with(
        &mut d,
        &first,
        &dir.path().join("replica-2"),
        Some(&url),
        unknown,
    )
    .await;
    let mut third = add_replica_with(
        &mut d,
        &first,
        &dir.path().join("replica-3"),
        Some(&url),
        unknown,
    )
    .await;
    d.spread_agents();
    restart_agents(&mut d).await;

    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    proxy.partition();
    // Unable to renew its lease, the first stops by itself before the
    // lease can end; a follower takes over.
    let status = first.wait_exit().await;
    assert!(!status.success(), "{status:?}");
    for who in ["carol", "erin"] {
        approve_while_nobody_writes(&d, who, &id).await;
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);
    let approvers: Vec<&str> = s.approvals.iter().map(|a| a.participant.as_str()).collect();
    assert_eq!(approvers, ["alice", "carol", "erin"]);
    let (holder, follower) = if second.writing(&d).await {
        (&second, &third)
    } else {
        (&third, &second)
    };
    assert!(holder.writing(&d).await && !follower.writing(&d).await);
    lists_agree(&d, &holder.url(), &[follower.url()]).await;

    // One follower holds the lease, and since its first entry every entry
    // was appended under its epoch: the cut-off replica appended nothing
    // more.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let leased: String = client
        .query_one("SELECT holder FROM quorate_lease", &[])
        .await
        .unwrap()
        .get(0);
    let names: Vec<String> = ["replica-2", "replica-3"]
        .iter()
        .map(|r| std::fs::read_to_string(dir.path().join(r).join("replica-name")).unwrap())
        .map(|n| n.trim().to_string())
        .collect();
    assert!(names.contains(&leased), "{leased} is not one of {names:?}");
    let stale: i64 = client
        .query_one(
            "SELECT count(*) FROM quorate_entries
             WHERE epoch < (SELECT max(epoch) FROM quorate_entries)
               AND idx > (SELECT min(idx) FROM quorate_entries
                          WHERE epoch = (SELECT max(epoch) FROM quorate_entries))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stale, 0);
    assert!(second.terminate().await.success());
    assert!(third.terminate().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_serve_agents_spread_over_them_through_the_holders_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, mut first, _) = over_postgres(dir.path()).await;
    let second = add_replica(&mut d, &first, &dir.path().join("replica-2"), None).await;
    let third = add_replica(&mut d, &first, &dir.path().join("replica-3"), None).await;
    d.spread_agents();
    restart_agents(&mut d).await;
    assert!(first.writing(&d).await);
    assert!(!second.writing(&d).await && !third.writing(&d).await);

    // A follower refuses a write, naming the holder's address.
    let mut asked = proto::CreateCeremonyRequest {
        key_group: "release".into(),
        message: MANIFEST.as_bytes().to_vec(),
        label: "SHA256SUMS".into(),
        ..Default::default()
    };
    d.sign_request(quorate::local::REQUESTER, &mut asked)
        .unwrap();
    let refused = clients_at(&d, &second.url(), quorate::local::REQUESTER)
        .await
        .ceremonies
        .create(asked)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    let writer = quorate_wire::coordinators::writer_of(&refused).map(str::to_string);
    assert_eq!(writer, Some(first.url()), "{refused:?}");

    // A ceremony on agents whose feeds are on three replicas: each sees
    // it from its own, and its approval reaches the holder.
    let id = request(&d, MANIFEST).await;
    // The third replica has it once it has followed the request (it
    // reads the log every 100 ms).
    let mut third_clients = clients_at(&d, &third.url(), quorate::local::REQUESTER).await;
    let deadline = std::time::Instant::now() + T;
    let mut watch = loop {
        let asked = proto::GetCeremonyRequest { id: id.clone() };
        match third_clients.ceremonies.watch(asked).await {
            Ok(watch) => break watch.into_inner(),
            Err(e) if e.code() == tonic::Code::NotFound => {
                assert!(std::time::Instant::now() < deadline, "{e}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    d.approve(&pid("erin"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);
    // The third replica's watch follows it to the end, as the holder saw it.
    let watched = tokio::time::timeout(T, async {
        while let Some(status) = watch.message().await.unwrap() {
            if status.state() == CeremonyState::Signed {
                return status;
            }
        }
        panic!("the watch ended before the ceremony signed");
    })
    .await
    .unwrap();
    assert_eq!(watched.signature, s.signature);
    lists_agree(&d, &first.url(), &[second.url(), third.url()]).await;

    // Checkpoints of each replica: the same log, whoever signed.
    let log = quorate::audit::log_verifier(&d.log_verifier_key).unwrap();
    let mut checkpoints = Vec::new();
    for url in [first.url(), second.url(), third.url()] {
        let mut audit = clients_at(&d, &url, quorate::local::AUDITOR).await.audit;
        checkpoints.push((url, quorate::audit::checkpoint(&mut audit).await.unwrap()));
    }

    // The holder is killed with the next ceremony half approved: one of
    // the followers takes over in place, and it signs there.
    let next = request(&d, "second release").await;
    d.approve(&pid("alice"), &next, T).await.unwrap();
    first.kill();
    // Approved while no replica writes: journaled, and sent again until
    // the replica that takes over has it.
    for who in ["carol", "erin"] {
        d.wait_pending(&pid(who), &next, T).await.unwrap();
        approve_while_nobody_writes(&d, who, &next).await;
    }
    let s = d.wait_finished(&next, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(&d, &s);
    let approvers: Vec<&str> = s.approvals.iter().map(|a| a.participant.as_str()).collect();
    assert_eq!(approvers, ["alice", "carol", "erin"]);
    assert!(s.dropped.is_empty(), "{:?}", s.dropped);
    let (new_holder, other) = if second.writing(&d).await {
        (&second, &third)
    } else {
        (&third, &second)
    };
    assert!(new_holder.writing(&d).await && !other.writing(&d).await);
    lists_agree(&d, &new_holder.url(), &[other.url()]).await;

    // Every earlier checkpoint, whichever replica signed it, is
    // consistent with the new holder's and the other follower's.
    for url in [new_holder.url(), other.url()] {
        let mut audit = clients_at(&d, &url, quorate::local::AUDITOR).await.audit;
        let after = quorate::audit::checkpoint(&mut audit).await.unwrap();
        for (from, before) in &checkpoints {
            let proved = quorate::audit::verify_log(&mut audit, &log, before, &after).await;
            let proved = proved.unwrap_or_else(|e| panic!("{from} to {url}: {e}"));
            assert!(proved.new.size > proved.old.size);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerts_the_killed_holder_did_not_deliver_come_from_the_replica_that_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    // The holder's alert command fails every time; the follower's works.
    let options = quorate::local::Options {
        policy: quorate_types::Policy::from_toml("[deadlines]\napproval = \"1s\"\n").unwrap(),
        alert_command: Some(vec!["false".into()]),
        ..Default::default()
    };
    let (mut d, mut first, _) = over_postgres_with(dir.path(), options).await;
    let hook = format!("cat >> {0}; echo >> {0}", alerts.display());
    let second = add_replica_with(&mut d, &first, &dir.path().join("replica-2"), None, |c| {
        let command = ["sh", "-c", &hook].map(|a| toml::Value::from(a.to_string()));
        c.insert("alert_command".into(), toml::Value::Array(command.to_vec()));
    })
    .await;

    // Nobody approves: it expires, and the holder cannot deliver the alert.
    let id = request(&d, MANIFEST).await;
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Expired, "{}", s.summary);
    first.kill();
    second.wait_writing(&d).await;
    // The alert cursor is in the database: the replica that took over
    // starts where the holder stopped, and delivers it.
    let alert = alert_line(&alerts, "ceremony_expired").await;
    assert_eq!(alert["ceremony"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_on_followers_sign_under_a_policy_that_names_witnesses() {
    let dir = tempfile::tempdir().unwrap();
    // The policy names two witnesses (a quorum of both): an agent releases
    // its share only once its approval is in a checkpoint they cosigned,
    // which it asks of the replica its feed is on.
    let options = quorate::local::Options {
        witnesses: 2,
        ..Default::default()
    };
    let (mut d, first, _) = over_postgres_with(dir.path(), options).await;
    let second = add_replica(&mut d, &first, &dir.path().join("replica-2"), None).await;
    let third = add_replica(&mut d, &first, &dir.path().join("replica-3"), None).await;
    d.spread_agents();
    restart_agents(&mut d).await;

    signs(&d).await;
    // Each follower serves the holder's cosigned checkpoint.
    for url in [second.url(), third.url()] {
        let mut audit = clients_at(&d, &url, quorate::local::AUDITOR).await.audit;
        let reply = audit
            .checkpoint(proto::CheckpointRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(!reply.cosigned_note.is_empty(), "{url} serves none");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn followers_follow_a_key_ceremony_and_the_key_group_it_refreshes() {
    let dir = tempfile::tempdir().unwrap();
    let options = quorate::local::Options {
        dkg: true,
        ..Default::default()
    };
    let (mut d, first, _) = over_postgres_with(dir.path(), options).await;
    let second = add_replica(&mut d, &first, &dir.path().join("replica-2"), None).await;
    d.spread_agents();
    restart_agents(&mut d).await;

    // The shares are refreshed by a key ceremony at the holder; the
    // follower, which took no part, has it as the holder does, and the
    // key group's new version with it.
    let key_ceremony = d.refresh(&[]).await.unwrap();
    let asked = proto::GetKeyCeremonyRequest {
        id: key_ceremony.to_string(),
    };
    let group = proto::GetKeyGroupRequest {
        name: d.group.name.to_string(),
    };
    let mut holder = clients_at(&d, &first.url(), quorate::local::OPERATOR).await;
    let theirs = holder.key_ceremonies.get(asked.clone()).await.unwrap();
    let theirs = theirs.into_inner();
    assert_eq!(
        theirs.state(),
        proto::KeyCeremonyState::Registered,
        "{}",
        theirs.summary
    );
    let their_group = holder
        .key_groups
        .get(group.clone())
        .await
        .unwrap()
        .into_inner();
    let mut follower = clients_at(&d, &second.url(), quorate::local::OPERATOR).await;
    let deadline = std::time::Instant::now() + T;
    loop {
        let ours = follower.key_ceremonies.get(asked.clone()).await;
        let our_group = follower.key_groups.get(group.clone()).await.unwrap();
        if ours.as_ref().is_ok_and(|o| *o.get_ref() == theirs)
            && *our_group.get_ref() == their_group
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the follower has {ours:?} and {our_group:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Agents spread over both sign with their refreshed shares.
    signs(&d).await;
    lists_agree(&d, &first.url(), &[second.url()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_that_cannot_reach_the_database_stops_when_told_or_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (d, first, url) = over_postgres(dir.path()).await;
    // A second replica whose database connection opens and goes silent.
    let config: tokio_postgres::Config = url.parse().unwrap();
    let port = config.get_ports()[0];
    let proxy = Proxy::start(([127, 0, 0, 1], port).into()).await.unwrap();
    proxy.partition();
    let via_proxy = url.replace(&format!(":{port}/"), &format!(":{}/", proxy.addr.port()));
    let listen = quorate::local::ports::unused_loopback().unwrap();
    let mut second = first.replica(&dir.path().join("replica-2"), listen);
    second.use_store(&via_proxy);
    second.spawn();
    // Once it is starting (connecting), SIGTERM stops it, cleanly, as it
    // would a replica that started.
    let deadline = std::time::Instant::now() + T;
    while proxy.held() == 0 {
        assert!(std::time::Instant::now() < deadline, "it never connected");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = second.terminate().await;
    assert!(status.success(), "{status:?}");
    // Left alone, it gives up on that database by itself, with an error.
    let listen = quorate::local::ports::unused_loopback().unwrap();
    let mut third = first.replica(&dir.path().join("replica-3"), listen);
    third.use_store(&via_proxy);
    let log = dir.path().join("replica-3.log");
    third.spawn_logging_to(&log);
    let status = third.wait_exit().await;
    assert!(!status.success(), "{status:?}");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("PostgreSQL did not answer within 10s"),
        "{said}"
    );
    // The first replica writes on.
    assert!(first.writing(&d).await);
    signs(&d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_grants_only_what_the_list_the_writer_recorded_grants_too() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, mut first, _) = over_postgres(dir.path()).await;
    // The follower's [[party]] list names an auditor the writer's lacks.
    let extra = |c: &mut toml::Table| {
        let mut party = toml::Table::new();
        party.insert("name".into(), "auditor-2".into());
        party.insert("roles".into(), vec![toml::Value::from("auditor")].into());
        c.get_mut("party")
            .and_then(|p| p.as_array_mut())
            .expect("a [[party]] list")
            .push(party.into());
    };
    let second = add_replica_with(&mut d, &first, &dir.path().join("replica-2"), None, extra).await;
    // auditor-2 asks the replica at `url` for a checkpoint.
    let checkpoint = |url: String| {
        let mut target = d.target("auditor-2").unwrap();
        target.url = url;
        async move {
            let mut clients = quorate::client::Clients::connect(&target)
                .await
                .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
            clients.audit.checkpoint(proto::CheckpointRequest {}).await
        }
    };
    // Refused at the follower, saying why, as at the writer.
    let refused = checkpoint(second.url()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("the list the record holds"),
        "{refused:?}"
    );
    let refused = checkpoint(first.url()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");

    // The writer stops: the follower takes over and records its own list,
    // which it then grants. The first, restarted with that list too,
    // follows and grants it as well.
    assert!(first.terminate().await.success());
    second.wait_writing(&d).await;
    checkpoint(second.url()).await.unwrap();
    first.configure(extra);
    first.spawn();
    let deadline = std::time::Instant::now() + T;
    while checkpoint(first.url()).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "never granted");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!first.writing(&d).await);
}
