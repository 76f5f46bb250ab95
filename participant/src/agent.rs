//! The running agent: keeps its work feed from the coordinator open, and
//! brings each ceremony to what its approver decided: commitments when the
//! coordinator needs them, a share for a package that carries exactly the
//! approved message, nothing otherwise.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use frost_ed25519::keys::KeyPackage;
use quorate_ceremonies::KeyGroup;
use quorate_secrets::GroupFileIo;
use quorate_secrets::IdentityKey;
use quorate_secrets::keyfile::KeyShareFile;
use quorate_tlog::LogVerifier;
use quorate_types::KeyGroupFile;
use quorate_types::batch::FollowUp;
use quorate_types::{CeremonyId, CeremonyView, ParticipantId, Sha256Digest};
use quorate_wire as proto;
use quorate_wire::audit_client::AuditClient;
use quorate_wire::client::Identify;
use quorate_wire::signer_client::SignerClient;
use rand_core::OsRng;
use tokio::sync::{Mutex, watch};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::AgentConfig;
use crate::gate::{self, Refusal, Verdict};
use crate::identity::{DecisionOf, load_identity, sign_decision};
use crate::journal::{Decision, Entry, Journal, Refused, SignedAttempt};
use crate::record_check::task::{self as record_task, Queue};
use crate::record_check::{RecordCheck, fetch};
use crate::signer::{self, Nonces};
use crate::turns::Turns;
use crate::work_book::WorkBook;

type Client = SignerClient<InterceptedService<Channel, Identify>>;

const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The ceremony's context (a git tag object) must hash to the digest its
/// message signs before it is shown or approved.
fn check_context(id: &CeremonyId, status: &proto::CeremonyStatus) -> Result<(), AgentError> {
    quorate_formats::git_tag::check_context(&status.message, &status.context)
        .map(|_| ())
        .map_err(|problem| AgentError::Context {
            id: id.clone(),
            problem,
        })
}

/// The ceremony's follow-up messages, checked.
fn follow_ups_of(
    id: &CeremonyId,
    status: &proto::CeremonyStatus,
) -> Result<Vec<FollowUp>, AgentError> {
    proto::convert::follow_ups("follow_ups", &status.follow_ups).map_err(|e| AgentError::Batch {
        id: id.clone(),
        problem: e.to_string(),
    })
}

/// Why the approver's command could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no ceremony {0} is known to this agent; see `quorate-participant pending`")]
    Unknown(CeremonyId),
    #[error("ceremony {id} is {state} and takes no decision")]
    Closed { id: CeremonyId, state: String },
    #[error("this agent already {decision:?} ceremony {id}")]
    Decided { id: CeremonyId, decision: Decision },
    #[error(
        "the coordinator's digest of ceremony {0}'s message does not match the message; refusing"
    )]
    DigestMismatch(CeremonyId),
    #[error("ceremony {id}: {problem}")]
    Context {
        id: CeremonyId,
        problem: quorate_formats::git_tag::GitTagError,
    },
    #[error("ceremony {id}: {problem}")]
    Batch { id: CeremonyId, problem: String },
    #[error("ceremony is for key group {0}, which this agent holds no share of")]
    WrongKeyGroup(String),
    #[error("the coordinator refused: {0}")]
    Coordinator(Status),
    #[error("the coordinator cannot be reached: {0}")]
    Offline(String),
    #[error("journal: {0}")]
    Journal(String),
}

struct State {
    /// The latest work item per ceremony (open ones, and recent or still
    /// needed finished ones).
    work: WorkBook,
    /// Nonces per ceremony, in memory only.
    nonces: HashMap<CeremonyId, Held>,
    client: Option<Client>,
    audit: Option<fetch::Client>,
}

/// Nonces with the ceremony version at which the coordinator recorded their
/// commitments: a work item older than that predates them.
struct Held {
    nonces: Nonces,
    since: u64,
}

pub struct Agent {
    pub config: AgentConfig,
    key: KeyPackage,
    group: KeyGroup,
    identity: IdentityKey,
    /// The coordinator log's key, when the agent checks the record.
    verifier: Option<LogVerifier>,
    record_checks: Queue,
    journal: Journal,
    state: Mutex<State>,
    /// Work on one ceremony runs one at a time and in order.
    turns: Turns,
}

/// A ceremony as the agent presents it to its approver.
pub struct ReviewItem {
    pub status: proto::CeremonyStatus,
    pub decision: Option<Decision>,
    /// What the agent's check of the coordinator's record found.
    pub record: Option<RecordCheck>,
    /// What the signing gate refused in this ceremony.
    pub refusals: Vec<Refused>,
}

impl Agent {
    /// Opens the agent's sealed key files with `config.passphrase`, which
    /// it takes out of the configuration and drops (zeroized) once done.
    pub fn open(mut config: AgentConfig) -> anyhow::Result<Self> {
        let passphrase = config.take_passphrase()?;
        let share = KeyShareFile::load(&config.key_share, &passphrase)?;
        if share.participant != config.id {
            anyhow::bail!(
                "{} holds the share of {}, but this agent is {}",
                config.key_share.display(),
                share.participant,
                config.id
            );
        }
        let key = share
            .key_package()
            .map_err(|e| anyhow::anyhow!("{}: {e}", config.key_share.display()))?;
        let group_file = KeyGroupFile::load(&config.key_group)?;
        if group_file.name != share.key_group {
            anyhow::bail!(
                "{} is key group {}, but the share is for {}",
                config.key_group.display(),
                group_file.name,
                share.key_group
            );
        }
        let group = KeyGroup::from_file(&group_file)
            .map_err(|e| anyhow::anyhow!("{}: {e}", config.key_group.display()))?;
        if group.public_key_package.verifying_key() != key.verifying_key() {
            anyhow::bail!(
                "{} has another group key than the share in {}",
                config.key_group.display(),
                config.key_share.display()
            );
        }
        let identity = load_identity(&config, &group.roster, &passphrase)?;
        drop(passphrase);
        let verifier = config
            .log_key
            .as_deref()
            .map(LogVerifier::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("log_key: {e}"))?;
        let journal = Journal::open(&config.state_dir)?;
        Ok(Self {
            config,
            key,
            group,
            identity,
            verifier,
            record_checks: Queue::default(),
            journal,
            state: Mutex::new(State {
                work: WorkBook::default(),
                nonces: HashMap::new(),
                client: None,
                audit: None,
            }),
            turns: Turns::default(),
        })
    }

    pub fn id(&self) -> &ParticipantId {
        &self.config.id
    }

    /// The log key the record checks use, if the agent checks the record.
    pub fn log_verifier(&self) -> Option<&LogVerifier> {
        self.verifier.as_ref()
    }

    pub(crate) fn journal(&self) -> &Journal {
        &self.journal
    }

    pub(crate) fn record_checks(&self) -> &Queue {
        &self.record_checks
    }

    pub(crate) async fn audit_client(&self) -> Option<fetch::Client> {
        self.state.lock().await.audit.clone()
    }

    /// Asks for a check of the coordinator's record, if the agent checks it.
    fn want_record_check(&self, id: &CeremonyId, entry: &Entry, open: bool) {
        if self.verifier.is_some()
            && let Some(request) = record_task::wanted(id, entry, open)
        {
            self.record_checks.push(request);
        }
    }

    async fn connect(&self) -> anyhow::Result<(Client, fetch::Client)> {
        let channel =
            quorate_wire::tls::channel(&self.config.coordinator, self.config.tls.as_ref())
                .await
                .map_err(anyhow::Error::msg)?;
        let identify = Identify::new(self.config.id.as_str()).map_err(anyhow::Error::msg)?;
        Ok((
            SignerClient::with_interceptor(channel.clone(), identify.clone()),
            AuditClient::with_interceptor(channel, identify),
        ))
    }

    /// Keeps the work feed open until `stop` turns true, reconnecting with
    /// backoff whenever the coordinator goes away.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let mut queues = Queues::default();
            let stopped = {
                let session = async {
                    let (mut client, audit) = self.connect().await?;
                    let mut feed = client
                        .subscribe(proto::SubscribeRequest {})
                        .await?
                        .into_inner();
                    {
                        let mut state = self.state.lock().await;
                        state.client = Some(client);
                        state.audit = Some(audit);
                    }
                    tracing::info!(participant = %self.config.id, "connected to the coordinator");
                    while let Some(work) = feed.message().await? {
                        queues.dispatch(&self, work);
                    }
                    anyhow::Ok(())
                };
                tokio::select! {
                    result = session => {
                        match result {
                            Ok(()) => tracing::warn!(participant = %self.config.id, "the coordinator closed the work feed"),
                            Err(e) => tracing::warn!(participant = %self.config.id, error = %e, "work feed lost"),
                        }
                        false
                    }
                    _ = stop.changed() => true,
                }
            };
            // The session's ceremony tasks end with it, and are waited
            // for: once stopped, nothing of this agent holds its journal.
            queues.tasks.shutdown().await;
            if stopped {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Ceremonies waiting on this approver's decision, oldest first.
    pub async fn pending(&self) -> Vec<ReviewItem> {
        let state = self.state.lock().await;
        let mut out = Vec::new();
        for work in state.work.values() {
            let Some(status) = &work.ceremony else {
                continue;
            };
            let Ok(id) = CeremonyId::new(&status.id) else {
                continue;
            };
            match self.journal.get(&id) {
                Ok(None) if is_open(status) => out.push(ReviewItem {
                    status: status.clone(),
                    decision: None,
                    record: None,
                    refusals: Vec::new(),
                }),
                // A decided ceremony whose record shows a problem stays in
                // front of the approver.
                Ok(Some(entry)) if entry.record.as_ref().is_some_and(RecordCheck::is_problem) => {
                    out.push(ReviewItem {
                        status: status.clone(),
                        decision: Some(entry.decision),
                        record: entry.record,
                        refusals: entry.refusals,
                    })
                }
                _ => {}
            }
        }
        out
    }

    pub async fn show(&self, id: &CeremonyId) -> Result<ReviewItem, AgentError> {
        let status = self.status_of(&*self.state.lock().await, id)?;
        check_context(id, &status)?;
        let entry = self.journal_entry(id)?;
        let decision = entry.as_ref().map(|e| e.decision);
        let (record, refusals) = entry.map_or((None, Vec::new()), |e| (e.record, e.refusals));
        Ok(ReviewItem {
            status,
            decision,
            record,
            refusals,
        })
    }

    fn status_of(
        &self,
        state: &State,
        id: &CeremonyId,
    ) -> Result<proto::CeremonyStatus, AgentError> {
        let status = state
            .work
            .get(id)
            .and_then(|w| w.ceremony.clone())
            .ok_or_else(|| AgentError::Unknown(id.clone()))?;
        if Sha256Digest::of(&status.message).0.as_slice() != status.message_sha256.as_slice() {
            return Err(AgentError::DigestMismatch(id.clone()));
        }
        Ok(status)
    }

    /// Whether a finished ceremony must stay in the work book: a check of
    /// the record is still to come for it, or one found a problem, which
    /// stays in front of the approver.
    fn still_needed(&self, id: &CeremonyId) -> bool {
        if self.verifier.is_none() {
            return false;
        }
        match self.journal.get(id) {
            Ok(Some(entry)) => {
                entry.record.as_ref().is_some_and(RecordCheck::is_problem)
                    || record_task::wanted(id, &entry, false).is_some()
            }
            Ok(None) => false,
            // Unknown: keep it.
            Err(_) => true,
        }
    }

    fn journal_entry(&self, id: &CeremonyId) -> Result<Option<Entry>, AgentError> {
        self.journal
            .get(id)
            .map_err(|e| AgentError::Journal(e.to_string()))
    }

    /// The approver approves: journal it, make nonces, send the approval
    /// with the commitments.
    pub async fn approve(&self, id: &CeremonyId) -> Result<ReviewItem, AgentError> {
        let _turn = self.turns.take(id).await;
        self.decide(id, Decision::Approved, None).await
    }

    pub async fn reject(&self, id: &CeremonyId, reason: String) -> Result<ReviewItem, AgentError> {
        let _turn = self.turns.take(id).await;
        self.decide(id, Decision::Rejected, Some(reason)).await
    }

    /// Signs, journals and sends the approver's decision. The caller holds
    /// the ceremony's lock.
    async fn decide(
        &self,
        id: &CeremonyId,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<ReviewItem, AgentError> {
        let state = self.state.lock().await;
        let status = self.status_of(&state, id)?;
        // A context that does not hash to what the message signs is never
        // approved; the approver may still reject the ceremony.
        if decision == Decision::Approved {
            check_context(id, &status)?;
        }
        if !is_open(&status) {
            return Err(AgentError::Closed {
                id: id.clone(),
                state: state_name(&status),
            });
        }
        if let Some(entry) = self.journal_entry(id)? {
            return Err(AgentError::Decided {
                id: id.clone(),
                decision: entry.decision,
            });
        }
        let mut client = state
            .client
            .clone()
            .ok_or_else(|| AgentError::Offline("not connected yet".into()))?;
        // The ceremony's lock keeps its work waiting; other ceremonies go on.
        drop(state);
        let digest = Sha256Digest::of(&status.message);
        if status.key_group != self.group.name.as_str() {
            return Err(AgentError::WrongKeyGroup(status.key_group.clone()));
        }
        let follow_ups = follow_ups_of(id, &status)?;
        let statement = sign_decision(
            &self.identity,
            DecisionOf {
                ceremony: id,
                key_group: &self.group.name,
                participant: &self.config.id,
                message_sha256: digest,
                break_glass: status.break_glass,
                follow_ups: &follow_ups,
                decision: match decision {
                    Decision::Approved => quorate_types::Decision::Approve,
                    Decision::Rejected => quorate_types::Decision::Reject {
                        reason: reason.clone().unwrap_or_default(),
                    },
                },
            },
        )
        .to_bytes();
        let entry = Entry {
            decision,
            message_sha256: digest,
            break_glass: status.break_glass,
            follow_ups,
            reason: reason.clone(),
            signed_attempts: Vec::new(),
            statement: statement.clone(),
            acknowledged: false,
            record: None,
            refusals: Vec::new(),
        };
        self.journal
            .put(id, &entry)
            .await
            .map_err(|e| AgentError::Journal(e.to_string()))?;
        let reply = match decision {
            Decision::Approved => {
                let (nonces, commitments) = self.fresh_nonces()?;
                let reply = client
                    .approve(proto::ApproveRequest {
                        ceremony: id.to_string(),
                        statement,
                        commitments,
                    })
                    .await;
                if let Ok(ack) = &reply {
                    let since = ack.get_ref().ceremony.as_ref().map_or(0, |c| c.version);
                    let held = Held { nonces, since };
                    self.state.lock().await.nonces.insert(id.clone(), held);
                }
                reply
            }
            Decision::Rejected => {
                client
                    .reject(proto::RejectRequest {
                        ceremony: id.to_string(),
                        statement,
                    })
                    .await
            }
        };
        let ack = reply.map_err(AgentError::Coordinator)?.into_inner();
        tracing::info!(participant = %self.config.id, ceremony = %id, ?decision, "decision sent");
        let entry = self.acknowledge(id, entry);
        self.want_record_check(id, &entry, true);
        let status = ack.ceremony.unwrap_or(status);
        Ok(ReviewItem {
            status,
            decision: Some(decision),
            record: None,
            refusals: Vec::new(),
        })
    }

    /// Notes in the journal that the coordinator holds our decision, and
    /// returns the entry as it now stands.
    fn acknowledge(&self, id: &CeremonyId, entry: Entry) -> Entry {
        match self.journal.note(id, |e| e.acknowledged = true) {
            Ok(Some(updated)) => updated,
            Ok(None) => entry,
            Err(e) => {
                tracing::warn!(ceremony = %id, error = %e, "cannot note the acknowledgement in the journal");
                entry
            }
        }
    }

    /// Brings one ceremony in line with the approver's decision.
    async fn reconcile(&self, work: proto::Work) {
        let Some(status) = work.ceremony.clone() else {
            return;
        };
        let Ok(id) = CeremonyId::new(&status.id) else {
            return;
        };
        let _turn = self.turns.take(&id).await;
        let open = is_open(&status);
        {
            let mut state = self.state.lock().await;
            let seen = state
                .work
                .get(&id)
                .and_then(|w| w.ceremony.as_ref())
                .map_or(0, |c| c.version);
            if status.version < seen {
                return;
            }
            state
                .work
                .insert(id.clone(), work.clone(), !open, |c| self.still_needed(c));
            if !open {
                // Destroy any nonces left for a finished ceremony.
                state.nonces.remove(&id);
            }
        }
        let entry = match self.journal.get(&id) {
            Ok(Some(entry)) => Some(self.follow_record(&id, &status, entry, open).await),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(ceremony = %id, error = %e, "cannot read the journal");
                return;
            }
        };
        if !open {
            return;
        }
        let result = match entry {
            None if self.config.auto_approve => {
                self.decide(&id, Decision::Approved, None).await.map(|_| ())
            }
            None => Ok(()),
            Some(entry) if entry.decision == Decision::Rejected => Ok(()),
            Some(entry) => self.carry_on(&id, &status, &work, entry).await,
        };
        if let Err(e) = result {
            tracing::warn!(participant = %self.config.id, ceremony = %id, error = %e, "could not act on the ceremony");
        }
    }

    /// Marks the decision acknowledged once the coordinator lists it, and
    /// asks for the record check the ceremony's progress calls for.
    async fn follow_record(
        &self,
        id: &CeremonyId,
        status: &proto::CeremonyStatus,
        entry: Entry,
        open: bool,
    ) -> Entry {
        let me = self.config.id.as_str();
        let listed = status.approvals.iter().any(|a| a.participant == me)
            || status.rejections.iter().any(|r| r.participant == me);
        let entry = if listed && !entry.acknowledged {
            self.acknowledge(id, entry)
        } else {
            entry
        };
        self.want_record_check(id, &entry, open);
        entry
    }

    /// Carries out what the signing gate decides about the ceremony.
    async fn carry_on(
        &self,
        id: &CeremonyId,
        status: &proto::CeremonyStatus,
        work: &proto::Work,
        entry: Entry,
    ) -> Result<(), AgentError> {
        let view = match CeremonyView::try_from(status) {
            Ok(view) => view,
            Err(e) => {
                tracing::error!(ceremony = %id, error = %e, "malformed ceremony status refused");
                return Ok(());
            }
        };
        let mut state = self.state.lock().await;
        let mut client = state
            .client
            .clone()
            .ok_or_else(|| AgentError::Offline("not connected".into()))?;
        let held = state.nonces.get(id);
        let verdict = gate::decide(&gate::Inputs {
            me: &self.config.id,
            group: &self.group,
            entry: &entry,
            held: held.map(|h| gate::Held {
                commitments: h.nonces.commitments(),
                since: h.since,
            }),
            ceremony: &view,
            package: &work.signing_package,
            commitments_wanted: work.commitments_wanted,
        });
        match verdict {
            Verdict::Wait => Ok(()),
            Verdict::CommitAfresh => {
                state.nonces.remove(id);
                drop(state);
                self.send_fresh_commitments(id, &mut client).await
            }
            Verdict::Refuse(refusal) => {
                if refusal.destroys_nonces() {
                    // A coordinator that sends a forbidden package gets
                    // nothing, and these nonces are never used.
                    state.nonces.remove(id);
                }
                drop(state);
                self.refused(id, &view, refusal).await
            }
            Verdict::Sign {
                package,
                message,
                expected,
            } => {
                // Taken out: these nonces sign this package or nothing.
                let Some(held) = state.nonces.remove(id) else {
                    return Ok(());
                };
                drop(state);
                let share = match signer::sign(&expected, &package, held.nonces, &self.key) {
                    Ok(share) => share,
                    Err(refusal) => {
                        let refusal = Refusal::WrongMessage {
                            why: refusal.to_string(),
                        };
                        return self.refused(id, &view, refusal).await;
                    }
                };
                let signed = SignedAttempt {
                    attempt: view.attempt,
                    message,
                };
                self.journal
                    .update(id, |e| e.signed_attempts.push(signed))
                    .await
                    .map_err(|e| AgentError::Journal(e.to_string()))?;
                let reply = client
                    .submit_share(proto::SubmitShareRequest {
                        ceremony: id.to_string(),
                        attempt: view.attempt,
                        signature_share: share.serialize(),
                    })
                    .await;
                tracing::info!(participant = %self.config.id, ceremony = %id, attempt = view.attempt, ok = reply.is_ok(), "signature share sent");
                reply.map(|_| ()).map_err(AgentError::Coordinator)
            }
        }
    }

    /// Journals and reports a refusal of the signing gate.
    async fn refused(
        &self,
        id: &CeremonyId,
        view: &CeremonyView,
        refusal: Refusal,
    ) -> Result<(), AgentError> {
        tracing::error!(participant = %self.config.id, ceremony = %id, attempt = view.attempt, %refusal, "refused to take part");
        let refused = Refused {
            version: view.version,
            attempt: view.attempt,
            refusal,
        };
        self.journal
            .update(id, |e| {
                e.note_refusal(refused.clone());
            })
            .await
            .map(|_| ())
            .map_err(|e| AgentError::Journal(e.to_string()))
    }

    /// Round 1: new nonces and their encoded commitments.
    fn fresh_nonces(&self) -> Result<(Nonces, Vec<u8>), AgentError> {
        let nonces = Nonces::generate(&self.key, &mut OsRng);
        let commitments = nonces
            .commitments()
            .serialize()
            .map_err(|e| AgentError::Journal(format!("cannot encode commitments: {e}")))?;
        Ok((nonces, commitments))
    }

    async fn send_fresh_commitments(
        &self,
        id: &CeremonyId,
        client: &mut Client,
    ) -> Result<(), AgentError> {
        let (nonces, commitments) = self.fresh_nonces()?;
        let reply = client
            .commit(proto::CommitRequest {
                ceremony: id.to_string(),
                commitments,
            })
            .await;
        match reply {
            Ok(ack) => {
                let since = ack.get_ref().ceremony.as_ref().map_or(0, |c| c.version);
                self.state
                    .lock()
                    .await
                    .nonces
                    .insert(id.clone(), Held { nonces, since });
                tracing::info!(participant = %self.config.id, ceremony = %id, "fresh commitments sent");
                Ok(())
            }
            Err(status) if status.code() == Code::AlreadyExists => Ok(()),
            Err(status) => Err(AgentError::Coordinator(status)),
        }
    }
}

/// One queue and task per ceremony: ceremonies proceed side by side, each
/// one's work in the order the coordinator sent it. A ceremony's task ends
/// when the ceremony is finished; every task ends with the feed's session.
#[derive(Default)]
struct Queues {
    senders: HashMap<CeremonyId, tokio::sync::mpsc::UnboundedSender<proto::Work>>,
    tasks: tokio::task::JoinSet<()>,
}

impl Queues {
    fn dispatch(&mut self, agent: &Arc<Agent>, work: proto::Work) {
        let Some(id) = work
            .ceremony
            .as_ref()
            .and_then(|c| CeremonyId::new(&c.id).ok())
        else {
            return;
        };
        while self.tasks.try_join_next().is_some() {}
        let work = match self.senders.get(&id) {
            Some(queue) => match queue.send(work) {
                Ok(()) => return,
                // That ceremony's task ended; a new one takes this item.
                Err(tokio::sync::mpsc::error::SendError(work)) => work,
            },
            None => work,
        };
        self.senders.retain(|_, queue| !queue.is_closed());
        let (queue, mut items) = tokio::sync::mpsc::unbounded_channel();
        // A new channel's receiver is alive: this send cannot fail.
        let _ = queue.send(work);
        self.senders.insert(id, queue);
        let agent = Arc::clone(agent);
        self.tasks.spawn(async move {
            while let Some(work) = items.recv().await {
                let finished = work.ceremony.as_ref().is_some_and(|c| !is_open(c));
                agent.reconcile(work).await;
                if finished {
                    return;
                }
            }
        });
    }
}

fn is_open(status: &proto::CeremonyStatus) -> bool {
    proto::convert::is_open(status.state())
}

pub fn state_name(status: &proto::CeremonyStatus) -> String {
    proto::convert::state_name(status.state())
}
