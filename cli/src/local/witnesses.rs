//! A local deployment's witnesses: each a `quorate witness` server in this
//! process, on loopback, with its key and state under `dir/witnesses/wN`.
//! Their verifier keys are written to `dir/witnesses.vkeys`, one per line,
//! for auditors' `--witness-keys`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use quorate_coordinator::witnessing::WitnessConfig;
use quorate_secrets::Passphrase;
use quorate_secrets::sealed::KdfParams;
use quorate_tlog::LogVerifier;
use quorate_witness::serve::{self, Server};
use quorate_witness::state::State;
use quorate_witness::{Witness, key_file};

/// The file listing a local deployment's witness keys.
pub const VKEYS_FILE: &str = "witnesses.vkeys";

/// A witness serving in this process.
pub struct LocalWitness {
    pub vkey: String,
    pub url: String,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    dir: std::path::PathBuf,
    log: String,
}

impl LocalWitness {
    /// Starts witness `dir` (making its key the first time) following the
    /// log `log_vkey`, on `addr` (port 0 for any).
    pub async fn start(
        dir: &Path,
        name: &str,
        log_vkey: &str,
        addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let key = if dir.join(key_file::FILE_NAME).exists() {
            key_file::load(dir)?
        } else {
            key_file::create(dir, name)?
        };
        let vkey = key.verifier_key();
        let witness = Witness::new(key, vec![LogVerifier::parse(log_vkey)?])
            .map_err(|e| anyhow::anyhow!(e))?;
        let server = Arc::new(Server::new(
            witness,
            State::open(dir)?,
            serve::system_clock(),
        ));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(serve::run(listener, server, async move {
            let _ = stopped.await;
        }));
        Ok(LocalWitness {
            url: format!("http://{addr}/add-checkpoint"),
            vkey,
            addr,
            stop: Some(stop),
            task: Some(task),
            dir: dir.to_owned(),
            log: log_vkey.to_owned(),
        })
    }

    /// What the coordinator's `[[witness]]` says of it.
    pub fn config(&self) -> WitnessConfig {
        WitnessConfig {
            url: self.url.clone(),
            vkey: self.vkey.clone(),
        }
    }

    /// Stops serving (its state stays on disk).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }

    /// Starts it again on the same port, from its state on disk.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        let name = key_file::load(&self.dir)?.name().to_owned();
        *self = Self::start(&self.dir, &name, &self.log, self.addr).await?;
        Ok(())
    }
}

/// Starts `count` witnesses under `dir/witnesses` for the log `log_vkey`
/// and writes their keys to `dir/witnesses.vkeys`.
pub async fn start(dir: &Path, log_vkey: &str, count: usize) -> anyhow::Result<Vec<LocalWitness>> {
    let mut witnesses = Vec::new();
    for i in 1..=count {
        let name = format!("witness.localhost/w{i}");
        let witness_dir = dir.join("witnesses").join(format!("w{i}"));
        witnesses.push(
            LocalWitness::start(
                &witness_dir,
                &name,
                log_vkey,
                super::ports::unused_loopback()?,
            )
            .await?,
        );
    }
    if count > 0 {
        let vkeys: String = witnesses.iter().map(|w| format!("{}\n", w.vkey)).collect();
        std::fs::write(dir.join(VKEYS_FILE), vkeys)?;
    }
    Ok(witnesses)
}

/// Where a local deployment keeps agent `id`'s state: `agents/<id>` for a
/// dealt group, `agents/<id>/state` for one made by DKG.
pub fn agent_state_dir(
    dir: &Path,
    id: &quorate_types::ParticipantId,
    dkg: bool,
) -> std::path::PathBuf {
    let home = dir.join("agents").join(id.as_str());
    if dkg { home.join("state") } else { home }
}

/// An agent that is a witness too.
#[derive(Debug, Clone)]
pub struct AgentWitness {
    pub vkey: String,
    pub addr: SocketAddr,
    /// Bound to `addr` for as long as the deployment lives; each start of
    /// the agent serves a copy of it.
    pub socket: std::sync::Arc<std::net::TcpListener>,
}

impl AgentWitness {
    pub fn config(&self) -> WitnessConfig {
        WitnessConfig {
            url: format!("http://{}/add-checkpoint", self.addr),
            vkey: self.vkey.clone(),
        }
    }
}

/// Makes each roster entry's agent witness key (in its state directory,
/// where the agent finds it, sealed with the agent's passphrase) and binds
/// a loopback socket for it, and writes their keys to
/// `dir/witnesses.vkeys`. The agents serve once started; the coordinator
/// asks again until they do.
pub fn agents(
    dir: &Path,
    roster: &quorate_types::Roster,
    dkg: bool,
    passphrases: &std::collections::BTreeMap<quorate_types::ParticipantId, Passphrase>,
) -> anyhow::Result<std::collections::BTreeMap<quorate_types::ParticipantId, AgentWitness>> {
    let mut out = std::collections::BTreeMap::new();
    for id in roster.ids() {
        let witness_dir = agent_state_dir(dir, id, dkg).join("witness");
        let passphrase = passphrases
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("no passphrase for {id}'s agent"))?;
        let key = key_file::create_sealed(
            &witness_dir,
            &quorate_participant::witness::name(id),
            id,
            passphrase,
            &KdfParams::for_random_passphrase(),
        )?;
        // Bound here, not picked free for the agent to bind later: an
        // outgoing connection could take a port in between.
        let socket = std::net::TcpListener::bind("127.0.0.1:0")?;
        out.insert(
            id.clone(),
            AgentWitness {
                vkey: key.verifier_key(),
                addr: socket.local_addr()?,
                socket: std::sync::Arc::new(socket),
            },
        );
    }
    let vkeys: String = out.values().map(|w| format!("{}\n", w.vkey)).collect();
    std::fs::write(dir.join(VKEYS_FILE), vkeys)?;
    Ok(out)
}

/// Closes every connection to `socket` as soon as it is accepted, until
/// it is dropped: the socket of an agent that is stopped, which the
/// deployment keeps bound for its next start.
pub fn refuse_on(socket: &std::net::TcpListener) -> std::io::Result<Refuser> {
    let copy = socket.try_clone()?;
    copy.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(copy)?;
    Ok(Refuser(tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((connection, _)) => drop(connection),
                // Out of descriptors, say: a moment, then on.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    })))
}

/// The task [`refuse_on`] runs, stopped when this is dropped (and with it
/// its copy of the socket).
#[derive(Debug)]
pub struct Refuser(tokio::task::JoinHandle<()>);

impl Refuser {
    /// Stops the task and waits until its copy of the socket is closed.
    pub async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for Refuser {
    fn drop(&mut self) {
        self.0.abort();
    }
}
