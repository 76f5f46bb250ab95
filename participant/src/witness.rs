//! The agent as a witness of the coordinator's record: a
//! [`quorate_witness`] server for the log of the agent's `log_key`, with
//! its key and state under `<state_dir>/witness`, so that the approvers'
//! own machines can be the witnesses a key group's policy names.

use std::sync::Arc;

use quorate_tlog::{LogVerifier, WitnessKey};
use quorate_witness::serve::{self, Server};
use quorate_witness::state::State;
use quorate_witness::{Witness, key_file};
use tokio::sync::watch;

use crate::AgentConfig;

/// The witness name of agent `id`: `<id>.agent.quorate`.
pub fn name(id: &quorate_types::ParticipantId) -> String {
    format!("{id}.agent.quorate")
}

/// The agent's witness key, made the first time.
pub fn key(config: &AgentConfig) -> anyhow::Result<WitnessKey> {
    let dir = config.witness_dir();
    if dir.join(key_file::FILE_NAME).exists() {
        key_file::load(&dir)
    } else {
        key_file::create(&dir, &name(&config.id))
    }
}

/// Binds `config.witness_listen` and serves until `stop` turns true.
pub async fn start(
    config: &AgentConfig,
    log: &LogVerifier,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(listen) = config.witness_listen else {
        return Ok(None);
    };
    let key = key(config)?;
    let vkey = key.verifier_key();
    let witness = Witness::new(key, vec![log.clone()]).map_err(|e| anyhow::anyhow!(e))?;
    let server = Arc::new(Server::new(
        witness,
        State::open(&config.witness_dir())?,
        serve::system_clock(),
    ));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("witness_listen {listen}: {e}"))?;
    tracing::info!(%vkey, address = %listener.local_addr()?, "witnessing the coordinator's record");
    Ok(Some(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = serve::run(listener, server, stopped).await {
            tracing::error!(error = %e, "the witness stopped");
        }
    })))
}
