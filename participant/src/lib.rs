//! The approver's agent: holds one key share, shows each request to its
//! approver, and runs the FROST rounds for the messages the approver
//! approved, and for nothing else.
//!
//! [`start`] runs an agent in the current process: the work feed from the
//! coordinator ([`agent`]), the approver's control socket ([`control`]) and,
//! when the agent has the coordinator's log key, the checks of the
//! coordinator's record ([`record_check`]). What it does about a ceremony
//! it decided on is the [`gate`]'s decision, a pure function of its journal,
//! its nonces' commitments and the ceremony; [`agent`] carries it out,
//! but releases a share only after the [`release_check`] of the record:
//! the whole policy kept, and its approval in a checkpoint (one the
//! [`witness_gate`]'s witnesses cosigned, when the policy names them).

pub mod agent;
pub mod alert;
pub mod approvals;
pub mod backup;
mod config;
pub mod control;
pub mod dkg;
pub mod gate;
pub mod identity;
pub mod join;
pub mod journal;
pub mod page;
pub mod record_check;
pub mod release_check;
pub mod repair;
pub mod request_check;
pub mod signer;
#[cfg(test)]
mod testing;
pub mod tls_files;
mod turns;
pub mod witness;
pub mod witness_gate;
mod work_book;

use std::sync::Arc;

use quorate_wire::agent_control_server::AgentControlServer;
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnixListenerStream;

pub use agent::Agent;
pub use config::AgentConfig;

/// An agent running in this process.
pub struct RunningAgent {
    pub agent: Arc<Agent>,
    /// The approver's page's address (`http://127.0.0.1:7480`), when
    /// `[page]` is set.
    pub page: Option<String>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningAgent {
    /// Stops the agent; its nonces are dropped (and zeroized) with it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Runs until the process is interrupted.
    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Runs the agent until Ctrl-C or SIGTERM (`systemctl stop`), then stops
/// it gracefully: the ceremony tasks finish or stop, the journal is made
/// durable and closed. `config` must carry the passphrase.
pub async fn serve(config: AgentConfig) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let running = start(config).await?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("stopping");
    running.stop().await;
    Ok(())
}

/// Opens the sealed key share and identity key with `config.passphrase`
/// (the identity key checked against the roster), opens the journal, binds
/// the control socket and connects to the coordinator.
pub async fn start(config: AgentConfig) -> anyhow::Result<RunningAgent> {
    start_with(config, Sockets::default()).await
}

/// Sockets bound before the agent starts, by whoever runs it in-process
/// and must know (and keep) the address: an agent restarted in the same
/// process serves on the same socket, which no other socket can take in
/// between, as it could a port that was only picked free.
#[derive(Debug, Default)]
pub struct Sockets {
    /// Served instead of binding `witness_listen`.
    pub witness: Option<std::net::TcpListener>,
}

/// As [`start`], serving on the `sockets` given.
pub async fn start_with(config: AgentConfig, sockets: Sockets) -> anyhow::Result<RunningAgent> {
    let socket = config.socket_path();
    let agent = Arc::new(Agent::open(config)?);
    if socket.exists() {
        std::fs::remove_file(&socket).map_err(|e| {
            anyhow::anyhow!("cannot remove the old socket {}: {e}", socket.display())
        })?;
    }
    let listener = UnixListener::bind(&socket)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", socket.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    }
    let (stop, stopped) = watch::channel(false);
    // The page binds first: a port in use stops the start before any
    // task runs.
    let mut tasks = Vec::new();
    let mut page = None;
    if let Some(config) = agent.config.page.clone() {
        let served = page::start(agent.clone(), &config, stop.subscribe()).await?;
        tasks.push(served.task);
        page = Some(served.base);
    }
    let feed = tokio::spawn(agent.clone().run(stopped.clone()));
    let control = {
        let service = AgentControlServer::new(control::ControlService {
            agent: agent.clone(),
        });
        let mut stopped = stopped;
        tokio::spawn(async move {
            let result = tonic::transport::Server::builder()
                .timeout(control::CALL_TIMEOUT)
                .add_service(service)
                .serve_with_incoming_shutdown(UnixListenerStream::new(listener), async move {
                    let _ = stopped.changed().await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "control socket failed");
            }
        })
    };
    tasks.extend([feed, control]);
    if let (Some(verifier), Some(key)) = (agent.log_verifier(), agent.take_witness_key())
        && let Some(witness) = witness::start(
            &agent.config,
            sockets.witness,
            key,
            verifier,
            stop.subscribe(),
        )
        .await?
    {
        tasks.push(witness);
    }
    if let Some(verifier) = agent.log_verifier().cloned() {
        tasks.push(tokio::spawn(record_check::task::run(
            agent.clone(),
            verifier,
            stop.subscribe(),
        )));
    }
    Ok(RunningAgent {
        agent,
        page,
        stop,
        tasks,
    })
}
