//! A local deployment's key group made by DKG, as a real one is: each
//! agent makes its own identity key, the operator proposes the group over
//! gRPC, every agent joins and runs its side of the DKG through the
//! coordinator, and each writes its own sealed share and copy of the group
//! file. No key material passes through this process's other parts.

use std::collections::BTreeMap;

use quorate_participant::AgentConfig;
use quorate_participant::join::{Answer, Joined};
use quorate_secrets::IdentityKey;
use quorate_secrets::sealed::KdfParams;
use quorate_types::{KeyCeremonyId, KeyGroupFile, ParticipantId, Policy, PublicIdentity, Roster};
use rand_core::OsRng;

use super::Made;
use crate::client::{Clients, Target};

/// The agents' configurations, before their key group exists, and the
/// roster with each one's new identity key.
pub(super) fn agent_configs(
    roster: &Roster,
    new_agent: impl Fn(&ParticipantId) -> anyhow::Result<(AgentConfig, PublicIdentity)>,
) -> anyhow::Result<(Roster, BTreeMap<ParticipantId, AgentConfig>)> {
    let mut with_keys = roster.clone();
    let mut configs = BTreeMap::new();
    for entry in &mut with_keys.participants {
        let (config, identity) = new_agent(&entry.id)?;
        entry.identity = Some(identity);
        configs.insert(entry.id.clone(), config);
    }
    Ok((with_keys, configs))
}

/// A new agent `id` with a fresh identity key (as `quorate-participant
/// init` makes it) and no key group yet, living in `agents/<id>`.
pub(super) fn new_agent(
    d: &Made<'_>,
    id: &ParticipantId,
) -> anyhow::Result<(AgentConfig, PublicIdentity)> {
    let home = d.dir.join("agents").join(id.as_str());
    std::fs::create_dir_all(&home)?;
    let passphrase = d.passphrase(id);
    let identity_key = home.join("identity.json");
    let identity = IdentityKey::generate(id.clone(), &mut OsRng);
    identity.save(
        &identity_key,
        &passphrase,
        &KdfParams::for_random_passphrase(),
    )?;
    let config = AgentConfig {
        tls: Some(d.pki.client(id.as_str())?),
        id: id.clone(),
        coordinator: d.url.to_string().into(),
        key_share: home.join("share.json"),
        identity_key,
        passphrase: Some(passphrase),
        witnesses: Vec::new(),
        witness_quorum: None,
        witness_listen: d.agent_witnesses.get(id).map(|w| w.addr),
        alert_command: None,
        alert_webhook: None,
        log_key: Some(d.log_key.to_string()),
        key_group: home.join("group.json"),
        state_dir: super::witnesses::agent_state_dir(d.dir, id, true),
        socket: None,
        auto_approve: d.auto_approve,
        network: Default::default(),
        page: None,
        alert_webhook_ca: None,
    };
    Ok((config, identity.public()))
}

/// Proposes the group, has every agent join, and returns the registered
/// group, once all of them have written it, with its key ceremony.
pub(super) async fn make(
    operator: &Target,
    name: &str,
    roster: &Roster,
    threshold: u16,
    policy: &Policy,
    configs: &BTreeMap<ParticipantId, AgentConfig>,
) -> anyhow::Result<(KeyGroupFile, KeyCeremonyId)> {
    let mut operator = Clients::connect(operator).await?.key_ceremonies;
    let proposed =
        crate::key_group::propose(&mut operator, name, threshold, roster, policy).await?;
    let registered = take_part(&mut operator, &proposed.id, configs.values().cloned()).await;
    Ok((registered?, KeyCeremonyId::new(&proposed.id)?))
}

/// Has each of `configs` take part in key ceremony `id` (their agents
/// stopped), follows it as `operator`, and returns the group registered,
/// once every agent has written it.
pub(super) async fn take_part(
    operator: &mut crate::client::KeyCeremonies,
    id: &str,
    configs: impl Iterator<Item = AgentConfig>,
) -> anyhow::Result<KeyGroupFile> {
    let joins: Vec<_> = configs
        .map(|config| {
            let id = KeyCeremonyId::new(id);
            tokio::spawn(async move {
                quorate_participant::join::join(
                    config,
                    Some(id?),
                    &KdfParams::for_random_passphrase(),
                    |_| Answer::Join,
                )
                .await
            })
        })
        .collect();
    let registered = crate::key_group::follow(operator, id, |_| {}).await;
    for join in joins {
        let joined = join.await??;
        let registered = registered
            .as_ref()
            .map_err(|e| anyhow::anyhow!("the operator's view of key ceremony {id}: {e:#}"))?;
        match joined {
            Joined::Registered(group) if &group == registered => {}
            Joined::Registered(_) => anyhow::bail!("an agent wrote another key group"),
            Joined::Declined => anyhow::bail!("an agent declined"),
        }
    }
    registered
}

impl super::LocalDeployment {
    /// Makes a second key group, `name`, on this deployment's coordinator
    /// by DKG among new agents, one per `roster` entry (none of them an
    /// agent here yet), and starts them (without automatic approval or
    /// witnesses). Returns the registered group;
    /// [`super::LocalDeployment::group`] stays the first one, and refresh,
    /// repair and enrolment work on it alone.
    pub async fn add_key_group(
        &mut self,
        name: &str,
        roster: &Roster,
        threshold: u16,
        policy: &Policy,
    ) -> anyhow::Result<KeyGroupFile> {
        if let Some(taken) = roster.ids().find(|id| self.agent_configs.contains_key(*id)) {
            anyhow::bail!("{taken} has an agent here already: a new group takes new agents");
        }
        let (roster, configs) = agent_configs(roster, |id| self.new_agent(id))?;
        let operator = self.target(crate::local::OPERATOR)?;
        let (group, _) = make(&operator, name, &roster, threshold, policy, &configs).await?;
        for (id, config) in configs {
            self.agent_configs.insert(id.clone(), config);
            self.start_agent(&id).await?;
        }
        Ok(group)
    }
}
