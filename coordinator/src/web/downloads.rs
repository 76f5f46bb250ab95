//! What a ceremony's page offers to download: its transcript, as
//! `quorate audit export` writes it (every entry proven in the latest
//! checkpoint the witnesses cosigned if it holds them all, else in the
//! latest), and its signature in each format its message was signed for.

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::Response;
use quorate_ceremonies::replay::{TRANSCRIPT_FORMAT, Transcript, TranscriptEntry};
use quorate_formats::signature_file;
use quorate_tlog::Hash;
use quorate_types::{CeremonyId, KeyGroupName};
use quorate_wire::audit_server::Audit;
use quorate_wire::{self as proto};
use tonic::Status;

use super::views::Download;
use super::{Caller, Page, Shared, answer, attachment, entries_of, refused, status_of};
use crate::store::CeremonyStore;

/// The signature files ceremony `s` offers: none until signed; the raw
/// signature always then, and the format its message was made for.
pub fn offered(s: &proto::CeremonyStatus) -> Vec<Download> {
    if s.signature.is_empty() {
        return Vec::new();
    }
    let mut offered = vec![Download {
        format: "raw",
        what: "Signature (raw 64-byte Ed25519, for openssl pkeyutl -rawin)",
    }];
    if quorate_formats::sshsig::parse_signed_data(&s.message).is_some() {
        offered.push(Download {
            format: "sshsig",
            what: "SSH signature (for ssh-keygen -Y verify, git)",
        });
    }
    if quorate_formats::dsse::parse_pae(&s.message).is_some() {
        offered.push(Download {
            format: "dsse",
            what: "DSSE envelope (in-toto)",
        });
    }
    if !s.follow_ups.is_empty() {
        offered.push(Download {
            format: "minisign",
            what: "minisign signature",
        });
    }
    offered
}

/// The size of a checkpoint note's tree.
fn size_of(note: &str) -> Option<u64> {
    note.lines().nth(1)?.parse().ok()
}

async fn build_transcript<S: CeremonyStore>(
    page: &Page<S>,
    caller: &Caller,
    id: &str,
) -> Result<Transcript, Status> {
    let ceremony = CeremonyId::new(id).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let listed = entries_of(page, caller, id).await?;
    let checkpoints = page
        .audit
        .checkpoint(caller.call(proto::CheckpointRequest {})?)
        .await?
        .into_inner();
    let needed = listed.iter().map(|e| e.index + 1).max().unwrap_or(0);
    let note = match size_of(&checkpoints.cosigned_note) {
        Some(size) if size >= needed => checkpoints.cosigned_note,
        _ => checkpoints.note,
    };
    let size = size_of(&note).ok_or_else(|| Status::internal("the checkpoint has no size"))?;
    let mut entries = Vec::with_capacity(listed.len());
    for proto::LogEntry { index, entry } in listed {
        let entry = String::from_utf8(entry)
            .map_err(|_| Status::data_loss(format!("entry {index} is not UTF-8 text")))?;
        let proof = page
            .audit
            .inclusion_proof(caller.call(proto::InclusionProofRequest {
                index,
                tree_size: size,
            })?)
            .await?
            .into_inner()
            .hashes
            .iter()
            .map(|h| {
                Hash::from_slice(h).ok_or_else(|| Status::internal("a proof hash is not 32 bytes"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        entries.push(TranscriptEntry {
            index,
            entry,
            proof,
        });
    }
    Ok(Transcript {
        format: TRANSCRIPT_FORMAT.into(),
        ceremony,
        checkpoint: note,
        entries,
    })
}

pub async fn transcript<S: CeremonyStore>(
    State(page): State<Shared<S>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Response {
    match build_transcript(&page, &caller, &id).await {
        Ok(transcript) => match serde_json::to_vec_pretty(&transcript) {
            Ok(json) => attachment(&format!("{id}.transcript"), "application/json", json),
            Err(e) => answer(StatusCode::INTERNAL_SERVER_ERROR, "Error", &e.to_string()),
        },
        Err(e) => refused(e),
    }
}

pub async fn signature<S: CeremonyStore>(
    State(page): State<Shared<S>>,
    caller: Caller,
    UrlPath((id, format)): UrlPath<(String, String)>,
) -> Response {
    let s = match status_of(&page, &caller, &id).await {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    if s.signature.is_empty() {
        return answer(
            StatusCode::CONFLICT,
            "Not signed",
            &format!("ceremony {id} is not signed: {}", s.summary),
        );
    }
    let key = KeyGroupName::new(&s.key_group)
        .ok()
        .and_then(|name| page.hub.key_group(&name))
        .and_then(|g| g.public_key_package.verifying_key().serialize().ok())
        .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok());
    let Some(key) = key else {
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "No group key",
            &format!("key group {} has no usable group key here", s.key_group),
        );
    };
    let file = match format.as_str() {
        "raw" => signature_file::checked(&s.message, &s.signature, &key).map(|sig| {
            (
                format!("{id}.sig"),
                "application/octet-stream",
                sig.to_vec(),
            )
        }),
        "sshsig" => signature_file::sshsig(&s.message, &s.signature, &key).map(|f| {
            (
                format!("{id}.sshsig"),
                "text/plain; charset=utf-8",
                f.into_bytes(),
            )
        }),
        "dsse" => signature_file::dsse(&s.message, &s.signature, &key).map(|f| {
            (
                format!("{id}.dsse.json"),
                "application/json",
                f.into_bytes(),
            )
        }),
        "minisign" => {
            let follow_ups = proto::convert::follow_ups("follow_ups", &s.follow_ups);
            let signatures =
                proto::convert::batch_signatures("batch_signatures", &s.batch_signatures);
            let (Ok(follow_ups), Ok(signatures)) = (follow_ups, signatures) else {
                return answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Not a minisign batch",
                    "the ceremony's batch does not parse",
                );
            };
            let untrusted = format!(
                "signature from quorate key group {}, ceremony {id}",
                s.key_group
            );
            signature_file::minisign(&s.message, &follow_ups, &signatures, &key, untrusted).map(
                |f| {
                    (
                        format!("{id}.minisig"),
                        "text/plain; charset=utf-8",
                        f.into_bytes(),
                    )
                },
            )
        }
        other => {
            return answer(
                StatusCode::NOT_FOUND,
                "No such format",
                &format!("{other:?} is not a signature format: raw, sshsig, dsse or minisign"),
            );
        }
    };
    match file {
        Ok((name, content_type, bytes)) => attachment(&name, content_type, bytes),
        Err(e) => answer(
            StatusCode::CONFLICT,
            "No such signature file",
            &format!("ceremony {id}: {e}"),
        ),
    }
}
