//! `quorate sign --format dsse --artifact A [--artifact B ...]`: an in-toto
//! Statement v1 naming the artifacts' SHA-256 digests, signed as a DSSE
//! envelope; the ceremony's message is the PAE, so approvers see the
//! statement itself.

use std::path::{Path, PathBuf};

use quorate_formats::dsse::{self, InTotoStatement, PAYLOAD_TYPE, Subject};
use quorate_types::MAX_MESSAGE_BYTES;
use quorate_wire as proto;

/// SHA-256 of the file at `path`, read in chunks (any size).
pub fn sha256_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    Ok(super::digest_file::<sha2::Sha256>(path)?.into())
}

/// The ceremony's message (the PAE of the statement) and label
/// (`dsse:<first artifact>[+N more]`).
pub fn request(
    artifacts: &[PathBuf],
    predicate_type: Option<String>,
    predicate: Option<&Path>,
) -> anyhow::Result<(Vec<u8>, String)> {
    let mut subjects = Vec::new();
    for path in artifacts {
        subjects.push(Subject {
            name: super::file_name(path)?,
            sha256: sha256_file(path)?,
        });
    }
    let predicate =
        match predicate {
            None => None,
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                Some(serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!("--predicate {}: not JSON ({e})", path.display())
                })?)
            }
        };
    let statement = InTotoStatement::new(subjects, predicate_type, predicate)?;
    let message = dsse::pae(PAYLOAD_TYPE, &statement.to_json());
    if message.len() > MAX_MESSAGE_BYTES {
        anyhow::bail!(
            "the statement is {} bytes; at most {MAX_MESSAGE_BYTES} can be signed: name fewer artifacts or give a smaller predicate",
            message.len()
        );
    }
    let mut label = format!("dsse:{}", statement.subjects[0].name);
    if statement.subjects.len() > 1 {
        label.push_str(&format!("+{} more", statement.subjects.len() - 1));
    }
    super::truncate_label(&mut label);
    Ok((message, label))
}

/// The DSSE envelope (JSON) of signed ceremony `s`, after checking the
/// signature under `key`.
pub fn envelope(s: &proto::CeremonyStatus, key: &[u8; 32]) -> anyhow::Result<String> {
    quorate_formats::signature_file::dsse(&s.message, &s.signature, key)
        .map_err(super::of_ceremony(s))
}
