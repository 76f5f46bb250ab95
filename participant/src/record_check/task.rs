//! Runs the record checks: one shortly after the coordinator acknowledged a
//! decision (unless the ceremony finished meanwhile), one when the ceremony
//! finished, and retries with backoff while the coordinator cannot be
//! reached. A problem found is kept in the journal, logged as an error
//! and raised with the agent's own `alert_command` and `alert_webhook`; it is not checked again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorate_tlog::LogVerifier;
use quorate_types::CeremonyId;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::fetch::{self, Subject, Transient};
use super::{RecordCheck, RecordProblem, verify_checkpoint};
use crate::Agent;
use crate::journal::Entry;

const FIRST_RETRY: Duration = Duration::from_millis(500);
/// How long the check of an open ceremony waits: one that finishes
/// meanwhile (as automated ceremonies do) is checked once, when finished.
const SETTLE: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
/// How long one check may wait on the coordinator.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// A check to run for one ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub ceremony: CeremonyId,
    /// The ceremony has finished.
    pub finished: bool,
    /// Run it now, even if a retry is already waiting.
    pub urgent: bool,
}

/// Which check an entry still needs: `open` says whether its ceremony is.
/// Only statements the coordinator acknowledged are looked for; a problem
/// found is final.
pub fn wanted(ceremony: &CeremonyId, entry: &Entry, open: bool) -> Option<Request> {
    if entry.statement.is_empty() || !entry.acknowledged {
        return None;
    }
    let request = |finished, urgent| {
        Some(Request {
            ceremony: ceremony.clone(),
            finished,
            urgent,
        })
    };
    match (&entry.record, open) {
        (Some(RecordCheck::Problem(_)), _) => None,
        (Some(RecordCheck::Verified { finished: true, .. }), _) => None,
        (_, false) => request(true, true),
        (None, true) => request(false, false),
        (Some(RecordCheck::Verified { .. }), true) => None,
    }
}

/// The agent's queue of checks; the receiving end is taken by [`run`].
pub struct Queue {
    tx: mpsc::UnboundedSender<Request>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Request>>>,
}

impl Default for Queue {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl Queue {
    pub fn push(&self, request: Request) {
        let _ = self.tx.send(request);
    }

    fn take(&self) -> Option<mpsc::UnboundedReceiver<Request>> {
        self.rx.lock().ok()?.take()
    }
}

struct Due {
    at: Instant,
    retry: Duration,
    finished: bool,
}

/// Whether an entry's statement still needs a check of the record: one the
/// coordinator acknowledged, not yet checked after its ceremony ended, and
/// with no problem found (a problem is final).
fn unsettled(entry: &Entry) -> bool {
    !entry.statement.is_empty()
        && entry.acknowledged
        && !matches!(
            entry.record,
            Some(RecordCheck::Problem(_) | RecordCheck::Verified { finished: true, .. })
        )
}

/// A check of every unsettled statement in the journal: at start and on
/// every reconnection, so that a ceremony that ended while the agent was
/// away (and so is in no work feed) gets its final check too. Each check
/// learns from the record whether its ceremony ended.
pub fn catch_up(agent: &Agent) -> Vec<Request> {
    agent
        .journal()
        .entries()
        .into_iter()
        .filter(|(_, entry)| unsettled(entry))
        .map(|(ceremony, _)| Request {
            ceremony,
            finished: false,
            urgent: false,
        })
        .collect()
}

/// Runs the checks the agent asks for until `stop` turns true.
pub async fn run(agent: Arc<Agent>, verifier: LogVerifier, mut stop: watch::Receiver<bool>) {
    let Some(mut requests) = agent.record_checks().take() else {
        return;
    };
    let mut due: BTreeMap<CeremonyId, Due> = BTreeMap::new();
    for r in catch_up(&agent) {
        schedule(&mut due, r);
    }
    loop {
        let next = due.values().map(|d| d.at).min();
        let wait = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            request = requests.recv() => match request {
                Some(r) => schedule(&mut due, r),
                None => return,
            },
            _ = wait => {
                let now = Instant::now();
                let ready: Vec<CeremonyId> =
                    due.iter().filter(|(_, d)| d.at <= now).map(|(id, _)| id.clone()).collect();
                for id in ready {
                    let Some(d) = due.remove(&id) else { continue };
                    if let Err(e) = check_one(&agent, &verifier, &id, d.finished).await {
                        tracing::warn!(ceremony = %id, error = %e, retry_in = ?d.retry, "cannot check the coordinator's record yet");
                        due.insert(id, Due {
                            at: Instant::now() + d.retry,
                            retry: (d.retry * 2).min(MAX_RETRY),
                            finished: d.finished,
                        });
                    }
                }
            }
            _ = stop.changed() => return,
        }
    }
}

fn schedule(due: &mut BTreeMap<CeremonyId, Due>, r: Request) {
    let now = Instant::now();
    let d = due.entry(r.ceremony).or_insert(Due {
        at: now + SETTLE,
        retry: FIRST_RETRY,
        finished: false,
    });
    d.finished |= r.finished;
    if r.urgent {
        d.at = now;
        d.retry = FIRST_RETRY;
    }
}

/// One check of one ceremony; the outcome goes to the journal.
async fn check_one(
    agent: &Agent,
    verifier: &LogVerifier,
    id: &CeremonyId,
    finished: bool,
) -> Result<(), Transient> {
    let journal = agent.journal();
    let journal_error = |e: anyhow::Error| Transient(format!("journal: {e}"));
    let Some(entry) = journal.get(id).map_err(journal_error)? else {
        return Ok(());
    };
    if !unsettled(&entry) {
        return Ok(());
    }
    let mut client = agent
        .audit_client()
        .await
        .ok_or_else(|| Transient("not connected to the coordinator".into()))?;
    let previous = journal
        .checkpoint()
        .map_err(journal_error)?
        .and_then(|note| match verify_checkpoint(verifier, &note) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "the kept checkpoint does not verify with the configured log key; starting afresh");
                None
            }
        });
    let subject = Subject {
        ceremony: id,
        participant: agent.id(),
        ours: &entry.statement,
    };
    let checked = tokio::time::timeout(
        CHECK_TIMEOUT,
        fetch::check(&mut client, verifier, previous.as_ref(), &subject),
    )
    .await
    .map_err(|_| Transient("the coordinator did not answer in time".into()))??;
    if let Some(note) = &checked.good_note {
        journal.set_checkpoint(note).map_err(journal_error)?;
    }
    let record = match checked.outcome {
        Ok((index, tree_size)) => {
            tracing::info!(participant = %agent.id(), ceremony = %id, index, tree_size, "the coordinator's record holds this agent's statement");
            RecordCheck::Verified {
                index,
                tree_size,
                // The agent may not have seen the end: it was away, say.
                finished: finished || checked.ended,
            }
        }
        Err(problem) => {
            // A receipted statement that the record lacks is not merely
            // missing: the receipt proves the coordinator dropped it.
            let problem = match (problem, &entry.receipt) {
                (RecordProblem::MissingStatement, Some(receipt)) => {
                    RecordProblem::DroppedStatement {
                        receipt: receipt.clone(),
                    }
                }
                (problem, _) => problem,
            };
            tracing::error!(participant = %agent.id(), ceremony = %id, %problem, "the coordinator's record is wrong");
            RecordCheck::Problem(problem)
        }
    };
    journal
        .note(id, |e| e.record = Some(record.clone()))
        .map_err(journal_error)?;
    if let RecordCheck::Problem(problem) = &record {
        // Raised beside the checks, which go on.
        let alert = crate::alert::finding(agent.id(), id, problem);
        crate::alert::raise(&agent.config, alert);
    }
    Ok(())
}
