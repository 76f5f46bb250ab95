//! Joining a key ceremony: a key group made by DKG, or a refresh of the
//! shares of this agent's group. This agent's approver reviews the
//! proposal, the agent runs its side ([`crate::dkg`]) through the
//! coordinator, seals its new share at rest before it confirms the group,
//! and once every participant has confirmed it, puts the share in place
//! (replacing the old one in a refresh) and writes the key group's file.
//! The share and group files are the ones `agent.toml` names, so
//! `quorate-participant run` signs with them afterwards; an agent running
//! during a refresh keeps its old share until it is restarted.
//!
//! The DKG's secrets live in this process only: an agent stopped in the
//! middle cannot resume, and the operator cancels and proposes again.

use std::time::Duration;

use quorate_ceremonies::key::KeyPhase;
use quorate_secrets::keyfile::KeyShareFile;
use quorate_secrets::sealed::KdfParams;
use quorate_secrets::{GroupFileIo, IdentityKey};
use quorate_types::key_ceremony::{KeyProposal, KeyStep, SignedKeyMessage};
use quorate_types::{KeyCeremonyId, KeyGroupFile};
use quorate_wire as proto;
use quorate_wire::client::Identify;
use quorate_wire::key_ceremonies_client::KeyCeremoniesClient;
use rand_core::OsRng;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::AgentConfig;
use crate::dkg::{Dkg, Next};
use crate::repair::Repairing;

type Client = KeyCeremoniesClient<InterceptedService<Channel, Identify>>;

/// What the approver decides about a proposal.
pub enum Answer {
    Join,
    Decline(String),
}

/// A proposal as the approver reviews it.
pub struct Proposed {
    pub ceremony: KeyCeremonyId,
    pub proposal: KeyProposal,
    pub proposed_by: String,
}

impl Proposed {
    /// What kind of key ceremony it is, in a few words.
    pub fn kind(&self) -> String {
        let p = &self.proposal;
        match (&p.refresh, &p.repair) {
            (Some(r), _) if r.removed.is_empty() => "refresh of every share".to_string(),
            (Some(r), _) => format!(
                "refresh removing {}",
                r.removed
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, Some(r)) if r.is_enrolment() => format!("enrolment of {}", r.participant.id),
            (None, Some(r)) => format!("repair of {}'s share", r.participant.id),
            (None, None) => format!("new key group, {} of {}", p.threshold, p.roster.len()),
        }
    }

    /// What the approver is asked to agree to, in a few lines.
    pub fn describe(&self) -> String {
        let p = &self.proposal;
        if let Some(repair) = &p.repair {
            let what = if repair.is_enrolment() {
                "enrol a new participant, who gets a share"
            } else {
                "rebuild the lost share of"
            };
            let who = &repair.participant;
            return format!(
                "key ceremony {}: {} proposes that {} {what} {} ({}, {}) of key group {} \
                 (version {}), group key {} and threshold {} unchanged\n\
                 identity key of {}: {}\nproposal sha256: {}\n",
                self.ceremony,
                self.proposed_by,
                repair
                    .helpers
                    .iter()
                    .map(|h| h.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                who.id,
                who.name,
                who.role,
                p.key_group,
                repair.version,
                repair.from.group_key,
                p.threshold,
                who.id,
                who.identity.map(|i| i.to_string()).unwrap_or_default(),
                p.digest()
            );
        }
        if let Some(refresh) = &p.refresh {
            let removed: Vec<_> = refresh.removed.iter().map(|r| r.as_str()).collect();
            return format!(
                "key ceremony {}: {} proposes new shares of key group {} (version {}), \
                 group key {} unchanged\n\
                 removes: {} (their old shares no longer combine with the new ones)\n\
                 keeps: {} of {}\nproposal sha256: {}\n",
                self.ceremony,
                self.proposed_by,
                p.key_group,
                refresh.version,
                refresh.from.group_key,
                if removed.is_empty() {
                    "nobody".to_string()
                } else {
                    removed.join(", ")
                },
                p.threshold,
                p.roster
                    .ids()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                p.digest()
            );
        }
        let mut out = format!(
            "key ceremony {}: {} proposes key group {}, made by DKG among its agents\n\
             threshold: {} of {} (it can never change for this group key)\n\
             proposal sha256: {}\n",
            self.ceremony,
            self.proposed_by,
            p.key_group,
            p.threshold,
            p.roster.len(),
            p.digest()
        );
        for entry in &p.roster.participants {
            let identity = entry.identity.map(|i| i.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "  {:<12} {:<14} {}  identity {}\n",
                entry.id, entry.role, entry.name, identity
            ));
        }
        out.push_str("policy:\n");
        for line in p.policy.to_toml().lines() {
            out.push_str(&format!("  {line}\n"));
        }
        out
    }
}

/// The open key ceremonies naming this agent, as its approver reviews
/// them, each with where it stands: what `quorate-participant pending`
/// lists beside the signing ceremonies.
pub async fn pending_key_ceremonies(
    config: &AgentConfig,
) -> anyhow::Result<Vec<(Proposed, String)>> {
    let mut client = connect(config).await?;
    let open = client
        .pending(proto::PendingKeyCeremoniesRequest {})
        .await?
        .into_inner()
        .ceremonies;
    open.iter()
        .map(|s| Ok((proposed(s)?, s.summary.clone())))
        .collect()
}

/// One key ceremony naming this agent, as its approver reviews it.
pub async fn key_ceremony(
    config: &AgentConfig,
    id: &KeyCeremonyId,
) -> anyhow::Result<(Proposed, String)> {
    let mut client = connect(config).await?;
    let status = client
        .get(proto::GetKeyCeremonyRequest { id: id.to_string() })
        .await?
        .into_inner();
    Ok((proposed(&status)?, status.summary))
}

/// The proposal in a status, checked against its digest.
fn proposed(status: &proto::KeyCeremonyStatus) -> anyhow::Result<Proposed> {
    let proposed = Proposed {
        ceremony: KeyCeremonyId::new(&status.id)?,
        proposal: serde_json::from_slice(&status.proposal)
            .map_err(|e| anyhow::anyhow!("the coordinator sent a proposal that is not one: {e}"))?,
        proposed_by: status.proposed_by.clone(),
    };
    if proposed.proposal.digest().0.as_slice() != status.proposal_sha256.as_slice() {
        anyhow::bail!("the coordinator's proposal digest does not match its proposal; refusing");
    }
    Ok(proposed)
}

/// How a join ended (once per process: its size does not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Joined {
    Registered(KeyGroupFile),
    Declined,
}

/// Waits for a key ceremony naming this agent (`ceremony`, or the only
/// open one), asks `decide`, and takes part to the end. The share is
/// sealed with `config`'s passphrase under `kdf`.
pub async fn join(
    mut config: AgentConfig,
    ceremony: Option<KeyCeremonyId>,
    kdf: &KdfParams,
    decide: impl FnOnce(&Proposed) -> Answer,
) -> anyhow::Result<Joined> {
    let passphrase = config.take_passphrase()?;
    let identity = crate::identity::open_identity(&config, &passphrase)?;
    let mut client = connect(&config).await?;
    let status = pending(&mut client, ceremony).await?;
    let proposed = proposed(&status)?;
    let part = part_of(&config, &proposed.proposal)?;
    let old = held(&config, &proposed.proposal, part, &passphrase)?;
    let id = proposed.ceremony.clone();
    let proposal = proposed.proposal.clone();
    let held_ref = old.as_ref().map(|(share, group)| (share.clone(), group));
    let (mut side, first) = match decide(&proposed) {
        Answer::Decline(reason) => {
            let decline = Dkg::decline(id.clone(), &proposal, reason, &identity);
            post(&mut client, &id, vec![decline]).await?;
            return Ok(Joined::Declined);
        }
        Answer::Join if proposal.repair.is_some() => {
            let (r, first) = Repairing::join(
                id.clone(),
                proposal.clone(),
                &identity,
                held_ref,
                &mut OsRng,
            )?;
            (Side::Repair(r), first)
        }
        Answer::Join => {
            let (d, first) = Dkg::join(
                id.clone(),
                proposal.clone(),
                &identity,
                held_ref,
                &mut OsRng,
            )?;
            (Side::Dkg(d), first)
        }
    };
    post(&mut client, &id, vec![first]).await?;
    let files = Files::of(&config, part);
    // A helper of a repair gets no share, but knows the group to expect.
    let mut saved = match (part, &proposal.repair) {
        (Part::Helper, Some(repair)) => {
            let old = repair
                .from
                .public_key_package()
                .map_err(anyhow::Error::msg)?;
            Some(quorate_ceremonies::key::dkg::after_repair(
                &old,
                &repair.participant.id,
            )?)
        }
        _ => None,
    };
    let taking = Taking {
        id: &id,
        proposal: &proposal,
        config: &config,
        files: &files,
        passphrase: &passphrase,
        kdf,
    };
    let result = run(&mut client, &mut side, &identity, &taking, &mut saved).await;
    let Err(e) = result else {
        return result;
    };
    let Some(share) = files
        .share
        .as_ref()
        .filter(|s| s.exists() && part != Part::Helper)
    else {
        return Err(e);
    };
    if e.downcast_ref::<Failed>().is_some() {
        // A share of a group that was never registered signs nothing.
        let _ = std::fs::remove_file(share);
        return Err(e);
    }
    // Once confirmed, the group may yet be registered: the new share is
    // kept until the outcome is known.
    Err(e.context(format!(
        "the new share stays sealed in {} until key ceremony {id}'s outcome is known \
         (`quorate-participant show {id}`): if it was registered, that share is yours{}",
        share.display(),
        if part == Part::Refresh {
            format!(" and replaces {}", config.key_share.display())
        } else {
            String::new()
        }
    )))
}

/// A key ceremony that ended without registering anything.
#[derive(Debug, thiserror::Error)]
#[error("key ceremony {0} failed: {1}")]
pub struct Failed(String, String);

/// What one agent's part in one key ceremony works with.
struct Taking<'a> {
    id: &'a KeyCeremonyId,
    proposal: &'a KeyProposal,
    config: &'a AgentConfig,
    files: &'a Files,
    passphrase: &'a quorate_secrets::Passphrase,
    kdf: &'a KdfParams,
}

/// This agent's side of the key ceremony under way (one per process).
#[allow(clippy::large_enum_variant)]
pub enum Side {
    Dkg(Dkg),
    Repair(Repairing),
}

impl Side {
    /// What to send next (see [`Dkg::advance`], [`Repairing::advance`]).
    pub fn advance(
        &mut self,
        phase: KeyPhase,
        relayed: &[SignedKeyMessage],
        identity: &IdentityKey,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<Next, crate::dkg::DkgError> {
        match self {
            Side::Dkg(d) => d.advance(phase, relayed, identity, rng),
            Side::Repair(r) => r.advance(phase, relayed, identity, rng),
        }
    }
}

/// What this agent does in a key ceremony, by what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Gets a share where it had none: a new group's DKG, or the
    /// participant of a repair or enrolment.
    New,
    /// Replaces its share: a refresh.
    Refresh,
    /// Helps rebuild someone else's share, and keeps its own.
    Helper,
}

fn part_of(config: &AgentConfig, proposal: &KeyProposal) -> anyhow::Result<Part> {
    Ok(match (&proposal.refresh, &proposal.repair) {
        (Some(_), _) => Part::Refresh,
        (None, Some(repair)) if repair.participant.id == config.id => Part::New,
        (None, Some(repair)) if repair.helpers.contains(&config.id) => Part::Helper,
        (None, Some(_)) => anyhow::bail!(
            "{} is neither the participant of this repair nor one of its helpers",
            config.id
        ),
        (None, None) => Part::New,
    })
}

/// For a refresh or to help a repair, this agent's share and its own
/// copy of the key group; for a new share, nothing (and no share file
/// where the new one goes).
fn held(
    config: &AgentConfig,
    proposal: &KeyProposal,
    part: Part,
    passphrase: &quorate_secrets::Passphrase,
) -> anyhow::Result<Option<(frost_ed25519::keys::KeyPackage, KeyGroupFile)>> {
    if part == Part::New {
        let mut paths = vec![&config.key_share];
        if proposal.repair.is_none() {
            paths.push(&config.key_group);
        }
        for path in paths {
            if path.exists() {
                anyhow::bail!(
                    "{} exists: this agent holds a key group already; give it a new agent.toml \
                     (another key_share and key_group path) to join another, or move a damaged \
                     share away before its repair",
                    path.display()
                );
            }
        }
        return Ok(None);
    }
    let share = KeyShareFile::load(&config.key_share, passphrase)?;
    let group = KeyGroupFile::load(&config.key_group)?;
    if share.key_group != proposal.key_group || group.name != proposal.key_group {
        anyhow::bail!(
            "the key ceremony is for key group {}, but this agent holds a share of {}",
            proposal.key_group,
            share.key_group
        );
    }
    let package = share.key_package().map_err(anyhow::Error::msg)?;
    Ok(Some((package, group)))
}

/// Where the new share goes while the ceremony runs, and where it ends.
struct Files {
    /// Sealed before this agent confirms; none for a repair's helper.
    share: Option<std::path::PathBuf>,
    /// Replaced by `share` once the group is registered (a refresh).
    replaces: Option<std::path::PathBuf>,
}

impl Files {
    fn of(config: &AgentConfig, part: Part) -> Self {
        match part {
            Part::Refresh => {
                let mut pending = config.key_share.clone().into_os_string();
                pending.push(".refreshed");
                Self {
                    share: Some(pending.into()),
                    replaces: Some(config.key_share.clone()),
                }
            }
            Part::New => Self {
                share: Some(config.key_share.clone()),
                replaces: None,
            },
            Part::Helper => Self {
                share: None,
                replaces: None,
            },
        }
    }
}

async fn run(
    client: &mut Client,
    side: &mut Side,
    identity: &IdentityKey,
    taking: &Taking<'_>,
    saved: &mut Option<frost_ed25519::keys::PublicKeyPackage>,
) -> anyhow::Result<Joined> {
    let Taking {
        id,
        config,
        files,
        passphrase,
        kdf,
        ..
    } = *taking;
    let mut stream = client
        .watch(proto::GetKeyCeremonyRequest { id: id.to_string() })
        .await?
        .into_inner();
    while let Some(status) = stream.message().await? {
        let phase = phase_of(&status)?;
        if phase == KeyPhase::Failed {
            let why = if status.culprit.is_empty() {
                status.fault.clone()
            } else {
                format!("{}: {}", status.culprit, status.fault)
            };
            return Err(Failed(id.to_string(), why).into());
        }
        if phase == KeyPhase::Registered {
            return registered(&status, taking, saved.as_ref());
        }
        let relayed = status
            .messages
            .iter()
            .map(|m| SignedKeyMessage::from_bytes(m).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        match side.advance(phase, &relayed, identity, &mut OsRng)? {
            Next::Wait => {}
            Next::Send(messages) => post(client, id, messages).await?,
            Next::Share {
                key_package,
                public_key_package,
                confirm,
            } => {
                let name = config_group(&status)?;
                let path = files
                    .share
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("a helper got a share; refusing"))?;
                if path.exists() {
                    std::fs::remove_file(path)?;
                }
                KeyShareFile::new(name, config.id.clone(), &key_package)?
                    .save(path, passphrase, kdf)?;
                *saved = Some(public_key_package);
                post(client, id, vec![confirm]).await?;
            }
        }
    }
    anyhow::bail!(
        "the coordinator ended the key ceremony's stream before it ended; run join again once it is back (the ceremony must be proposed again)"
    )
}

/// Checks the registered group is the one this agent computed and its
/// approver agreed to, confirmed by everyone who had to, then writes its
/// own copy (built from the proposal, never taken from the coordinator).
fn registered(
    status: &proto::KeyCeremonyStatus,
    taking: &Taking<'_>,
    saved: Option<&frost_ed25519::keys::PublicKeyPackage>,
) -> anyhow::Result<Joined> {
    let proposal = taking.proposal;
    let Some(mine) = saved else {
        anyhow::bail!("the key group was registered before this agent confirmed it; refusing");
    };
    let file = KeyGroupFile::new(
        proposal.key_group.clone(),
        proposal.threshold,
        mine,
        proposal.roster.clone(),
        proposal.policy.clone(),
    )?;
    let served = status
        .registered
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("registered, but the coordinator sent no key group"))?;
    if KeyGroupFile::try_from(served)? != file {
        anyhow::bail!(
            "the coordinator registered another key group than the one this agent computed under \
             the proposal its approver agreed to; refusing"
        );
    }
    let bytes = mine.serialize()?;
    let confirmers = match &proposal.repair {
        Some(repair) => vec![repair.participant.id.clone()],
        None => proposal.parties(),
    };
    // One pass: each confirmation checked once, whatever the group's size.
    let digest = proposal.digest();
    let confirmed: std::collections::BTreeSet<_> = status
        .messages
        .iter()
        .filter_map(|m| SignedKeyMessage::from_bytes(m).ok())
        .filter(|m| {
            matches!(&m.message.step, KeyStep::Confirm { public_key_package } if public_key_package == &bytes)
                && crate::dkg::check_relayed(proposal, &digest, taking.id, m).is_ok()
        })
        .map(|m| m.message.participant)
        .collect();
    if let Some(who) = confirmers.iter().find(|w| !confirmed.contains(*w)) {
        anyhow::bail!("registered without {who}'s signed confirmation of this group; refusing");
    }
    if let (Some(new), Some(old)) = (&taking.files.share, &taking.files.replaces) {
        // The old share is gone once the new one takes its place.
        std::fs::rename(new, old)?;
    }
    file.save(&taking.config.key_group)?;
    Ok(Joined::Registered(file))
}

fn config_group(status: &proto::KeyCeremonyStatus) -> anyhow::Result<quorate_types::KeyGroupName> {
    Ok(quorate_types::KeyGroupName::new(&status.key_group)?)
}

fn phase_of(status: &proto::KeyCeremonyStatus) -> anyhow::Result<KeyPhase> {
    use proto::KeyCeremonyState as S;
    Ok(match status.state() {
        S::Joining => KeyPhase::Joining,
        S::Exchanging => KeyPhase::Exchanging,
        S::Confirming => KeyPhase::Confirming,
        S::Registered => KeyPhase::Registered,
        S::Failed => KeyPhase::Failed,
        S::Unspecified => anyhow::bail!("the coordinator sent a key ceremony with no state"),
    })
}

async fn connect(config: &AgentConfig) -> anyhow::Result<Client> {
    if let Some(tls) = &config.tls {
        crate::tls_files::check(tls, &config.id)?;
    }
    let (channel, identify) = config.channel().await?;
    // A large group's status (every join's commitment) can pass gRPC's
    // default 4 MiB.
    Ok(KeyCeremoniesClient::with_interceptor(channel, identify)
        .max_decoding_message_size(256 * 1024 * 1024))
}

/// The ceremony to join: `wanted`, or the only one naming this agent,
/// waiting up to a minute for one to be proposed.
async fn pending(
    client: &mut Client,
    wanted: Option<KeyCeremonyId>,
) -> anyhow::Result<proto::KeyCeremonyStatus> {
    for _ in 0..600 {
        let mut open = client
            .pending(proto::PendingKeyCeremoniesRequest {})
            .await?
            .into_inner()
            .ceremonies;
        if let Some(wanted) = &wanted {
            open.retain(|c| c.id == wanted.as_str());
        }
        match open.len() {
            0 => tokio::time::sleep(Duration::from_millis(100)).await,
            1 => return Ok(open.remove(0)),
            _ => anyhow::bail!(
                "{} key ceremonies name this agent ({}); choose one with --ceremony",
                open.len(),
                open.iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    anyhow::bail!(
        "no key ceremony names this agent after a minute; ask the operator to propose one (quorate key-group create)"
    )
}

async fn post(
    client: &mut Client,
    id: &KeyCeremonyId,
    messages: Vec<SignedKeyMessage>,
) -> anyhow::Result<()> {
    client
        .post(proto::PostKeyMessagesRequest {
            ceremony: id.to_string(),
            messages: messages.iter().map(SignedKeyMessage::to_bytes).collect(),
        })
        .await?;
    Ok(())
}
