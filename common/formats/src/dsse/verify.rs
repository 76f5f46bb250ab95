//! The consumer's check of a DSSE envelope of an in-toto statement.

use crate::dsse::{self, Envelope, InTotoStatement, PAYLOAD_TYPE};
use crate::trust::{Check, Failure, Format, TrustPolicy, Verified, ed25519_ok, fail, pick};

/// A DSSE envelope (JSON) of an in-toto statement that must name each of
/// `artifacts` (file name, SHA-256) with that digest.
pub fn verify(
    policy: &TrustPolicy,
    artifacts: &[(String, [u8; 32])],
    envelope: &[u8],
) -> Result<Verified, Failure> {
    let valid = |e: dsse::DsseError| Failure {
        check: Check::Valid,
        reason: e.to_string(),
    };
    let envelope = Envelope::parse(envelope).map_err(valid)?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return fail(
            Check::Valid,
            format!(
                "payloadType is {:?}, not {PAYLOAD_TYPE}",
                envelope.payload_type
            ),
        );
    }
    let pae = envelope.pae().map_err(valid)?;
    let statement = InTotoStatement::parse(&envelope.payload().map_err(valid)?).map_err(valid)?;
    let mut known = None;
    let mut signers = Vec::new();
    for s in &envelope.signatures {
        let sig = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &s.sig)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok());
        for g in &policy.groups {
            if known.is_none() && s.keyid == dsse::keyid(&g.key) {
                known = Some(g);
            }
            if sig.is_some_and(|sig| ed25519_ok(&g.key, &pae, &sig)) {
                signers.push(g);
            }
        }
    }
    if signers.is_empty() {
        return match known {
            Some(g) => fail(
                Check::Valid,
                format!(
                    "the signature by key group {} does not verify (the envelope was altered)",
                    g.name
                ),
            ),
            None => fail(
                Check::Trusted,
                "no signature of the envelope verifies under a key group of the trust policy (signed by another key)",
            ),
        };
    }
    let names: Vec<&str> = statement.subjects.iter().map(|s| s.name.as_str()).collect();
    let group = pick(&signers, |g| g.allows(Format::Dsse, &names))?;
    for (name, digest) in artifacts {
        let Some(subject) = statement.subjects.iter().find(|s| &s.name == name) else {
            return fail(
                Check::Matches,
                format!(
                    "{name} is not a subject of the statement (it names {})",
                    names.join(", ")
                ),
            );
        };
        if &subject.sha256 != digest {
            return fail(
                Check::Matches,
                format!(
                    "{name} has SHA-256 {}, the statement says {}",
                    hex::encode(digest),
                    hex::encode(subject.sha256)
                ),
            );
        }
    }
    Ok(Verified {
        key_group: group.name.clone(),
    })
}
