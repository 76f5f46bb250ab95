//! The running agent: keeps its work feed from the coordinator open, and
//! brings each ceremony to what its approver decided: commitments when the
//! coordinator needs them, a share for a package that carries exactly the
//! approved message, nothing otherwise. This file holds the agent's state
//! and what it opens at start; the feed, the approver's side and the work
//! on each ceremony are modules of their own.

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
use crate::journal::{Decision, Entry, Journal, Refused, SentShare, SignedAttempt};
use crate::record_check::task::{self as record_task, Queue};
use crate::record_check::{RecordCheck, fetch};
use crate::signer::{self, Nonces};
use crate::turns::Turns;
use crate::work_book::WorkBook;

mod feed;
mod release;
mod review;
mod work;
mod writer;

type Client = SignerClient<InterceptedService<Channel, Identify>>;

const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often an agent looks for decisions and shares the coordinator does
/// not hold yet, to send them again.
pub const RESEND_EVERY: Duration = Duration::from_secs(1);

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
    #[error("ceremony {id} is not shown: {problem}")]
    Request { id: CeremonyId, problem: String },
    #[error("ceremony is for key group {0}, which this agent holds no share of")]
    WrongKeyGroup(String),
    #[error("the coordinator refused: {0}")]
    Coordinator(Status),
    #[error(
        "ceremony {id}: your decision is journaled, but the coordinator has not acknowledged it \
         ({why}); this agent sends it again until it does"
    )]
    Undelivered { id: CeremonyId, why: String },
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
    /// Where writes go: the feed's replica, or the one that replica named
    /// as taking writes ([`writer`]).
    client: Option<Client>,
    /// The feed's replica, to go back to when the writer goes away.
    feed: Option<Client>,
    audit: Option<fetch::Client>,
    /// Ceremonies whose last resend the coordinator refused for good:
    /// not resent again until news of them arrives.
    quiet: std::collections::HashSet<CeremonyId>,
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
    /// The witnesses that must have cosigned our approval before a share.
    witnesses: Option<crate::witness_gate::WitnessPolicy>,
    record_checks: Queue,
    /// The key it witnesses the record with, until the witness server
    /// takes it (when `witness_listen` is set).
    witness_key: std::sync::Mutex<Option<quorate_tlog::WitnessKey>>,
    journal: Journal,
    state: Mutex<State>,
    /// Work on one ceremony runs one at a time and in order.
    turns: Turns,
    /// Which of the coordinator's addresses answered last.
    coordinator_index: std::sync::atomic::AtomicUsize,
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
        config.network.check().map_err(anyhow::Error::msg)?;
        if let Some(url) = &config.alert_webhook {
            quorate_wire::webhook::Webhook::new(url, config.alert_webhook_ca.as_deref())
                .map_err(|e| anyhow::anyhow!("alert_webhook {e}"))?;
        }
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
        let witness_key = config
            .witness_listen
            .map(|_| crate::witness::key(&config, &passphrase))
            .transpose()?;
        drop(passphrase);
        let Some(log_key) = config.log_key.as_deref() else {
            anyhow::bail!(
                "log_key is missing from the agent's configuration: the agent checks the \
                 coordinator's record with it, and without it could not tell a record that \
                 drops or alters its decisions; `quorate-coordinator log-key` prints it"
            );
        };
        let verifier =
            Some(LogVerifier::parse(log_key).map_err(|e| anyhow::anyhow!("log_key: {e}"))?);
        if let Some(tls) = &config.tls {
            crate::tls_files::check(tls, &config.id)?;
        }
        let witnesses = crate::witness_gate::WitnessPolicy::for_agent(
            &config,
            group.policy.witnesses.as_ref(),
        )?;
        let journal = Journal::open(&config.state_dir)?;
        Ok(Self {
            config,
            key,
            group,
            identity,
            verifier,
            witnesses,
            record_checks: Queue::default(),
            witness_key: std::sync::Mutex::new(witness_key),
            journal,
            state: Mutex::new(State {
                work: WorkBook::default(),
                nonces: HashMap::new(),
                client: None,
                feed: None,
                quiet: Default::default(),
                audit: None,
            }),
            turns: Turns::default(),
            coordinator_index: Default::default(),
        })
    }

    pub fn id(&self) -> &ParticipantId {
        &self.config.id
    }

    /// The witness key, for the witness server to take once, at start.
    pub(crate) fn take_witness_key(&self) -> Option<quorate_tlog::WitnessKey> {
        self.witness_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// The log key the record checks use, if the agent checks the record.
    pub fn log_verifier(&self) -> Option<&LogVerifier> {
        self.verifier.as_ref()
    }

    pub(crate) fn journal(&self) -> &Journal {
        &self.journal
    }

    /// What the checks of the coordinator's record found about this
    /// agent's statement on `id`, from its journal (whether or not the
    /// ceremony is still in its work book).
    pub fn record_check_of(&self, id: &CeremonyId) -> Option<crate::record_check::RecordCheck> {
        self.journal.get(id).ok().flatten().and_then(|e| e.record)
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
}

pub(crate) fn is_open(status: &proto::CeremonyStatus) -> bool {
    proto::convert::is_open(status.state())
}

pub fn state_name(status: &proto::CeremonyStatus) -> String {
    proto::convert::state_name(status.state())
}
