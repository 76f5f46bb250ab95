//! The approver's page, served by the running agent: what waits for a
//! decision, each ceremony with everything `quorate-participant show`
//! prints, and approve and reject behind a confirmation step. It is only a
//! face on the same gate as the control socket: a decision made here is
//! signed by the agent with the approver's identity key, checked and
//! journaled exactly as `quorate-participant approve` would.
//!
//! It listens on loopback in plain HTTP, or anywhere over HTTPS with the
//! certificate `[page]` names. Only the holder of the login link
//! ([`session`]) gets in, and every form carries the session's CSRF token.
//! The list and ceremony pages update live from `/events` (server-sent
//! events, sent when [`Agent::fingerprint`] changes).

pub mod session;
pub mod views;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, FromRequestParts, Path as UrlPath, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use quorate_types::CeremonyId;
use quorate_web::Markup;
use quorate_web::layout::{self, LIVE_PATH, STYLE_PATH};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::agent::{Agent, AgentError};
use session::{Session, Sessions};
use views::Context;

/// `[page]` in `agent.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageConfig {
    /// Where the page listens, e.g. `127.0.0.1:7480`. Without `cert`, only
    /// a loopback address is allowed.
    pub listen: SocketAddr,
    /// A server certificate (PEM, chain first) for HTTPS, with `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

impl PageConfig {
    /// Refuses plain HTTP beyond loopback, and half a certificate.
    pub fn check(&self) -> Result<(), String> {
        match (&self.cert, &self.key) {
            (Some(_), Some(_)) => Ok(()),
            (None, None) if self.listen.ip().is_loopback() => Ok(()),
            (None, None) => Err(format!(
                "page.listen {} is not a loopback address: the approver's page serves \
                 plain HTTP only on loopback; set page.cert and page.key to serve HTTPS",
                self.listen
            )),
            _ => Err("page.cert and page.key go together: set both, or neither".into()),
        }
    }

    fn scheme(&self) -> &'static str {
        if self.cert.is_some() { "https" } else { "http" }
    }
}

/// Where the agent writes the login token.
pub fn token_path(state_dir: &Path) -> PathBuf {
    state_dir.join("page.token")
}

/// The login link for a page at `base` (`http://127.0.0.1:7480`).
pub fn login_url(base: &str, token: &str) -> String {
    format!("{base}/login?token={token}")
}

/// The page, served.
pub struct Served {
    /// Its address, e.g. `http://127.0.0.1:7480`.
    pub base: String,
    pub task: tokio::task::JoinHandle<()>,
}

struct PageState {
    agent: Arc<Agent>,
    sessions: Sessions,
    /// The session cookie's name: it carries the port, since cookies do
    /// not, and several agents may serve pages on one host.
    cookie: String,
    secure: bool,
    /// Event streams end when the agent stops.
    stop: watch::Receiver<bool>,
}

type Shared = Arc<PageState>;

/// Binds `config.listen`, writes the login token to
/// `<state_dir>/page.token` (mode 0600), and serves until `stop`.
pub async fn start(
    agent: Arc<Agent>,
    config: &PageConfig,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Served> {
    config.check().map_err(anyhow::Error::msg)?;
    let tls = match (&config.cert, &config.key) {
        (Some(cert), Some(key)) => Some(server_tls(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("page: cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let sessions = Sessions::new();
    write_token(&token_path(&agent.config.state_dir), sessions.login_token())?;
    let base = format!("{}://{addr}", config.scheme());
    // Over HTTPS, a __Host- cookie: only this origin may set or read it.
    let cookie = match tls {
        Some(_) => format!("__Host-quorate_session_{}", addr.port()),
        None => format!("quorate_session_{}", addr.port()),
    };
    let state = Arc::new(PageState {
        agent,
        sessions,
        cookie,
        secure: tls.is_some(),
        stop: stop.clone(),
    });
    let task = tokio::spawn(async move {
        if let Err(e) = quorate_web::serve::serve(listener, tls, router(state), stop).await {
            tracing::error!(error = %e, "the approver's page failed");
        }
    });
    tracing::info!(
        "the approver's page is at {base}/ (`quorate-participant page-url` prints the login link)"
    );
    Ok(Served { base, task })
}

fn write_token(path: &Path, token: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("page: cannot write {}: {e}", path.display()))?;
    file.write_all(token.as_bytes())?;
    Ok(())
}

fn server_tls(cert: &Path, key: &Path) -> anyhow::Result<Arc<tokio_rustls::rustls::ServerConfig>> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|c| c.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("page.cert {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("page.key {}: {e}", key.display()))?;
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| anyhow::anyhow!("page.cert and page.key: {e}"))?;
    Ok(Arc::new(config))
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(list))
        .route("/login", get(login))
        .route(views::EVENTS, get(events))
        .route("/ceremonies/{id}", get(show))
        .route("/key-ceremonies/{id}", get(key_ceremony))
        .route(
            "/ceremonies/{id}/approve",
            get(confirm_approve).post(approve),
        )
        .route("/ceremonies/{id}/reject", get(confirm_reject).post(reject))
        .route(STYLE_PATH, get(layout::style))
        .route(LIVE_PATH, get(layout::live))
        .fallback(|| async { answer(StatusCode::NOT_FOUND, "Not found", "No such page.") })
        .layer(axum::middleware::map_response(quorate_web::headers::secure))
        .with_state(state)
}

fn answer(code: StatusCode, title: &str, text: &str) -> Response {
    (code, views::message(title, text)).into_response()
}

/// A signed-in caller; anyone else is sent to log in.
struct Signed(Session);

impl FromRequestParts<Shared> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let prefix = format!("{}=", state.cookie);
        parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(&prefix))
            .find_map(|id| state.sessions.find(id))
            .map(Signed)
            .ok_or_else(|| {
                answer(
                    StatusCode::UNAUTHORIZED,
                    "Log in first",
                    "Open the login link the agent made when it started: \
                     `quorate-participant page-url` prints it.",
                )
            })
    }
}

#[derive(Deserialize)]
struct Login {
    #[serde(default)]
    token: String,
}

async fn login(State(state): State<Shared>, Query(login): Query<Login>) -> Response {
    let Some(session) = state.sessions.log_in(&login.token) else {
        return answer(
            StatusCode::FORBIDDEN,
            "Not a valid login link",
            "This login link is not the agent's current one (the agent makes a new one \
             each time it starts): run `quorate-participant page-url` for it.",
        );
    };
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict{}",
        state.cookie,
        session.cookie_value(),
        if state.secure { "; Secure" } else { "" }
    );
    let mut response = Redirect::to("/").into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().insert(header::SET_COOKIE, value);
            response
        }
        Err(_) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "no session cookie",
        ),
    }
}

/// What every view needs; for a page that follows the agent, `since` is
/// the agent's fingerprint taken before the page's state was read.
fn context(agent: &Agent, since: Option<u64>) -> Context<'_> {
    Context {
        participant: agent.config.id.as_str(),
        policy: agent.policy(),
        now_unix_ms: crate::identity::now_unix_ms(),
        live: since.map(views::live),
    }
}

/// How long the list waits for the coordinator's open key ceremonies.
const KEY_CEREMONIES_WITHIN: Duration = Duration::from_secs(5);

async fn list(State(state): State<Shared>, _: Signed) -> Markup {
    let since = state.agent.fingerprint().await;
    let reviews: Vec<_> = state
        .agent
        .pending()
        .await
        .into_iter()
        .map(crate::control::to_review)
        .collect();
    let asked = tokio::time::timeout(
        KEY_CEREMONIES_WITHIN,
        crate::join::pending_key_ceremonies(&state.agent.config),
    )
    .await;
    let keys = match asked {
        Err(_) => Err(format!("no answer within {KEY_CEREMONIES_WITHIN:?}")),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Ok(Ok(open)) => Ok(open
            .into_iter()
            .map(|(proposed, summary)| views::KeyItem {
                id: proposed.ceremony.to_string(),
                key_group: proposed.proposal.key_group.to_string(),
                kind: proposed.kind(),
                summary,
            })
            .collect()),
    };
    views::list(&reviews, &keys, &context(&state.agent, Some(since)))
}

async fn key_ceremony(
    _: Signed,
    State(state): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let id = match quorate_types::KeyCeremonyId::new(id.as_str()) {
        Ok(id) => id,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "Not a key ceremony id",
                &format!("key ceremony: {e}"),
            );
        }
    };
    let asked = tokio::time::timeout(
        KEY_CEREMONIES_WITHIN,
        crate::join::key_ceremony(&state.agent.config, &id),
    )
    .await;
    match asked {
        Ok(Ok((proposed, summary))) => {
            views::key_ceremony(id.as_str(), &proposed.describe(), &summary).into_response()
        }
        Ok(Err(e)) => answer(StatusCode::BAD_GATEWAY, "Refused", &format!("{e:#}")),
        Err(_) => answer(
            StatusCode::GATEWAY_TIMEOUT,
            "No answer",
            &format!("the coordinator did not answer within {KEY_CEREMONIES_WITHIN:?}"),
        ),
    }
}

/// The ceremony `id` as the agent shows it, or the page saying why not.
async fn review(agent: &Agent, id: &str) -> Result<quorate_wire::Review, Response> {
    let id = CeremonyId::new(id).map_err(|e| {
        answer(
            StatusCode::BAD_REQUEST,
            "Not a ceremony id",
            &format!("ceremony: {e}"),
        )
    })?;
    match agent.show(&id).await {
        Ok(item) => Ok(crate::control::to_review(item)),
        Err(e) => Err(refused(e)),
    }
}

/// What the agent refused, as a page.
fn refused(e: AgentError) -> Response {
    let code = match &e {
        AgentError::Unknown(_) => StatusCode::NOT_FOUND,
        AgentError::Offline(_) | AgentError::Undelivered { .. } => StatusCode::SERVICE_UNAVAILABLE,
        AgentError::Journal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AgentError::Coordinator(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::CONFLICT,
    };
    answer(code, "Refused", &e.to_string())
}

#[derive(Deserialize)]
struct Shown {
    /// Set by the redirect after a decision: what was decided.
    #[serde(default)]
    decided: Option<String>,
}

async fn show(
    State(state): State<Shared>,
    _: Signed,
    UrlPath(id): UrlPath<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let notice = match shown.decided.as_deref() {
        Some("approved") => Some("You approved. Your agent signed the approval and sent it."),
        Some("rejected") => Some("You rejected. Your agent signed the rejection and sent it."),
        _ => None,
    };
    let since = state.agent.fingerprint().await;
    match review(&state.agent, &id).await {
        Ok(review) => {
            views::ceremony(&review, &context(&state.agent, Some(since)), notice).into_response()
        }
        Err(page) => page,
    }
}

/// After a decision, the ceremony's page (a reload does not post again).
fn decided(id: &CeremonyId, what: &str) -> Response {
    Redirect::to(&format!("/ceremonies/{id}?decided={what}")).into_response()
}

async fn confirm_approve(
    State(state): State<Shared>,
    Signed(session): Signed,
    UrlPath(id): UrlPath<String>,
) -> Response {
    match review(&state.agent, &id).await {
        Ok(review) => views::confirm_approve(&review, &context(&state.agent, None), session.csrf())
            .into_response(),
        Err(page) => page,
    }
}

async fn confirm_reject(
    State(state): State<Shared>,
    Signed(session): Signed,
    UrlPath(id): UrlPath<String>,
) -> Response {
    match review(&state.agent, &id).await {
        Ok(review) => {
            views::confirm_reject(&review, &context(&state.agent, None), session.csrf(), None)
                .into_response()
        }
        Err(page) => page,
    }
}

#[derive(Deserialize)]
struct Decide {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// A form without this session's CSRF token: nothing is decided.
fn forged() -> Response {
    answer(
        StatusCode::FORBIDDEN,
        "Refused: no valid CSRF token",
        "The form did not carry this session's CSRF token, so nothing was decided. \
         Open the ceremony's page again and decide from there.",
    )
}

/// The ceremony a form decides on, if the form carries the session's
/// CSRF token and names one.
fn deciding(session: &Session, form: &Decide, id: &str) -> Result<CeremonyId, Box<Response>> {
    if !session.csrf_matches(&form.csrf) {
        return Err(Box::new(forged()));
    }
    CeremonyId::new(id).map_err(|e| {
        Box::new(answer(
            StatusCode::BAD_REQUEST,
            "Not a ceremony id",
            &format!("ceremony: {e}"),
        ))
    })
}

async fn approve(
    State(state): State<Shared>,
    Signed(session): Signed,
    UrlPath(id): UrlPath<String>,
    Form(form): Form<Decide>,
) -> Response {
    let ceremony = match deciding(&session, &form, &id) {
        Ok(ceremony) => ceremony,
        Err(page) => return *page,
    };
    match state.agent.approve(&ceremony).await {
        Ok(_) => decided(&ceremony, "approved"),
        Err(e) => refused(e),
    }
}

async fn reject(
    State(state): State<Shared>,
    Signed(session): Signed,
    UrlPath(id): UrlPath<String>,
    Form(form): Form<Decide>,
) -> Response {
    let ceremony = match deciding(&session, &form, &id) {
        Ok(ceremony) => ceremony,
        Err(page) => return *page,
    };
    let reason = match quorate_types::limits::check_reason(form.reason.trim()) {
        Ok(reason) => reason.to_string(),
        Err(e) => {
            let problem = format!("Nothing was sent: {e}.");
            return reject_again(&state, &id, session, &problem).await;
        }
    };
    match state.agent.reject(&ceremony, reason).await {
        Ok(_) => decided(&ceremony, "rejected"),
        Err(e) => refused(e),
    }
}

/// The rejection form again, saying what was wrong; nothing was decided.
async fn reject_again(state: &PageState, id: &str, session: Session, problem: &str) -> Response {
    match review(&state.agent, id).await {
        Ok(review) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            views::confirm_reject(
                &review,
                &context(&state.agent, None),
                session.csrf(),
                Some(problem),
            ),
        )
            .into_response(),
        Err(page) => page,
    }
}

/// How often the event stream looks for a change.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// `changed` whenever [`Agent::fingerprint`] does.
#[derive(Deserialize)]
struct Since {
    /// The fingerprint the page was rendered at.
    #[serde(default)]
    since: Option<u64>,
}

async fn events(
    State(state): State<Shared>,
    _: Signed,
    Query(since): Query<Since>,
) -> impl IntoResponse {
    let (sender, receiver) = mpsc::channel::<Result<Event, Infallible>>(4);
    let agent = state.agent.clone();
    let stopping = quorate_web::serve::stopped(state.stop.clone());
    tokio::spawn(async move {
        tokio::pin!(stopping);
        // From what the page shows: a change between its rendering and
        // this stream's opening is sent at the first look.
        let mut last = match since.since {
            Some(since) => since,
            None => agent.fingerprint().await,
        };
        loop {
            tokio::select! {
                _ = &mut stopping => return,
                _ = sender.closed() => return,
                _ = tokio::time::sleep(LOOK_EVERY) => {}
            }
            let now = agent.fingerprint().await;
            if now != last {
                last = now;
                if sender
                    .send(Ok(Event::default().event("changed").data(now.to_string())))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    Sse::new(ReceiverStream::new(receiver)).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests;
