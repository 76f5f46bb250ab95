//! What the coordinator does beside storing an event: logs, metrics and the
//! break-glass alert hook. It never changes a ceremony.

use std::sync::Arc;

use quorate_ceremonies::reason::ExpiryReason;
use quorate_ceremonies::{Action, Ceremony, Event, Outcome};

use crate::metrics::{KeyGroupLabels, Metrics, TimeoutLabels};

#[derive(Clone, Default)]
pub struct Observer {
    pub metrics: Arc<Metrics>,
    /// A command run with the ceremony as JSON on stdin when break-glass is
    /// declared.
    pub alert_command: Option<Arc<Vec<String>>>,
    /// A URL that gets the same JSON as a POST.
    pub alert_webhook: Option<Arc<str>>,
}

fn seconds(from_ms: i64, to_ms: i64) -> f64 {
    (to_ms - from_ms).max(0) as f64 / 1000.0
}

impl Observer {
    pub fn created(&self, c: &Ceremony) {
        let r = c.request();
        tracing::info!(ceremony = %r.id, key_group = %r.key_group, requester = %r.requester, "ceremony requested");
        let Some(justification) = &r.break_glass else {
            return;
        };
        tracing::warn!(
            ceremony = %r.id,
            key_group = %r.key_group,
            requester = %r.requester,
            justification = %justification,
            "BREAK-GLASS ceremony declared"
        );
        self.metrics
            .break_glass
            .get_or_create(&KeyGroupLabels {
                key_group: r.key_group.to_string(),
            })
            .inc();
        if self.alert_command.is_none() && self.alert_webhook.is_none() {
            return;
        }
        {
            let alert = serde_json::json!({
                "alert": "break_glass_declared",
                "ceremony": r.id.to_string(),
                "key_group": r.key_group.to_string(),
                "requester": r.requester,
                "justification": justification,
                "label": r.label,
                "message_sha256": c.message_sha256().to_string(),
                "created_at_unix_ms": r.created_at.unix_ms(),
            });
            if let Some(command) = self.alert_command.clone() {
                tokio::spawn(run_alert(command, alert.to_string()));
            }
            if let Some(url) = self.alert_webhook.clone() {
                tokio::spawn(post_alert(url, alert.to_string()));
            }
        }
    }

    pub fn applied(&self, c: &Ceremony, event: &Event, actions: &[Action], now: i64) {
        let id = c.id().to_string();
        tracing::info!(ceremony = %id, sender = event.sender(), event = kind(event), version = c.version(), "event recorded");
        for action in actions {
            match action {
                Action::AbandonAttempt { attempt, reason } => {
                    tracing::warn!(ceremony = %id, attempt, %reason, "signing attempt abandoned")
                }
                Action::Close(outcome) => {
                    tracing::info!(ceremony = %id, state = %c.state(), "ceremony finished");
                    match outcome {
                        Outcome::Signed { .. } => {}
                        Outcome::Expired { reason } => {
                            let deadline = match reason {
                                ExpiryReason::OverallDeadline { .. } => "overall",
                                _ => "approval",
                            };
                            self.metrics
                                .timeouts
                                .get_or_create(&TimeoutLabels {
                                    deadline: deadline.into(),
                                })
                                .inc();
                        }
                        _ => {}
                    }
                }
                Action::ContinueBatch { signed, .. } => {
                    tracing::info!(ceremony = %id, signed, "message of the batch signed; the next is signed next")
                }
                Action::DropSigner {
                    participant,
                    reason,
                } => {
                    tracing::warn!(ceremony = %id, culprit = %participant, %reason, "signer dropped");
                    match event {
                        Event::ShareSubmitted { .. } => {
                            self.metrics.invalid_shares.inc();
                        }
                        Event::DeadlinePassed => {
                            self.metrics
                                .timeouts
                                .get_or_create(&TimeoutLabels {
                                    deadline: "signing".into(),
                                })
                                .inc();
                        }
                        _ => {}
                    }
                }
                Action::RequestCommitments { from } => {
                    tracing::info!(ceremony = %id, ?from, "fresh commitments requested")
                }
                Action::SendSigningPackage { attempt, signers } => {
                    tracing::info!(ceremony = %id, attempt, ?signers, "signing package sent");
                    if *attempt == 1 {
                        self.metrics
                            .approval_latency
                            .observe(seconds(c.request().created_at.unix_ms(), now));
                    }
                }
            }
        }
        if let (Some(_), quorate_ceremonies::Phase::Done(Outcome::Signed { .. })) =
            (c.signature(), c.phase())
            && let Event::ShareSubmitted { .. } = event
        {
            self.metrics
                .signing_latency
                .observe(seconds(c.last_round_formed_at().unwrap_or(now), now));
        }
    }
}

pub(crate) fn kind(event: &Event) -> &'static str {
    match event {
        Event::Approved { .. } => "approved",
        Event::Cancelled { .. } => "cancelled",
        Event::Committed { .. } => "committed",
        Event::DeadlinePassed => "deadline passed",
        Event::Rejected { .. } => "rejected",
        Event::Reviewed { .. } => "reviewed",
        Event::ShareSubmitted { .. } => "share",
    }
}

async fn run_alert(command: Arc<Vec<String>>, json: String) {
    use tokio::io::AsyncWriteExt;
    let Some((program, args)) = command.split_first() else {
        return;
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(command = %program, error = %e, "break-glass alert hook could not start");
            return;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(json.as_bytes()).await;
    }
    match child.wait().await {
        Ok(status) if status.success() => {
            tracing::info!(command = %program, "break-glass alert sent")
        }
        Ok(status) => tracing::error!(command = %program, %status, "break-glass alert hook failed"),
        Err(e) => tracing::error!(command = %program, error = %e, "break-glass alert hook failed"),
    }
}

async fn post_alert(url: Arc<str>, json: String) {
    match quorate_wire::webhook::post_json(&url, json, std::time::Duration::from_secs(10)).await {
        Ok(()) => tracing::info!(%url, "break-glass alert posted"),
        Err(e) => tracing::error!(%url, error = %e, "break-glass alert webhook failed"),
    }
}
