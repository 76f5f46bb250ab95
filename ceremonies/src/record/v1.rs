//! Entries as the first release wrote them (`quorate-entry/v1`), frozen.
//!
//! Nothing here may change: these types decode the entries already in
//! every record and in the frozen transcripts (`tests/vectors/v1/`). They
//! differ from today's in one way: the engine's reasons, and a refusal's
//! action and cause, were English prose. Each v1 entry converts to today's
//! [`Entry`], its prose kept as the `Prose` variant of each code, shown as
//! written and never compared.
//!
//! The types v1 and v2 share (the request, events, statements, key-group
//! file, roster, parties) encode identically in both; a change to one of
//! them would change v1 too, and must instead come as a new entry kind or
//! version.

use frost_ed25519::Signature;
use quorate_types::{CeremonyId, KeyGroupFile, KeyGroupName, ParticipantId, Party, Roster};
use serde::{Deserialize, Serialize};

use crate::reason::{AbandonReason, DropReason, ExpiryReason, FailureReason, RejectionReason};
use crate::record::{Entry, RefusalReason, RefusedAction};
use crate::{Event, Request, Timestamp};

pub const PREFIX: &[u8] = b"quorate-entry/v1\n";

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum V1Entry {
    KeyGroupRegistered {
        at: Timestamp,
        by: String,
        key_group: KeyGroupFile,
    },
    RosterChanged {
        at: Timestamp,
        by: String,
        key_group: KeyGroupName,
        version: u64,
        roster: Roster,
    },
    PartiesChanged {
        at: Timestamp,
        by: String,
        parties: Vec<Party>,
    },
    CeremonyRequested {
        at: Timestamp,
        request: Request,
    },
    CeremonyEvent {
        at: Timestamp,
        ceremony: CeremonyId,
        seq: u64,
        event: Event,
        decisions: Vec<V1Action>,
    },
    Refused {
        at: Timestamp,
        caller: String,
        ceremony: Option<CeremonyId>,
        action: String,
        why: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum V1Action {
    AbandonAttempt {
        attempt: u32,
        reason: String,
    },
    Close(V1Outcome),
    ContinueBatch {
        signed: u32,
        signature: Signature,
    },
    DropSigner {
        participant: ParticipantId,
        reason: String,
    },
    RequestCommitments {
        from: Vec<ParticipantId>,
    },
    SendSigningPackage {
        attempt: u32,
        signers: Vec<ParticipantId>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum V1Outcome {
    Cancelled {
        by: String,
        reason: String,
    },
    Expired {
        reason: String,
    },
    Failed {
        reason: String,
    },
    Rejected {
        reason: String,
    },
    Signed {
        signature: Signature,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        follow_ups: Vec<Signature>,
    },
}

impl V1Entry {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut bytes = PREFIX.to_vec();
        // Serializes without fail: string keys only.
        bytes.extend(serde_json::to_vec(self).unwrap_or_default());
        bytes
    }
}

impl From<V1Entry> for Entry {
    fn from(entry: V1Entry) -> Self {
        match entry {
            V1Entry::KeyGroupRegistered { at, by, key_group } => {
                Entry::KeyGroupRegistered { at, by, key_group }
            }
            V1Entry::RosterChanged {
                at,
                by,
                key_group,
                version,
                roster,
            } => Entry::RosterChanged {
                at,
                by,
                key_group,
                version,
                roster,
            },
            V1Entry::PartiesChanged { at, by, parties } => {
                Entry::PartiesChanged { at, by, parties }
            }
            V1Entry::CeremonyRequested { at, request } => Entry::CeremonyRequested { at, request },
            V1Entry::CeremonyEvent {
                at,
                ceremony,
                seq,
                event,
                decisions,
            } => Entry::CeremonyEvent {
                at,
                ceremony,
                seq,
                event,
                decisions: decisions.into_iter().map(Into::into).collect(),
            },
            V1Entry::Refused {
                at,
                caller,
                ceremony,
                action,
                why,
            } => Entry::Refused {
                at,
                caller,
                ceremony,
                action: RefusedAction::Prose(action),
                why: RefusalReason::Prose(why),
            },
        }
    }
}

impl From<V1Action> for crate::Action {
    fn from(action: V1Action) -> Self {
        use crate::Action;
        match action {
            V1Action::AbandonAttempt { attempt, reason } => Action::AbandonAttempt {
                attempt,
                reason: AbandonReason::Prose(reason),
            },
            V1Action::Close(outcome) => Action::Close(outcome.into()),
            V1Action::ContinueBatch { signed, signature } => {
                Action::ContinueBatch { signed, signature }
            }
            V1Action::DropSigner {
                participant,
                reason,
            } => Action::DropSigner {
                participant,
                reason: DropReason::Prose(reason),
            },
            V1Action::RequestCommitments { from } => Action::RequestCommitments { from },
            V1Action::SendSigningPackage { attempt, signers } => {
                Action::SendSigningPackage { attempt, signers }
            }
        }
    }
}

impl From<V1Outcome> for crate::Outcome {
    fn from(outcome: V1Outcome) -> Self {
        use crate::Outcome;
        match outcome {
            V1Outcome::Cancelled { by, reason } => Outcome::Cancelled { by, reason },
            V1Outcome::Expired { reason } => Outcome::Expired {
                reason: ExpiryReason::Prose(reason),
            },
            V1Outcome::Failed { reason } => Outcome::Failed {
                reason: FailureReason::Prose(reason),
            },
            V1Outcome::Rejected { reason } => Outcome::Rejected {
                reason: RejectionReason::Prose(reason),
            },
            V1Outcome::Signed {
                signature,
                follow_ups,
            } => Outcome::Signed {
                signature,
                follow_ups,
            },
        }
    }
}
