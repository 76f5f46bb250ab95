//! A ceremony's batch: its message, then follow-up messages signed after it,
//! in order, under the same approvals.
//!
//! Some formats need a second signature over something that contains the
//! first: a minisign signature file carries a *global signature* over the
//! file's signature followed by the trusted comment. So a follow-up message
//! is not known when the ceremony is requested; what is known, and what
//! every approver signs in its statement, is the rule that builds it from
//! the signature before it. Each message gets its own FROST signing with
//! fresh nonces; an agent signs a follow-up only if it is exactly what the
//! rule makes of a signature that verifies under the group key over the
//! message before it.

use serde::{Deserialize, Serialize};

/// At most this many follow-up messages per ceremony.
pub const MAX_FOLLOW_UPS: usize = 4;

/// Longest suffix a follow-up may append (minisign's own trusted-comment
/// limit is 8 KiB).
pub const MAX_SUFFIX_BYTES: usize = 4096;

/// How a follow-up message is built from the signature of the message
/// before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum FollowUp {
    /// The previous message's 64-byte Ed25519 signature followed by
    /// `suffix`: minisign's global signature, whose suffix is the trusted
    /// comment.
    SignatureThen {
        #[serde(with = "crate::hex_bytes")]
        suffix: Vec<u8>,
    },
}

/// Why a batch is refused, or a follow-up cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("{got} follow-up messages; at most {MAX_FOLLOW_UPS}")]
    TooMany { got: usize },
    #[error("follow-up {index}: its suffix is {got} bytes; at most {MAX_SUFFIX_BYTES}")]
    SuffixTooLong { index: usize, got: usize },
    #[error("the batch has {len} messages; there is no message {index}")]
    NoSuchMessage { index: usize, len: usize },
    #[error("message {index} needs the signature of message {previous}, which is not known yet")]
    SignatureMissing { index: usize, previous: usize },
    #[error("{got} signatures for a batch of {expected} messages")]
    SignatureCount { got: usize, expected: usize },
    #[error("the signature of message {index} does not verify under the group key")]
    BadSignature { index: usize },
}

impl FollowUp {
    /// The follow-up message, given the previous message's signature.
    pub fn message(&self, previous_signature: &[u8; 64]) -> Vec<u8> {
        match self {
            FollowUp::SignatureThen { suffix } => {
                let mut message = previous_signature.to_vec();
                message.extend_from_slice(suffix);
                message
            }
        }
    }

    /// One line for an approver: how the message is made.
    pub fn describe(&self) -> String {
        match self {
            FollowUp::SignatureThen { suffix } => format!(
                "the signature of the message before it, followed by {} bytes: {}",
                suffix.len(),
                printable(suffix)
            ),
        }
    }
}

/// Checks the shape of a requested batch: how many follow-ups, how long.
pub fn check(follow_ups: &[FollowUp]) -> Result<(), BatchError> {
    if follow_ups.len() > MAX_FOLLOW_UPS {
        return Err(BatchError::TooMany {
            got: follow_ups.len(),
        });
    }
    for (i, f) in follow_ups.iter().enumerate() {
        let FollowUp::SignatureThen { suffix } = f;
        if suffix.len() > MAX_SUFFIX_BYTES {
            return Err(BatchError::SuffixTooLong {
                index: i + 1,
                got: suffix.len(),
            });
        }
    }
    Ok(())
}

/// Message `index` of the batch (0 is `first`), built from the signatures
/// of the messages before it, each checked under `group_key` (strict RFC
/// 8032) before it goes into the next message.
pub fn message_at(
    first: &[u8],
    follow_ups: &[FollowUp],
    signatures: &[[u8; 64]],
    index: usize,
    group_key: &ed25519_dalek::VerifyingKey,
) -> Result<Vec<u8>, BatchError> {
    let len = follow_ups.len() + 1;
    if index >= len {
        return Err(BatchError::NoSuchMessage { index, len });
    }
    let mut message = first.to_vec();
    for (i, follow_up) in follow_ups.iter().enumerate().take(index) {
        let signature = signatures.get(i).ok_or(BatchError::SignatureMissing {
            index: i + 1,
            previous: i,
        })?;
        group_key
            .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(signature))
            .map_err(|_| BatchError::BadSignature { index: i })?;
        message = follow_up.message(signature);
    }
    Ok(message)
}

/// Checks a whole signed batch: one signature per message, in order, each
/// verifying under `group_key` over its message.
pub fn verify(
    first: &[u8],
    follow_ups: &[FollowUp],
    signatures: &[[u8; 64]],
    group_key: &ed25519_dalek::VerifyingKey,
) -> Result<(), BatchError> {
    let last = follow_ups.len();
    if signatures.len() != last + 1 {
        return Err(BatchError::SignatureCount {
            got: signatures.len(),
            expected: last + 1,
        });
    }
    let message = message_at(first, follow_ups, signatures, last, group_key)?;
    let signature = signatures.get(last).ok_or(BatchError::SignatureMissing {
        index: last,
        previous: last,
    })?;
    group_key
        .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(signature))
        .map_err(|_| BatchError::BadSignature { index: last })
}

/// Text as it reads, quoted; bytes that are not printable UTF-8 as hex.
fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(|c| c.is_control() && c != '\t') => format!("{text:?}"),
        _ => format!("hex {}", hex::encode(bytes)),
    }
}

#[cfg(test)]
mod tests;
