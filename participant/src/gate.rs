//! The signing gate: what the agent does about a ceremony it has decided
//! on, each time the coordinator sends news of it. A pure function of what
//! the agent knows: its journal entry, the commitments of the nonces it
//! holds, a domain view of the ceremony and the signing package, and its
//! copy of the key group. `agent.rs` carries out the verdict; nothing here
//! does I/O, reads a clock or touches a nonce.
//!
//! It keeps DESIGN invariants 1 and 2: a share is released only for a
//! package that carries the commitment of the nonces held (so nonces sign
//! one package, ever), whose message is exactly the approved one (or what
//! the approved batch's rule makes of the signatures before it), and whose
//! signing set meets the key group's policy with a valid signed approval of
//! that message from every signer.

use frost_ed25519::SigningPackage;
use frost_ed25519::round1::SigningCommitments;
use quorate_ceremonies::KeyGroup;
use quorate_types::{CeremonyView, ParticipantId, Sha256Digest};
use serde::{Deserialize, Serialize};

use crate::approvals::{Expected, check_signing_package};
use crate::journal::{Decision, Entry};

/// The nonces the agent holds for a ceremony, as the gate sees them: their
/// commitments, and the ceremony version at which the coordinator recorded
/// those commitments.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    pub commitments: &'a SigningCommitments,
    pub since: u64,
}

/// Everything the gate decides on.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub me: &'a ParticipantId,
    pub group: &'a KeyGroup,
    /// What the approver decided, and what was signed since.
    pub entry: &'a Entry,
    pub held: Option<Held<'a>>,
    pub ceremony: &'a CeremonyView,
    /// The signing package of the work item, as sent; empty if none.
    pub package: &'a [u8],
    /// The coordinator asks this agent for fresh commitments.
    pub commitments_wanted: bool,
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Sign `package` with the held nonces: it signs message `message` of
    /// the batch, whose SHA-256 is `expected`.
    Sign {
        package: SigningPackage,
        message: u32,
        expected: Sha256Digest,
    },
    /// Send again the share this agent sent for this very package, which
    /// the coordinator does not hold (lost to a crash): its nonces are
    /// never used again, so resending is safe.
    Resend { share: Vec<u8> },
    /// Destroy any nonces held and send fresh commitments.
    CommitAfresh,
    /// Nothing to do now.
    Wait,
    /// Take no part; journal and report why. Nonces are destroyed when
    /// [`Refusal::destroys_nonces`] says so.
    Refuse(Refusal),
}

/// Why the agent takes no part in what the coordinator sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case", deny_unknown_fields)]
pub enum Refusal {
    #[error("the coordinator now shows another message or batch than the one approved")]
    ChangedMessage,
    #[error("the signing package carries a commitment for this agent that it did not make")]
    ForeignCommitment,
    #[error("the signing package is malformed: {why}")]
    MalformedPackage { why: String },
    #[error("the signing set violates the policy: {why}")]
    PolicyViolation { why: String },
    #[error("the signing package's message is not the approved one: {why}")]
    WrongMessage { why: String },
}

impl Refusal {
    /// Whether the nonces held must go: the package named them, so they
    /// are never used for any package.
    pub fn destroys_nonces(&self) -> bool {
        matches!(
            self,
            Self::PolicyViolation { .. } | Self::WrongMessage { .. }
        )
    }
}

/// Decides what to do about the ceremony (see the module docs).
pub fn decide(inputs: &Inputs<'_>) -> Verdict {
    let Inputs {
        me,
        group,
        entry,
        held,
        ceremony,
        package,
        commitments_wanted,
    } = *inputs;
    if entry.decision == Decision::Rejected || !ceremony.open {
        return Verdict::Wait;
    }
    if entry.message_sha256 != ceremony.message_sha256 || entry.follow_ups != ceremony.follow_ups {
        return Verdict::Refuse(Refusal::ChangedMessage);
    }
    if package.is_empty() {
        let in_signing_set = ceremony.signing_set.contains(me);
        let wanted = match held {
            // Asked after our commitments were recorded: they went into a
            // package that was abandoned, so they are never reused.
            Some(held) => commitments_wanted && ceremony.version >= held.since,
            // No nonces: lost in a restart, or used for a share.
            None => commitments_wanted || !in_signing_set,
        };
        return if wanted {
            Verdict::CommitAfresh
        } else {
            Verdict::Wait
        };
    }
    if entry.signed(ceremony.attempt) {
        // Our share of this attempt is out: nothing more until the
        // coordinator abandons it, unless it lost the share (a crash), in
        // which case the very same share goes again. Checked before the
        // package is parsed, which costs a subgroup check per commitment.
        return match entry.sent_share(ceremony.attempt) {
            Some(sent)
                if !ceremony.shares_received.contains(me)
                    && sent.package_sha256 == Sha256Digest::of(package) =>
            {
                Verdict::Resend {
                    share: sent.share.clone(),
                }
            }
            _ => Verdict::Wait,
        };
    }
    let package = match SigningPackage::deserialize(package) {
        Ok(p) => p,
        Err(e) => {
            return Verdict::Refuse(Refusal::MalformedPackage { why: e.to_string() });
        }
    };
    // Restarted since committing: the package's nonces are gone.
    let Some(held) = held else {
        return Verdict::CommitAfresh;
    };
    if package.signing_commitment(&me.identifier()).as_ref() != Some(held.commitments) {
        if ceremony.version < held.since {
            // Formed before our newer commitments were recorded.
            return Verdict::Wait;
        }
        return Verdict::Refuse(Refusal::ForeignCommitment);
    }
    let expected = Expected {
        ceremony: &ceremony.id,
        key_group: &group.name,
        message_sha256: &entry.message_sha256,
        follow_ups: &entry.follow_ups,
        break_glass: entry.break_glass,
    };
    // Our own approval is in the journal; the rest come from the status.
    let statements = ceremony
        .approvals
        .iter()
        .map(Vec::as_slice)
        .chain(std::iter::once(entry.statement.as_slice()));
    if let Err(why) =
        check_signing_package(group, &ceremony.requester, &package, &expected, statements)
    {
        return Verdict::Refuse(Refusal::PolicyViolation { why });
    }
    let (message, expected) = match expected_message(group, entry, ceremony) {
        Ok(expected) => expected,
        Err(why) => return Verdict::Refuse(Refusal::WrongMessage { why }),
    };
    let got = Sha256Digest::of(package.message());
    if got != expected {
        return Verdict::Refuse(Refusal::WrongMessage {
            why: format!(
                "it has SHA-256 {got}, message {message} of the approved batch {expected}"
            ),
        });
    }
    Verdict::Sign {
        package,
        message,
        expected,
    }
}

/// Which message of the approved batch the current attempt signs (the next
/// after those the status lists signatures of) and the SHA-256 of its
/// bytes, rebuilt from the approved message and rules and the earlier
/// signatures, each checked under the group key.
fn expected_message(
    group: &KeyGroup,
    entry: &Entry,
    ceremony: &CeremonyView,
) -> Result<(u32, Sha256Digest), String> {
    let index = ceremony.batch_signatures.len();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&group.group_key())
        .map_err(|e| format!("the group key is not an Ed25519 key: {e}"))?;
    let message = quorate_types::batch::message_at(
        &ceremony.message,
        &entry.follow_ups,
        &ceremony.batch_signatures,
        index,
        &key,
    )
    .map_err(|e| e.to_string())?;
    let index = u32::try_from(index).map_err(|_| "too many signatures".to_string())?;
    Ok((index, Sha256Digest::of(&message)))
}

#[cfg(test)]
mod tests;
