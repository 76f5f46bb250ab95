//! The load test: one coordinator, in a process of its own, with `streams`
//! agent work streams subscribed (one per participant, each on its own
//! mutual-TLS connection, in 3-of-5 key groups of five) and `ceremonies`
//! ceremonies opened at once across those groups, 64 creates in flight.
//! Every ceremony must reach the stream of each of its group's five
//! participants, and no create or stream may fail. It measures how long
//! the creates take, how long each ceremony takes from its create's start
//! to each of its participants' streams, and the coordinator's memory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use quorate::client::Clients;
use quorate::keygen;
use quorate::local::{OPERATOR, REQUESTER};
use quorate_types::{KeyGroupName, ParticipantId, Policy, Roster, RosterEntry};
use quorate_wire as proto;
use quorate_wire::client::Identify;
use quorate_wire::signer_client::SignerClient;

use crate::memory::{Served, rss_kib};
use crate::stats::{Samples, show};

/// No ceremony here takes longer to reach its streams.
const PATIENCE: Duration = Duration::from_secs(120);

/// Participants per key group.
const GROUP: usize = 5;

pub struct Load {
    pub ceremonies: usize,
    pub streams: usize,
    /// Each create's round trip.
    pub create: Samples,
    /// From each create's start to each of its participants' streams.
    pub delivery: Samples,
    /// Failed creates and streams, and deliveries that never came.
    pub errors: usize,
    /// Coordinator resident set with the streams open, nothing requested.
    pub idle_kib: u64,
    pub open_kib: u64,
    pub peak_kib: u64,
}

fn group_name(g: usize) -> String {
    format!("load-{g:04}")
}

fn participant(g: usize, i: usize) -> anyhow::Result<ParticipantId> {
    Ok(ParticipantId::new(format!("g{g:04}-p{i}"))?)
}

/// What each stream saw: (ceremony, stream) and when.
type Seen = tokio::sync::mpsc::UnboundedSender<(String, usize, Instant)>;

pub async fn measure(dir: &Path, ceremonies: usize, streams: usize) -> anyhow::Result<Load> {
    let groups = streams.div_ceil(GROUP).max(1);
    let mut served = Served::start(dir).await?;
    let pid = served.pid();
    let (pki, url) = (&served.pki, served.url.clone());
    let target = |identity: &str| served.target(identity);
    let mut operator = Clients::connect(&target(OPERATOR)?).await?.key_groups;
    for g in 0..groups {
        let roster = Roster {
            participants: (0..GROUP)
                .map(|i| {
                    Ok(RosterEntry {
                        id: participant(g, i)?,
                        name: format!("Participant {i} of group {g}"),
                        role: "engineering".into(),
                        coordinator: None,
                        identity: None,
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let dealt = keygen::deal(
            KeyGroupName::new(group_name(g))?,
            &roster,
            3,
            Policy::default(),
        )?;
        operator
            .register(proto::RegisterKeyGroupRequest {
                key_group: Some(proto::KeyGroup::from(&dealt.group)),
            })
            .await?;
    }

    // The streams, each its own connection, as agents hold them.
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let failed = Arc::new(AtomicUsize::new(0));
    let mut readers = tokio::task::JoinSet::new();
    for s in 0..groups * GROUP {
        let (g, i) = (s / GROUP, s % GROUP);
        let id = participant(g, i)?;
        let files = pki.client(id.as_str())?;
        let channel = quorate_wire::tls::channel(&url, Some(&files))
            .await
            .map_err(anyhow::Error::msg)?;
        let mut signer = SignerClient::with_interceptor(
            channel,
            Identify::new(id.as_str()).map_err(anyhow::Error::msg)?,
        );
        let mut feed = signer
            .subscribe(proto::SubscribeRequest {})
            .await?
            .into_inner();
        let (seen_tx, failed): (Seen, _) = (seen_tx.clone(), Arc::clone(&failed));
        readers.spawn(async move {
            loop {
                match feed.message().await {
                    Ok(Some(work)) => {
                        if let Some(c) = work.ceremony {
                            let _ = seen_tx.send((c.id, s, Instant::now()));
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        eprintln!("load: a stream failed: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        });
    }
    drop(seen_tx);
    let idle_kib = rss_kib(pid, "VmRSS")?;

    // The ceremonies, 64 creates in flight.
    let requester = Clients::connect(&target(REQUESTER)?).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let (asked_tx, mut asked) = tokio::sync::mpsc::unbounded_channel();
    let mut creators = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (mut clients, next, asked_tx, failed) = (
            requester.clone(),
            Arc::clone(&next),
            asked_tx.clone(),
            Arc::clone(&failed),
        );
        creators.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= ceremonies {
                    return;
                }
                let started = Instant::now();
                let created = clients
                    .ceremonies
                    .create(proto::CreateCeremonyRequest {
                        key_group: group_name(n % groups),
                        message: format!("{n:064x}  load-{n}.tar.gz\n").into_bytes(),
                        label: format!("load {n}"),
                        ..Default::default()
                    })
                    .await;
                match created {
                    Ok(reply) => {
                        let _ = asked_tx.send((
                            reply.into_inner().id,
                            n % groups,
                            started,
                            started.elapsed(),
                        ));
                    }
                    Err(e) => {
                        eprintln!("load: a create failed: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    drop(asked_tx);
    while creators.join_next().await.is_some() {}
    let mut started: HashMap<String, (usize, Instant)> = HashMap::new();
    let mut create = Samples::default();
    while let Some((id, g, at, took)) = asked.recv().await {
        started.insert(id, (g, at));
        create.push(took);
    }

    // Every ceremony to each of its group's five streams.
    let mut delivery = Samples::default();
    let mut reached: HashMap<(String, usize), ()> = HashMap::new();
    let wanted = started.len() * GROUP;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while reached.len() < wanted {
        let Ok(Some((id, s, when))) = tokio::time::timeout_at(deadline, seen.recv()).await else {
            break;
        };
        let Some((g, at)) = started.get(&id) else {
            continue;
        };
        if s / GROUP == *g && reached.insert((id, s), ()).is_none() {
            delivery.push(when.saturating_duration_since(*at));
        }
    }
    let open_kib = rss_kib(pid, "VmRSS")?;
    let peak_kib = rss_kib(pid, "VmHWM")?;
    let errors =
        failed.load(Ordering::Relaxed) + (wanted - reached.len()) + (ceremonies - started.len());
    readers.abort_all();
    served.child.stop();
    Ok(Load {
        ceremonies,
        streams: groups * GROUP,
        create,
        delivery,
        errors,
        idle_kib,
        open_kib,
        peak_kib,
    })
}

impl Load {
    /// One line of what it measured.
    pub fn summary(&self) -> String {
        format!(
            "load: {} ceremonies opened at once to {} agent streams, {} errors; create p50 {}, \
             p99 {}; to each stream p50 {}, p99 {}, max {}; coordinator RSS {:.1} MiB with the \
             streams open, {:.1} MiB with every ceremony open, peak {:.1} MiB",
            self.ceremonies,
            self.streams,
            self.errors,
            show(self.create.percentile(50.0)),
            show(self.create.percentile(99.0)),
            show(self.delivery.percentile(50.0)),
            show(self.delivery.percentile(99.0)),
            show(self.delivery.percentile(100.0)),
            self.idle_kib as f64 / 1024.0,
            self.open_kib as f64 / 1024.0,
            self.peak_kib as f64 / 1024.0,
        )
    }
}
