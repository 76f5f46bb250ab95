//! The one check of an approver's signed statement, shared by the engine
//! (which takes an approval or rejection into a ceremony) and every agent
//! (which counts the approvals of a signing set itself before it signs):
//! the roster's identity key signed it, and it is about exactly this
//! ceremony, key group, message, batch and break-glass flag, with the
//! decision it is taken for.

use quorate_types::batch::FollowUp;
use quorate_types::{
    CeremonyId, Decision, KeyGroupName, ParticipantId, Roster, Sha256Digest, SignedStatement,
};

/// What a statement must say: the ceremony as the checker knows it.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub ceremony: &'a CeremonyId,
    pub key_group: &'a KeyGroupName,
    pub message_sha256: &'a Sha256Digest,
    /// The batch's follow-up messages.
    pub follow_ups: &'a [FollowUp],
    pub break_glass: bool,
}

/// What is wrong with a statement, in the order it is checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementProblem {
    #[error("{participant} is not in the roster of key group {key_group}")]
    NotInRoster {
        participant: ParticipantId,
        key_group: KeyGroupName,
    },
    #[error("the roster of key group {key_group} lists no identity key for {participant}")]
    NoIdentityKey {
        participant: ParticipantId,
        key_group: KeyGroupName,
    },
    #[error("the signature does not verify with {participant}'s identity key")]
    BadSignature { participant: ParticipantId },
    #[error("it is about ceremony {got}, not {expected}")]
    OtherCeremony {
        got: CeremonyId,
        expected: CeremonyId,
    },
    #[error("it names key group {got}, not {expected}")]
    OtherKeyGroup {
        got: KeyGroupName,
        expected: KeyGroupName,
    },
    #[error("{}", if *approve {
        "it does not approve the ceremony: it rejects it"
    } else {
        "it does not reject the ceremony: it approves it"
    })]
    OtherDecision { approve: bool },
    #[error("{}", if *ceremony_is {
        "this is a break-glass ceremony, but the statement does not acknowledge it"
    } else {
        "it claims a break-glass ceremony, but this one is not"
    })]
    BreakGlass { ceremony_is: bool },
    #[error("it decided on another message (SHA-256 {got}) than {expected}")]
    OtherMessage {
        got: Sha256Digest,
        expected: Sha256Digest,
    },
    #[error(
        "it decides on another batch ({got} follow-up messages) than this ceremony's ({expected})"
    )]
    OtherBatch { got: usize, expected: usize },
}

/// Checks `signed` as an approval (`approve`) or a rejection of `expected`,
/// under `roster` (the key group `expected.key_group`'s).
pub fn check_statement(
    roster: &Roster,
    expected: &Expected<'_>,
    signed: &SignedStatement,
    approve: bool,
) -> Result<(), StatementProblem> {
    let s = &signed.statement;
    let participant = &s.participant;
    let entry = roster
        .get(participant)
        .ok_or_else(|| StatementProblem::NotInRoster {
            participant: participant.clone(),
            key_group: expected.key_group.clone(),
        })?;
    let identity = entry
        .identity
        .ok_or_else(|| StatementProblem::NoIdentityKey {
            participant: participant.clone(),
            key_group: expected.key_group.clone(),
        })?;
    if !signed.verify(&identity) {
        return Err(StatementProblem::BadSignature {
            participant: participant.clone(),
        });
    }
    if &s.ceremony != expected.ceremony {
        return Err(StatementProblem::OtherCeremony {
            got: s.ceremony.clone(),
            expected: expected.ceremony.clone(),
        });
    }
    if &s.key_group != expected.key_group {
        return Err(StatementProblem::OtherKeyGroup {
            got: s.key_group.clone(),
            expected: expected.key_group.clone(),
        });
    }
    if matches!(s.decision, Decision::Approve) != approve {
        return Err(StatementProblem::OtherDecision { approve });
    }
    if s.break_glass != expected.break_glass {
        return Err(StatementProblem::BreakGlass {
            ceremony_is: expected.break_glass,
        });
    }
    if &s.message_sha256 != expected.message_sha256 {
        return Err(StatementProblem::OtherMessage {
            got: s.message_sha256,
            expected: *expected.message_sha256,
        });
    }
    if s.follow_ups != expected.follow_ups {
        return Err(StatementProblem::OtherBatch {
            got: s.follow_ups.len(),
            expected: expected.follow_ups.len(),
        });
    }
    Ok(())
}
