//! Runs a page's router on a bound listener until `stop` turns true: in
//! plain HTTP, or over TLS with a server configuration the caller built
//! (the agent's own certificate; the coordinator's, asking for client
//! certificates). A TLS handshake runs on its own task, so a client that
//! stalls in it holds up no one else, and is given up after
//! [`HANDSHAKE_WITHIN`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

/// The longest a client may take over its TLS handshake.
pub const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` is true; over TLS with `tls`.
/// Each request carries its peer's [`Peer`] as an extension.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let stopped = async move {
        while !*stop.borrow_and_update() {
            if stop.changed().await.is_err() {
                return;
            }
        }
    };
    match tls {
        None => {
            let app = router.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        }
        Some(config) => {
            let app = router.into_make_service_with_connect_info::<TlsPeer>();
            axum::serve(TlsListener::new(listener, config), app)
                .with_graceful_shutdown(stopped)
                .await
        }
    }
}

/// A TLS connection's peer: its address and the client certificate chain
/// it presented (DER, leaf first; empty if none).
#[derive(Clone, Debug)]
pub struct TlsPeer {
    pub addr: SocketAddr,
    pub certificates: Arc<Vec<Vec<u8>>>,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for TlsPeer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// TCP connections, each through its TLS handshake.
pub struct TlsListener {
    local: io::Result<SocketAddr>,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, TlsPeer)>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> Self {
        let local = listener.local_addr();
        let (sender, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (tcp, addr) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: wait, then go on.
                        tracing::warn!(error = %e, "page: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if sender.is_closed() {
                    return;
                }
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_WITHIN, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let certificates = stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .map(|c| c.iter().map(|c| c.as_ref().to_vec()).collect())
                                .unwrap_or_default();
                            let peer = TlsPeer {
                                addr,
                                certificates: Arc::new(certificates),
                            };
                            let _ = sender.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%addr, error = %e, "page: TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%addr, "page: TLS handshake timed out"),
                    }
                });
            }
        });
        Self { local, ready }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = TlsPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task ended: no connection will come again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        match &self.local {
            Ok(addr) => Ok(TlsPeer {
                addr: *addr,
                certificates: Arc::new(Vec::new()),
            }),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        }
    }
}
