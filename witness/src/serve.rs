//! `POST <prefix>/add-checkpoint` over HTTP. Each request is judged and its
//! result persisted under one lock, so two requests cannot both extend the
//! same old size (the rollback race tlog-witness warns of).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::state::State;
use crate::{AddCheckpoint, Refusal, Witness};

/// The largest request body taken: a checkpoint note with many signatures
/// and 63 proof lines fit many times over.
pub const MAX_BODY: usize = 256 * 1024;

/// POSIX seconds now; a function so tests can hold time still.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    })
}

/// An HTTP reply, before it is put on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    fn text(status: u16, body: String) -> Self {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body,
        }
    }
}

/// A witness with its state and clock.
pub struct Server {
    witness: Witness,
    state: State,
    clock: Clock,
    /// Held from reading a log's latest to persisting the new one.
    lock: Mutex<()>,
}

impl Server {
    pub fn new(witness: Witness, state: State, clock: Clock) -> Self {
        Server {
            witness,
            state,
            clock,
            lock: Mutex::new(()),
        }
    }

    /// Handles one `add-checkpoint` body; blocking (it syncs the disk).
    pub fn add_checkpoint(&self, body: &[u8]) -> Reply {
        let request = match AddCheckpoint::parse(body) {
            Ok(request) => request,
            Err(why) => return Reply::text(400, format!("{why}\n")),
        };
        let origin = match Witness::origin_of(&request) {
            Ok(origin) => origin.to_owned(),
            Err(refusal) => return Reply::text(400, format!("{refusal}\n")),
        };
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let latest = match self.state.latest(&origin) {
            Ok(latest) => latest,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the witness state");
                return Reply::text(503, format!("the witness cannot read its state: {e}\n"));
            }
        };
        let now = (self.clock)();
        match self.witness.add_checkpoint(&request, latest.as_ref(), now) {
            Ok(accepted) => {
                let line = accepted.cosignature.line();
                let note = format!("{}{line}", request.checkpoint);
                if let Err(e) = self.state.save(&accepted.latest, &note) {
                    tracing::error!(error = %e, "cannot persist the witness state");
                    return Reply::text(
                        503,
                        format!(
                            "the witness cannot persist its state, so it cosigns nothing: {e}\n"
                        ),
                    );
                }
                tracing::info!(origin = %origin, size = accepted.latest.size, "cosigned");
                Reply::text(200, line)
            }
            Err(refusal) => self.refuse(refusal, body, now),
        }
    }

    fn refuse(&self, refusal: Refusal, body: &[u8], now: u64) -> Reply {
        if matches!(
            refusal,
            Refusal::BadProof { .. } | Refusal::SameSizeOtherRoot { .. }
        ) {
            // Signed by the log yet inconsistent with what it showed us.
            match self.state.keep_evidence(now, &refusal.to_string(), body) {
                Ok(path) => tracing::warn!(%refusal, evidence = %path.display(), "refused"),
                Err(e) => tracing::warn!(%refusal, error = %e, "refused; cannot keep evidence"),
            }
        } else {
            tracing::info!(%refusal, "refused");
        }
        match refusal.latest_size() {
            Some(size) => Reply {
                status: refusal.status(),
                content_type: "text/x.tlog.size",
                body: format!("{size}\n"),
            },
            None => Reply::text(refusal.status(), format!("{refusal}\n")),
        }
    }
}

/// The routes: `POST /add-checkpoint`.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(server)
}

async fn add_checkpoint(AxumState(server): AxumState<Arc<Server>>, body: Bytes) -> Response {
    let reply = tokio::task::spawn_blocking(move || server.add_checkpoint(&body))
        .await
        .unwrap_or_else(|e| Reply::text(500, format!("the witness failed: {e}\n")));
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response()
}

/// Serves `server` on `listener` until `shutdown` completes.
pub async fn run(
    listener: tokio::net::TcpListener,
    server: Arc<Server>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(server))
        .with_graceful_shutdown(shutdown)
        .await
}
