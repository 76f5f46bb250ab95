//! The consumer's check of a signed git tag as git stores it.

use sha2::Digest as _;

use crate::git_tag;
use crate::sshsig;
use crate::trust::{Check, Failure, Format, TrustPolicy, Verified, ed25519_ok, fail, pick};

/// A git tag object as `git cat-file tag` prints it, found at
/// `refs/tags/<ref_name>`.
pub fn verify(
    policy: &TrustPolicy,
    ref_name: &str,
    tag_object: &[u8],
) -> Result<Verified, Failure> {
    let text = String::from_utf8_lossy(tag_object);
    let Some(at) = text.find("\n-----BEGIN SSH SIGNATURE-----").map(|i| i + 1) else {
        return fail(
            Check::Present,
            format!("tag {ref_name} carries no SSH signature"),
        );
    };
    let (payload, armored) = text.split_at(at);
    let file = sshsig::parse_armor(armored).or_else(|e| fail(Check::Valid, e.to_string()))?;
    if file.namespace.as_str() != git_tag::NAMESPACE {
        return fail(
            Check::Valid,
            format!("signed in namespace {}, not git", file.namespace),
        );
    }
    let tag = git_tag::TagObject::parse(payload.as_bytes())
        .or_else(|e| fail(Check::Valid, e.to_string()))?;
    let group = pick(&policy.by_key(&file.public_key)?, |g| {
        g.allows(Format::GitTag, &[tag.name()])
    })?;
    let digest: [u8; 64] = sha2::Sha512::digest(payload.as_bytes()).into();
    if !ed25519_ok(
        &file.public_key,
        &sshsig::signed_data(&file.namespace, &digest),
        &file.signature,
    ) {
        return fail(
            Check::Matches,
            format!(
                "the signature is not over tag {ref_name} as it is now (the tag object was altered)"
            ),
        );
    }
    if tag.name() != ref_name {
        return fail(
            Check::Matches,
            format!(
                "the signed tag is named {}, but it is stored as refs/tags/{ref_name}",
                tag.name()
            ),
        );
    }
    Ok(Verified {
        key_group: group.name.clone(),
    })
}
