//! The last check before a signature share leaves the agent: the agent
//! reads the ceremony's own entries from the coordinator's record, each
//! proven included in a signed checkpoint (one its witnesses cosigned, when
//! the policy names witnesses), and checks the parts of the policy that the
//! signing [`crate::gate`] cannot see in the signing package. (The gate
//! checks the signing set itself: the number of approvals, the roles and
//! self-approval, each signer's signed approval verified against the
//! roster.) Here:
//!
//! - its own approval is there, byte for byte;
//! - the events up to the one that formed this signing set are all there
//!   (`seq` 0, 1, 2, ... with none missing), and no event shown, before or
//!   after it, is a rejection by a veto role, a cancellation, or the
//!   ceremony's end;
//! - the request stands as its requester's ([`crate::request_check`]):
//!   signed by the requester when the policy lists requester keys, by one
//!   who may request, and a break-glass request declared by an allowed
//!   declarer with a justification; and its requester is the one the
//!   ceremony shows;
//! - no deadline has passed, by the agent's own clock, give or take
//!   [`CLOCK_TOLERANCE`].
//!
//! Pure: the agent fetches the evidence and reads its clock
//! (`agent/release.rs`).

use std::collections::BTreeSet;
use std::time::Duration;

use quorate_ceremonies::{Action, Entry, Event, KeyGroup, Request, Timestamp};
use quorate_tlog::{Hash, LogVerifier};
use quorate_types::{CeremonyId, Decision, ParticipantId};

use crate::record_check::{RecordProblem, check_included, find_statement, verify_checkpoint};
use crate::witness_gate::WitnessPolicy;

/// How far the agent's clock may be from the coordinator's.
pub const CLOCK_TOLERANCE: Duration = Duration::from_secs(30);

/// The ceremony's entries as the coordinator sent them.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The signed checkpoint everything is proven in.
    pub note: &'a str,
    /// The ceremony's entries, `(index, bytes)`.
    pub entries: &'a [(u64, Vec<u8>)],
    /// The inclusion proof of each entry, by index.
    pub proofs: &'a [(u64, Vec<Hash>)],
}

/// What the share is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub me: &'a ParticipantId,
    pub ceremony: &'a CeremonyId,
    /// The requester the ceremony shows (whom the signing gate's
    /// self-approval rule judges by).
    pub requester: &'a str,
    /// Our signed statement, as sent.
    pub ours: &'a [u8],
    pub group: &'a KeyGroup,
    pub log: &'a LogVerifier,
    pub witnesses: Option<&'a WitnessPolicy>,
    /// The signing package's attempt and signers.
    pub attempt: u32,
    pub signers: &'a [ParticipantId],
    /// The agent's clock.
    pub now: Timestamp,
}

/// May the share go?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Release,
    /// Not yet: the record (or the witnesses) have not caught up. Worth
    /// asking again.
    NotYet(String),
    /// The record shows something that forbids this share, or the
    /// coordinator's evidence is false. Never sign on it.
    Breach(String),
}

/// Judges the evidence (see the module docs).
pub fn judge(inputs: &Inputs<'_>, evidence: &Evidence<'_>) -> Verdict {
    match judge_inner(inputs, evidence) {
        Ok(()) => Verdict::Release,
        Err(verdict) => verdict,
    }
}

fn judge_inner(inputs: &Inputs<'_>, evidence: &Evidence<'_>) -> Result<(), Verdict> {
    let breach = |why: String| Verdict::Breach(why);
    let checkpoint =
        verify_checkpoint(inputs.log, evidence.note).map_err(|p| breach(p.to_string()))?;
    if let Some(witnesses) = inputs.witnesses {
        witnesses
            .cosigned_by(evidence.note)
            .map_err(Verdict::NotYet)?;
    }
    if evidence.proofs.is_empty() && !evidence.entries.is_empty() {
        // A coordinator older than entry proofs, or one that withholds
        // them: no share either way, but no proof of a lie.
        return Err(Verdict::NotYet(
            "the coordinator sent the ceremony's entries without their inclusion proofs".into(),
        ));
    }
    let mut entries = Vec::with_capacity(evidence.entries.len());
    for (index, bytes) in evidence.entries {
        let proof = evidence
            .proofs
            .iter()
            .find(|(i, _)| i == index)
            .map(|(_, p)| p.as_slice())
            .ok_or_else(|| breach(format!("entry {index} came without its inclusion proof")))?;
        check_included(*index, bytes, &checkpoint, proof).map_err(|p| breach(p.to_string()))?;
        let entry =
            Entry::decode(bytes).map_err(|e| breach(format!("entry {index} of the record {e}")))?;
        entries.push((*index, entry));
    }
    match find_statement(inputs.ceremony, inputs.me, inputs.ours, evidence.entries) {
        Ok(_) => {}
        Err(RecordProblem::MissingStatement) => {
            return Err(Verdict::NotYet(
                "our approval is not yet in the checkpoint".into(),
            ));
        }
        Err(problem) => return Err(breach(problem.to_string())),
    }
    check_policy(inputs, &entries)
}

/// The policy, from the ceremony's request and its events up to the one
/// that formed this signing set.
fn check_policy(inputs: &Inputs<'_>, entries: &[(u64, Entry)]) -> Result<(), Verdict> {
    let breach = |why: String| Verdict::Breach(why);
    let policy = &inputs.group.policy;
    let request = entries
        .iter()
        .find_map(|(_, e)| match e {
            Entry::CeremonyRequested { request, .. } if &request.id == inputs.ceremony => {
                Some(request)
            }
            _ => None,
        })
        .ok_or_else(|| breach("the record holds no request for this ceremony".into()))?;
    check_requester(inputs, request)?;
    let mut events: Vec<(u64, Timestamp, &Event, &[Action])> = entries
        .iter()
        .filter_map(|(_, e)| match e {
            Entry::CeremonyEvent {
                at,
                ceremony,
                seq,
                event,
                decisions,
            } if ceremony == inputs.ceremony => Some((*seq, *at, event, decisions.as_slice())),
            _ => None,
        })
        .collect();
    events.sort_by_key(|(seq, ..)| *seq);
    let formed = events.iter().position(|(_, _, _, decisions)| {
        decisions.iter().any(|d| {
            matches!(d, Action::SendSigningPackage { attempt, signers }
                if *attempt == inputs.attempt && same_set(signers, inputs.signers))
        })
    });
    let Some(formed) = formed else {
        return Err(Verdict::NotYet(format!(
            "the record does not yet show signing attempt {} formed with this signing set",
            inputs.attempt
        )));
    };
    for (expected, (seq, ..)) in events[..=formed].iter().enumerate() {
        if *seq != expected as u64 {
            return Err(breach(format!(
                "the record skips event {expected} of the ceremony before the signing set was formed"
            )));
        }
    }
    // Every event shown counts, also those after the set was formed: the
    // engine takes a veto or a cancellation while shares are collected.
    for (seq, _, event, decisions) in &events {
        match event {
            Event::Rejected { statement } => {
                let who = &statement.statement.participant;
                let role = inputs.group.role_of(who).unwrap_or("no role");
                if matches!(statement.statement.decision, Decision::Reject { .. })
                    && policy.veto_roles.iter().any(|r| r == role)
                {
                    return Err(breach(format!(
                        "{who} ({role}, a veto role) rejected the ceremony (event {seq}), yet a \
                         signing package came"
                    )));
                }
            }
            Event::Cancelled { by, .. } => {
                return Err(breach(format!(
                    "{by} cancelled the ceremony (event {seq}), yet a signing package came"
                )));
            }
            _ => {}
        }
        if decisions.iter().any(|d| matches!(d, Action::Close(_))) {
            return Err(breach(format!(
                "the ceremony ended at event {seq}, yet a signing package came"
            )));
        }
    }
    let formed_at = events[formed].1;
    check_deadlines(inputs, request, formed_at)
}

fn check_requester(inputs: &Inputs<'_>, request: &Request) -> Result<(), Verdict> {
    if request.requester != inputs.requester {
        return Err(Verdict::Breach(format!(
            "the record's request is {}'s, but the ceremony shows it as {}'s",
            request.requester, inputs.requester
        )));
    }
    crate::request_check::check(
        &inputs.group.policy,
        request.signed.as_ref(),
        &request.asked(),
    )
    .map_err(Verdict::Breach)
}

fn check_deadlines(
    inputs: &Inputs<'_>,
    request: &Request,
    formed_at: Timestamp,
) -> Result<(), Verdict> {
    let policy = &inputs.group.policy;
    let Some(rules) = policy.rules_for(request.break_glass.is_some(), inputs.group.threshold)
    else {
        return Err(Verdict::Breach(
            "break-glass was declared, but the policy allows none".into(),
        ));
    };
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let tolerance = ms(CLOCK_TOLERANCE);
    let created = request.created_at.unix_ms();
    let now = inputs.now.unix_ms();
    let passed = |what: &str, deadline: i64, at: i64, when: &str| {
        Err(Verdict::Breach(format!(
            "the {what} deadline passed {} s before {when}",
            (at - deadline) / 1000
        )))
    };
    let formed = formed_at.unix_ms();
    let approval = created.saturating_add(ms(rules.deadlines.approval));
    if formed > approval.saturating_add(tolerance) {
        return passed("approval", approval, formed, "the signing set was formed");
    }
    let overall = created.saturating_add(ms(rules.deadlines.overall));
    if now > overall.saturating_add(tolerance) {
        return passed("overall", overall, now, "now, by this agent's clock");
    }
    let signing = formed.saturating_add(ms(rules.deadlines.signing));
    if now > signing.saturating_add(tolerance) {
        return passed("signing", signing, now, "now, by this agent's clock");
    }
    Ok(())
}

/// Whether `a` and `b` name the same participants, each once.
fn same_set(a: &[ParticipantId], b: &[ParticipantId]) -> bool {
    let (sa, sb): (BTreeSet<&ParticipantId>, BTreeSet<&ParticipantId>) =
        (a.iter().collect(), b.iter().collect());
    a.len() == b.len() && sa.len() == a.len() && sa == sb
}

#[cfg(test)]
mod tests;
