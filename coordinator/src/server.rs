//! Binding the listener and running the services until told to stop.

use std::net::SocketAddr;
use std::sync::Arc;

use quorate_common::proto::{
    ceremonies_server::CeremoniesServer, key_groups_server::KeyGroupsServer,
    signer_server::SignerServer,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

use crate::Config;
use crate::clock::{Clock, SystemClock};
use crate::hub::Hub;
use crate::service::{CeremoniesService, KeyGroupsService, SignerService};
use crate::store::SledStore;

/// Largest request the coordinator decodes (a message plus framing).
const MAX_DECODE: usize = 256 * 1024;

/// A coordinator serving on `addr` until [`RunningCoordinator::stop`].
pub struct RunningCoordinator {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningCoordinator {
    /// Stops serving, ends the agents' streams, and closes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await?
    }

    /// Serves until the process is interrupted.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await?
    }
}

/// Opens the store in `config.data_dir`, reloads every ceremony and serves.
pub async fn start(config: &Config) -> anyhow::Result<RunningCoordinator> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

pub async fn start_with_clock(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningCoordinator> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data directory {}: {e}",
            config.data_dir.display()
        )
    })?;
    let store = SledStore::open(&config.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot open the store in {}: {e}",
            config.data_dir.display()
        )
    })?;
    let hub = Arc::new(Hub::load(store, clock)?);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = tonic::transport::Server::builder()
        .add_service(
            KeyGroupsServer::new(KeyGroupsService { hub: hub.clone() })
                .max_decoding_message_size(MAX_DECODE),
        )
        .add_service(
            CeremoniesServer::new(CeremoniesService { hub: hub.clone() })
                .max_decoding_message_size(MAX_DECODE),
        )
        .add_service(
            SignerServer::new(SignerService { hub: hub.clone() })
                .max_decoding_message_size(MAX_DECODE),
        );
    let signal_hub = hub.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
            // End the agents' streams so that the server can drain.
            signal_hub.stop();
        };
        router
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
            .await?;
        // Last reference: closing the hub closes sled.
        drop(hub);
        Ok(())
    });
    tracing::info!(%addr, "coordinator listening");
    Ok(RunningCoordinator { addr, stop, task })
}
