//! Judges one `add-checkpoint` request, sans I/O: the caller passes the
//! latest checkpoint it cosigned for the log and the time, and persists
//! the new latest before it replies.

use std::collections::BTreeMap;

use quorate_tlog::{
    Checkpoint, ConsistencyProof, Cosignature, EMPTY_ROOT, LogVerifier, ProofError, RecordError,
    WitnessKey, check_consistency,
};

use crate::{AddCheckpoint, Latest};

/// Why a checkpoint was not cosigned, with the HTTP status tlog-witness
/// gives it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Malformed(String),
    #[error("this witness does not follow a log with origin {0:?}")]
    UnknownOrigin(String),
    #[error("the checkpoint of {origin:?} is not signed by its log key: {why}")]
    NotSignedByLog { origin: String, why: String },
    #[error("old size {old_size} is beyond the checkpoint's size {size}")]
    OldSizeBeyondCheckpoint { old_size: u64, size: u64 },
    #[error(
        "old size {old_size} is not the size of the latest checkpoint this witness cosigned \
         for the log, {latest_size}"
    )]
    NotLatest { old_size: u64, latest_size: u64 },
    #[error(
        "the checkpoint has the size of the latest one cosigned, {size}, but another root: \
         the log has shown two trees of the same size"
    )]
    SameSizeOtherRoot { size: u64 },
    #[error("the consistency proof from size {old_size} does not hold: {why}")]
    BadProof { old_size: u64, why: ProofError },
}

impl Refusal {
    /// The HTTP status tlog-witness gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldSizeBeyondCheckpoint { .. } => 400,
            Refusal::NotSignedByLog { .. } => 403,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::NotLatest { .. } | Refusal::SameSizeOtherRoot { .. } => 409,
            Refusal::BadProof { .. } => 422,
        }
    }

    /// For a 409, the size of the latest cosigned checkpoint, which the
    /// response body carries.
    pub fn latest_size(&self) -> Option<u64> {
        match self {
            Refusal::NotLatest { latest_size, .. } => Some(*latest_size),
            Refusal::SameSizeOtherRoot { size } => Some(*size),
            _ => None,
        }
    }
}

/// A cosigned checkpoint: the new latest for its log, and the cosignature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub latest: Latest,
    pub cosignature: Cosignature,
}

/// A witness's key and the logs it follows, by origin.
pub struct Witness {
    key: WitnessKey,
    logs: BTreeMap<String, LogVerifier>,
}

impl Witness {
    /// A witness following `logs`; a log's origin is its key's name, as
    /// for quorate's coordinator.
    pub fn new(key: WitnessKey, logs: Vec<LogVerifier>) -> Result<Self, String> {
        let mut by_origin = BTreeMap::new();
        for log in logs {
            if let Some(other) = by_origin.insert(log.name().to_owned(), log.clone()) {
                return Err(format!(
                    "two log keys for origin {:?}: {} and {}",
                    log.name(),
                    other.verifier_key(),
                    log.verifier_key()
                ));
            }
        }
        Ok(Witness {
            key,
            logs: by_origin,
        })
    }

    pub fn key(&self) -> &WitnessKey {
        &self.key
    }

    /// The origin a request is for, so the caller can look up its latest
    /// state (the note's first line; not yet authenticated).
    pub fn origin_of(request: &AddCheckpoint) -> Result<&str, Refusal> {
        request
            .checkpoint
            .split_once('\n')
            .map(|(origin, _)| origin)
            .filter(|origin| !origin.is_empty())
            .ok_or_else(|| Refusal::Malformed("the checkpoint has no origin line".into()))
    }

    /// Judges `request` against `latest`, the last checkpoint this witness
    /// cosigned for the log (None if it never did), at `now` (POSIX
    /// seconds). The caller must persist `Accepted::latest` before it
    /// replies, under the same lock it read `latest` with.
    pub fn add_checkpoint(
        &self,
        request: &AddCheckpoint,
        latest: Option<&Latest>,
        now: u64,
    ) -> Result<Accepted, Refusal> {
        let origin = Self::origin_of(request)?;
        let log = self
            .logs
            .get(origin)
            .ok_or_else(|| Refusal::UnknownOrigin(origin.to_owned()))?;
        let text = log.verify_note(&request.checkpoint).map_err(|e| match e {
            RecordError::NotSignedBy(_) | RecordError::BadSignature(_) => Refusal::NotSignedByLog {
                origin: origin.to_owned(),
                why: e.to_string(),
            },
            other => Refusal::Malformed(other.to_string()),
        })?;
        let checkpoint = Checkpoint::parse(&text).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let (old_size, size) = (request.old_size, checkpoint.size);
        if old_size > size {
            return Err(Refusal::OldSizeBeyondCheckpoint { old_size, size });
        }
        if let Some(latest) = latest
            && latest.origin != checkpoint.origin
        {
            return Err(Refusal::Malformed(format!(
                "the caller passed the state of {:?} for a checkpoint of {:?}",
                latest.origin, checkpoint.origin
            )));
        }
        let (latest_size, latest_root) = latest.map_or((0, EMPTY_ROOT), |l| (l.size, l.root));
        if old_size != latest_size {
            return Err(Refusal::NotLatest {
                old_size,
                latest_size,
            });
        }
        if old_size == size && checkpoint.root != latest_root {
            return Err(Refusal::SameSizeOtherRoot { size });
        }
        let proof = ConsistencyProof {
            old_size,
            new_size: size,
            hashes: request.proof.clone(),
        };
        check_consistency(&proof, latest_root, checkpoint.root)
            .map_err(|why| Refusal::BadProof { old_size, why })?;
        let cosignature = self
            .key
            .cosign_text(&text, now)
            .map_err(|e| Refusal::Malformed(e.to_string()))?;
        Ok(Accepted {
            latest: Latest {
                origin: checkpoint.origin,
                size,
                root: checkpoint.root,
                time: now,
            },
            cosignature,
        })
    }
}

#[cfg(test)]
mod tests;
