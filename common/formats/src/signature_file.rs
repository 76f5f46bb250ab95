//! A signed message's signature written as each consumer's tool reads it:
//! the raw 64 bytes, an armored SSH signature, a DSSE envelope, or a
//! minisign signature file. Each is written only after the signature is
//! checked under the group key, and only for a message signed for that
//! format (an SSHSIG signed data, a DSSE PAE, a minisign batch). The CLI's
//! `quorate signature` and the coordinator's page both write them here.

use quorate_types::batch::FollowUp;

use crate::{dsse, minisign, sshsig};

/// Why no signature file is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the signature is {0} bytes, not 64")]
    Length(usize),
    #[error("the signature does not verify under the group key ({0}); not writing it")]
    Invalid(String),
    #[error(
        "it signed a message that is not SSHSIG signed data (it was not requested with \
         `quorate sign --format sshsig --artifact FILE`), so it has no SSH signature; use the raw \
         signature"
    )]
    NotSshsig,
    #[error(
        "it did not sign a DSSE PAE (it was not requested with `quorate sign --format dsse`), so \
         it has no envelope"
    )]
    NotDsse,
    #[error(
        "it did not sign a minisign batch (it was not requested with `quorate sign --format \
         minisign --artifact FILE`), so it has no minisign signature"
    )]
    NotMinisign,
    #[error("{0}")]
    Encoding(String),
}

/// `signature`, if it is 64 bytes and verifies over `message` under `key`.
pub fn checked(message: &[u8], signature: &[u8], key: &[u8; 32]) -> Result<[u8; 64], FileError> {
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| FileError::Length(signature.len()))?;
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(key)
        .map_err(|e| FileError::Invalid(format!("bad group key: {e}")))?;
    verifying
        .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|e| FileError::Invalid(e.to_string()))?;
    Ok(signature)
}

/// The armored SSH signature of `message` (SSHSIG signed data).
pub fn sshsig(message: &[u8], signature: &[u8], key: &[u8; 32]) -> Result<String, FileError> {
    let Some((namespace, _)) = sshsig::parse_signed_data(message) else {
        return Err(FileError::NotSshsig);
    };
    let signature = checked(message, signature, key)?;
    sshsig::armor(key, &namespace, &signature).map_err(|e| FileError::Encoding(e.to_string()))
}

/// The DSSE envelope (JSON) of `message` (a DSSE PAE).
pub fn dsse(message: &[u8], signature: &[u8], key: &[u8; 32]) -> Result<String, FileError> {
    if dsse::parse_pae(message).is_none() {
        return Err(FileError::NotDsse);
    }
    let signature = checked(message, signature, key)?;
    dsse::Envelope::from_pae(message, key, &signature)
        .map(|e| e.to_json())
        .map_err(|e| FileError::Encoding(e.to_string()))
}

/// The minisign signature file of a minisign batch: `message` (the
/// artifact's BLAKE2b-512) and its one follow-up (the global signature's
/// input), with their `signatures` in order. `untrusted_comment` names
/// where it came from.
pub fn minisign(
    message: &[u8],
    follow_ups: &[FollowUp],
    signatures: &[[u8; 64]],
    key: &[u8; 32],
    untrusted_comment: String,
) -> Result<String, FileError> {
    let Some(comment) = minisign::trusted_comment_of(message, follow_ups) else {
        return Err(FileError::NotMinisign);
    };
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(key)
        .map_err(|e| FileError::Invalid(format!("bad group key: {e}")))?;
    quorate_types::batch::verify(message, follow_ups, signatures, &verifying)
        .map_err(|e| FileError::Invalid(e.to_string()))?;
    let [signature, global_signature] = signatures else {
        return Err(FileError::Invalid(format!(
            "a minisign batch has 2 signatures, not {}",
            signatures.len()
        )));
    };
    Ok(minisign::SignatureFile {
        untrusted_comment,
        key_id: minisign::key_id(key),
        signature: *signature,
        trusted_comment: comment.to_string(),
        global_signature: *global_signature,
    }
    .write())
}
