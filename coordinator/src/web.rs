//! The auditor's and release manager's page: the ceremonies (filtered by
//! state, key group and break-glass), the break-glass ceremonies awaiting
//! review, the latest checkpoint and its cosignatures, and each ceremony
//! with its timeline from the record, its transcript and its signature in
//! every format the message was signed for.
//!
//! It is served on `page_listen` over TLS with the coordinator's own
//! certificate, and asks each browser for a client certificate from the
//! deployment's CA. The certificate's common name is the caller, as on the
//! gRPC port, and every page is made by calling the same services with
//! that caller: the access rules are the services', not this module's. A
//! browser with no certificate gets a page saying so, and nothing else.

mod downloads;
pub mod timeline;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Path as UrlPath, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use quorate_types::ParticipantId;
use quorate_web::layout::{self, LIVE_PATH, STYLE_PATH};
use quorate_web::serve::Peer;
use quorate_wire::audit_server::Audit;
use quorate_wire::ceremonies_server::Ceremonies;
use quorate_wire::{self as proto};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::rustls::ServerConfig;
use tonic::Status;

use crate::service::{AuditService, CeremoniesService, SharedHub};
use crate::store::CeremonyStore;
use views::Filter;

/// What the page calls: the services, as every caller does.
pub struct Page<S> {
    pub hub: SharedHub<S>,
    pub ceremonies: CeremoniesService<S>,
    pub audit: AuditService<S>,
}

type Shared<S> = Arc<Page<S>>;

/// Serves the page on `listener` over `tls` until `stop`.
pub fn start<S: CeremonyStore>(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    page: Page<S>,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let router = router(Arc::new(page));
    tokio::spawn(async move {
        if let Err(e) = quorate_web::serve::serve(listener, Some(tls), router, stop).await {
            tracing::error!(error = %e, "the coordinator's page failed");
        }
    })
}

fn router<S: CeremonyStore>(page: Shared<S>) -> Router {
    Router::new()
        .route("/", get(overview::<S>))
        .route("/ceremonies/{id}", get(ceremony::<S>))
        .route(
            "/ceremonies/{id}/transcript",
            get(downloads::transcript::<S>),
        )
        .route(
            "/ceremonies/{id}/signature/{format}",
            get(downloads::signature::<S>),
        )
        .route(STYLE_PATH, get(layout::style))
        .route(LIVE_PATH, get(layout::live))
        .fallback(|| async { answer(StatusCode::NOT_FOUND, "Not found", "No such page.") })
        .layer(axum::middleware::map_response(quorate_web::headers::secure))
        .with_state(page)
}

fn answer(code: StatusCode, title: &str, text: &str) -> Response {
    (code, views::message(title, text)).into_response()
}

/// A service's refusal, as a page.
fn refused(status: Status) -> Response {
    let code = match status.code() {
        tonic::Code::PermissionDenied => StatusCode::FORBIDDEN,
        tonic::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::InvalidArgument | tonic::Code::OutOfRange => StatusCode::BAD_REQUEST,
        tonic::Code::Unavailable | tonic::Code::ResourceExhausted => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    answer(code, "Refused", status.message())
}

/// The caller: the common name of the client certificate its browser
/// presented.
pub struct Caller(pub ParticipantId);

impl<S: CeremonyStore> FromRequestParts<Shared<S>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &Shared<S>) -> Result<Self, Response> {
        let peer = parts.extensions.get::<ConnectInfo<Peer>>();
        let Some(leaf) = peer.and_then(|p| p.0.certificates.first()) else {
            return Err(answer(
                StatusCode::UNAUTHORIZED,
                "A client certificate is needed",
                "This page shows only callers with a client certificate from the deployment's \
                 CA, as the coordinator's other services do; your browser presented none. \
                 Import the certificate the operator issued you into your browser, then reload.",
            ));
        };
        crate::auth::identity_of(leaf).map(Caller).map_err(|e| {
            answer(
                StatusCode::UNAUTHORIZED,
                "Not a usable client certificate",
                &e,
            )
        })
    }
}

impl Caller {
    /// `message` as a call from this caller to a service.
    pub fn call<T>(&self, message: T) -> Result<tonic::Request<T>, Status> {
        let mut request = tonic::Request::new(message);
        let value = tonic::metadata::MetadataValue::try_from(self.0.as_str())
            .map_err(|_| Status::unauthenticated("the caller's name is not a header value"))?;
        request
            .metadata_mut()
            .insert(crate::auth::IDENTITY_HEADER, value);
        Ok(request)
    }
}

async fn overview<S: CeremonyStore>(
    State(page): State<Shared<S>>,
    caller: Caller,
    Query(filter): Query<Filter>,
) -> Response {
    let state = if filter.state.is_empty() {
        proto::CeremonyState::Unspecified
    } else {
        match proto::convert::parse_state(&filter.state) {
            Ok(state) => state,
            Err(e) => return answer(StatusCode::BAD_REQUEST, "Not a state", &e),
        }
    };
    let listed = async {
        let request = caller.call(proto::ListCeremoniesRequest {
            state: state.into(),
            key_group: filter.key_group.trim().to_string(),
            break_glass: filter.break_glass.is_some(),
            page_token: filter.page.clone(),
            ..Default::default()
        })?;
        let reply = page.ceremonies.list(request).await?.into_inner();
        Ok::<_, Status>((reply.ceremonies, reply.next_page_token))
    }
    .await
    .map_err(|s| s.message().to_string());
    let awaiting_review = async {
        let request = caller.call(proto::ListCeremoniesRequest {
            unreviewed: true,
            ..Default::default()
        })?;
        Ok::<_, Status>(page.ceremonies.list(request).await?.into_inner().ceremonies)
    }
    .await
    .map_err(|s| s.message().to_string());
    let checkpoint = async {
        let request = caller.call(proto::CheckpointRequest {})?;
        Ok::<_, Status>(page.audit.checkpoint(request).await?.into_inner())
    }
    .await
    .map_err(|s| s.message().to_string());
    views::overview(&views::Overview {
        caller: caller.0.as_str(),
        filter: &filter,
        ceremonies: listed,
        awaiting_review,
        checkpoint,
        now_unix_ms: page.hub.now().unix_ms(),
    })
    .into_response()
}

/// The ceremony `id` as `caller` may see it.
async fn status_of<S: CeremonyStore>(
    page: &Page<S>,
    caller: &Caller,
    id: &str,
) -> Result<proto::CeremonyStatus, Status> {
    let request = caller.call(proto::GetCeremonyRequest { id: id.to_string() })?;
    Ok(page.ceremonies.get(request).await?.into_inner())
}

/// Every entry of the ceremony `id`, following the pages.
async fn entries_of<S: CeremonyStore>(
    page: &Page<S>,
    caller: &Caller,
    id: &str,
) -> Result<Vec<proto::LogEntry>, Status> {
    let mut entries: Vec<proto::LogEntry> = Vec::new();
    loop {
        let from = entries.last().map_or(0, |e| e.index + 1);
        let request = caller.call(proto::CeremonyEntriesRequest {
            ceremony: id.to_string(),
            from,
        })?;
        let reply = page.audit.ceremony_entries(request).await?.into_inner();
        let more = reply.more && !reply.entries.is_empty();
        entries.extend(reply.entries);
        if !more {
            return Ok(entries);
        }
    }
}

async fn ceremony<S: CeremonyStore>(
    State(page): State<Shared<S>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let status = match status_of(&page, &caller, &id).await {
        Ok(status) => status,
        Err(e) => return refused(e),
    };
    let entries = entries_of(&page, &caller, &id)
        .await
        .map_err(|s| format!("the record's entries: {}", s.message()));
    // Each entry decoded once, for the timeline and the signers.
    let decoded = entries.map(|entries| {
        entries
            .iter()
            .map(|e| (e.index, quorate_ceremonies::Entry::decode(&e.entry).ok()))
            .collect::<Vec<_>>()
    });
    let signers = match &decoded {
        Ok(decoded) => timeline::last_signers(decoded.iter().filter_map(|(_, e)| e.as_ref())),
        Err(_) => status.signing_set.clone(),
    };
    let timeline = decoded.map(|decoded| {
        decoded
            .iter()
            .map(|(index, e)| (*index, e.as_ref().map(|e| timeline::step(*index, e))))
            .collect()
    });
    let offered = downloads::offered(&status);
    views::ceremony(
        &status,
        &signers,
        &timeline,
        &offered,
        page.hub.now().unix_ms(),
    )
    .into_response()
}

/// `bytes` as a file download named `name`.
fn attachment(name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Where the page listens, and that it needs the coordinator's TLS.
pub fn check_listen(page: Option<SocketAddr>, tls: bool) -> anyhow::Result<()> {
    if page.is_some() && !tls {
        anyhow::bail!(
            "page_listen needs [tls]: the page knows its callers by their client certificates"
        );
    }
    Ok(())
}
