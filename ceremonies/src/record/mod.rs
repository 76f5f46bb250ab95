//! The record's entries and their one canonical encoding.
//!
//! Every state change of a key group or ceremony is one [`Entry`]. Its bytes
//! are `quorate-entry/v2\n` followed by the entry's JSON as serde writes it:
//! fields in declaration order, no whitespace, binary values as lowercase
//! hex, times as integer ms since the Unix epoch. Why the engine decided
//! something is a code with fields ([`crate::reason`]), never prose.
//! [`Entry::decode`] accepts only bytes that the encoder of their version
//! would write, so each entry has exactly one encoding and one leaf hash.
//!
//! Entries of the first release (`quorate-entry/v1\n`, [`v1`]) decode
//! forever, into the same [`Entry`], with their prose kept as written. A new
//! encoding gets a new prefix. `docs/record.md` describes each kind with an
//! example.

mod refusal;
pub(crate) mod v1;

use quorate_types::KeyGroupFile;
use quorate_types::backup_note::SignedBackupNote;
use quorate_types::handover::Link;
use quorate_types::key_ceremony::KeyProposal;
use quorate_types::statement::Signature;
use quorate_types::{CeremonyId, KeyCeremonyId, KeyGroupName, Party, Roster, SignedStatement};
use serde::{Deserialize, Serialize};

use crate::key::{KeyDecision, KeyEvent};
use crate::{Action, Event, Request, Timestamp};

pub use refusal::{RefusalReason, RefusedAction};

/// The prefix of every entry written now.
pub const ENTRY_PREFIX: &[u8] = b"quorate-entry/v2\n";

// An approval (a signed statement and FROST commitments) is a few hundred
// bytes larger than the other variants; events are handled one at a time,
// so boxing it would only make every construction and match noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case", deny_unknown_fields)]
pub enum Entry {
    /// An operator registered a key group: its public key package, roster
    /// (with identity keys) and policy, as every later entry is judged by.
    KeyGroupRegistered {
        at: Timestamp,
        by: String,
        key_group: KeyGroupFile,
    },
    /// An operator changed a key group's roster: names, roles, identity
    /// keys or addresses, never who holds a share. It is the key group's
    /// `version`th change (from 1); ceremonies requested after it name that
    /// version and are judged by this roster.
    RosterChanged {
        at: Timestamp,
        by: String,
        key_group: KeyGroupName,
        version: u64,
        roster: Roster,
    },
    /// The coordinator started with other requesters, auditors and
    /// operators (`[[party]]` in its configuration, `by`) than the record
    /// last listed; `parties` is the whole new list, in canonical order.
    PartiesChanged {
        at: Timestamp,
        by: String,
        parties: Vec<Party>,
    },
    /// A requester asked for a signature (a break-glass one if the request
    /// carries a justification).
    CeremonyRequested { at: Timestamp, request: Request },
    /// Input number `seq` (from 0) of a ceremony, as the engine took it at
    /// `at`, and the decisions the engine made from it: signing package
    /// formed, signer dropped and why, attempt abandoned, ceremony closed.
    CeremonyEvent {
        at: Timestamp,
        ceremony: CeremonyId,
        seq: u64,
        event: Event,
        decisions: Vec<Action>,
    },
    /// A key ceremony changed a key group's shares: a refresh (new
    /// verifying shares, the roster without those it removed), a repair (a
    /// participant's share rebuilt, perhaps under a new identity key) or an
    /// enrolment (a new participant and verifying share). `key_group` is the
    /// group as it is from now on (same group key and threshold), its
    /// `version`th change. Ceremonies requested afterwards are judged by it.
    KeyGroupChanged {
        at: Timestamp,
        by: String,
        version: u64,
        key_group: KeyGroupFile,
    },
    /// An operator proposed a key group that its participants make among
    /// themselves by DKG ([`crate::key`]).
    KeyCeremonyProposed {
        at: Timestamp,
        by: String,
        ceremony: KeyCeremonyId,
        proposal: KeyProposal,
    },
    /// Input number `seq` (from 0) of a key ceremony, and what the
    /// ceremony decided from it. The event that registers the group is
    /// followed by the group's [`Entry::KeyGroupRegistered`], by
    /// `key ceremony <id>`.
    KeyCeremonyEvent {
        at: Timestamp,
        ceremony: KeyCeremonyId,
        seq: u64,
        event: KeyEvent,
        decisions: Vec<KeyDecision>,
    },
    /// An approver backed up its share with custodians
    /// ([`crate::backup_note`]): the note, signed by the approver, holds
    /// the backup's commitments' hash and no secret.
    ShareBackedUp {
        at: Timestamp,
        note: SignedBackupNote,
    },
    /// An operator recorded the key group's retirement, a statement the
    /// group signed with its own key ([`quorate_types::retirement`]): no
    /// new ceremony of it is taken from then on.
    KeyGroupRetired {
        at: Timestamp,
        by: String,
        key_group: KeyGroupName,
        /// The statement's exact bytes (UTF-8 text).
        statement: String,
        signature: Signature,
    },
    /// An operator recorded the key group's hand-over to a new group's
    /// key ([`quorate_types::handover`]): the statement, signed by this
    /// group's key and cosigned by the new group's.
    KeyGroupHandedOver {
        at: Timestamp,
        by: String,
        key_group: KeyGroupName,
        link: Link,
    },
    /// An authenticated caller tried to act for someone else or outside
    /// its key groups, and was refused. Changes no ceremony.
    Refused {
        at: Timestamp,
        caller: String,
        ceremony: Option<CeremonyId>,
        action: RefusedAction,
        why: RefusalReason,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("does not start with \"quorate-entry/v1\\n\" or \"quorate-entry/v2\\n\"")]
    UnknownFormat,
    #[error("is not a valid entry: {0}")]
    Malformed(String),
    #[error("is not in canonical form (re-encoding it gives other bytes)")]
    NotCanonical,
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = ENTRY_PREFIX.to_vec();
        // Our entry types serialize to JSON without fail: string keys only.
        bytes.extend(serde_json::to_vec(self).unwrap_or_default());
        bytes
    }

    /// Decodes an entry of any version, checking it is in canonical form.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let malformed = |e: serde_json::Error| EntryError::Malformed(e.to_string());
        if let Some(body) = bytes.strip_prefix(ENTRY_PREFIX) {
            let entry: Entry = serde_json::from_slice(body).map_err(malformed)?;
            if entry.encode() != bytes {
                return Err(EntryError::NotCanonical);
            }
            return Ok(entry);
        }
        if let Some(body) = bytes.strip_prefix(v1::PREFIX) {
            let entry: v1::V1Entry = serde_json::from_slice(body).map_err(malformed)?;
            if entry.encode() != bytes {
                return Err(EntryError::NotCanonical);
            }
            return Ok(entry.into());
        }
        Err(EntryError::UnknownFormat)
    }

    /// The encoding version of an entry's bytes (1 or 2), if they start
    /// like an entry.
    pub fn version_of(bytes: &[u8]) -> Option<u8> {
        if bytes.starts_with(ENTRY_PREFIX) {
            Some(2)
        } else if bytes.starts_with(v1::PREFIX) {
            Some(1)
        } else {
            None
        }
    }

    /// The ceremony and signed statement of an approval or rejection
    /// entry, read without decoding the rest of it (its commitments and
    /// decisions, whose points each cost a subgroup check) or checking that
    /// it is canonical: for an agent looking for its own statement among a
    /// ceremony's entries. Any other entry, or bytes that are not one, give
    /// `None`.
    pub fn statement_in(bytes: &[u8]) -> Option<(CeremonyId, SignedStatement)> {
        #[derive(Deserialize)]
        struct View {
            entry: String,
            ceremony: Option<CeremonyId>,
            event: Option<EventView>,
        }
        #[derive(Deserialize)]
        struct EventView {
            #[serde(rename = "type")]
            kind: String,
            statement: Option<SignedStatement>,
        }
        let body = bytes
            .strip_prefix(ENTRY_PREFIX)
            .or_else(|| bytes.strip_prefix(v1::PREFIX))?;
        let view: View = serde_json::from_slice(body).ok()?;
        let event = view.event?;
        let is_decision = matches!(event.kind.as_str(), "approved" | "rejected");
        (view.entry == "ceremony_event" && is_decision)
            .then_some((view.ceremony?, event.statement?))
    }

    pub fn at(&self) -> Timestamp {
        match self {
            Entry::KeyGroupRegistered { at, .. }
            | Entry::RosterChanged { at, .. }
            | Entry::PartiesChanged { at, .. }
            | Entry::CeremonyRequested { at, .. }
            | Entry::CeremonyEvent { at, .. }
            | Entry::KeyCeremonyProposed { at, .. }
            | Entry::KeyGroupChanged { at, .. }
            | Entry::KeyCeremonyEvent { at, .. }
            | Entry::ShareBackedUp { at, .. }
            | Entry::KeyGroupRetired { at, .. }
            | Entry::KeyGroupHandedOver { at, .. }
            | Entry::Refused { at, .. } => *at,
        }
    }

    /// The ceremony the entry belongs to, if any.
    pub fn ceremony(&self) -> Option<&CeremonyId> {
        match self {
            Entry::KeyGroupRegistered { .. }
            | Entry::RosterChanged { .. }
            | Entry::PartiesChanged { .. }
            | Entry::KeyCeremonyProposed { .. }
            | Entry::KeyCeremonyEvent { .. }
            | Entry::KeyGroupChanged { .. }
            | Entry::ShareBackedUp { .. }
            | Entry::KeyGroupRetired { .. }
            | Entry::KeyGroupHandedOver { .. } => None,
            Entry::CeremonyRequested { request, .. } => Some(&request.id),
            Entry::CeremonyEvent { ceremony, .. } => Some(ceremony),
            Entry::Refused { ceremony, .. } => ceremony.as_ref(),
        }
    }

    /// A few words for logs and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::KeyGroupRegistered { .. } => "key group registered",
            Entry::RosterChanged { .. } => "roster changed",
            Entry::PartiesChanged { .. } => "parties changed",
            Entry::CeremonyRequested { .. } => "ceremony requested",
            Entry::CeremonyEvent { .. } => "ceremony event",
            Entry::KeyCeremonyProposed { .. } => "key ceremony proposed",
            Entry::KeyGroupChanged { .. } => "key group changed",
            Entry::KeyCeremonyEvent { .. } => "key ceremony event",
            Entry::ShareBackedUp { .. } => "share backed up",
            Entry::KeyGroupRetired { .. } => "key group retired",
            Entry::KeyGroupHandedOver { .. } => "key group handed over",
            Entry::Refused { .. } => "refused action",
        }
    }
}
