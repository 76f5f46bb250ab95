//! Gathers the evidence for one record check from the coordinator's `Audit`
//! service, in the order the check needs it, and judges it with
//! [`super::assess`]. A failed call is [`Transient`]: retried, not reported.

use quorate_common::proto::{self, audit_client::AuditClient, client::Identify};
use quorate_common::{CeremonyId, ParticipantId};
use quorate_record::{Checkpoint, Hash, LogVerifier};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::{Evidence, RecordProblem, assess, find_statement, verify_checkpoint};

pub type Client = AuditClient<InterceptedService<Channel, Identify>>;

/// The check could not be finished now (the coordinator is unreachable or
/// failed a call); it is tried again later.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Transient(pub String);

fn transient(what: &str) -> impl Fn(tonic::Status) -> Transient + '_ {
    move |s| Transient(format!("{what}: {}", s.message()))
}

/// What one check found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The coordinator's checkpoint, if it verified and extends the previous
    /// one: the agent keeps it as its latest.
    pub good_note: Option<String>,
    /// The statement's log index and the checkpoint's size, or the problem.
    pub outcome: Result<(u64, u64), RecordProblem>,
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
    })
}

/// Fetches the evidence and judges it. `previous` is the latest checkpoint
/// the agent verified earlier.
pub async fn check(
    client: &mut Client,
    verifier: &LogVerifier,
    previous: Option<&Checkpoint>,
    subject: &Subject<'_>,
) -> Result<Checked, Transient> {
    let note = client
        .checkpoint(proto::CheckpointRequest {})
        .await
        .map_err(transient("checkpoint"))?
        .into_inner()
        .note;
    let checkpoint = match verify_checkpoint(verifier, &note) {
        Ok(c) => c,
        Err(p) => return problem(p),
    };
    let consistency = match previous {
        Some(old) if old.size > 0 && old.size < checkpoint.size => {
            let reply = client
                .consistency_proof(proto::ConsistencyProofRequest {
                    old_size: old.size,
                    new_size: checkpoint.size,
                })
                .await
                .map_err(transient("consistency proof"))?;
            match hashes(reply.into_inner()) {
                Some(h) => h,
                None => {
                    return problem(RecordProblem::InconsistentCheckpoints(
                        "the consistency proof holds a hash that is not 32 bytes".into(),
                    ));
                }
            }
        }
        _ => Vec::new(),
    };
    let entries = ceremony_entries(client, subject.ceremony).await?;
    let index = find_statement(
        subject.ceremony,
        subject.participant,
        subject.ours,
        &entries,
    );
    let inclusion = match index {
        Ok(index) if index < checkpoint.size => {
            let reply = client
                .inclusion_proof(proto::InclusionProofRequest {
                    index,
                    tree_size: checkpoint.size,
                })
                .await
                .map_err(transient("inclusion proof"))?;
            hashes(reply.into_inner()).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let evidence = Evidence {
        note: &note,
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
    Ok(Checked {
        good_note: extends.then_some(note),
        outcome: outcome.map(|(c, index)| (index, c.size)),
    })
}

/// The ceremony's entries as the coordinator lists them. A ceremony the
/// record does not know has none.
async fn ceremony_entries(
    client: &mut Client,
    ceremony: &CeremonyId,
) -> Result<Vec<(u64, Vec<u8>)>, Transient> {
    match client
        .ceremony_entries(proto::CeremonyEntriesRequest {
            ceremony: ceremony.to_string(),
        })
        .await
    {
        Ok(reply) => Ok(reply
            .into_inner()
            .entries
            .into_iter()
            .map(|e| (e.index, e.entry))
            .collect()),
        Err(s) if s.code() == Code::NotFound => Ok(Vec::new()),
        Err(s) => Err(transient("ceremony entries")(s)),
    }
}

/// The proof's hashes, or `None` if one is not 32 bytes.
fn hashes(reply: proto::ProofReply) -> Option<Vec<Hash>> {
    reply
        .hashes
        .into_iter()
        .map(|h| Hash::from_slice(&h))
        .collect()
}
