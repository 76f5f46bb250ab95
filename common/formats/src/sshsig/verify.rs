//! The consumer's check of an SSH signature over an artifact.

use super::parse_armor;
use crate::sshsig;
use crate::trust::{
    Check, Failure, Format, TrustPolicy, Verified, altered_artifact, ed25519_ok, fail, pick,
};

/// An armored SSH signature (`signature`) over the artifact `name` whose
/// SHA-512 is `sha512`.
pub fn verify(
    policy: &TrustPolicy,
    name: &str,
    sha512: &[u8; 64],
    signature: &str,
) -> Result<Verified, Failure> {
    let file = parse_armor(signature).or_else(|e| fail(Check::Valid, e.to_string()))?;
    let group = pick(&policy.by_key(&file.public_key)?, |g| {
        g.allows(Format::Sshsig, &[name])?;
        if !g.namespaces.iter().any(|n| n == file.namespace.as_str()) {
            return fail(
                Check::Trusted,
                format!(
                    "signed in namespace {}; key group {} is trusted in {}",
                    file.namespace,
                    g.name,
                    g.namespaces.join(", ")
                ),
            );
        }
        Ok(())
    })?;
    if !ed25519_ok(
        &file.public_key,
        &sshsig::signed_data(&file.namespace, sha512),
        &file.signature,
    ) {
        return altered_artifact(name);
    }
    Ok(Verified {
        key_group: group.name.clone(),
    })
}
