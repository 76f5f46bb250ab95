//! Proto messages as the coordinator and agents decode them, and their
//! conversions to the domain types. The first byte picks the message.

use prost::Message as _;
use quorate_types::{CeremonyView, KeyGroupFile};
use quorate_wire as proto;
use quorate_wire::convert;

use super::{alice, ceremony};
use crate::fixed;

pub fn proto(data: &[u8]) {
    let Some((kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 8 {
        // An operator's key group, as the coordinator registers it.
        0 => {
            if let Ok(group) = proto::KeyGroup::decode(bytes)
                && let Ok(file) = KeyGroupFile::try_from(&group)
            {
                assert!(
                    usize::from(file.threshold) <= file.roster.participants.len(),
                    "a key group whose threshold exceeds its roster"
                );
            }
        }
        // A requester's request.
        1 => {
            if let Ok(request) = proto::CreateCeremonyRequest::decode(bytes) {
                let _ = convert::follow_ups("follow_ups", &request.follow_ups);
                if !request.signed_request.is_empty() {
                    let _ = quorate_types::SignedRequest::from_bytes(&request.signed_request);
                }
            }
        }
        // A status, as an agent reads it.
        2 => {
            if let Ok(status) = proto::CeremonyStatus::decode(bytes) {
                let _ = CeremonyView::try_from(&status);
                let _ = convert::batch_signatures("signatures", &status.batch_signatures);
            }
        }
        // An agent's work item.
        3 => {
            if let Ok(work) = proto::Work::decode(bytes)
                && let Some(status) = &work.ceremony
            {
                let _ = CeremonyView::try_from(status);
            }
        }
        // An operator's roster change.
        4 => {
            if let Ok(change) = proto::ChangeRosterRequest::decode(bytes) {
                let _ = convert::roster(&change.roster);
            }
        }
        // An agent's approval, as the coordinator takes it.
        5 => {
            if let Ok(approve) = proto::ApproveRequest::decode(bytes) {
                let _ = quorate_types::statement::SignedStatement::from_bytes(&approve.statement);
                let _ =
                    frost_ed25519::round1::SigningCommitments::deserialize(&approve.commitments);
            }
        }
        // An agent's key messages.
        6 => {
            if let Ok(post) = proto::PostKeyMessagesRequest::decode(bytes) {
                for message in &post.messages {
                    let _ = quorate_types::key_ceremony::SignedKeyMessage::from_bytes(message);
                }
            }
        }
        // The record evidence an agent judges before releasing a share.
        _ => {
            if let Ok(reply) = proto::StatementEvidenceReply::decode(bytes) {
                evidence(&reply);
            }
        }
    }
}

/// The agent's judgement of `reply`, for its (made-up) statement.
fn evidence(reply: &proto::StatementEvidenceReply) {
    let hashes = |list: &[Vec<u8>]| -> Option<Vec<quorate_tlog::Hash>> {
        list.iter()
            .map(|h| quorate_tlog::Hash::from_slice(h))
            .collect()
    };
    let (Some(consistency), Some(inclusion)) =
        (hashes(&reply.consistency), hashes(&reply.inclusion))
    else {
        return;
    };
    let entries: Vec<(u64, Vec<u8>)> = reply
        .entries
        .iter()
        .map(|e| (e.index, e.entry.clone()))
        .collect();
    let ours = entries
        .iter()
        .filter_map(|(_, bytes)| quorate_ceremonies::Entry::statement_in(bytes))
        .map(|(_, s)| s.to_bytes())
        .next()
        .unwrap_or_default();
    let evidence = quorate_participant::record_check::Evidence {
        note: &reply.note,
        previous: None,
        consistency: &consistency,
        entries: &entries,
        inclusion: &inclusion,
    };
    let _ = quorate_participant::record_check::assess(
        &fixed::log_verifier(),
        &ceremony(),
        &alice(),
        &ours,
        &evidence,
    );
}
