//! The chaos harness: ceremonies through a coordinator and five agents
//! that each run as a separate process; one of them is killed with SIGKILL
//! at a random point of each ceremony, then started again over its store
//! or journal, with the invariants checked after every kill and at the
//! end.
//!
//! Each run asks for one ceremony (through `quorate sign`'s retrying,
//! idempotent create) from auto-approving agents and kills the coordinator
//! or one agent, drawn at random, at one of three points, drawn at random: while the request is appended
//! (0-20 ms after it is sent), once the first approval is in (between
//! approvals and round 2), or once the signing package is out (mid-round).
//! It starts it again after a random 0-100 ms. Checked:
//!
//! - **lost**: a create the coordinator acknowledged whose ceremony is not
//!   served after the restart;
//! - **reordered**: a checkpoint not consistent with every earlier one, or
//!   a transcript whose replay finds anything (entries missing, repeated or
//!   out of order, a decision the engine would not make);
//! - **nonce reuse**: one round-1 commitment recorded twice in the log;
//! - **stuck**: a ceremony not finished within its signing deadline after
//!   the last kill;
//! - **failed-by-crash**: a ceremony every approver approved that did not
//!   end signed (no kill here leaves fewer live approvers than t), or that
//!   dropped a signer (every agent here is honest and alive: only a share
//!   a crash lost misses the signing deadline).
//!
//! The requester runs in this process and is not killed.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use quorate::local::{AUDITOR, LocalDeployment, Options, REQUESTER, sample_roster};
use quorate_ceremonies::{Entry, Event};
use quorate_e2e::process::{AgentProcess, CoordinatorProcess};
use quorate_tlog::{Checkpoint, ConsistencyProof, Hash, LogVerifier};
use quorate_wire::{self as proto, CeremonyState};

/// What a chaos run found.
#[derive(Debug, Default)]
pub struct Chaos {
    pub runs: u64,
    pub kills: u64,
    /// Of the kills, those of an agent (the others killed the coordinator).
    pub agent_kills: u64,
    pub lost: u64,
    pub reordered: u64,
    pub nonce_reuse: u64,
    pub stuck: u64,
    pub failed_by_crash: u64,
}

impl std::fmt::Display for Chaos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "runs {}, kills {} ({} of agents), lost {}, reordered {}, nonce reuse {}, stuck {}, \
             failed-by-crash {}",
            self.runs,
            self.kills,
            self.agent_kills,
            self.lost,
            self.reordered,
            self.nonce_reuse,
            self.stuck,
            self.failed_by_crash
        )
    }
}

impl Chaos {
    pub fn clean(&self) -> bool {
        self.lost + self.reordered + self.nonce_reuse + self.stuck + self.failed_by_crash == 0
    }
}

/// A small, seeded generator (splitmix64): the same seed, the same kills.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    }
}

fn request(n: u64) -> proto::CreateCeremonyRequest {
    proto::CreateCeremonyRequest {
        key_group: "release".into(),
        message: format!("{n:064x}  chaos-{n}.tar.gz\n").into_bytes(),
        label: "SHA256SUMS".into(),
        ..Default::default()
    }
}

/// The latest checkpoint, checked against the log key.
async fn checkpoint(d: &LocalDeployment, log: &LogVerifier) -> anyhow::Result<Checkpoint> {
    let note = d
        .clients(AUDITOR)
        .await?
        .audit
        .checkpoint(proto::CheckpointRequest {})
        .await?
        .into_inner()
        .note;
    Ok(log.verify_checkpoint(&note)?)
}

/// Whether `new` extends `old`, by the coordinator's consistency proof.
async fn consistent(d: &LocalDeployment, old: &Checkpoint, new: &Checkpoint) -> bool {
    if old.size > new.size {
        return false;
    }
    let Ok(mut clients) = d.clients(AUDITOR).await else {
        return false;
    };
    let Ok(reply) = clients
        .audit
        .consistency_proof(proto::ConsistencyProofRequest {
            old_size: old.size,
            new_size: new.size,
        })
        .await
    else {
        return false;
    };
    let hashes: Option<Vec<Hash>> = reply
        .into_inner()
        .hashes
        .iter()
        .map(|h| <[u8; 32]>::try_from(h.as_slice()).ok().map(Hash))
        .collect();
    let Some(hashes) = hashes else { return false };
    let proof = ConsistencyProof {
        old_size: old.size,
        new_size: new.size,
        hashes,
    };
    quorate_tlog::check_consistency(&proof, old.root, new.root).is_ok()
}

/// Polls the ceremony until `reached` holds (at most 10 s).
async fn wait_until(
    d: &LocalDeployment,
    id: &str,
    reached: impl Fn(&proto::CeremonyStatus) -> bool,
) {
    let Ok(mut clients) = d.clients(REQUESTER).await else {
        return;
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(s) = clients
            .ceremonies
            .get(proto::GetCeremonyRequest { id: id.into() })
            .await
            && reached(&s.into_inner())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Who a run kills: the coordinator, or agent `n` of the five.
enum Victim {
    Coordinator,
    Agent(usize),
}

/// Runs `runs` kills with `seed` in `dir`; the coordinator process is
/// `program coordinator_args... CONFIG`, each agent's `program
/// agent_args... CONFIG`.
pub async fn run(
    dir: &Path,
    runs: u64,
    seed: u64,
    program: &Path,
    (coordinator_args, agent_args): (&[&str], &[&str]),
) -> anyhow::Result<Chaos> {
    let mut dice = Dice(seed);
    let options = Options {
        auto_approve: true,
        ..Options::default()
    };
    let mut d =
        LocalDeployment::start_with(dir, "release", &sample_roster(None), 3, options).await?;
    let log = LogVerifier::parse(&d.log_verifier_key)?;
    let mut coordinator =
        CoordinatorProcess::take_over_with(&mut d, program, coordinator_args).await;
    let ids: Vec<_> = d.agent_configs.keys().cloned().collect();
    let mut agents = Vec::new();
    for id in &ids {
        agents.push(AgentProcess::take_over_with(&mut d, id, program, agent_args).await);
    }
    let mut found = Chaos::default();
    let mut checkpoints = vec![checkpoint(&d, &log).await?];
    let mut made = Vec::new();
    for n in 0..runs {
        let target = d.target(REQUESTER)?;
        let mut asking = Some(tokio::spawn(async move {
            quorate::client::create_ceremony(&target, request(n)).await
        }));
        // Whom it kills, and where the kill lands: while the request is
        // appended, between approvals and round 2, or mid-round.
        let victim = match dice.below(2) {
            0 => Victim::Coordinator,
            _ => Victim::Agent(dice.below(agents.len() as u64) as usize),
        };
        let point = dice.below(3);
        let mut asked = None;
        if point == 0 {
            tokio::time::sleep(Duration::from_millis(dice.below(20))).await;
        } else if let Some(handle) = asking.take() {
            let status = handle.await?;
            let id = match &status {
                Ok(s) => s.id.clone(),
                Err(e) => anyhow::bail!("run {n}: the request was never confirmed: {e}"),
            };
            asked = Some(status);
            wait_until(&d, &id, |s| {
                if point == 1 {
                    !s.approvals.is_empty()
                } else {
                    s.state() == CeremonyState::Signing || quorate::local::is_finished(s)
                }
            })
            .await;
        }
        let pause = Duration::from_millis(dice.below(100));
        match victim {
            Victim::Coordinator => {
                coordinator.kill();
                tokio::time::sleep(pause).await;
                coordinator.start(&d).await;
            }
            Victim::Agent(a) => {
                agents[a].kill();
                found.agent_kills += 1;
                tokio::time::sleep(pause).await;
                agents[a].start().await;
            }
        }
        found.kills += 1;
        found.runs += 1;
        let status = match (asked, asking) {
            (Some(status), _) => status,
            (None, Some(handle)) => handle.await?,
            (None, None) => anyhow::bail!("run {n}: no request was sent"),
        };
        match status {
            Ok(status) => made.push(status.id),
            // Never confirmed: the retries ran out (a failure to report,
            // not a loss: nothing was acknowledged).
            Err(e) => anyhow::bail!("run {n}: the request was never confirmed: {e}"),
        }
        let now = checkpoint(&d, &log).await?;
        for old in &checkpoints {
            if !consistent(&d, old, &now).await {
                found.reordered += 1;
            }
        }
        checkpoints.push(now);
    }
    // Every ceremony ends, signed: every approver approved, and no kill
    // left fewer live approvers than t.
    let mut clients = d.clients(REQUESTER).await?;
    for id in &made {
        let status = match clients
            .ceremonies
            .get(proto::GetCeremonyRequest { id: id.clone() })
            .await
        {
            Ok(s) => s.into_inner(),
            Err(_) => {
                found.lost += 1;
                continue;
            }
        };
        let finished = if quorate::local::is_finished(&status) {
            status
        } else {
            match d.wait_finished(id, Duration::from_secs(90)).await {
                Ok(s) => s,
                Err(_) => {
                    found.stuck += 1;
                    continue;
                }
            }
        };
        // A signer dropped is a crash's doing too: every agent here is
        // honest and alive, so only a lost share misses its deadline.
        if finished.state() != CeremonyState::Signed || !finished.dropped.is_empty() {
            found.failed_by_crash += 1;
        }
    }
    // Every transcript replays; no commitment was recorded twice.
    let mut audit = d.clients(AUDITOR).await?.audit;
    let mut commitments = HashSet::new();
    for id in &made {
        let id = quorate_types::CeremonyId::new(id.as_str())?;
        let transcript = quorate::audit::export(&mut audit, &id).await?;
        let report = quorate_ceremonies::replay::replay(&transcript, &log);
        if !report.passed {
            eprintln!("{report}");
            found.reordered += 1;
        }
        for e in &transcript.entries {
            if let Ok(Entry::CeremonyEvent { event, .. }) = Entry::decode(e.entry.as_bytes()) {
                let c = match event {
                    Event::Approved { commitments, .. } | Event::Committed { commitments, .. } => {
                        commitments
                    }
                    _ => continue,
                };
                if !commitments.insert(c.serialize().unwrap_or_default()) {
                    found.nonce_reuse += 1;
                }
            }
        }
    }
    drop(agents);
    drop(coordinator);
    d.stop().await?;
    Ok(found)
}
