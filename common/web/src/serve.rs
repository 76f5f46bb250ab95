//! Runs a page's router on a bound listener until `stop` turns true: in
//! plain HTTP, or over TLS with a server configuration the caller built
//! (the agent's own certificate; the coordinator's, asking for client
//! certificates). Every connection is HTTP/1.1 on a task of its own, with
//! its peer as a [`ConnectInfo<Peer>`] extension on each request:
//!
//! - a TLS handshake runs on the connection's task, so a client that
//!   stalls in it holds up no one else, and is given up after
//!   [`HANDSHAKE_WITHIN`];
//! - a request's head must arrive within [`HEADER_WITHIN`];
//! - on stop, the listener closes at once, each connection finishes the
//!   request it is in, and whatever is still open after [`DRAIN_WITHIN`]
//!   (a slow client, an event stream) is cut. So [`serve`] returns, and
//!   drops the router and whatever its state holds, soon after `stop`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tower::ServiceExt;

/// The longest a client may take over its TLS handshake.
pub const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);
/// The longest a request's head may take to arrive.
pub const HEADER_WITHIN: Duration = Duration::from_secs(10);
/// How long open connections get to finish after `stop`.
pub const DRAIN_WITHIN: Duration = Duration::from_secs(5);

/// A connection's peer: its address and the client certificate chain it
/// presented over TLS (DER, leaf first; empty if none, and in plain HTTP).
#[derive(Clone, Debug)]
pub struct Peer {
    pub addr: SocketAddr,
    pub certificates: Arc<Vec<Vec<u8>>>,
}

/// Resolves once `stop` is true (or its sender is gone).
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Serves `router` on `listener` until `stop` is true; over TLS with `tls`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    router: Router,
    stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut connections = JoinSet::new();
    let stopping = stopped(stop.clone());
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            _ = &mut stopping => break,
            accepted = listener.accept() => {
                let (tcp, addr) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: wait, then go on.
                        tracing::warn!(error = %e, "page: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (router, stop, acceptor) = (router.clone(), stop.clone(), acceptor.clone());
                connections.spawn(async move {
                    match acceptor {
                        None => {
                            let peer = Peer { addr, certificates: Arc::new(Vec::new()) };
                            connection(tcp, peer, router, stop).await;
                        }
                        Some(acceptor) => {
                            let handshake = tokio::time::timeout(HANDSHAKE_WITHIN, acceptor.accept(tcp));
                            match handshake.await {
                                Ok(Ok(stream)) => {
                                    let certificates = stream
                                        .get_ref()
                                        .1
                                        .peer_certificates()
                                        .map(|c| c.iter().map(|c| c.as_ref().to_vec()).collect())
                                        .unwrap_or_default();
                                    let peer = Peer { addr, certificates: Arc::new(certificates) };
                                    connection(stream, peer, router, stop).await;
                                }
                                Ok(Err(e)) => tracing::debug!(%addr, error = %e, "page: TLS handshake failed"),
                                Err(_) => tracing::debug!(%addr, "page: TLS handshake timed out"),
                            }
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_WITHIN, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::debug!(
            open = connections.len(),
            "page: cutting connections still open"
        );
    }
    connections.shutdown().await;
    Ok(())
}

/// One connection, until it closes, or until `stop` and the request it is
/// in ends.
async fn connection<I>(io: I, peer: Peer, router: Router, stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer.clone()));
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_WITHIN);
    let served = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(served);
    tokio::select! {
        result = served.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "page: connection ended");
            }
        }
        _ = stopped(stop) => {
            served.as_mut().graceful_shutdown();
            let _ = served.await;
        }
    }
}
