//! The fixed keys the targets judge inputs by, so that the seed corpus can
//! hold inputs that pass every check and reach the deep paths: the log key
//! of the frozen record vectors, and one Ed25519 key that signs in every
//! format a trust policy takes.

use quorate_formats::trust::TrustPolicy;
use quorate_tlog::{LogKey, LogVerifier, WitnessKey};

/// The frozen vectors' log (`ceremonies/tests/vectors`).
pub const LOG_ORIGIN: &str = "audit.example/log";
pub const LOG_SEED: [u8; 32] = [0x42; 32];

pub fn log_key() -> LogKey {
    LogKey::from_seed(LOG_ORIGIN, &LOG_SEED).unwrap_or_else(|e| unreachable!("a valid name: {e}"))
}

pub fn log_verifier() -> LogVerifier {
    log_key()
        .verifier()
        .unwrap_or_else(|e| unreachable!("the log key's verifier: {e}"))
}

/// The seed of the key group key the trust policy trusts.
pub const SIGNER_SEED: [u8; 32] = [7; 32];

/// The public key of [`SIGNER_SEED`].
pub fn signer_public() -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&SIGNER_SEED)
        .verifying_key()
        .to_bytes()
}

/// A trust policy on [`signer_public`] for every format and artifact.
pub fn trust_policy() -> TrustPolicy {
    let pem = quorate_formats::pem::ed25519_public_key_pem(&signer_public());
    TrustPolicy::from_toml(&format!(
        "[[key_group]]\nname = \"release\"\npublic_key = \"\"\"{pem}\"\"\"\n\
         formats = [\"raw\", \"sshsig\", \"dsse\", \"git-tag\", \"minisign\"]\n\
         namespaces = [\"file\", \"git\"]\n"
    ))
    .unwrap_or_else(|e| unreachable!("a valid trust policy: {e}"))
}

/// The artifact name the format targets check signatures for.
pub const ARTIFACT: &str = "app.tar.gz";

/// The trusted key's signature over `message` (for the seed corpus).
pub fn sign(message: &[u8]) -> [u8; 64] {
    use ed25519_dalek::Signer as _;
    ed25519_dalek::SigningKey::from_bytes(&SIGNER_SEED)
        .sign(message)
        .to_bytes()
}

/// A witness key of the targets' own, whose cosignatures the seeds carry.
pub fn witness_key() -> WitnessKey {
    WitnessKey::from_seed("witness.example/w1", &[0x43; 32])
        .unwrap_or_else(|e| unreachable!("a valid name: {e}"))
}

/// The passphrase the seed corpus's sealed files are sealed with.
pub const SEALED_PASSPHRASE: &str = "correct horse battery staple";
