//! The agent as a witness of the coordinator's record: a
//! [`quorate_witness`] server for the log of the agent's `log_key`, with
//! its key (sealed with the agent's passphrase) and state under
//! `<state_dir>/witness`, so that the approvers'
//! own machines can be the witnesses a key group's policy names.

use std::sync::Arc;

use quorate_secrets::Passphrase;
use quorate_secrets::sealed::KdfParams;
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

/// The agent's witness key, sealed as `config.id`'s with `passphrase`
/// (the passphrase of its other key files): made the first time. A key an
/// earlier release kept in the clear is sealed now, and the clear file
/// removed.
pub fn key(config: &AgentConfig, passphrase: &Passphrase) -> anyhow::Result<WitnessKey> {
    let dir = config.witness_dir();
    let clear = dir.join(key_file::FILE_NAME);
    if dir.join(key_file::SEALED_FILE_NAME).exists() {
        if clear.exists() {
            anyhow::bail!(
                "{} holds the witness key both sealed and in the clear: once you know the sealed \
                 one is yours (`quorate-participant witness-key` prints it), remove {}",
                dir.display(),
                clear.display()
            );
        }
        return key_file::load_sealed(&dir, passphrase);
    }
    if clear.exists() {
        let key = key_file::load(&dir)?;
        let sealed = dir.join(key_file::SEALED_FILE_NAME);
        key_file::seal(&sealed, &key, &config.id, passphrase, &KdfParams::default())?;
        std::fs::remove_file(&clear).map_err(|e| {
            anyhow::anyhow!(
                "sealed {}, but cannot remove {}: {e}",
                sealed.display(),
                clear.display()
            )
        })?;
        return Ok(key);
    }
    key_file::create_sealed(
        &dir,
        &name(&config.id),
        &config.id,
        passphrase,
        &KdfParams::default(),
    )
}

/// Binds `config.witness_listen` (or takes `bound`, the socket bound for
/// it) and serves, cosigning with `key`, until `stop` turns true.
pub async fn start(
    config: &AgentConfig,
    bound: Option<std::net::TcpListener>,
    key: WitnessKey,
    log: &LogVerifier,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(listen) = config.witness_listen else {
        return Ok(None);
    };
    let vkey = key.verifier_key();
    let witness = Witness::new(key, vec![log.clone()]).map_err(|e| anyhow::anyhow!(e))?;
    let server = Arc::new(Server::new(
        witness,
        State::open(&config.witness_dir())?,
        serve::system_clock(),
    ));
    let listener = match bound {
        Some(bound) => bound
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(bound)),
        None => tokio::net::TcpListener::bind(listen).await,
    }
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
