//! Raw signatures: a plain 64-byte Ed25519 signature over a small message
//! (a SHA256SUMS manifest), which `openssl pkeyutl -verify -rawin` checks
//! with the group key as PEM (`crate::pem`); and the consumer's check.
use crate::trust::{Check, Failure, Format, TrustPolicy, Verified, ed25519_ok, fail, pick};

/// A raw 64-byte Ed25519 `signature` over the file `name` holding `message`
/// (e.g. a SHA256SUMS manifest). A raw signature names no key, so an
/// invalid signature and an untrusted key look alike: both fail "trusted".
pub fn verify(
    policy: &TrustPolicy,
    name: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<Verified, Failure> {
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return fail(
            Check::Valid,
            format!(
                "a raw Ed25519 signature is 64 bytes, this is {}",
                signature.len()
            ),
        );
    };
    let signers: Vec<_> = policy
        .groups
        .iter()
        .filter(|g| ed25519_ok(&g.key, message, &signature))
        .collect();
    if signers.is_empty() {
        return fail(
            Check::Trusted,
            format!(
                "no key group of the trust policy has a key that verifies this signature over {name} (another key signed it, or {name} or the signature was altered)"
            ),
        );
    }
    let group = pick(&signers, |g| g.allows(Format::Raw, &[name]))?;
    Ok(Verified {
        key_group: group.name.clone(),
    })
}
