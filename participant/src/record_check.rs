//! The agent's check of the coordinator's record: that the log, as its
//! signed checkpoints show it, holds this participant's signed statement
//! byte for byte, and only grows.
//!
//! The functions here judge evidence already fetched and do no I/O;
//! [`fetch`] gathers the evidence from the coordinator's `Audit` service and
//! [`task`] runs the checks, retrying while the coordinator is unreachable.

pub mod fetch;
pub mod task;

use quorate_ceremonies::Entry;
use quorate_tlog::{
    Checkpoint, ConsistencyProof, Hash, InclusionProof, LogVerifier, check_consistency,
    check_inclusion, leaf_hash,
};
use quorate_types::{CeremonyId, ParticipantId};
use serde::{Deserialize, Serialize};

/// What a check of the record found, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordCheck {
    /// The statement is entry `index` of the log, proven included in a
    /// checkpoint of `tree_size` entries.
    Verified {
        index: u64,
        tree_size: u64,
        /// Checked after the ceremony finished.
        #[serde(default)]
        finished: bool,
    },
    Problem(RecordProblem),
}

impl RecordCheck {
    /// The line `Review.record` shows.
    pub fn describe(&self) -> String {
        match self {
            RecordCheck::Verified {
                index,
                tree_size,
                finished: false,
            } => format!("included at {index} in a tree of {tree_size}"),
            RecordCheck::Verified {
                index,
                tree_size,
                finished: true,
            } => format!(
                "included at {index} in a tree of {tree_size}, checked after the ceremony ended"
            ),
            RecordCheck::Problem(p) => p.to_string(),
        }
    }

    pub fn is_problem(&self) -> bool {
        matches!(self, RecordCheck::Problem(_))
    }
}

/// Something the coordinator's record shows that it must not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum RecordProblem {
    #[error(
        "missing statement: the coordinator's record holds no statement of this participant for the ceremony"
    )]
    MissingStatement,
    #[error(
        "altered statement: entry {index} of the coordinator's record holds a statement of this participant whose bytes differ from the one it signed"
    )]
    AlteredStatement { index: u64 },
    #[error("bad proof: entry {index} is not proven included in the signed checkpoint: {why}")]
    BadProof { index: u64, why: String },
    #[error("bad checkpoint signature: {0}")]
    BadCheckpoint(String),
    #[error("inconsistent checkpoints: the coordinator's log forked or was rewritten: {0}")]
    InconsistentCheckpoints(String),
    #[error(
        "dropped statement: the coordinator gave a signed receipt for this participant's \
         statement, yet its signed record does not hold it; the receipt proves it dropped the \
         decision:\n{receipt}"
    )]
    DroppedStatement { receipt: String },
}

/// Checks the note's signature by the log key and that its origin is the
/// key's name.
pub fn verify_checkpoint(verifier: &LogVerifier, note: &str) -> Result<Checkpoint, RecordProblem> {
    let checkpoint = verifier
        .verify_checkpoint(note)
        .map_err(|e| RecordProblem::BadCheckpoint(e.to_string()))?;
    if checkpoint.origin != verifier.name() {
        return Err(RecordProblem::BadCheckpoint(format!(
            "its origin is {:?}, not the log key's name {:?}",
            checkpoint.origin,
            verifier.name()
        )));
    }
    Ok(checkpoint)
}

/// Checks that `new` extends `old`: the log only ever grows.
pub fn check_extends(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Hash],
) -> Result<(), RecordProblem> {
    if new.size < old.size {
        return Err(RecordProblem::InconsistentCheckpoints(format!(
            "it shrank from {} to {} entries",
            old.size, new.size
        )));
    }
    let proof = ConsistencyProof {
        old_size: old.size,
        new_size: new.size,
        hashes: proof.to_vec(),
    };
    check_consistency(&proof, old.root, new.root).map_err(|e| {
        RecordProblem::InconsistentCheckpoints(format!(
            "the tree of {} entries is not a prefix of the tree of {}: {e}",
            old.size, new.size
        ))
    })
}

/// Finds the entry holding exactly `ours` (a `SignedStatement::to_bytes`)
/// among a ceremony's entries `(index, bytes)`, and returns its index.
/// Any other statement of `participant` for the ceremony is an alteration.
pub fn find_statement(
    ceremony: &CeremonyId,
    participant: &ParticipantId,
    ours: &[u8],
    entries: &[(u64, Vec<u8>)],
) -> Result<u64, RecordProblem> {
    let mut found = None;
    for (index, bytes) in entries {
        let Some((of, statement)) = Entry::statement_in(bytes) else {
            continue;
        };
        if &of != ceremony || &statement.statement.participant != participant {
            continue;
        }
        if statement.to_bytes() != ours {
            return Err(RecordProblem::AlteredStatement { index: *index });
        }
        found = Some(*index);
    }
    found.ok_or(RecordProblem::MissingStatement)
}

/// Checks that `entry` (the bytes of log entry `index`) is included in
/// `checkpoint` by the audit path `proof`.
pub fn check_included(
    index: u64,
    entry: &[u8],
    checkpoint: &Checkpoint,
    proof: &[Hash],
) -> Result<(), RecordProblem> {
    let bad = |why: String| RecordProblem::BadProof { index, why };
    if index >= checkpoint.size {
        return Err(bad(format!(
            "the checkpoint has only {} entries",
            checkpoint.size
        )));
    }
    let proof = InclusionProof {
        index,
        tree_size: checkpoint.size,
        hashes: proof.to_vec(),
    };
    check_inclusion(&proof, leaf_hash(entry), checkpoint.root).map_err(|e| bad(e.to_string()))
}

/// Everything one check of the record looks at.
#[derive(Debug, Clone)]
pub struct Evidence<'a> {
    /// The coordinator's latest checkpoint note.
    pub note: &'a str,
    /// The last checkpoint this agent verified, if any.
    pub previous: Option<&'a Checkpoint>,
    /// The consistency proof from `previous` to `note`'s tree.
    pub consistency: &'a [Hash],
    /// The ceremony's log entries, `(index, bytes)`.
    pub entries: &'a [(u64, Vec<u8>)],
    /// The inclusion proof of the entry holding our statement in `note`'s tree.
    pub inclusion: &'a [Hash],
}

/// Judges the evidence: the checkpoint is signed and extends the previous
/// one, and our statement is in the log unaltered and included in it.
/// Returns the checkpoint and the statement's index.
pub fn assess(
    verifier: &LogVerifier,
    ceremony: &CeremonyId,
    participant: &ParticipantId,
    ours: &[u8],
    evidence: &Evidence<'_>,
) -> Result<(Checkpoint, u64), RecordProblem> {
    let checkpoint = verify_checkpoint(verifier, evidence.note)?;
    if let Some(old) = evidence.previous {
        check_extends(old, &checkpoint, evidence.consistency)?;
    }
    let index = find_statement(ceremony, participant, ours, evidence.entries)?;
    let entry = evidence
        .entries
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, bytes)| bytes.as_slice())
        .unwrap_or_default();
    check_included(index, entry, &checkpoint, evidence.inclusion)?;
    Ok((checkpoint, index))
}
