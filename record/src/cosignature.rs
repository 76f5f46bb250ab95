//! Witness cosignatures: [c2sp.org/tlog-cosignature](https://c2sp.org/tlog-cosignature)
//! Ed25519 `cosignature/v1`.
//!
//! A cosignature is a note signature line on a checkpoint whose key ID is
//! `SHA-256(name || "\n" || 0x04 || public key)[:4]` and whose signature is
//! a big-endian u64 POSIX time followed by an Ed25519 signature over
//! `"cosignature/v1\ntime <time>\n"` and the whole note text. It says: as of
//! that time, this is the largest consistent checkpoint of the log the
//! witness has seen.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature as Ed25519Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use signed_note::{Note, NoteError, Signature, VerificationError, Verifier, VerifierList};
use zeroize::Zeroizing;

use crate::{Checkpoint, RecordError};

/// The vkey signature type byte for Ed25519 cosignature/v1.
pub const COSIGNATURE_V1: u8 = 0x04;

/// Largest timestamp the format allows (2^63 - 1).
const MAX_TIME: u64 = i64::MAX as u64;

/// The message a cosignature signs.
fn signed_message(time: u64, note_text: &str) -> String {
    format!("cosignature/v1\ntime {time}\n{note_text}")
}

/// `SHA-256(name || "\n" || 0x04 || key)[:4]`.
fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut encoded = vec![COSIGNATURE_V1];
    encoded.extend_from_slice(key.as_bytes());
    signed_note::key_id(name, &encoded)
}

/// A witness's Ed25519 cosigning key; zeroized on drop, never Debug-printed.
pub struct WitnessKey {
    name: String,
    key_id: u32,
    /// Zeroized on drop by ed25519-dalek.
    signing: SigningKey,
}

impl WitnessKey {
    /// A fresh key. `name` is the witness's note key name, a schema-less URL
    /// such as `witness.example.com/w1`.
    pub fn generate(rng: &mut impl CryptoRngCore, name: &str) -> Result<Self, RecordError> {
        Self::from_seed(name, &crate::log_key::random_seed(rng))
    }

    /// The key with this Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, RecordError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(RecordError::InvalidKeyName(name.to_owned()));
        }
        let signing = SigningKey::from_bytes(seed);
        Ok(WitnessKey {
            name: name.to_owned(),
            key_id: key_id(name, &signing.verifying_key()),
            signing,
        })
    }

    /// The Ed25519 seed, for storing the key.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// `"<name>+<8 hex key id>+<base64(0x04 || public key)>"`.
    pub fn verifier_key(&self) -> String {
        let mut encoded = vec![COSIGNATURE_V1];
        encoded.extend_from_slice(self.signing.verifying_key().as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            STANDARD.encode(encoded)
        )
    }

    pub fn verifier(&self) -> WitnessVerifier {
        WitnessVerifier {
            vkey: self.verifier_key(),
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.signing.verifying_key(),
        }
    }

    /// Cosigns `checkpoint` as of `time` (POSIX seconds). The caller must
    /// have checked that it is consistent with every checkpoint of its log
    /// this key cosigned before.
    pub fn cosign(&self, checkpoint: &Checkpoint, time: u64) -> Result<Cosignature, RecordError> {
        checkpoint.check_origin()?;
        self.cosign_text(&checkpoint.body(), time)
    }

    /// Cosigns a checkpoint note's whole text, extension lines included.
    pub fn cosign_text(&self, note_text: &str, time: u64) -> Result<Cosignature, RecordError> {
        if time > MAX_TIME {
            return Err(RecordError::Signing(format!(
                "cosignature time {time} exceeds 2^63 - 1"
            )));
        }
        let signature = self
            .signing
            .try_sign(signed_message(time, note_text).as_bytes())
            .map_err(|e| RecordError::Signing(e.to_string()))?;
        Ok(Cosignature {
            witness: self.name.clone(),
            key_id: self.key_id,
            time,
            signature: signature.to_bytes(),
        })
    }
}

impl fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WitnessKey")
            .field("verifier_key", &self.verifier_key())
            .finish_non_exhaustive()
    }
}

/// One witness's cosignature of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's key name.
    pub witness: String,
    pub key_id: u32,
    /// POSIX seconds when it was made.
    pub time: u64,
    pub signature: [u8; 64],
}

impl Cosignature {
    /// The note signature line: `"— <name> base64(key id || time || signature)\n"`.
    pub fn line(&self) -> String {
        let mut sig = self.key_id.to_be_bytes().to_vec();
        sig.extend_from_slice(&self.time.to_be_bytes());
        sig.extend_from_slice(&self.signature);
        format!("— {} {}\n", self.witness, STANDARD.encode(sig))
    }
}

/// `note` with `cosignatures` added after its signature lines, skipping any
/// by a key that already signed it.
pub fn add_cosignatures(note: &str, cosignatures: &[Cosignature]) -> Result<String, RecordError> {
    parse_note(note)?;
    let signed_by: Vec<(String, u32)> = note
        .rsplit_once("\n\n")
        .map(|(_, lines)| {
            lines
                .lines()
                .filter_map(|l| Signature::from_bytes(l.as_bytes()).ok())
                .map(|s| (s.name().to_owned(), s.id()))
                .collect()
        })
        .unwrap_or_default();
    let mut out = note.to_owned();
    for c in cosignatures {
        if !signed_by.contains(&(c.witness.clone(), c.key_id)) {
            out.push_str(&c.line());
        }
    }
    Ok(out)
}

/// Parses a signed note, saying what shape was expected.
pub(crate) fn parse_note(note: &str) -> Result<Note, RecordError> {
    Note::from_bytes(note.as_bytes()).map_err(|_| {
        RecordError::MalformedNote(
            "expected UTF-8 text ending in a newline, a blank line, then one or more \
             \"— <key name> <base64 signature>\" lines, and no other control characters"
                .into(),
        )
    })
}

/// A witness's public key, parsed from its vkey, that checks its
/// cosignatures.
#[derive(Clone)]
pub struct WitnessVerifier {
    vkey: String,
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl WitnessVerifier {
    /// Parses `"<name>+<8 hex key id>+<base64(0x04 || 32-byte Ed25519 key)>"`.
    pub fn parse(vkey: &str) -> Result<Self, RecordError> {
        let malformed = |why: String| RecordError::MalformedVerifierKey(format!("{vkey:?}: {why}"));
        let shape = || {
            malformed(
                "a witness key is <name>+<8 hex digit key id>+<base64 of 0x04 and a 32-byte \
                 Ed25519 key>"
                    .into(),
            )
        };
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(shape());
        };
        if !signed_note::is_key_name_valid(name) || id.len() != 8 {
            return Err(shape());
        }
        let claimed = u32::from_str_radix(id, 16).map_err(|_| shape())?;
        let key = STANDARD.decode(key).map_err(|_| shape())?;
        let Some((&alg, key)) = key.split_first() else {
            return Err(shape());
        };
        if alg != COSIGNATURE_V1 {
            return Err(malformed(format!(
                "key type 0x{alg:02x} is not an Ed25519 cosignature/v1 key (type 0x04)"
            )));
        }
        let key: [u8; 32] = key.try_into().map_err(|_| shape())?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| malformed("the key is not an Ed25519 point".into()))?;
        if key_id(name, &key) != claimed {
            return Err(malformed(
                "the key id does not match the name and key".into(),
            ));
        }
        Ok(WitnessVerifier {
            vkey: vkey.to_owned(),
            name: name.to_owned(),
            key_id: claimed,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The vkey this was parsed from.
    pub fn verifier_key(&self) -> &str {
        &self.vkey
    }

    /// Checks `cosignature` over `note_text`.
    pub fn verify(&self, note_text: &str, cosignature: &Cosignature) -> Result<(), RecordError> {
        if cosignature.witness != self.name || cosignature.key_id != self.key_id {
            return Err(RecordError::BadSignature(self.label()));
        }
        let mut sig = cosignature.time.to_be_bytes().to_vec();
        sig.extend_from_slice(&cosignature.signature);
        if check(&self.key, note_text.as_bytes(), &sig) {
            Ok(())
        } else {
            Err(RecordError::BadSignature(self.label()))
        }
    }

    /// `"<name>+<8 hex key id>"`, how errors name this witness.
    pub fn label(&self) -> String {
        format!("{}+{:08x}", self.name, self.key_id)
    }
}

impl fmt::Debug for WitnessVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WitnessVerifier").field(&self.vkey).finish()
    }
}

/// Checks a timestamped signature (`time || Ed25519 signature`) over `text`.
fn check(key: &VerifyingKey, text: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = <&[u8; 72]>::try_from(sig) else {
        return false;
    };
    let (time, signature) = sig.split_at(8);
    let Ok(time) = <[u8; 8]>::try_from(time) else {
        return false;
    };
    let time = u64::from_be_bytes(time);
    if time > MAX_TIME {
        return false;
    }
    let Ok(text) = std::str::from_utf8(text) else {
        return false;
    };
    let Ok(signature) = Ed25519Signature::from_slice(signature) else {
        return false;
    };
    key.verify_strict(signed_message(time, text).as_bytes(), &signature)
        .is_ok()
}

/// signed_note's view of a [`WitnessVerifier`].
struct NoteVerifier(WitnessVerifier);

impl Verifier for NoteVerifier {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn key_id(&self) -> u32 {
        self.0.key_id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        check(&self.0.key, msg, sig)
    }
}

/// The valid cosignatures on `note` by `witnesses`; lines by other keys are
/// ignored. A line that claims a listed witness's key but does not verify
/// is an error naming that witness: it is a forgery or a damaged note.
pub fn verify_cosignatures(
    note: &str,
    witnesses: &[WitnessVerifier],
) -> Result<Vec<Cosignature>, RecordError> {
    let parsed = parse_note(note)?;
    let known = VerifierList::new(
        witnesses
            .iter()
            .map(|w| Box::new(NoteVerifier(w.clone())) as Box<dyn Verifier>)
            .collect(),
    );
    let verified = match parsed.verify(&known) {
        Ok((verified, _unknown)) => verified,
        Err(NoteError::UnverifiedNote) => Vec::new(),
        Err(NoteError::InvalidSignature { name, id }) => {
            return Err(RecordError::BadSignature(format!("{name}+{id:08x}")));
        }
        Err(NoteError::VerificationError(VerificationError::AmbiguousKey { name, id })) => {
            return Err(RecordError::MalformedVerifierKey(format!(
                "witness key {name}+{id:08x} is listed twice"
            )));
        }
        Err(other) => return Err(RecordError::MalformedNote(other.to_string())),
    };
    Ok(verified
        .into_iter()
        .filter_map(|s| {
            let sig = <&[u8; 72]>::try_from(s.signature()).ok()?;
            let (time, signature) = sig.split_at(8);
            Some(Cosignature {
                witness: s.name().to_owned(),
                key_id: s.id(),
                time: u64::from_be_bytes(time.try_into().ok()?),
                signature: signature.try_into().ok()?,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests;
