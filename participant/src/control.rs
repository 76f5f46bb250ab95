//! The approver's commands reach the running agent over a local Unix socket
//! speaking `quorate.v1.AgentControl`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use quorate_formats::dsse::describe_pae;
use quorate_formats::git_tag::check_context;
use quorate_formats::manifest::sha256s_or_label;
use quorate_formats::minisign;
use quorate_formats::sshsig::describe_signed_data;
use quorate_types::batch::FollowUp;
use quorate_types::{CeremonyId, Sha256Digest};
use quorate_wire::{
    self as proto, agent_control_client::AgentControlClient, agent_control_server::AgentControl,
};
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Request, Response, Status};

use crate::agent::{Agent, AgentError, ReviewItem};
use crate::journal::Decision;

pub(crate) struct ControlService {
    pub agent: Arc<Agent>,
}

fn ceremony(value: &str) -> Result<CeremonyId, Status> {
    CeremonyId::new(value).map_err(|e| Status::invalid_argument(format!("ceremony: {e}")))
}

pub(crate) fn to_review(item: ReviewItem) -> proto::Review {
    // A git tag is shown from the context, once it hashes to the digest the
    // message signs; a DSSE PAE by its statement's subjects; an SSH signature
    // signs an artifact's SHA-512; otherwise the message is read as a
    // SHA256SUMS manifest.
    let (message, label) = (&item.status.message, &item.status.label);
    let follow_ups = proto::convert::follow_ups("follow_ups", &item.status.follow_ups);
    let batch = match &follow_ups {
        Err(e) => vec![format!("*** REFUSED: {e} ***")],
        Ok(follow_ups) => describe_batch(message, follow_ups),
    };
    let minisign = follow_ups
        .ok()
        .and_then(|f| minisign::trusted_comment_of(message, &f).map(str::to_string));
    let artifacts = match check_context(message, &item.status.context) {
        Err(e) => vec![format!("*** REFUSED: {e} ***")],
        Ok(Some(tag)) => tag.describe(),
        Ok(None) if minisign.is_some() => vec![format!(
            "{label} (minisign): BLAKE2b-512 {}",
            hex::encode(message)
        )],
        Ok(None) => match (describe_pae(message), describe_signed_data(message)) {
            (Some(subjects), _) => subjects,
            (None, Some(sshsig)) if label.is_empty() => vec![sshsig],
            (None, Some(sshsig)) => vec![format!("{sshsig} (label: {label})")],
            (None, None) => sha256s_or_label(message, label),
        },
    };
    let record = item.record.as_ref();
    proto::Review {
        record: record.map(|r| r.describe()).unwrap_or_default(),
        record_problem: record.is_some_and(|r| r.is_problem()),
        decision: match item.decision {
            None => "pending",
            Some(Decision::Approved) => "approved",
            Some(Decision::Rejected) => "rejected",
        }
        .into(),
        artifacts,
        batch,
        refusals: item
            .refusals
            .iter()
            .map(|r| format!("attempt {}: {}", r.attempt, r.refusal))
            .collect(),
        ceremony: Some(item.status),
    }
}

/// Each message of a batch, in order, as the approver checks it: minisign's
/// two signatures by name, any other batch by its rules. Empty for a single
/// message.
fn describe_batch(message: &[u8], follow_ups: &[FollowUp]) -> Vec<String> {
    if follow_ups.is_empty() {
        return Vec::new();
    }
    minisign::describe_batch(message, follow_ups).unwrap_or_else(|| {
        std::iter::once(format!(
            "1. the message below (SHA-256 {})",
            Sha256Digest::of(message)
        ))
        .chain(
            follow_ups
                .iter()
                .enumerate()
                .map(|(i, f)| format!("{}. {}", i + 2, f.describe())),
        )
        .collect()
    })
}

fn to_status(e: AgentError) -> Status {
    match e {
        AgentError::Unknown(_) => Status::not_found(e.to_string()),
        AgentError::WrongKeyGroup(_) => Status::failed_precondition(e.to_string()),
        AgentError::Closed { .. } | AgentError::Decided { .. } => {
            Status::failed_precondition(e.to_string())
        }
        AgentError::DigestMismatch(_) | AgentError::Context { .. } | AgentError::Batch { .. } => {
            Status::data_loss(e.to_string())
        }
        AgentError::Coordinator(s) => Status::new(
            s.code(),
            format!("the coordinator refused: {}", s.message()),
        ),
        AgentError::Offline(_) | AgentError::Undelivered { .. } => {
            Status::unavailable(e.to_string())
        }
        AgentError::Request { .. } => Status::permission_denied(e.to_string()),
        AgentError::Journal(_) => Status::internal(e.to_string()),
    }
}

#[tonic::async_trait]
impl AgentControl for ControlService {
    async fn pending(
        &self,
        _: Request<proto::PendingRequest>,
    ) -> Result<Response<proto::PendingReply>, Status> {
        let reviews = self
            .agent
            .pending()
            .await
            .into_iter()
            .map(to_review)
            .collect();
        Ok(Response::new(proto::PendingReply { reviews }))
    }

    async fn show(
        &self,
        request: Request<proto::ShowRequest>,
    ) -> Result<Response<proto::Review>, Status> {
        let id = ceremony(&request.get_ref().ceremony)?;
        let item = self.agent.show(&id).await.map_err(to_status)?;
        Ok(Response::new(to_review(item)))
    }

    async fn approve(
        &self,
        request: Request<proto::DecideRequest>,
    ) -> Result<Response<proto::Review>, Status> {
        let id = ceremony(&request.get_ref().ceremony)?;
        let item = self.agent.approve(&id).await.map_err(to_status)?;
        Ok(Response::new(to_review(item)))
    }

    async fn reject(
        &self,
        request: Request<proto::DecideRequest>,
    ) -> Result<Response<proto::Review>, Status> {
        let body = request.into_inner();
        let id = ceremony(&body.ceremony)?;
        let reason = quorate_types::limits::check_reason(&body.reason)
            .map_err(|e| Status::invalid_argument(e.to_string()))?
            .to_string();
        let item = self.agent.reject(&id, reason).await.map_err(to_status)?;
        Ok(Response::new(to_review(item)))
    }
}

/// The longest a call to the agent may take, the coordinator's calls an
/// approval makes included, before the client gives up on it (a decision
/// is journaled before it is sent, so the agent delivers it later).
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// How long the client waits for the agent's socket to answer at all.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A client of the agent listening on `socket`, each call bounded by
/// [`CALL_TIMEOUT`].
pub async fn connect(socket: &Path) -> anyhow::Result<AgentControlClient<Channel>> {
    connect_within(socket, CALL_TIMEOUT).await
}

/// As [`connect`], each call bounded by `timeout`.
pub async fn connect_within(
    socket: &Path,
    timeout: std::time::Duration,
) -> anyhow::Result<AgentControlClient<Channel>> {
    let path: PathBuf = socket.to_owned();
    let channel = Endpoint::try_from("http://agent.local")?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the agent at {}: {e}; is `quorate-participant run` running?",
                socket.display()
            )
        })?;
    Ok(AgentControlClient::new(channel))
}

/// What `quorate-participant show` prints: everything that will be signed.
pub fn describe(review: &proto::Review) -> String {
    use std::fmt::Write;
    let c = review.ceremony.clone().unwrap_or_default();
    let mut out = String::new();
    if c.break_glass {
        let _ = writeln!(out, "*** BREAK-GLASS: runs under the emergency policy ***");
        let _ = writeln!(out, "justification: {}", c.justification);
    }
    let _ = writeln!(out, "ceremony:     {}", c.id);
    let _ = writeln!(
        out,
        "key group:    {} (threshold {})",
        c.key_group, c.threshold
    );
    let _ = writeln!(out, "requested by: {}", c.requester);
    let _ = writeln!(
        out,
        "state:        {} ({})",
        crate::agent::state_name(&c),
        c.summary
    );
    let _ = writeln!(out, "your decision: {}", review.decision);
    if review.record_problem {
        let _ = writeln!(out, "*** RECORD PROBLEM: {} ***", review.record);
    } else if !review.record.is_empty() {
        let _ = writeln!(out, "record:       {}", review.record);
    }
    for r in &review.refusals {
        let _ = writeln!(out, "*** REFUSED by this agent: {r} ***");
    }
    let _ = writeln!(out, "artifacts:");
    for a in &review.artifacts {
        let _ = writeln!(out, "  {a}");
    }
    if !review.batch.is_empty() {
        let _ = writeln!(
            out,
            "batch: {} messages, each signed in turn under this one approval:",
            review.batch.len()
        );
        for m in &review.batch {
            let _ = writeln!(out, "  {m}");
        }
    }
    let _ = writeln!(out, "message SHA-256: {}", hex::encode(&c.message_sha256));
    if let Ok(Some(tag)) = check_context(&c.message, &c.context) {
        let _ = writeln!(
            out,
            "git tag object (its SHA-512 is what the message signs; checked by this agent):"
        );
        for line in tag.text().lines() {
            let _ = writeln!(out, "  | {line}");
        }
    }
    if let Some(sshsig) = describe_signed_data(&c.message) {
        let _ = writeln!(out, "message: SSHSIG signed data: {sshsig}");
    } else {
        match std::str::from_utf8(&c.message) {
            Ok(text) => {
                let _ = writeln!(out, "message ({} bytes):", c.message.len());
                for line in text.lines() {
                    let _ = writeln!(out, "  | {line}");
                }
            }
            Err(_) => {
                let _ = writeln!(out, "message: {} bytes of binary data", c.message.len());
            }
        }
    }
    out
}
