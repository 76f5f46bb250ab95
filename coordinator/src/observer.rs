//! What the coordinator does beside storing an event: logs and metrics
//! (alerts go through `crate::outbox`). It never changes a ceremony.

use std::sync::Arc;

use quorate_ceremonies::reason::ExpiryReason;
use quorate_ceremonies::{Action, Ceremony, Event, Outcome};

use crate::metrics::{KeyGroupLabels, Metrics, TimeoutLabels};

#[derive(Clone, Default)]
pub struct Observer {
    pub metrics: Arc<Metrics>,
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
        // Its alert goes out through the outbox (`crate::outbox`), from the
        // record entry.
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
