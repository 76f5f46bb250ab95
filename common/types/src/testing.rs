//! For this crate's unit tests: an identity key, as `quorate-secrets`
//! holds one.

use crate::PublicIdentity;
use crate::statement::StatementSigner;

pub(crate) struct Key(ed25519_dalek::SigningKey);

impl Key {
    pub(crate) fn new(seed: u8) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    pub(crate) fn public(&self) -> PublicIdentity {
        PublicIdentity::from(self.0.verifying_key())
    }
}

impl StatementSigner for Key {
    fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.0.sign(message).to_bytes()
    }
}
