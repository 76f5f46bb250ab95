//! A whole deployment on loopback in this process: a coordinator on redb in
//! a directory, one agent per roster entry, and a registered key group.
//! The quickstart runs one; the end-to-end tests run many.

mod dkg;
pub mod ports;
pub mod witnesses;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quorate_coordinator::store::Opener;
use quorate_coordinator::{Config, RunningCoordinator};
use quorate_participant::{AgentConfig, RunningAgent};
use quorate_types::KeyGroupFile;
use quorate_types::{KeyCeremonyId, KeyGroupName, ParticipantId, Policy, Roster};
use quorate_wire as proto;

use crate::client::{Clients, Target};
use crate::keygen;
use crate::pki::LocalPki;
use quorate_coordinator::authz::{Party, Role};
use quorate_wire::coordinators::Coordinators;
use quorate_wire::tls::TlsFiles;

pub struct LocalDeployment {
    pub dir: PathBuf,
    pub coordinator: Option<RunningCoordinator>,
    pub coordinator_config: Config,
    pub group: KeyGroupFile,
    /// The throwaway CA that issued every certificate here.
    pub pki: LocalPki,
    /// The record's verifier key (C2SP signed-note format).
    pub log_verifier_key: String,
    pub agents: BTreeMap<ParticipantId, RunningAgent>,
    pub agent_configs: BTreeMap<ParticipantId, AgentConfig>,
    /// The key ceremony that made the key group, when it was made by DKG.
    pub key_ceremony: Option<quorate_types::KeyCeremonyId>,
    /// The witnesses cosigning the record's checkpoints, if any.
    pub witnesses: Vec<witnesses::LocalWitness>,
    /// How the coordinator opens its database, if not from its file.
    store: Option<Opener>,
    /// The requesters' identity keys, when requests are signed.
    requester_keys: BTreeMap<String, quorate_secrets::IdentityKey>,
    /// Where other replicas of the coordinator serve (over PostgreSQL),
    /// after `coordinator_config.listen`: clients try them in turn
    /// ([`LocalDeployment::add_replica`]).
    replicas: Vec<std::net::SocketAddr>,
    /// The sockets the agents that are witnesses serve on, bound for the
    /// deployment's life so that a restarted agent finds its port.
    witness_sockets: BTreeMap<ParticipantId, std::sync::Arc<std::net::TcpListener>>,
    /// While an agent that is a witness is stopped: closes each connection
    /// to its socket at once, as a port nobody serves would refuse it.
    witness_refusers: BTreeMap<ParticipantId, witnesses::Refuser>,
}

/// What a local deployment may be started with.
#[derive(Default)]
pub struct Options {
    pub policy: Policy,
    /// The coordinator's break-glass alert command.
    pub alert_command: Option<Vec<String>>,
    /// The coordinator's break-glass alert webhook.
    pub alert_webhook: Option<String>,
    /// The CA file of an `https://` `alert_webhook`.
    pub alert_webhook_ca: Option<PathBuf>,
    /// The coordinator's abuse limits.
    pub limits: quorate_coordinator::limits::Limits,
    /// Start every agent approving every request without asking (the
    /// benchmarks' automated approvers).
    pub auto_approve: bool,
    /// How the coordinator opens its database at every start (tests of
    /// disk faults); `None`: its file in the data directory.
    pub store: Option<Opener>,
    /// Keep the coordinator's record in PostgreSQL at this URL (an empty
    /// database) instead of its embedded store.
    pub postgres: Option<String>,
    /// Have every agent serve its approver's page on loopback (a port of
    /// its own; [`LocalDeployment::page_login`] gives the link).
    pub pages: bool,
    /// Make the key group by DKG among the agents (as the quickstart
    /// does) instead of dealing it here.
    pub dkg: bool,
    /// Make every agent a witness too (`witness_listen`), have the
    /// coordinator ask them to cosign its checkpoints, and (unless the
    /// policy names others) require max(t, n - t + 1) of them in the key
    /// group's policy.
    pub agent_witnesses: bool,
    /// Run this many witnesses in this process, have the coordinator ask
    /// them to cosign its checkpoints, and (unless the policy names others)
    /// name them all in the key group's policy.
    pub witnesses: usize,
    /// Give the requesters ([`REQUESTER`], [`DEPUTY`]) identity keys, list
    /// them in the policy's requester_keys (unless it lists some), and
    /// sign their requests ([`LocalDeployment::sign_request`]).
    pub signed_requests: bool,
}

/// Where a local deployment's agents live and what they trust.
struct Made<'a> {
    dir: &'a Path,
    pki: &'a LocalPki,
    url: &'a str,
    log_key: &'a str,
    /// The agents that are witnesses too, with where they listen.
    agent_witnesses: &'a BTreeMap<ParticipantId, witnesses::AgentWitness>,
    /// Each agent's passphrase: a random 256-bit one that no one types,
    /// handed to the agent in this process only. Agents not listed get a
    /// fresh one.
    passphrases: &'a BTreeMap<ParticipantId, quorate_secrets::Passphrase>,
    auto_approve: bool,
}

impl Made<'_> {
    fn passphrase(&self, id: &ParticipantId) -> quorate_secrets::Passphrase {
        self.passphrases
            .get(id)
            .cloned()
            .unwrap_or_else(quorate_secrets::Passphrase::random)
    }
}

/// Deals the key group on this machine (the offline trusted dealer),
/// registers it, and returns it with each agent's configuration.
async fn deal(
    made: &Made<'_>,
    operator: &Target,
    name: &str,
    roster: &Roster,
    threshold: u16,
    policy: Policy,
) -> anyhow::Result<(KeyGroupFile, BTreeMap<ParticipantId, AgentConfig>)> {
    let dir = made.dir;
    let dealt = keygen::deal(KeyGroupName::new(name)?, roster, threshold, policy)?;
    let passphrases: BTreeMap<ParticipantId, quorate_secrets::Passphrase> = roster
        .ids()
        .map(|id| (id.clone(), made.passphrase(id)))
        .collect();
    let written = keygen::write(
        &dealt,
        &dir.join("keys"),
        &passphrases,
        &quorate_secrets::sealed::KdfParams::for_random_passphrase(),
    )?;
    Clients::connect(operator)
        .await?
        .key_groups
        .register(proto::RegisterKeyGroupRequest {
            key_group: Some(proto::KeyGroup::from(&dealt.group)),
        })
        .await?;
    let mut configs = BTreeMap::new();
    for (entry, files) in roster.participants.iter().zip(written) {
        let identity_key = files.identity.ok_or_else(|| {
            anyhow::anyhow!(
                "a local deployment makes every identity key; {} brought one",
                entry.id
            )
        })?;
        let config = AgentConfig {
            tls: Some(made.pki.client(entry.id.as_str())?),
            id: entry.id.clone(),
            coordinator: made.url.to_string().into(),
            key_share: files.share,
            identity_key,
            passphrase: passphrases.get(&entry.id).cloned(),
            witnesses: Vec::new(),
            witness_quorum: None,
            witness_listen: made.agent_witnesses.get(&entry.id).map(|w| w.addr),
            alert_command: None,
            alert_webhook: None,
            log_key: Some(made.log_key.to_string()),
            key_group: dir.join("keys").join("group.json"),
            state_dir: witnesses::agent_state_dir(dir, &entry.id, false),
            socket: None,
            auto_approve: made.auto_approve,
            network: Default::default(),
            page: None,
            alert_webhook_ca: None,
        };
        configs.insert(entry.id.clone(), config);
    }
    Ok((dealt.group, configs))
}

/// Release managers' identity in local deployments.
pub const REQUESTER: &str = "release-manager";
/// A second requester of local deployments, whom key groups' policies may
/// leave out.
pub const DEPUTY: &str = "release-deputy";
/// The auditor of local deployments.
pub const AUDITOR: &str = "auditor";
/// Who registers key groups in local deployments.
pub const OPERATOR: &str = "operator";

async fn start_coordinator(
    config: &Config,
    store: Option<Opener>,
) -> anyhow::Result<RunningCoordinator> {
    let clock = std::sync::Arc::new(quorate_coordinator::clock::SystemClock);
    quorate_coordinator::start_with_store(config, clock, store).await
}

fn party(name: &str, role: Role) -> Party {
    Party {
        name: name.into(),
        roles: vec![role],
    }
}

impl LocalDeployment {
    /// Starts a coordinator in `dir/coordinator`, deals a key group named
    /// `name` into `dir/keys`, registers it, and starts every agent.
    pub async fn start(
        dir: &Path,
        name: &str,
        roster: &Roster,
        threshold: u16,
    ) -> anyhow::Result<Self> {
        Self::start_with(dir, name, roster, threshold, Options::default()).await
    }

    /// As [`Self::start`], with a policy and an alert command.
    pub async fn start_with(
        dir: &Path,
        name: &str,
        roster: &Roster,
        threshold: u16,
        options: Options,
    ) -> anyhow::Result<Self> {
        let Options {
            mut policy,
            alert_command,
            alert_webhook,
            alert_webhook_ca,
            limits,
            auto_approve,
            store,
            dkg,
            witnesses: witness_count,
            agent_witnesses,
            signed_requests,
            pages,
            postgres,
        } = options;
        let requester_keys: BTreeMap<String, quorate_secrets::IdentityKey> = if signed_requests {
            [REQUESTER, DEPUTY]
                .into_iter()
                .map(|name| {
                    let id = ParticipantId::new(name)?;
                    let key = quorate_secrets::IdentityKey::generate(id, &mut rand_core::OsRng);
                    Ok((name.to_string(), key))
                })
                .collect::<anyhow::Result<_>>()?
        } else {
            BTreeMap::new()
        };
        if policy.requester_keys.is_empty() {
            policy.requester_keys = requester_keys
                .iter()
                .map(|(name, key)| (name.clone(), key.public()))
                .collect();
        }
        let pki = LocalPki::create(&dir.join("tls"))?;
        let server = pki.server()?;
        // Witnesses follow the log by its key, so the key is made first.
        let local_witnesses = if witness_count > 0 {
            let origin = quorate_coordinator::config::default_origin();
            std::fs::create_dir_all(dir.join("coordinator"))?;
            let log_key =
                quorate_coordinator::log_key::load_or_create(&dir.join("coordinator"), &origin, 0)?;
            witnesses::start(dir, &log_key.verifier_key(), witness_count).await?
        } else {
            Vec::new()
        };
        // The key group's policy names them: agents require all of them.
        if !local_witnesses.is_empty() && policy.witnesses.is_none() {
            policy.witnesses = Some(quorate_types::Witnesses {
                keys: local_witnesses.iter().map(|w| w.vkey.clone()).collect(),
                quorum: u16::try_from(local_witnesses.len())?,
            });
        }
        // Each agent's key files are sealed with a random 256-bit
        // passphrase that no one types.
        let passphrases: BTreeMap<ParticipantId, quorate_secrets::Passphrase> = roster
            .ids()
            .map(|id| (id.clone(), quorate_secrets::Passphrase::random()))
            .collect();
        let agent_witnesses = if agent_witnesses {
            witnesses::agents(dir, roster, dkg, &passphrases)?
        } else {
            BTreeMap::new()
        };
        if !agent_witnesses.is_empty() && policy.witnesses.is_none() {
            // Above n - t: the agents that do not sign cannot make a
            // quorum for another history by themselves.
            let n = u16::try_from(agent_witnesses.len())?;
            policy.witnesses = Some(quorate_types::Witnesses {
                keys: agent_witnesses.values().map(|w| w.vkey.clone()).collect(),
                quorum: threshold.max(n - threshold + 1),
            });
        }
        let coordinator_config = Config {
            tls: Some(quorate_coordinator::tls::ServerTls {
                cert: server.cert,
                key: server.key,
                client_ca: server.client_ca,
            }),
            insecure_plaintext: false,
            parties: vec![
                party(REQUESTER, Role::Requester),
                party(DEPUTY, Role::Requester),
                party(AUDITOR, Role::Auditor),
                party(OPERATOR, Role::Operator),
            ],
            // Restarts come back on the same ports: not ephemeral ones,
            // which a client's connection could take while it is down.
            listen: ports::unused_loopback()?,
            data_dir: dir.join("coordinator"),
            store: postgres
                .as_deref()
                .map(quorate_coordinator::config::StoreUrl::new)
                .transpose()?,
            store_ca: None,
            replica: None,
            advertise: None,
            metrics_listen: Some("127.0.0.1:0".parse()?),
            page_listen: pages.then(ports::unused_loopback).transpose()?,
            alert_command,
            alert_webhook,
            alert_webhook_ca,
            log_origin: quorate_coordinator::config::default_origin(),
            limits,
            witnesses: local_witnesses
                .iter()
                .map(|w| w.config())
                .chain(agent_witnesses.values().map(|w| w.config()))
                .collect(),
        };
        let coordinator = start_coordinator(&coordinator_config, store.clone()).await?;
        // Restarts must come back on the same port.
        let coordinator_config = Config {
            listen: coordinator.addr,
            page_listen: coordinator.page_addr,
            ..coordinator_config
        };
        let log_key = coordinator.log_verifier_key.clone();
        let url = format!("https://{}", coordinator_config.listen);
        let operator = Target {
            url: url.clone(),
            identity: OPERATOR.into(),
            tls: Some(pki.client(OPERATOR)?),
        };
        let made = Made {
            dir,
            pki: &pki,
            url: &url,
            log_key: &log_key,
            agent_witnesses: &agent_witnesses,
            passphrases: &passphrases,
            auto_approve,
        };
        let (group, agent_configs, key_ceremony) = if dkg {
            let (roster, configs) = dkg::agent_configs(roster, |id| dkg::new_agent(&made, id))?;
            let (group, id) =
                dkg::make(&operator, name, &roster, threshold, &policy, &configs).await?;
            (group, configs, Some(id))
        } else {
            let (group, configs) = deal(&made, &operator, name, roster, threshold, policy).await?;
            (group, configs, None)
        };
        let mut agent_configs = agent_configs;
        if pages {
            for config in agent_configs.values_mut() {
                config.page = Some(quorate_participant::page::PageConfig {
                    listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                    cert: None,
                    key: None,
                });
            }
        }
        let mut deployment = Self {
            dir: dir.to_owned(),
            coordinator: Some(coordinator),
            coordinator_config,
            group,
            pki,
            log_verifier_key: log_key,
            agents: BTreeMap::new(),
            agent_configs,
            key_ceremony,
            witnesses: local_witnesses,
            store,
            requester_keys,
            replicas: Vec::new(),
            witness_sockets: agent_witnesses
                .iter()
                .map(|(id, w)| (id.clone(), w.socket.clone()))
                .collect(),
            witness_refusers: BTreeMap::new(),
        };
        let ids: Vec<_> = deployment.agent_configs.keys().cloned().collect();
        for id in ids {
            deployment.start_agent(&id).await?;
        }
        Ok(deployment)
    }

    /// A new agent `id` with a fresh identity key and no key group yet (to
    /// join one made by DKG), living in `agents/<id>` of this deployment.
    pub fn new_agent(
        &self,
        id: &ParticipantId,
    ) -> anyhow::Result<(AgentConfig, quorate_types::PublicIdentity)> {
        let url = self.url();
        let made = Made {
            dir: &self.dir,
            pki: &self.pki,
            url: &url,
            log_key: &self.log_verifier_key,
            agent_witnesses: &BTreeMap::new(),
            passphrases: &BTreeMap::new(),
            auto_approve: false,
        };
        dkg::new_agent(&made, id)
    }

    /// Refreshes the key group's shares by a key ceremony, removing
    /// `remove`: every agent is stopped, those who stay take part and are
    /// started again with their new shares; the removed stay stopped (their
    /// configuration, and old share, are kept). Returns the key ceremony.
    pub async fn refresh(&mut self, remove: &[ParticipantId]) -> anyhow::Result<KeyCeremonyId> {
        let ids = self.members_running();
        for id in &ids {
            self.stop_agent(id).await;
        }
        let mut operator = self.clients(OPERATOR).await?.key_ceremonies;
        let removed: Vec<String> = remove.iter().map(|p| p.to_string()).collect();
        let proposed =
            crate::key_group::propose_refresh(&mut operator, self.group.name.as_str(), &removed)
                .await?;
        let staying: Vec<_> = self
            .group
            .roster
            .ids()
            .filter(|p| !remove.contains(p))
            .cloned()
            .collect();
        let configs = staying
            .iter()
            .filter_map(|p| self.agent_configs.get(p).cloned());
        self.group = dkg::take_part(&mut operator, &proposed.id, configs).await?;
        for id in &staying {
            self.start_agent(id).await?;
        }
        Ok(KeyCeremonyId::new(&proposed.id)?)
    }

    /// `who` lost their share (its file is deleted here): `helpers` rebuild
    /// it by a key ceremony. Their agents and `who`'s are stopped while it
    /// runs and started again after. Returns the key ceremony.
    pub async fn repair(
        &mut self,
        who: &ParticipantId,
        helpers: &[ParticipantId],
    ) -> anyhow::Result<KeyCeremonyId> {
        let entry = self
            .group
            .roster
            .get(who)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{who} holds no share"))?;
        if let Some(share) = self.agent_configs.get(who).map(|c| c.key_share.clone()) {
            self.stop_agent(who).await;
            std::fs::remove_file(share)?;
        }
        self.rebuild(entry, helpers, false).await
    }

    /// Enrols `who` (a new agent, with a fresh identity key, in role
    /// `role`) under the same group key: `helpers` make their share.
    pub async fn enrol(
        &mut self,
        who: &ParticipantId,
        role: &str,
        helpers: &[ParticipantId],
    ) -> anyhow::Result<KeyCeremonyId> {
        let (config, identity) = self.new_agent(who)?;
        self.agent_configs.insert(who.clone(), config);
        let entry = quorate_types::RosterEntry {
            id: who.clone(),
            name: who.to_string(),
            role: role.to_string(),
            coordinator: None,
            identity: Some(identity),
        };
        self.rebuild(entry, helpers, true).await
    }

    /// The running agents of [`Self::group`]'s members (not those of a
    /// group added with [`Self::add_key_group`]).
    fn members_running(&self) -> Vec<ParticipantId> {
        self.agents
            .keys()
            .filter(|id| self.group.roster.get(id).is_some())
            .cloned()
            .collect()
    }

    async fn rebuild(
        &mut self,
        entry: quorate_types::RosterEntry,
        helpers: &[ParticipantId],
        enrol: bool,
    ) -> anyhow::Result<KeyCeremonyId> {
        for id in helpers {
            self.stop_agent(id).await;
        }
        let mut operator = self.clients(OPERATOR).await?.key_ceremonies;
        let names: Vec<String> = helpers.iter().map(|h| h.to_string()).collect();
        let proposed = crate::key_group::propose_repair(
            &mut operator,
            self.group.name.as_str(),
            &entry,
            &names,
            enrol,
        )
        .await?;
        let parties: Vec<_> = helpers.iter().chain([&entry.id]).cloned().collect();
        let configs = parties
            .iter()
            .filter_map(|p| self.agent_configs.get(p).cloned());
        self.group = dkg::take_part(&mut operator, &proposed.id, configs).await?;
        // The operator hands the new group.json to the agents that took no
        // part: each checks signing sets against its own copy.
        let others: Vec<_> = self
            .members_running()
            .into_iter()
            .filter(|p| !parties.contains(p))
            .collect();
        for id in others {
            self.stop_agent(&id).await;
            if let Some(config) = self.agent_configs.get(&id) {
                quorate_secrets::GroupFileIo::save(&self.group, &config.key_group)?;
            }
            self.start_agent(&id).await?;
        }
        for id in &parties {
            self.start_agent(id).await?;
        }
        Ok(KeyCeremonyId::new(&proposed.id)?)
    }

    /// Where the running coordinator serves `/metrics`.
    /// Signs `request` as `requester`, when this deployment signs
    /// requests ([`Options::signed_requests`]); else leaves it as it is.
    pub fn sign_request(
        &self,
        requester: &str,
        request: &mut proto::CreateCeremonyRequest,
    ) -> anyhow::Result<()> {
        match self.requester_keys.get(requester) {
            Some(key) => crate::request::sign(request, key, crate::request::now_unix_ms()),
            None => Ok(()),
        }
    }

    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.coordinator.as_ref().and_then(|c| c.metrics_addr)
    }

    /// Adds a replica of the coordinator serving at `listen`: clients
    /// and agents' configurations list it after the others (agents
    /// running now keep theirs until they start again).
    pub fn add_replica(&mut self, listen: std::net::SocketAddr) {
        self.replicas.push(listen);
        let addresses = self.addresses();
        for config in self.agent_configs.values_mut() {
            config.coordinator = Coordinators::new(addresses.clone())
                .unwrap_or_else(|e| unreachable!("a non-empty list of addresses: {e}"));
        }
    }

    /// Gives each agent the coordinator's addresses in its own order, the
    /// k-th agent's list starting from the k-th address: each keeps its
    /// feed on another replica (restart the agents to take it up).
    pub fn spread_agents(&mut self) {
        let addresses = self.addresses();
        for (k, config) in self.agent_configs.values_mut().enumerate() {
            let mut mine = addresses.clone();
            mine.rotate_left(k % addresses.len());
            config.coordinator = Coordinators::new(mine)
                .unwrap_or_else(|e| unreachable!("a non-empty list of addresses: {e}"));
        }
    }

    fn addresses(&self) -> Vec<String> {
        std::iter::once(&self.coordinator_config.listen)
            .chain(&self.replicas)
            .map(|a| format!("https://{a}"))
            .collect()
    }

    /// The coordinator's address, then its other replicas', separated by
    /// commas.
    pub fn url(&self) -> String {
        self.addresses().join(",")
    }

    /// The auditors' page, when the coordinator serves one
    /// (`Options::pages`): `https://127.0.0.1:<port>/`.
    pub fn page_url(&self) -> Option<String> {
        self.coordinator_config
            .page_listen
            .map(|addr| format!("https://{addr}/"))
    }

    pub async fn clients(&self, identity: &str) -> anyhow::Result<Clients> {
        Clients::connect(&self.target(identity)?).await
    }

    /// How `identity` reaches the coordinator: with a client certificate
    /// from this deployment's CA (made on first use).
    pub fn target(&self, identity: &str) -> anyhow::Result<Target> {
        Ok(Target {
            url: self.url(),
            identity: identity.to_string(),
            tls: Some(self.tls_files(identity)?),
        })
    }

    /// `identity`'s TLS files, issued on first use.
    pub fn tls_files(&self, identity: &str) -> anyhow::Result<TlsFiles> {
        self.pki.client(identity)
    }

    /// The login link of `id`'s approver's page (with `Options::pages`).
    pub fn page_login(&self, id: &ParticipantId) -> anyhow::Result<String> {
        let base = self
            .agents
            .get(id)
            .and_then(|a| a.page.clone())
            .ok_or_else(|| anyhow::anyhow!("agent {id} is not running, or serves no page"))?;
        let config = self
            .agent_configs
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("no agent {id}"))?;
        let token =
            std::fs::read_to_string(quorate_participant::page::token_path(&config.state_dir))?;
        Ok(quorate_participant::page::login_url(&base, token.trim()))
    }

    pub async fn start_agent(&mut self, id: &ParticipantId) -> anyhow::Result<()> {
        let config = self
            .agent_configs
            .get(id)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no agent {id}"))?;
        if let Some(refuser) = self.witness_refusers.remove(id) {
            refuser.stop().await;
        }
        let sockets = quorate_participant::Sockets {
            witness: self
                .witness_sockets
                .get(id)
                .map(|s| s.try_clone())
                .transpose()?,
        };
        let agent = quorate_participant::start_with(config, sockets).await?;
        self.agents.insert(id.clone(), agent);
        Ok(())
    }

    /// Restarts an agent with automatic approval switched on or off.
    pub async fn set_auto_approve(&mut self, id: &ParticipantId, on: bool) -> anyhow::Result<()> {
        self.stop_agent(id).await;
        if let Some(config) = self.agent_configs.get_mut(id) {
            config.auto_approve = on;
        }
        self.start_agent(id).await
    }

    /// Stops an agent as a crash would: its nonces are gone; its journal stays.
    pub async fn stop_agent(&mut self, id: &ParticipantId) {
        if let Some(agent) = self.agents.remove(id) {
            agent.stop().await;
            if let Some(socket) = self.witness_sockets.get(id) {
                match witnesses::refuse_on(socket) {
                    Ok(refuser) => {
                        self.witness_refusers.insert(id.clone(), refuser);
                    }
                    Err(e) => {
                        tracing::warn!(agent = %id, error = %e, "cannot close connections to the stopped agent's witness")
                    }
                }
            }
        }
    }

    pub async fn stop_coordinator(&mut self) -> anyhow::Result<()> {
        if let Some(c) = self.coordinator.take() {
            c.stop().await?;
        }
        Ok(())
    }

    pub async fn start_coordinator(&mut self) -> anyhow::Result<()> {
        self.coordinator =
            Some(start_coordinator(&self.coordinator_config, self.store.clone()).await?);
        Ok(())
    }

    /// The control-socket client of an agent, as its approver uses it.
    pub async fn control(
        &self,
        id: &ParticipantId,
    ) -> anyhow::Result<proto::agent_control_client::AgentControlClient<tonic::transport::Channel>>
    {
        let config = self
            .agent_configs
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("no agent {id}"))?;
        quorate_participant::control::connect(&config.socket_path()).await
    }

    /// Waits until the agent of `id` has been told of `ceremony`.
    pub async fn wait_pending(
        &self,
        id: &ParticipantId,
        ceremony: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let mut control = self.control(id).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pending = control
                .pending(proto::PendingRequest {})
                .await?
                .into_inner();
            if pending
                .reviews
                .iter()
                .any(|r| r.ceremony.as_ref().is_some_and(|c| c.id == ceremony))
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("agent {id} was not told of ceremony {ceremony} within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The approver of `id` approves `ceremony` through its agent.
    pub async fn approve(
        &self,
        id: &ParticipantId,
        ceremony: &str,
        timeout: Duration,
    ) -> anyhow::Result<proto::Review> {
        self.wait_pending(id, ceremony, timeout).await?;
        Ok(self
            .control(id)
            .await?
            .approve(proto::DecideRequest {
                ceremony: ceremony.into(),
                reason: String::new(),
            })
            .await?
            .into_inner())
    }

    /// Waits until `ceremony` is finished, or `timeout`.
    pub async fn wait_finished(
        &self,
        ceremony: &str,
        timeout: Duration,
    ) -> anyhow::Result<proto::CeremonyStatus> {
        let mut clients = self.clients(REQUESTER).await?;
        let watch = async {
            let mut stream = clients
                .ceremonies
                .watch(proto::GetCeremonyRequest {
                    id: ceremony.into(),
                })
                .await?
                .into_inner();
            let mut last = None;
            while let Some(status) = stream.message().await? {
                last = Some(status);
            }
            last.ok_or_else(|| anyhow::anyhow!("no status for ceremony {ceremony}"))
        };
        tokio::time::timeout(timeout, watch)
            .await
            .map_err(|_| anyhow::anyhow!("ceremony {ceremony} did not finish within {timeout:?}"))?
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        let ids: Vec<_> = self.agents.keys().cloned().collect();
        for id in ids {
            self.stop_agent(&id).await;
        }
        // Nothing serves the agents' witness sockets any more.
        for (_, refuser) in std::mem::take(&mut self.witness_refusers) {
            refuser.stop().await;
        }
        self.stop_coordinator().await?;
        for witness in &mut self.witnesses {
            witness.stop().await?;
        }
        Ok(())
    }
}

/// Whether a status is final.
pub fn is_finished(status: &proto::CeremonyStatus) -> bool {
    !proto::convert::is_open(status.state())
}

/// The quickstart's roster: two engineering, two security, one release.
pub fn sample_roster(coordinator: Option<&str>) -> Roster {
    let entry = |id: &str, name: &str, role: &str| quorate_types::RosterEntry {
        id: ParticipantId::new(id).unwrap_or_else(|_| unreachable!("valid literal")),
        name: name.into(),
        role: role.into(),
        coordinator: coordinator.map(str::to_string),
        identity: None,
    };
    Roster {
        participants: vec![
            entry("alice", "Alice (engineering)", "engineering"),
            entry("bob", "Bob (engineering)", "engineering"),
            entry("carol", "Carol (security)", "security"),
            entry("dave", "Dave (security)", "security"),
            entry("erin", "Erin (release)", "release"),
        ],
    }
}
