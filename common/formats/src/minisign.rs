//! minisign signatures, checked with `minisign -Vm FILE -p KEY`.
//!
//! quorate writes the prehashed form (signature algorithm `ED`), which
//! minisign has made by default since 0.8 and which covers a file of any
//! size:
//!
//! ```text
//! untrusted comment: <text>
//! base64("ED" || key id (8 bytes) || Ed25519(BLAKE2b-512(file)))
//! trusted comment: <one line>
//! base64(Ed25519(file signature (64 bytes) || trusted comment))
//! ```
//!
//! The last line, the *global signature*, signs the first signature and the
//! trusted comment, so one file needs two Ed25519 signatures by the key
//! group, the second over bytes that hold the first. A ceremony signs them
//! as a batch (`quorate_types::batch`): its message is the file's BLAKE2b-512, and
//! its one follow-up is [`FollowUp::SignatureThen`] with the trusted comment
//! as the suffix. Approvers approve the digest and the comment together.
//!
//! The public key file is `untrusted comment: ...` then
//! `base64("Ed" || key id || public key (32 bytes))`. minisign matches
//! signatures to keys by the 8-byte key id, which the signer picks; quorate
//! derives it from the group key: **the first 8 bytes of SHA-512 of the
//! 32-byte group public key** ([`key_id`]), so every tool that knows the
//! key group's public key agrees on it. minisign shows it as the
//! little-endian 64-bit number in upper-case hex ([`key_id_hex`]).

use base64::Engine as _;
use blake2::Digest as _;

use quorate_types::batch::FollowUp;

mod verify;
pub use verify::verify;

/// The signature algorithm quorate writes: Ed25519 over BLAKE2b-512 of the file.
pub const PREHASHED: &[u8; 2] = b"ED";
/// The legacy algorithm (Ed25519 over the whole file), which quorate
/// neither writes nor accepts.
pub const LEGACY: &[u8; 2] = b"Ed";
/// The public key's algorithm tag.
pub const KEY_ALGORITHM: &[u8; 2] = b"Ed";
const UNTRUSTED: &str = "untrusted comment: ";
const TRUSTED: &str = "trusted comment: ";
/// Longest trusted comment accepted (a follow-up's suffix limit).
pub const MAX_TRUSTED_COMMENT_BYTES: usize = quorate_types::batch::MAX_SUFFIX_BYTES;

/// What is wrong with a trusted comment, key or signature file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MinisignError {
    #[error("trusted comment: must be one line (no line breaks)")]
    MultilineComment,
    #[error("trusted comment: longer than {MAX_TRUSTED_COMMENT_BYTES} bytes")]
    LongComment,
    #[error("not a minisign public key: {0}")]
    BadPublicKey(String),
    #[error("not a minisign signature file: {0}")]
    BadSignatureFile(String),
    #[error(
        "a legacy minisign signature (algorithm Ed, over the whole file); quorate checks only prehashed ones (ED)"
    )]
    Legacy,
}

/// The 8-byte key id of the key group's minisign key: the first 8 bytes
/// of SHA-512 of the group public key.
pub fn key_id(group_key: &[u8; 32]) -> [u8; 8] {
    let digest = sha2::Sha512::digest(group_key);
    let mut id = [0; 8];
    id.copy_from_slice(&digest[..8]);
    id
}

/// A key id as minisign prints it: the little-endian number in hex.
pub fn key_id_hex(id: &[u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(*id))
}

/// A BLAKE2b-512 hasher for the file a signature covers (what `b2sum` prints).
pub fn hasher() -> blake2::Blake2b512 {
    blake2::Blake2b512::new()
}

/// BLAKE2b-512 of `bytes`.
pub fn blake2b512(bytes: &[u8]) -> [u8; 64] {
    blake2::Blake2b512::digest(bytes).into()
}

/// Checks a trusted comment: one line of at most
/// [`MAX_TRUSTED_COMMENT_BYTES`].
pub fn check_trusted_comment(comment: &str) -> Result<(), MinisignError> {
    if comment.contains(['\n', '\r']) {
        return Err(MinisignError::MultilineComment);
    }
    if comment.len() > MAX_TRUSTED_COMMENT_BYTES {
        return Err(MinisignError::LongComment);
    }
    Ok(())
}

/// minisign's own default trusted comment for a prehashed signature.
pub fn default_trusted_comment(unix_seconds: u64, file_name: &str) -> String {
    format!("timestamp:{unix_seconds}\tfile:{file_name}\thashed")
}

/// The ceremony's batch for a minisign signature: the message is the
/// file's BLAKE2b-512, its follow-up the global signature's rule.
pub fn batch(
    digest: &[u8; 64],
    trusted_comment: &str,
) -> Result<(Vec<u8>, Vec<FollowUp>), MinisignError> {
    check_trusted_comment(trusted_comment)?;
    Ok((
        digest.to_vec(),
        vec![FollowUp::SignatureThen {
            suffix: trusted_comment.as_bytes().to_vec(),
        }],
    ))
}

/// The trusted comment of a batch that has minisign's shape (a 64-byte
/// message and one follow-up appending one line of text to its
/// signature), or `None`.
pub fn trusted_comment_of<'a>(message: &[u8], follow_ups: &'a [FollowUp]) -> Option<&'a str> {
    let [FollowUp::SignatureThen { suffix }] = follow_ups else {
        return None;
    };
    let comment = std::str::from_utf8(suffix).ok()?;
    (message.len() == 64 && check_trusted_comment(comment).is_ok()).then_some(comment)
}

/// Each message of a minisign-shaped batch, as an approver reads it.
pub fn describe_batch(message: &[u8], follow_ups: &[FollowUp]) -> Option<Vec<String>> {
    let comment = trusted_comment_of(message, follow_ups)?;
    Some(vec![
        format!(
            "1. minisign file signature (prehashed, ED): over the file's BLAKE2b-512 {} (compare with `b2sum FILE`)",
            hex::encode(message)
        ),
        format!(
            "2. minisign global signature: over signature 1 followed by the trusted comment {comment:?}"
        ),
    ])
}

/// The public key file `minisign -p` reads.
pub fn public_key_file(group_key: &[u8; 32]) -> String {
    let id = key_id(group_key);
    let mut blob = KEY_ALGORITHM.to_vec();
    blob.extend_from_slice(&id);
    blob.extend_from_slice(group_key);
    format!(
        "{UNTRUSTED}minisign public key {}\n{}\n",
        key_id_hex(&id),
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// A minisign public key: the text of a key file, or its base64 line alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    pub key_id: [u8; 8],
    pub key: [u8; 32],
}

impl PublicKey {
    pub fn parse(text: &str) -> Result<Self, MinisignError> {
        let bad = |why: &str| MinisignError::BadPublicKey(why.into());
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let line = match lines.as_slice() {
            [line] => *line,
            [comment, line] if comment.starts_with(UNTRUSTED) => *line,
            _ => return Err(bad("expected an untrusted comment line and a base64 line")),
        };
        let blob = base64::engine::general_purpose::STANDARD
            .decode(line)
            .map_err(|_| bad("the key line is not base64"))?;
        let (Some(algorithm), Some(id), Some(key), 42) =
            (blob.get(..2), blob.get(2..10), blob.get(10..42), blob.len())
        else {
            return Err(bad("the key is not 42 bytes"));
        };
        if algorithm != KEY_ALGORITHM {
            return Err(bad("not an Ed25519 (Ed) key"));
        }
        Ok(Self {
            key_id: id.try_into().map_err(|_| bad("key id"))?,
            key: key.try_into().map_err(|_| bad("key"))?,
        })
    }
}

/// A prehashed minisign signature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFile {
    pub untrusted_comment: String,
    pub key_id: [u8; 8],
    /// Ed25519 over BLAKE2b-512 of the file.
    pub signature: [u8; 64],
    pub trusted_comment: String,
    /// Ed25519 over `signature || trusted_comment`.
    pub global_signature: [u8; 64],
}

impl SignatureFile {
    /// The signature file `minisign -V` reads.
    pub fn write(&self) -> String {
        let mut blob = PREHASHED.to_vec();
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        let b64 = base64::engine::general_purpose::STANDARD;
        format!(
            "{UNTRUSTED}{}\n{}\n{TRUSTED}{}\n{}\n",
            self.untrusted_comment,
            b64.encode(blob),
            self.trusted_comment,
            b64.encode(self.global_signature)
        )
    }

    pub fn parse(text: &str) -> Result<Self, MinisignError> {
        let bad = |why: &str| MinisignError::BadSignatureFile(why.into());
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut lines = text.lines();
        let mut next = |what: &str| {
            lines
                .next()
                .map(|l| l.trim_end_matches('\r'))
                .ok_or_else(|| bad(&format!("it ends before the {what}")))
        };
        let untrusted_comment = next("untrusted comment")?
            .strip_prefix(UNTRUSTED)
            .ok_or_else(|| bad("the first line is not an untrusted comment"))?
            .to_string();
        let blob = b64
            .decode(next("signature")?.trim())
            .map_err(|_| bad("the signature line is not base64"))?;
        let trusted_comment = next("trusted comment")?
            .strip_prefix(TRUSTED)
            .ok_or_else(|| bad("the third line is not a trusted comment"))?
            .to_string();
        let global = b64
            .decode(next("global signature")?.trim())
            .map_err(|_| bad("the global signature line is not base64"))?;
        if blob.len() != 74 {
            return Err(bad("the signature is not 74 bytes"));
        }
        match blob.get(..2) {
            Some(a) if a == PREHASHED => {}
            Some(a) if a == LEGACY => return Err(MinisignError::Legacy),
            _ => return Err(bad("unknown signature algorithm")),
        }
        let field = |range: std::ops::Range<usize>| blob.get(range).unwrap_or_default();
        Ok(Self {
            untrusted_comment,
            key_id: field(2..10).try_into().map_err(|_| bad("key id"))?,
            signature: field(10..74).try_into().map_err(|_| bad("signature"))?,
            trusted_comment,
            global_signature: global
                .as_slice()
                .try_into()
                .map_err(|_| bad("the global signature is not 64 bytes"))?,
        })
    }

    /// The bytes the global signature signs.
    pub fn global_message(&self) -> Vec<u8> {
        let mut message = self.signature.to_vec();
        message.extend_from_slice(self.trusted_comment.as_bytes());
        message
    }
}

#[cfg(test)]
mod tests;
