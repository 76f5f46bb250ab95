//! A ceremony as the coordinator shows it to a party: the domain view of a
//! status, parsed from the wire once (`quorate-wire`, `convert`), on which an
//! agent decides. Nothing in it is trusted: the agent checks what it relies
//! on (each listed approval's signature, the signing set, the message).

use crate::batch::FollowUp;
use crate::{CeremonyId, KeyGroupName, ParticipantId, Sha256Digest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyView {
    pub id: CeremonyId,
    pub key_group: KeyGroupName,
    pub requester: String,
    pub message: Vec<u8>,
    /// SHA-256 of `message` (the conversion checks the status's claim).
    pub message_sha256: Sha256Digest,
    /// The batch's later messages' rules, checked.
    pub follow_ups: Vec<FollowUp>,
    /// Signatures of the batch's messages signed so far, in order.
    pub batch_signatures: Vec<[u8; 64]>,
    /// Events the coordinator has recorded for it.
    pub version: u64,
    /// The current (or last) signing attempt.
    pub attempt: u32,
    /// The signers of the signing package that is out.
    pub signing_set: Vec<ParticipantId>,
    /// The signers whose shares of that package the coordinator holds.
    pub shares_received: Vec<ParticipantId>,
    /// The signed statements the coordinator lists as approvals, as sent.
    pub approvals: Vec<Vec<u8>>,
    /// Still taking input: not signed, rejected, expired, failed or cancelled.
    pub open: bool,
}
