//! Gathers the evidence for one record check from the coordinator's `Audit`
//! service, with `StatementEvidence` (following its pages), and judges it
//! with [`super::assess`]. A failed call is [`Transient`]: retried, not reported.

use quorate_tlog::{Checkpoint, Hash, LogVerifier};
use quorate_types::{CeremonyId, ParticipantId};
use quorate_wire::{self as proto, audit_client::AuditClient, client::Identify};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::{Evidence, RecordProblem, assess};

pub type Client = AuditClient<InterceptedService<Channel, Identify>>;

/// The check could not be finished now (the coordinator is unreachable or
/// failed a call); it is tried again later.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Transient(pub String);

fn transient(what: &str) -> impl Fn(tonic::Status) -> Transient + '_ {
    move |s| Transient(format!("{what}: {}", s.message()))
}

/// Most bytes of entries and proofs one piece of evidence may hold, far
/// beyond any ceremony's: a coordinator cannot make an agent page, or
/// hold, without end.
const MAX_EVIDENCE_BYTES: usize = 64 * 1024 * 1024;

/// The whole evidence `request` asks for: the first reply, with the
/// entries (and their proofs) of every later page appended. Each later
/// page proves against the first page's tree; every entry must come after
/// the one before it and lie in that tree.
async fn evidence(
    client: &mut Client,
    request: proto::StatementEvidenceRequest,
    what: &str,
) -> Result<proto::StatementEvidenceReply, Transient> {
    let mut reply = client
        .statement_evidence(request.clone())
        .await
        .map_err(transient(what))?
        .into_inner();
    let mut more = reply.more;
    let mut bytes = 0;
    check_page(&reply, None, reply.size, &mut bytes, what)?;
    while more {
        let last = reply.entries.last().map(|e| e.index);
        let Some(from) = last.and_then(|i| i.checked_add(1)) else {
            return Err(Transient(format!(
                "{what}: the coordinator said more entries follow a page without any"
            )));
        };
        let page = client
            .statement_evidence(proto::StatementEvidenceRequest {
                size: reply.size,
                from,
                ..request.clone()
            })
            .await
            .map_err(transient(what))?
            .into_inner();
        if page.size != reply.size || page.entries.is_empty() {
            return Err(Transient(format!(
                "{what}: a later page of the coordinator's is empty or not of the first \
                 page's tree"
            )));
        }
        check_page(&page, last, reply.size, &mut bytes, what)?;
        more = page.more;
        reply.entries.extend(page.entries);
        reply.entry_proofs.extend(page.entry_proofs);
    }
    Ok(reply)
}

/// Refuses a page whose entries do not each come after the one before
/// (`last` ends the previous page) and lie in the tree of `size` (when
/// given), or that
/// takes the evidence past [`MAX_EVIDENCE_BYTES`].
fn check_page(
    page: &proto::StatementEvidenceReply,
    mut last: Option<u64>,
    size: u64,
    bytes: &mut usize,
    what: &str,
) -> Result<(), Transient> {
    for entry in &page.entries {
        // A coordinator from before pages says no size (0), and sends one
        // page; its note's tree bounds the entries then.
        if last.is_some_and(|l| entry.index <= l) || (size > 0 && entry.index >= size) {
            return Err(Transient(format!(
                "{what}: the coordinator sent entry {} out of order or beyond its tree of {size}",
                entry.index
            )));
        }
        last = Some(entry.index);
        *bytes += entry.entry.len();
    }
    *bytes += page
        .entry_proofs
        .iter()
        .map(|p| p.hashes.iter().map(Vec::len).sum::<usize>())
        .sum::<usize>();
    if *bytes > MAX_EVIDENCE_BYTES {
        return Err(Transient(format!(
            "{what}: the coordinator's evidence goes beyond {MAX_EVIDENCE_BYTES} bytes"
        )));
    }
    Ok(())
}

/// What one check found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The coordinator's checkpoint, if it verified and extends the previous
    /// one: the agent keeps it as its latest.
    pub good_note: Option<String>,
    /// The statement's log index and the checkpoint's size, or the problem.
    pub outcome: Result<(u64, u64), RecordProblem>,
    /// The ceremony's entries hold its end (a close decision).
    pub ended: bool,
}

/// What is checked: `ours`, the statement `participant` signed for `ceremony`.
pub struct Subject<'a> {
    pub ceremony: &'a CeremonyId,
    pub participant: &'a ParticipantId,
    pub ours: &'a [u8],
}

fn problem(p: RecordProblem) -> Result<Checked, Transient> {
    Ok(Checked {
        good_note: None,
        outcome: Err(p),
        ended: false,
    })
}

/// Whether `entries` (a ceremony's, as the coordinator sent them) hold the
/// ceremony's end: an event whose decisions close it.
fn ended(entries: &[(u64, Vec<u8>)]) -> bool {
    entries.iter().any(|(_, bytes)| {
        matches!(
            quorate_ceremonies::Entry::decode(bytes),
            Ok(quorate_ceremonies::Entry::CeremonyEvent { decisions, .. })
                if decisions.iter().any(|d| matches!(d, quorate_ceremonies::Action::Close(_)))
        )
    })
}

/// Fetches the evidence (one `StatementEvidence` call) and judges it.
/// `previous` is the latest checkpoint the agent verified earlier.
pub async fn check(
    client: &mut Client,
    verifier: &LogVerifier,
    previous: Option<&Checkpoint>,
    subject: &Subject<'_>,
) -> Result<Checked, Transient> {
    Ok(fetch_and_assess(client, verifier, previous, subject, false)
        .await?
        .0)
}

/// As [`check`] with no previous checkpoint, against the latest checkpoint
/// the coordinator's witnesses cosigned; returns that note too, for the
/// caller to count its cosignatures.
pub async fn check_witnessed(
    client: &mut Client,
    verifier: &LogVerifier,
    subject: &Subject<'_>,
) -> Result<(Checked, String), Transient> {
    fetch_and_assess(client, verifier, None, subject, true).await
}

async fn fetch_and_assess(
    client: &mut Client,
    verifier: &LogVerifier,
    previous: Option<&Checkpoint>,
    subject: &Subject<'_>,
    witnessed: bool,
) -> Result<(Checked, String), Transient> {
    let request = proto::StatementEvidenceRequest {
        ceremony: subject.ceremony.to_string(),
        old_size: previous.map_or(0, |c| c.size),
        witnessed,
        ..Default::default()
    };
    let reply = evidence(client, request, "statement evidence").await?;
    let Some(consistency) = hashes(reply.consistency) else {
        return Ok((
            problem(RecordProblem::InconsistentCheckpoints(
                "the consistency proof holds a hash that is not 32 bytes".into(),
            ))?,
            reply.note,
        ));
    };
    // A hash of the wrong length fails the inclusion check below.
    let inclusion = hashes(reply.inclusion).unwrap_or_default();
    let entries: Vec<(u64, Vec<u8>)> = reply
        .entries
        .into_iter()
        .map(|e| (e.index, e.entry))
        .collect();
    let evidence = Evidence {
        note: &reply.note,
        previous,
        consistency: &consistency,
        entries: &entries,
        inclusion: &inclusion,
    };
    let outcome = assess(
        verifier,
        subject.ceremony,
        subject.participant,
        subject.ours,
        &evidence,
    );
    let extends = !matches!(
        outcome,
        Err(RecordProblem::BadCheckpoint(_) | RecordProblem::InconsistentCheckpoints(_))
    );
    let checked = Checked {
        good_note: extends.then(|| reply.note.clone()),
        outcome: outcome.map(|(c, index)| (index, c.size)),
        ended: ended(&entries),
    };
    Ok((checked, reply.note))
}

/// The proof's hashes, or `None` if one is not 32 bytes.
fn hashes(list: Vec<Vec<u8>>) -> Option<Vec<Hash>> {
    list.iter().map(|h| Hash::from_slice(h)).collect()
}

/// The ceremony's entries, each with its inclusion proof, in the tree of
/// the latest checkpoint (the latest the witnesses cosigned if
/// `witnessed`): `(note, entries, proofs)`.
pub async fn proven_entries(
    client: &mut Client,
    ceremony: &CeremonyId,
    witnessed: bool,
) -> Result<ProvenEntries, Transient> {
    let request = proto::StatementEvidenceRequest {
        ceremony: ceremony.to_string(),
        witnessed,
        prove_entries: true,
        ..Default::default()
    };
    let reply = evidence(client, request, "ceremony evidence").await?;
    let entries = reply
        .entries
        .into_iter()
        .map(|e| (e.index, e.entry))
        .collect();
    // A hash of the wrong length fails its inclusion check.
    let proofs = reply
        .entry_proofs
        .into_iter()
        .map(|p| (p.index, hashes(p.hashes).unwrap_or_default()))
        .collect();
    Ok(ProvenEntries {
        note: reply.note,
        entries,
        proofs,
    })
}

/// What [`proven_entries`] fetched.
#[derive(Debug, Clone, Default)]
pub struct ProvenEntries {
    pub note: String,
    pub entries: Vec<(u64, Vec<u8>)>,
    pub proofs: Vec<(u64, Vec<Hash>)>,
}
