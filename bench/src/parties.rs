//! CPU time per party of a 3-of-5 ceremony: the coordinator and the five
//! agents each in a process of their own (this binary, run as
//! `chaos-coordinator` and `serve-agent`), the requester in this one. Each
//! process's CPU time (user + system, `/proc/<pid>/stat`) is read before
//! and after ceremonies run one at a time, and divided by their number.

use std::path::Path;
use std::time::Duration;

use quorate_e2e::process::{AgentProcess, CoordinatorProcess};

use crate::cluster::Cluster;
use crate::size::THREE_OF_FIVE;

pub struct PartyCpu {
    pub ceremonies: usize,
    /// (party, CPU time per ceremony), the coordinator first, then each
    /// agent, then the requester.
    pub per_ceremony: Vec<(String, Duration)>,
}

impl PartyCpu {
    pub fn total(&self) -> Duration {
        self.per_ceremony.iter().map(|(_, d)| *d).sum()
    }
}

/// The hidden command an agent child runs: the agent of `config`, its
/// passphrase from `QUORATE_PASSPHRASE`, until SIGTERM.
pub async fn serve_agent(config: &Path) -> anyhow::Result<()> {
    let mut config = quorate_participant::AgentConfig::load(config)?;
    config.passphrase = Some(quorate_secrets::passphrase::obtain(None, "passphrase: ")?);
    quorate_participant::serve(config).await
}

pub async fn measure(dir: &Path, ceremonies: usize) -> anyhow::Result<PartyCpu> {
    let exe = std::env::current_exe()?;
    let mut cluster = Cluster::start(dir, THREE_OF_FIVE).await?;
    let coordinator =
        CoordinatorProcess::take_over_with(&mut cluster.deployment, &exe, &["chaos-coordinator"])
            .await;
    let ids: Vec<_> = cluster.deployment.agent_configs.keys().cloned().collect();
    let mut agents = Vec::new();
    for id in &ids {
        let agent =
            AgentProcess::take_over_with(&mut cluster.deployment, id, &exe, &["serve-agent"])
                .await?;
        agents.push((id.to_string(), agent));
    }
    let mut pids = vec![("coordinator".to_string(), coordinator.pid())];
    pids.extend(
        agents
            .iter()
            .map(|(id, a)| (format!("agent {id}"), a.pid())),
    );
    pids.push(("requester".to_string(), std::process::id()));

    cluster.ceremony().await?; // warm-up: connections, caches
    let before = cpu_of(&pids)?;
    for _ in 0..ceremonies {
        cluster.ceremony().await?;
    }
    let after = cpu_of(&pids)?;
    let per_ceremony = pids
        .iter()
        .zip(before.iter().zip(&after))
        .map(|((party, _), (b, a))| {
            let used = a.saturating_sub(*b);
            (party.clone(), used / ceremonies.max(1) as u32)
        })
        .collect();
    drop(agents);
    drop(coordinator);
    cluster.stop().await?;
    Ok(PartyCpu {
        ceremonies,
        per_ceremony,
    })
}

/// Each process's CPU time so far.
fn cpu_of(pids: &[(String, u32)]) -> anyhow::Result<Vec<Duration>> {
    let tick = clock_tick()?;
    pids.iter()
        .map(|(_, pid)| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
            // After the command name (which may hold spaces) in parentheses:
            // field 3 is the state; utime and stime are fields 14 and 15.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            let ticks = |n: usize| -> anyhow::Result<u64> {
                Ok(fields
                    .get(n - 3)
                    .ok_or_else(|| anyhow::anyhow!("/proc/{pid}/stat has no field {n}"))?
                    .parse()?)
            };
            Ok(tick * u32::try_from(ticks(14)? + ticks(15)?)?)
        })
        .collect()
}

/// The length of a clock tick, the unit of `/proc/<pid>/stat`'s times.
fn clock_tick() -> anyhow::Result<Duration> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()?;
    let hz: u64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    Ok(Duration::from_secs(1) / u32::try_from(hz)?)
}
