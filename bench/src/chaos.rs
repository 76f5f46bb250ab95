//! The chaos harness: ceremonies through a coordinator and five agents
//! that each run as a separate process; one of them is killed with SIGKILL
//! at a random point of each ceremony, then started again over its store
//! or journal, with the invariants checked after every kill and at the
//! end.
//!
//! Each run asks for one ceremony (through `quorate sign`'s retrying,
//! idempotent create, in a requester process of its own) from
//! auto-approving agents and kills the coordinator, one agent or the
//! requester, drawn at random. The requester is killed 0-40 ms after it
//! starts and then run again with the same request id, as a user runs
//! `quorate sign` again; the others at one of three points, drawn at
//! random: while the request is appended
//! (0-20 ms after it is sent), once the first approval is in (between
//! approvals and round 2), or once the signing package is out (mid-round).
//! It starts it again after a random 0-100 ms. Checked:
//!
//! - **lost**: a create the coordinator acknowledged whose ceremony is not
//!   served after the restart;
//! - **reordered**: a checkpoint not consistent with every earlier one, or
//!   a transcript whose replay finds anything (entries missing, repeated or
//!   out of order, a decision the engine would not make);
//! - **nonce reuse**: one round-1 commitment recorded twice in the log, or
//!   used for two signing packages by an agent's own journal (each share
//!   the agent sent is journaled with the commitments whose nonces made
//!   it, and the package's digest);
//! - **stuck**: a ceremony not finished within its signing deadline after
//!   the last kill;
//! - **failed-by-crash**: a ceremony every approver approved that did not
//!   end signed (no kill here leaves fewer live approvers than t), or that
//!   dropped a signer (every agent here is honest and alive: only a share
//!   a crash lost misses the signing deadline).
//!
//! - **duplicated**: more ceremonies in the record than runs (a request
//!   asked again that made one of its own), or a requester that got
//!   another ceremony than its request id names.
//!
//! With `--postgres`, the same over two coordinator replicas over
//! PostgreSQL: a kill of the coordinator kills the lease holder, the
//! follower (which serves reads and feeds meanwhile) takes over (agents
//! and requesters know both addresses), and the killed one starts again
//! as the follower.

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
    /// Of the kills, those of an agent.
    pub agent_kills: u64,
    /// Of the kills, those of the requester.
    pub requester_kills: u64,
    pub lost: u64,
    pub reordered: u64,
    pub nonce_reuse: u64,
    pub stuck: u64,
    pub failed_by_crash: u64,
    /// Ceremonies beyond one per run: a request asked again that made a
    /// ceremony of its own.
    pub duplicated: u64,
    /// Coordinator replicas over PostgreSQL (0: the embedded store).
    pub replicas: usize,
    /// Of the coordinator's kills, those after which the standby took over.
    pub takeovers: u64,
}

impl std::fmt::Display for Chaos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.replicas > 0 {
            write!(
                f,
                "{} replicas over PostgreSQL, {} takeovers: ",
                self.replicas, self.takeovers
            )?;
        }
        write!(
            f,
            "runs {}, kills {} ({} of agents, {} of the requester), lost {}, reordered {}, \
             nonce reuse {}, stuck {}, failed-by-crash {}, duplicated {}",
            self.runs,
            self.kills,
            self.agent_kills,
            self.requester_kills,
            self.lost,
            self.reordered,
            self.nonce_reuse,
            self.stuck,
            self.failed_by_crash,
            self.duplicated
        )
    }
}

impl Chaos {
    pub fn clean(&self) -> bool {
        self.lost
            + self.reordered
            + self.nonce_reuse
            + self.stuck
            + self.failed_by_crash
            + self.duplicated
            == 0
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

/// How many commitments some agent's journal shows used for more than one
/// signing package (the agents must be stopped: the journals are locked).
fn journaled_reuse(d: &LocalDeployment) -> anyhow::Result<u64> {
    let mut reused = 0;
    for config in d.agent_configs.values() {
        let journal = quorate_participant::journal::Journal::open(&config.state_dir)?;
        let mut packages: std::collections::HashMap<Vec<u8>, HashSet<_>> = Default::default();
        for (_, entry) in journal.entries() {
            for sent in entry.signed_attempts.iter().filter_map(|a| a.sent.as_ref()) {
                if sent.commitments.is_empty() {
                    continue;
                }
                packages
                    .entry(sent.commitments.clone())
                    .or_default()
                    .insert(sent.package_sha256);
            }
        }
        reused += packages.values().filter(|p| p.len() > 1).count() as u64;
    }
    Ok(reused)
}

/// Takes the latest checkpoint and returns how many of the earlier ones it
/// is not consistent with; keeps it.
async fn extends(
    d: &LocalDeployment,
    log: &LogVerifier,
    checkpoints: &mut Vec<Checkpoint>,
) -> anyhow::Result<u64> {
    let now = checkpoint(d, log).await?;
    let mut inconsistent = 0;
    for old in checkpoints.iter() {
        if !consistent(d, old, &now).await {
            inconsistent += 1;
        }
    }
    checkpoints.push(now);
    Ok(inconsistent)
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

/// Who a run kills: the coordinator, agent `n` of the five, or the
/// requester.
enum Victim {
    Coordinator,
    Agent(usize),
    Requester,
}

/// The requester: `quorate sign`'s retrying, idempotent create in a child
/// process (this binary as `chaos-requester`), one request id per run.
struct Requester {
    program: std::path::PathBuf,
    target: quorate::client::Target,
    seed: u64,
}

impl Requester {
    fn request_id(&self, n: u64) -> String {
        format!("chaos-{}-{n}", self.seed)
    }

    fn spawn(&self, n: u64) -> anyhow::Result<std::process::Child> {
        let tls = self
            .target
            .tls
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("the deployment serves TLS"))?;
        Ok(std::process::Command::new(&self.program)
            .arg("chaos-requester")
            .args([
                "--url",
                &self.target.url,
                "--identity",
                &self.target.identity,
            ])
            .arg("--ca")
            .arg(&tls.ca)
            .arg("--cert")
            .arg(&tls.cert)
            .arg("--key")
            .arg(&tls.key)
            .args(["--request-id", &self.request_id(n), "--n", &n.to_string()])
            .env("RUST_LOG", "error")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?)
    }

    /// Waits for a requester child: the ceremony id it printed.
    async fn answer(child: std::process::Child) -> anyhow::Result<String> {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
        if !out.status.success() {
            anyhow::bail!(
                "the requester failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// The hidden command a requester child runs: ask for ceremony `n`'s
/// signature with `request_id` through `quorate sign`'s retrying create,
/// and print the ceremony's id.
pub async fn request_once(
    target: quorate::client::Target,
    request_id: String,
    n: u64,
) -> anyhow::Result<()> {
    let mut asked = request(n);
    asked.request_id = request_id;
    let status = quorate::client::create_ceremony(&target, asked).await?;
    println!("{}", status.id);
    Ok(())
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
    postgres: Option<&str>,
) -> anyhow::Result<Chaos> {
    let mut dice = Dice(seed);
    let options = Options {
        auto_approve: true,
        ..Options::default()
    };
    let mut d =
        LocalDeployment::start_with(dir, "release", &sample_roster(None), 3, options).await?;
    let log = LogVerifier::parse(&d.log_verifier_key)?;
    let coordinator = CoordinatorProcess::take_over_with(&mut d, program, coordinator_args).await;
    let mut found = Chaos::default();
    // With a PostgreSQL cluster: the record moves there, and a second
    // replica follows (serving reads and feeds, sending writes to the
    // holder); every agent and client knows both.
    let mut replicas = vec![coordinator];
    if let Some(cluster) = postgres {
        let url = crate::replicas::database(cluster, &format!("quorate_chaos_{seed}")).await?;
        anyhow::ensure!(
            replicas[0].terminate().await.success(),
            "the coordinator did not stop"
        );
        quorate_coordinator::migrate::postgres::to_postgres(&d.coordinator_config.data_dir, &url)
            .await?;
        replicas[0].use_store(&url);
        replicas[0].start(&d).await;
        let listen = quorate::local::ports::unused_loopback()?;
        let mut standby = replicas[0].replica(&dir.join("replica-2"), listen);
        standby.spawn();
        d.add_replica(listen);
        replicas.push(standby);
        found.replicas = replicas.len();
    }
    let mut holder = 0;
    let ids: Vec<_> = d.agent_configs.keys().cloned().collect();
    let mut agents = Vec::new();
    for id in &ids {
        agents.push(AgentProcess::take_over_with(&mut d, id, program, agent_args).await?);
    }
    let requester = Requester {
        program: program.to_path_buf(),
        target: d.target(REQUESTER)?,
        seed,
    };
    let mut checkpoints = vec![checkpoint(&d, &log).await?];
    let mut made = Vec::new();
    for n in 0..runs {
        // Whom it kills, and where the kill lands: while the request is
        // appended, between approvals and round 2, or mid-round.
        let victim = match dice.below(3) {
            0 => Victim::Coordinator,
            1 => Victim::Agent(dice.below(agents.len() as u64) as usize),
            _ => Victim::Requester,
        };
        let point = dice.below(3);
        // The agent to kill; `None`: the coordinator.
        let agent = match victim {
            Victim::Coordinator => None,
            Victim::Agent(a) => Some(a),
            Victim::Requester => {
                // Killed at once or mid-call; then asked again with the same
                // request id, as a user runs `quorate sign` again.
                let mut child = requester.spawn(n)?;
                tokio::time::sleep(Duration::from_millis(dice.below(40))).await;
                let _ = child.kill();
                let _ = child.wait();
                found.kills += 1;
                found.requester_kills += 1;
                found.runs += 1;
                let id = Requester::answer(requester.spawn(n)?).await?;
                let expected = quorate_types::CeremonyId::of_request(
                    REQUESTER,
                    &quorate_types::RequestId::new(requester.request_id(n))?,
                );
                if id != expected.as_str() {
                    found.duplicated += 1;
                }
                made.push(id);
                found.reordered += extends(&d, &log, &mut checkpoints).await?;
                continue;
            }
        };
        let mut asking = Some(requester.spawn(n)?);
        let mut asked = None;
        if point == 0 {
            tokio::time::sleep(Duration::from_millis(dice.below(20))).await;
        } else if let Some(child) = asking.take() {
            let id = Requester::answer(child)
                .await
                .map_err(|e| anyhow::anyhow!("run {n}: the request was never confirmed: {e}"))?;
            asked = Some(id.clone());
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
        match agent {
            None if replicas.len() > 1 => {
                // The holder dies; the follower takes the lease once it
                // ends and writes; only then does the killed one start
                // again, as the follower.
                replicas[holder].kill();
                let standby = 1 - holder;
                replicas[standby].wait_writing(&d).await;
                tokio::time::sleep(pause).await;
                replicas[holder].spawn();
                holder = standby;
                found.takeovers += 1;
            }
            None => {
                replicas[holder].kill();
                tokio::time::sleep(pause).await;
                replicas[holder].start(&d).await;
            }
            Some(a) => {
                agents[a].kill();
                found.agent_kills += 1;
                tokio::time::sleep(pause).await;
                agents[a].start().await?;
            }
        }
        found.kills += 1;
        found.runs += 1;
        let id = match (asked, asking) {
            (Some(id), _) => id,
            // Never confirmed: the retries ran out (a failure to report,
            // not a loss: nothing was acknowledged).
            (None, Some(child)) => Requester::answer(child)
                .await
                .map_err(|e| anyhow::anyhow!("run {n}: the request was never confirmed: {e}"))?,
            (None, None) => anyhow::bail!("run {n}: no request was sent"),
        };
        made.push(id);
        found.reordered += extends(&d, &log, &mut checkpoints).await?;
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
    // One ceremony per run: a request asked again made none of its own.
    let mut listed = 0;
    let mut token = String::new();
    loop {
        let page = clients
            .ceremonies
            .list(proto::ListCeremoniesRequest {
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        listed += page.ceremonies.len() as u64;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    found.duplicated += listed.saturating_sub(runs);
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
    // No agent used one commitment (one pair of nonces) for two packages,
    // by the agents' own journals.
    drop(agents);
    found.nonce_reuse += journaled_reuse(&d)?;
    drop(replicas);
    d.stop().await?;
    Ok(found)
}
