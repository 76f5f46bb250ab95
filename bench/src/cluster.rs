//! A deployment as users run it, on loopback: the coordinator on redb with
//! mutual TLS, one agent per participant approving automatically, and a
//! requester that asks for signatures and waits for them.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quorate::client::Clients;
use quorate::local::{LocalDeployment, Options, REQUESTER, is_finished};
use quorate_coordinator::limits::Limits;
use quorate_types::{ParticipantId, Roster, RosterEntry};
use quorate_wire::{self as proto, CeremonyState};

use crate::size::Size;

pub const KEY_GROUP: &str = "bench";
/// No ceremony here takes longer; one that does is a failure.
const PATIENCE: Duration = Duration::from_secs(120);

pub struct Cluster {
    pub deployment: LocalDeployment,
    requester: Clients,
    counter: AtomicU64,
}

/// `n` participants, engineering, security and release in turn.
pub fn roster(n: u16) -> anyhow::Result<Roster> {
    const ROLES: [&str; 3] = ["engineering", "security", "release"];
    let participants = (0..n)
        .map(|i| {
            let role = ROLES[usize::from(i) % ROLES.len()];
            Ok(RosterEntry {
                id: ParticipantId::new(format!("p{i:03}"))?,
                name: format!("Participant {i} ({role})"),
                role: role.into(),
                coordinator: None,
                identity: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Roster { participants })
}

/// Limits no benchmark reaches: the benchmarks measure the path, not the
/// abuse limits.
pub fn unlimited() -> Limits {
    Limits {
        max_open_ceremonies: 1_000_000,
        max_open_per_requester: 1_000_000,
        creations_per_minute: u32::MAX / 2,
        creation_burst: u32::MAX / 2,
        writes_per_minute: u32::MAX / 2,
        write_burst: u32::MAX / 2,
        ..Limits::default()
    }
}

impl Cluster {
    pub async fn start(dir: &Path, size: Size) -> anyhow::Result<Self> {
        Self::start_over(dir, size, None).await
    }

    /// As [`Self::start`], with the coordinator's record in PostgreSQL at
    /// `postgres` (an empty database) if given.
    pub async fn start_over(
        dir: &Path,
        size: Size,
        postgres: Option<String>,
    ) -> anyhow::Result<Self> {
        let options = Options {
            limits: unlimited(),
            auto_approve: true,
            postgres,
            ..Default::default()
        };
        let deployment =
            LocalDeployment::start_with(dir, KEY_GROUP, &roster(size.n)?, size.t, options).await?;
        let requester = deployment.clients(REQUESTER).await?;
        Ok(Self {
            deployment,
            requester,
            counter: AtomicU64::new(0),
        })
    }

    /// One ceremony from request to signature; returns its id and how long
    /// the requester waited.
    pub async fn ceremony(&self) -> anyhow::Result<(String, Duration)> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let message = format!(
            "{n:064x}  quorate-bench-{n}.tar.gz\n{:064x}  quorate-bench-{n}.zip\n",
            n + 1
        );
        let mut clients = self.requester.clone();
        let started = Instant::now();
        let id = clients
            .ceremonies
            .create(proto::CreateCeremonyRequest {
                key_group: KEY_GROUP.into(),
                message: message.into_bytes(),
                label: format!("bench {n}"),
                ..Default::default()
            })
            .await?
            .into_inner()
            .id;
        let last = tokio::time::timeout(PATIENCE, async {
            let mut stream = clients
                .ceremonies
                .watch(proto::GetCeremonyRequest { id: id.clone() })
                .await?
                .into_inner();
            while let Some(status) = stream.message().await? {
                if is_finished(&status) {
                    return Ok(status);
                }
            }
            anyhow::bail!("the watch of ceremony {id} ended before it finished")
        })
        .await
        .map_err(|_| anyhow::anyhow!("ceremony {id} did not finish within {PATIENCE:?}"))??;
        let elapsed = started.elapsed();
        if last.state() != CeremonyState::Signed {
            anyhow::bail!("ceremony {id} ended {:?}: {}", last.state(), last.summary);
        }
        Ok((id, elapsed))
    }

    /// Runs `total` ceremonies, `concurrency` at a time, each worker on
    /// its own task; returns the wall time they took.
    pub async fn run_concurrently(
        self: &Arc<Self>,
        concurrency: usize,
        total: usize,
    ) -> anyhow::Result<Duration> {
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let cluster = Arc::clone(self);
            let next = Arc::clone(&next);
            workers.spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total as u64 {
                    cluster.ceremony().await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(result) = workers.join_next().await {
            result??;
        }
        Ok(started.elapsed())
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.deployment.stop().await
    }
}
