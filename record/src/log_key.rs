//! The coordinator's Ed25519 log key, which signs checkpoints as
//! [c2sp.org/signed-note](https://c2sp.org/signed-note)s.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};
use rand_core::CryptoRngCore;
use signed_note::{Note, Signer};
use zeroize::Zeroizing;

use crate::{Checkpoint, LogVerifier, RecordError};

/// The signed-note signature type byte for Ed25519.
const ALG_ED25519: u8 = 0x01;

/// The coordinator's Ed25519 log key; its secret is zeroized on drop and
/// never Debug-printed.
pub struct LogKey {
    name: String,
    key_id: u32,
    /// Zeroized on drop by ed25519-dalek.
    signing: SigningKey,
}

impl LogKey {
    /// A fresh key. `name` is the note key name: non-empty, no spaces, no '+'.
    pub fn generate(rng: &mut impl CryptoRngCore, name: &str) -> Result<Self, RecordError> {
        Self::from_seed(name, &random_seed(rng))
    }

    /// The key with this Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, RecordError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(RecordError::InvalidKeyName(name.to_owned()));
        }
        let signing = SigningKey::from_bytes(seed);
        let mut encoded = vec![ALG_ED25519];
        encoded.extend_from_slice(signing.verifying_key().as_bytes());
        Ok(LogKey {
            name: name.to_owned(),
            key_id: signed_note::key_id(name, &encoded),
            signing,
        })
    }

    /// The Ed25519 seed, for storing the key.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The note key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4].
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// `"<name>+<8 hex key id>+<base64(0x01 || pubkey)>"`.
    pub fn verifier_key(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.signing.verifying_key())
    }

    /// The verifier for this key's signatures.
    pub fn verifier(&self) -> Result<LogVerifier, RecordError> {
        LogVerifier::parse(&self.verifier_key())
    }

    /// The full signed note: body, blank line, `"— <name> <base64(keyid||sig)>\n"`.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, RecordError> {
        checkpoint.check_origin()?;
        self.sign_note(&checkpoint.body())
    }

    /// Signs any note text; private to this crate so that the log key
    /// signs only checkpoints and receipts, whose texts cannot be taken
    /// for each other.
    pub(crate) fn sign_text(&self, text: &str) -> Result<String, RecordError> {
        self.sign_note(text)
    }

    fn sign_note(&self, text: &str) -> Result<String, RecordError> {
        let mut note = Note::new(text.as_bytes(), &[])
            .map_err(|e| RecordError::MalformedNote(format!("cannot sign this text: {e}")))?;
        note.add_sigs(&[&NoteSigner(self)])
            .map_err(|e| RecordError::Signing(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| RecordError::Signing(e.to_string()))
    }
}

impl fmt::Debug for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .field("public_key", &STANDARD.encode(self.public_key()))
            .finish_non_exhaustive()
    }
}

/// A fresh Ed25519 seed from `rng`, zeroized on drop.
pub(crate) fn random_seed(rng: &mut impl CryptoRngCore) -> Zeroizing<[u8; 32]> {
    let mut seed = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(seed.as_mut());
    seed
}

/// signed_note's view of a [`LogKey`].
struct NoteSigner<'a>(&'a LogKey);

impl Signer for NoteSigner<'_> {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn key_id(&self) -> u32 {
        self.0.key_id
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.0.signing.try_sign(msg)?.to_vec())
    }
}

#[cfg(test)]
mod tests;
