//! minisign signature files (`minisign -Vm FILE -p KEY`) over an artifact
//! of any size. The ceremony signs a batch (`quorate_types::batch`): the
//! artifact's BLAKE2b-512, then minisign's global signature over that
//! signature and the trusted comment; see
//! `quorate_formats::minisign` for the file formats and the key id.

use std::path::{Path, PathBuf};

use quorate_formats::minisign::{self, SignatureFile};
use quorate_types::batch::FollowUp;
use quorate_wire as proto;

/// The ceremony's message, label and follow-ups for a minisign signature
/// over `artifact`: its BLAKE2b-512, `minisign:<file name>`, and the global
/// signature's rule with `trusted_comment` (by default minisign's own,
/// `timestamp:<now>\tfile:<name>\thashed`).
pub fn request(
    artifact: &Path,
    trusted_comment: Option<&str>,
) -> anyhow::Result<(Vec<u8>, String, Vec<FollowUp>)> {
    let digest = super::digest_file::<blake2::Blake2b512>(artifact)?;
    let name = super::file_name(artifact)?;
    let comment = match trusted_comment {
        Some(c) => c.to_string(),
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            minisign::default_trusted_comment(now, &name)
        }
    };
    let (message, follow_ups) = minisign::batch(&digest.into(), &comment)?;
    let mut label = format!("minisign:{name}");
    super::truncate_label(&mut label);
    Ok((message, label, follow_ups))
}

/// Where `quorate sign --format minisign --wait` writes without `-o`:
/// beside the artifact, as minisign does.
pub fn default_output(artifact: &Path) -> PathBuf {
    let mut path = artifact.as_os_str().to_owned();
    path.push(".minisig");
    PathBuf::from(path)
}

/// The minisign signature file of a signed minisign ceremony, after
/// checking both signatures under the group `key`.
pub fn signature_file(s: &proto::CeremonyStatus, key: &[u8; 32]) -> anyhow::Result<String> {
    let follow_ups = proto::convert::follow_ups("follow_ups", &s.follow_ups)?;
    let Some(comment) = minisign::trusted_comment_of(&s.message, &follow_ups) else {
        anyhow::bail!(
            "ceremony {} did not sign a minisign batch (it was not requested with `quorate sign --format minisign --artifact FILE`), so it has no minisign signature",
            s.id
        );
    };
    let signatures = proto::convert::batch_signatures("batch_signatures", &s.batch_signatures)?;
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(key)
        .map_err(|e| anyhow::anyhow!("key group {}: bad group key: {e}", s.key_group))?;
    quorate_types::batch::verify(&s.message, &follow_ups, &signatures, &verifying).map_err(
        |e| {
            anyhow::anyhow!(
                "ceremony {}: {e} (key group {}); not writing it",
                s.id,
                s.key_group
            )
        },
    )?;
    let [signature, global_signature] = signatures.as_slice() else {
        anyhow::bail!("ceremony {}: expected 2 signatures", s.id);
    };
    Ok(SignatureFile {
        untrusted_comment: format!(
            "signature from quorate key group {}, ceremony {}",
            s.key_group, s.id
        ),
        key_id: minisign::key_id(key),
        signature: *signature,
        trusted_comment: comment.to_string(),
        global_signature: *global_signature,
    }
    .write())
}
