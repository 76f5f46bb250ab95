//! A ceremony's timeline: each of its record entries as one line an
//! auditor reads (when, who, what, and what the engine decided).

use quorate_ceremonies::{Action, Entry, Event, Outcome};
use quorate_types::statement::Decision;

/// One entry of the timeline.
pub struct Step {
    pub index: u64,
    pub at_unix_ms: i64,
    pub who: String,
    pub what: String,
    pub decisions: Vec<String>,
}

fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Cancelled { by, reason } => format!("closed: cancelled by {by} ({reason})"),
        Outcome::Expired { reason } => format!("closed: expired ({reason})"),
        Outcome::Failed { reason } => format!("closed: failed ({reason})"),
        Outcome::Rejected { reason } => format!("closed: rejected ({reason})"),
        Outcome::Signed { follow_ups, .. } if follow_ups.is_empty() => "closed: signed".into(),
        Outcome::Signed { follow_ups, .. } => {
            format!(
                "closed: signed, with {} follow-up messages",
                follow_ups.len()
            )
        }
    }
}

fn decision(action: &Action) -> String {
    let names = |list: &[quorate_types::ParticipantId]| {
        list.iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match action {
        Action::AbandonAttempt { attempt, reason } => {
            format!("signing attempt {attempt} abandoned ({reason})")
        }
        Action::Close(o) => outcome(o),
        Action::ContinueBatch { signed, .. } => {
            format!(
                "message {} of the batch signed; the next follows",
                signed + 1
            )
        }
        Action::DropSigner {
            participant,
            reason,
        } => format!("{participant} dropped from signing ({reason})"),
        Action::RequestCommitments { from } => {
            format!("fresh commitments asked of {}", names(from))
        }
        Action::SendSigningPackage { attempt, signers } => {
            format!("signing attempt {attempt} formed: {}", names(signers))
        }
    }
}

fn event(event: &Event) -> String {
    match event {
        Event::Approved { .. } => "approved (a signed statement)".into(),
        Event::Cancelled { reason, .. } => format!("cancelled: {reason}"),
        Event::Committed { .. } => "sent fresh commitments".into(),
        Event::DeadlinePassed => "a deadline passed".into(),
        Event::Rejected { statement } => match &statement.statement.decision {
            Decision::Reject { reason } => format!("rejected (a signed statement): {reason}"),
            Decision::Approve => "rejected (a signed statement)".into(),
        },
        Event::Reviewed { notes, .. } => format!("reviewed the break-glass ceremony: {notes}"),
        Event::ShareSubmitted { attempt, .. } => {
            format!("sent its signature share for attempt {attempt}")
        }
    }
}

/// The step of entry `index`.
pub fn step(index: u64, entry: &Entry) -> Step {
    let at_unix_ms = entry.at().unix_ms();
    let (who, what, decisions) = match entry {
        Entry::CeremonyRequested { request, .. } => {
            let mut what = format!("requested a signature from key group {}", request.key_group);
            if request.break_glass.is_some() {
                what.push_str(", under break-glass");
            }
            (request.requester.clone(), what, Vec::new())
        }
        Entry::CeremonyEvent {
            event: e,
            decisions,
            ..
        } => (
            e.sender().to_string(),
            event(e),
            decisions.iter().map(decision).collect(),
        ),
        Entry::Refused {
            caller,
            action,
            why,
            ..
        } => (
            caller.clone(),
            format!("refused: {action} ({why})"),
            Vec::new(),
        ),
        Entry::KeyGroupRegistered { by, key_group, .. } => (
            by.clone(),
            format!("registered key group {}", key_group.name),
            Vec::new(),
        ),
        Entry::RosterChanged {
            by,
            key_group,
            version,
            ..
        } => (
            by.clone(),
            format!("changed key group {key_group}'s roster (version {version})"),
            Vec::new(),
        ),
        other => (String::new(), other.kind().to_string(), Vec::new()),
    };
    Step {
        index,
        at_unix_ms,
        who,
        what,
        decisions,
    }
}

/// The signers of the ceremony's last signing attempt, from its entries.
pub fn last_signers<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Vec<String> {
    let mut signers = Vec::new();
    for entry in entries {
        if let Entry::CeremonyEvent { decisions, .. } = entry {
            for d in decisions {
                if let Action::SendSigningPackage { signers: s, .. } = d {
                    signers = s.iter().map(|p| p.to_string()).collect();
                }
            }
        }
    }
    signers
}
