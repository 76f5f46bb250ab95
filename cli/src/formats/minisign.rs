//! minisign signature files (`minisign -Vm FILE -p KEY`) over an artifact
//! of any size. The ceremony signs a batch (`quorate_types::batch`): the
//! artifact's BLAKE2b-512, then minisign's global signature over that
//! signature and the trusted comment; see
//! `quorate_formats::minisign` for the file formats and the key id.

use std::path::{Path, PathBuf};

use quorate_formats::minisign;
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
    let signatures = proto::convert::batch_signatures("batch_signatures", &s.batch_signatures)?;
    let untrusted = format!(
        "signature from quorate key group {}, ceremony {}",
        s.key_group, s.id
    );
    quorate_formats::signature_file::minisign(&s.message, &follow_ups, &signatures, key, untrusted)
        .map_err(super::of_ceremony(s))
}
