//! Events and decisions in words, and which field an engine error blames.

use crate::ceremony::signature_bytes;
use crate::{Action, Ceremony, CeremonyError, Event, Outcome, Timestamp};

use super::report::{Step, time};

pub(super) fn step(
    entry: usize,
    index: u64,
    at: Timestamp,
    before: &Ceremony,
    event: &Event,
    actions: &[Action],
) -> Step {
    let role = |p: &quorate_types::ParticipantId| {
        before
            .key_group()
            .role_of(p)
            .unwrap_or("no role")
            .to_string()
    };
    let mut what = match event {
        Event::Approved { statement, .. } => {
            let p = &statement.statement.participant;
            format!("{p} ({}) approved; signed statement verified", role(p))
        }
        Event::Rejected { statement } => {
            let p = &statement.statement.participant;
            let reason = match &statement.statement.decision {
                quorate_types::Decision::Reject { reason } => reason.as_str(),
                quorate_types::Decision::Approve => "",
            };
            format!(
                "{p} ({}) rejected: {reason:?}; signed statement verified",
                role(p)
            )
        }
        Event::Cancelled { by, reason } => format!("cancelled by {by}: {reason:?}"),
        Event::Committed { participant, .. } => format!("{participant} sent fresh commitments"),
        Event::DeadlinePassed => "a deadline passed".to_string(),
        Event::Reviewed { by, .. } => format!("post-incident review recorded by {by}"),
        Event::ShareSubmitted {
            participant,
            attempt,
            ..
        } => {
            let dropped = actions.iter().any(
                |a| matches!(a, Action::DropSigner { participant: d, .. } if d == participant),
            );
            if dropped {
                format!("{participant} sent an INVALID signature share for attempt {attempt}")
            } else {
                format!(
                    "{participant} sent a signature share for attempt {attempt}; valid for its verifying share"
                )
            }
        }
    };
    for action in actions {
        what.push_str("; ");
        what.push_str(&describe_action(Some(action)));
    }
    Step {
        entry,
        index,
        at: time(at),
        what,
    }
}

pub(super) fn describe_action(action: Option<&Action>) -> String {
    let Some(action) = action else {
        return "nothing".into();
    };
    match action {
        Action::AbandonAttempt { attempt, reason } => {
            format!("attempt {attempt} abandoned ({reason})")
        }
        Action::Close(outcome) => match outcome {
            Outcome::Cancelled { .. } => "ceremony cancelled".into(),
            Outcome::Expired { reason } => format!("ceremony expired ({reason})"),
            Outcome::Failed { reason } => format!("ceremony failed ({reason})"),
            Outcome::Rejected { reason } => format!("ceremony rejected ({reason})"),
            Outcome::Signed {
                signature,
                follow_ups,
            } => match follow_ups.last() {
                None => format!(
                    "shares aggregated into signature {}",
                    hex::encode(signature_bytes(signature))
                ),
                Some(last) => format!(
                    "shares aggregated into the signature of message {} of the batch, {}; \
                     every message is signed",
                    follow_ups.len(),
                    hex::encode(signature_bytes(last))
                ),
            },
        },
        Action::ContinueBatch { signed, signature } => format!(
            "shares aggregated into the signature of message {signed} of the batch, {}; message {} is signed next",
            hex::encode(signature_bytes(signature)),
            signed + 1
        ),
        Action::DropSigner {
            participant,
            reason,
        } => format!("{participant} dropped from signing ({reason})"),
        Action::RequestCommitments { from } => format!(
            "fresh commitments requested from {}",
            join(from.iter().map(|p| p.as_str()))
        ),
        Action::SendSigningPackage { attempt, signers } => format!(
            "signing package formed for attempt {attempt} with signers {}",
            join(signers.iter().map(|p| p.as_str()))
        ),
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// The field of a ceremony event entry that an engine error is about.
pub(super) fn field_of(e: &CeremonyError) -> &'static str {
    match e {
        CeremonyError::BadStatement { .. } => "event.statement",
        CeremonyError::MessageMismatch { .. } => "event.statement.statement.message_sha256",
        CeremonyError::AlreadyDecided { .. } | CeremonyError::UnknownParticipant { .. } => {
            "event.statement.statement.participant"
        }
        CeremonyError::CommitmentsReused { .. } | CeremonyError::DuplicateCommitments { .. } => {
            "event.commitments"
        }
        CeremonyError::StaleAttempt { .. } => "event.attempt",
        CeremonyError::DuplicateShare { .. }
        | CeremonyError::NotInSigningSet { .. }
        | CeremonyError::NotApproved { .. }
        | CeremonyError::ParticipantDropped { .. } => "event.participant",
        CeremonyError::NotAllowed { .. } => "event.by",
        CeremonyError::NotDue { .. } => "at",
        CeremonyError::Finished { .. }
        | CeremonyError::InvalidRequest(_)
        | CeremonyError::NoReviewNeeded(_)
        | CeremonyError::NoSigningPackage { .. } => "event",
    }
}
