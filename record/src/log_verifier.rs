//! Checks checkpoints signed by a log key, given its verifier key string.

use std::fmt;

use signed_note::{NoteError, StandardVerifier, Verifier, VerifierError, VerifierList};

use crate::{Checkpoint, RecordError};

/// Parses a verifier key string and checks signed checkpoints with it.
#[derive(Clone)]
pub struct LogVerifier {
    vkey: String,
    verifier: StandardVerifier,
}

impl LogVerifier {
    /// Parses `"<name>+<8 hex key id>+<base64(0x01 || 32-byte Ed25519 key)>"`.
    pub fn parse(vkey: &str) -> Result<Self, RecordError> {
        let verifier = StandardVerifier::new(vkey).map_err(|e| {
            RecordError::MalformedVerifierKey(match e {
                VerifierError::Format => format!(
                    "{vkey:?} is not <name>+<8 hex digit key id>+<base64 of 0x01 and a 32-byte Ed25519 key>"
                ),
                VerifierError::Alg => format!("{vkey:?} is not an Ed25519 (type 0x01) key"),
                VerifierError::Id => {
                    format!("in {vkey:?} the key id does not match the name and key")
                }
            })
        })?;
        Ok(LogVerifier {
            vkey: vkey.to_owned(),
            verifier,
        })
    }

    /// The note key name.
    pub fn name(&self) -> &str {
        self.verifier.name()
    }

    /// The signed-note key ID.
    pub fn key_id(&self) -> u32 {
        self.verifier.key_id()
    }

    /// The verifier key string this was parsed from.
    pub fn verifier_key(&self) -> &str {
        &self.vkey
    }

    /// Checks that `note` carries a valid signature by this key, ignoring
    /// signatures by other keys, and returns the note text.
    pub fn verify_note(&self, note: &str) -> Result<String, RecordError> {
        let note = crate::cosignature::parse_note(note)?;
        let known = VerifierList::new(vec![Box::new(self.verifier.clone())]);
        note.verify(&known).map_err(|e| match e {
            NoteError::UnverifiedNote => RecordError::NotSignedBy(self.key_label()),
            NoteError::InvalidSignature { .. } => RecordError::BadSignature(self.key_label()),
            other => RecordError::MalformedNote(other.to_string()),
        })?;
        String::from_utf8(note.text().to_vec())
            .map_err(|e| RecordError::MalformedNote(e.to_string()))
    }

    /// Checks that `note` carries a valid signature by this key (other,
    /// unknown signatures are ignored) and parses its text as a c2sp
    /// tlog-checkpoint, ignoring extension lines. The caller checks the
    /// origin.
    pub fn verify_checkpoint(&self, note: &str) -> Result<Checkpoint, RecordError> {
        Checkpoint::parse(&self.verify_note(note)?)
    }

    /// `"<name>+<8 hex key id>"`, how errors name this key.
    fn key_label(&self) -> String {
        format!("{}+{:08x}", self.name(), self.key_id())
    }
}

impl fmt::Debug for LogVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LogVerifier").field(&self.vkey).finish()
    }
}
