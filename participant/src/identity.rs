//! The agent's identity key: loaded once at start and checked against the
//! roster, then used to sign each decision of its approver.

use std::time::{SystemTime, UNIX_EPOCH};

use quorate_secrets::{IdentityKey, Passphrase};
use quorate_types::batch::FollowUp;
use quorate_types::{
    CeremonyId, Decision, KeyGroupName, ParticipantId, Roster, Sha256Digest, SignedStatement,
    Statement,
};

use crate::AgentConfig;

/// Opens `config.identity_key` with `passphrase` and checks that it is this
/// participant's key as the local roster lists it.
pub fn load_identity(
    config: &AgentConfig,
    roster: &Roster,
    passphrase: &Passphrase,
) -> anyhow::Result<IdentityKey> {
    let path = &config.identity_key;
    let key = open_identity(config, passphrase)?;
    let entry = roster.get(&config.id).ok_or_else(|| {
        anyhow::anyhow!(
            "{} is not in the roster of {}",
            config.id,
            config.key_group.display()
        )
    })?;
    match entry.identity {
        None => anyhow::bail!(
            "the roster in {} lists no identity key for {}, so no one could check its approvals",
            config.key_group.display(),
            config.id
        ),
        Some(listed) if listed != key.public() => anyhow::bail!(
            "{} holds identity key {}, but the roster in {} lists {} for {}",
            path.display(),
            key.public(),
            config.key_group.display(),
            listed,
            config.id
        ),
        Some(_) => Ok(key),
    }
}

/// Opens `config.identity_key` with `passphrase` and checks that it is this
/// participant's.
pub fn open_identity(config: &AgentConfig, passphrase: &Passphrase) -> anyhow::Result<IdentityKey> {
    let path = &config.identity_key;
    if !path.exists() {
        anyhow::bail!(
            "the identity key {} does not exist; `quorate-participant init` makes one (or \
             `quorate keygen` deals one per participant), and identity_key in the agent's \
             configuration names it",
            path.display()
        );
    }
    let key = IdentityKey::load(path, passphrase)?;
    if key.participant() != &config.id {
        anyhow::bail!(
            "{} is the identity key of {}, but this agent is {}",
            path.display(),
            key.participant(),
            config.id
        );
    }
    Ok(key)
}

/// What the approver decided about one ceremony's message, as the agent
/// signs it.
pub struct DecisionOf<'a> {
    pub ceremony: &'a CeremonyId,
    pub key_group: &'a KeyGroupName,
    pub participant: &'a ParticipantId,
    pub message_sha256: Sha256Digest,
    pub break_glass: bool,
    pub decision: Decision,
    /// The batch's follow-up messages the approver saw.
    pub follow_ups: &'a [FollowUp],
}

/// Signs the decision, stamped with this machine's clock.
pub fn sign_decision(key: &IdentityKey, d: DecisionOf<'_>) -> SignedStatement {
    Statement {
        ceremony: d.ceremony.clone(),
        key_group: d.key_group.clone(),
        participant: d.participant.clone(),
        message_sha256: d.message_sha256,
        break_glass: d.break_glass,
        decision: d.decision,
        at_unix_ms: now_unix_ms(),
        follow_ups: d.follow_ups.to_vec(),
    }
    .sign(key)
}

/// This machine's clock, ms since the Unix epoch (0 if it is before it).
pub(crate) fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}
