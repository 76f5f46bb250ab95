//! A network that fails between the agents and the coordinator, made by a
//! TCP proxy on loopback (`quorate_e2e::proxy`) that the agents connect
//! through: connections that go silent without closing, delays, and
//! connections cut again and again while ceremonies run. Agents notice a
//! dead connection by their keepalives, reconnect with backoff and
//! resubscribe; every ceremony ends signed, each approval is recorded once
//! and no commitments are used twice.

use std::time::Duration;

use quorate::local::LocalDeployment;
use quorate_e2e::proxy::{Fault, Proxy};
use quorate_e2e::*;
use quorate_wire::CeremonyState;
use quorate_wire::tls::Network;

/// Short keepalives, so that a test sees a dead connection within a
/// second or two (the defaults are 10 s and 10 s).
const QUICK: Network = Network {
    keepalive_ms: 300,
    keepalive_timeout_ms: 700,
    call_timeout_ms: 5_000,
};

const EVERYONE: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

/// Restarts every agent to reach the coordinator through `proxy`, and
/// waits until each has connected.
async fn through(d: &mut LocalDeployment, proxy: &Proxy) {
    for who in EVERYONE {
        d.stop_agent(&pid(who)).await;
        let config = d.agent_configs.get_mut(&pid(who)).unwrap();
        config.coordinator = proxy.url().into();
        config.network = QUICK;
        d.start_agent(&pid(who)).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + T;
    while proxy.connections() < EVERYONE.len() as u64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "agents did not connect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `who` approves `id` through their agent. A cut connection may leave
/// the approval journaled but not yet acknowledged: the agent says so and
/// sends it again by itself, which the ceremony's end shows.
async fn approve(d: &LocalDeployment, who: &str, id: &str) {
    if let Err(e) = d.approve(&pid(who), id, T).await {
        assert!(
            e.to_string()
                .contains("this agent sends it again until it does"),
            "{who}: {e:#}"
        );
    }
}

/// Approves `id` as alice, carol and erin; waits for its end, which must
/// be a signature that verifies.
async fn signed_by_the_quorum(d: &LocalDeployment, id: &str) {
    for who in ["alice", "carol", "erin"] {
        approve(d, who, id).await;
    }
    let s = d.wait_finished(id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    verify(d, &s);
}

/// Each approver's approval is recorded once per ceremony, and no
/// commitments appear twice in the record.
async fn nothing_recorded_twice(d: &LocalDeployment) {
    let mut approvals = std::collections::BTreeSet::new();
    let mut commitments = std::collections::BTreeSet::new();
    for entry in record_entries(d).await {
        let quorate_ceremonies::Entry::CeremonyEvent {
            ceremony, event, ..
        } = entry
        else {
            continue;
        };
        match event {
            quorate_ceremonies::Event::Approved {
                statement,
                commitments: c,
            } => {
                let who = statement.statement.participant.clone();
                assert!(
                    approvals.insert((ceremony.clone(), who.clone())),
                    "{who}'s approval of {ceremony} is recorded twice"
                );
                assert!(
                    commitments.insert(c.serialize().unwrap()),
                    "commitments reused"
                );
            }
            quorate_ceremonies::Event::Committed { commitments: c, .. } => {
                assert!(
                    commitments.insert(c.serialize().unwrap()),
                    "commitments reused"
                );
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_leave_half_open_connections_and_sign() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let proxy = Proxy::start(d.coordinator_config.listen).await.unwrap();
    through(&mut d, &proxy).await;
    // Every agent's connection goes silent, open at both ends: their work
    // feeds would wait forever; their keepalives find them dead.
    proxy.half_open_all();
    let id = request(&d, MANIFEST).await;
    signed_by_the_quorum(&d, &id).await;
    assert!(
        proxy.connections() > EVERYONE.len() as u64,
        "the agents never reconnected"
    );
    nothing_recorded_twice(&d).await;
    // The silent connections end with the proxy; else the coordinator's
    // shutdown would wait for its keepalives (10 s + 10 s) to end them.
    drop(proxy);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ceremonies_sign_through_delays_and_cut_connections() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let proxy = Proxy::start(d.coordinator_config.listen).await.unwrap();
    through(&mut d, &proxy).await;
    proxy.set(Fault::Delay(Duration::from_millis(100)));
    let first = request(&d, MANIFEST).await;
    let second = request(&d, "def  app-1.1.tar.gz\n").await;
    // Every connection is cut every 400 ms while they run.
    let cutting = {
        let proxy = std::sync::Arc::new(proxy);
        let p = std::sync::Arc::clone(&proxy);
        let task = tokio::spawn(async move {
            for _ in 0..8 {
                tokio::time::sleep(Duration::from_millis(400)).await;
                p.drop_all();
            }
        });
        (proxy, task)
    };
    for id in [&first, &second] {
        for who in ["alice", "carol", "erin"] {
            approve(&d, who, id).await;
        }
    }
    for (id, message) in [(&first, MANIFEST), (&second, "def  app-1.1.tar.gz\n")] {
        let s = d.wait_finished(id, T).await.unwrap();
        assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
        assert_eq!(s.message, message.as_bytes());
        verify(&d, &s);
    }
    let (proxy, task) = cutting;
    task.await.unwrap();
    assert!(proxy.connections() > EVERYONE.len() as u64);
    nothing_recorded_twice(&d).await;
    drop(proxy);
    d.stop().await.unwrap();
}
