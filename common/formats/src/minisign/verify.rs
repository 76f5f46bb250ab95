//! The consumer's check of a minisign signature file over an artifact.

use crate::minisign::{self, SignatureFile};
use crate::trust::{
    Check, Failure, Format, TrustPolicy, TrustedGroup, Verified, altered_artifact, ed25519_ok,
    fail, pick,
};

/// A minisign signature file (`signature`) over the artifact `name` whose
/// BLAKE2b-512 is `blake2b512`. Its key id names the key group; the global
/// signature (over the file signature and the trusted comment) must verify
/// under that key group's key, whatever the artifact, so a failure there is
/// an altered signature file; then the file signature must be over the
/// artifact's digest.
pub fn verify(
    policy: &TrustPolicy,
    name: &str,
    blake2b512: &[u8; 64],
    signature: &str,
) -> Result<Verified, Failure> {
    let file = SignatureFile::parse(signature).or_else(|e| fail(Check::Valid, e.to_string()))?;
    let known: Vec<&TrustedGroup> = policy
        .groups
        .iter()
        .filter(|g| minisign::key_id(&g.key) == file.key_id)
        .collect();
    if known.is_empty() {
        return fail(
            Check::Trusted,
            format!(
                "signed by minisign key id {}, which no key group of the trust policy has",
                minisign::key_id_hex(&file.key_id)
            ),
        );
    }
    let signers: Vec<&TrustedGroup> = known
        .iter()
        .copied()
        .filter(|g| ed25519_ok(&g.key, &file.global_message(), &file.global_signature))
        .collect();
    if signers.is_empty() {
        return fail(
            Check::Valid,
            "the global signature (over the signature and the trusted comment) does not verify: the signature file was altered",
        );
    }
    let group = pick(&signers, |g| g.allows(Format::Minisign, &[name]))?;
    if !ed25519_ok(&group.key, blake2b512, &file.signature) {
        return altered_artifact(name);
    }
    Ok(Verified {
        key_group: group.name.clone(),
    })
}
