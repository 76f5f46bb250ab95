//! A key group's policy: whose approvals form a quorum, who may ask, how
//! long each step may take, and what break-glass relaxes. This is the file
//! format and its validation against the roster; the decisions made with it
//! live in `quorate-ceremonies`.
//!
//! ```toml
//! requesters = ["release-manager"]
//! prevent_self_approval = true
//! veto_roles = ["security"]
//!
//! [required]          # at least this many approvals per role
//! engineering = 1
//! security = 1
//! release = 1
//!
//! [deadlines]
//! approval = "24h"
//! signing = "60s"
//! overall = "72h"
//!
//! [emergency]          # break-glass
//! declarers = ["release-manager"]
//! reviewers = ["auditor"]
//! required = { security = 1 }
//! deadlines = { approval = "1h", signing = "60s", overall = "4h" }
//!
//! [requester_keys]     # requests are signed by their requester (optional)
//! release-manager = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
//!
//! [witnesses]          # agents sign only once these cosigned their approval
//! keys = ["witness-a.example.com/w1+1a2b3c4d+BM...", "witness-b.example.org/w1+5e6f7a8b+BN..."]
//! quorum = 2
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{PublicIdentity, Roster};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Identities that may request a ceremony; empty means anyone.
    #[serde(default)]
    pub requesters: Vec<String>,
    /// The requester's own approval does not count towards the quorum.
    #[serde(default = "yes")]
    pub prevent_self_approval: bool,
    /// Approvals that form the signing set; at least t (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<u16>,
    /// At least this many approvals per role.
    #[serde(default)]
    pub required: BTreeMap<String, u16>,
    /// A rejection from one of these roles ends the ceremony.
    #[serde(default)]
    pub veto_roles: Vec<String>,
    #[serde(default)]
    pub deadlines: Deadlines,
    /// The break-glass policy; without one, break-glass is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<Emergency>,
    /// The witnesses whose cosignatures an agent requires, on a checkpoint
    /// holding its approval, before it releases a signature share; and
    /// that a ceremony's transcript must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<Witnesses>,
    /// Each requester's and break-glass declarer's identity key (hex).
    /// When any are listed, a request must be signed by its requester's
    /// key (see [`crate::signed_request`]); agents show no other.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requester_keys: BTreeMap<String, PublicIdentity>,
}

/// Witnesses of the coordinator's record (C2SP tlog-witness).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Witnesses {
    /// Their verifier keys, `<name>+<8 hex key id>+<base64(0x04 ‖ key)>`.
    pub keys: Vec<String>,
    /// How many of them must have cosigned. When the witnesses are the
    /// approvers' own agents, make it more than n - t: each signer's own
    /// witness cosigns the history that signer is shown, so the agents
    /// that do not sign must not be able to make a quorum for another.
    pub quorum: u16,
}

impl Witnesses {
    /// Checks the shape of the keys (their cryptography is checked by
    /// whoever parses them) and that the quorum can be met.
    fn validate(&self) -> Result<(), PolicyError> {
        if self.keys.is_empty() {
            return fail("witnesses.keys", "list at least one witness verifier key");
        }
        let mut names = Vec::new();
        for (i, key) in self.keys.iter().enumerate() {
            let parts: Vec<&str> = key.splitn(3, '+').collect();
            let [name, id, material] = parts.as_slice() else {
                return fail(
                    format!("witnesses.keys[{i}]"),
                    "is not <name>+<8 hex digit key id>+<base64 key>",
                );
            };
            if name.is_empty()
                || id.len() != 8
                || !id.bytes().all(|b| b.is_ascii_hexdigit())
                || material.is_empty()
            {
                return fail(
                    format!("witnesses.keys[{i}]"),
                    "is not <name>+<8 hex digit key id>+<base64 key>",
                );
            }
            if names.contains(name) {
                return fail(
                    format!("witnesses.keys[{i}]"),
                    format!("witness {name} is listed twice"),
                );
            }
            names.push(name);
        }
        if self.quorum == 0 || usize::from(self.quorum) > self.keys.len() {
            return fail(
                "witnesses.quorum",
                format!(
                    "must be between 1 and the {} witnesses listed",
                    self.keys.len()
                ),
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emergency {
    /// Identities that may declare break-glass.
    pub declarers: Vec<String>,
    /// Identities that must review a break-glass ceremony afterwards.
    pub reviewers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<u16>,
    #[serde(default)]
    pub required: BTreeMap<String, u16>,
    /// Fields left out take the break-glass defaults (1h, 60s, 4h).
    #[serde(
        default = "Deadlines::emergency",
        deserialize_with = "emergency_deadlines"
    )]
    pub deadlines: Deadlines,
}

/// Emergency deadlines whose missing fields take the emergency defaults,
/// not the normal ones.
fn emergency_deadlines<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Deadlines, D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Partial {
        #[serde(default, deserialize_with = "some_duration")]
        approval: Option<Duration>,
        #[serde(default, deserialize_with = "some_duration")]
        signing: Option<Duration>,
        #[serde(default, deserialize_with = "some_duration")]
        overall: Option<Duration>,
    }
    let p = Partial::deserialize(d)?;
    let e = Deadlines::emergency();
    Ok(Deadlines {
        approval: p.approval.unwrap_or(e.approval),
        signing: p.signing.unwrap_or(e.signing),
        overall: p.overall.unwrap_or(e.overall),
    })
}

fn some_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    humantime_serde_compat::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// From the request to the last approval needed.
    #[serde(with = "humantime_serde_compat", default = "default_approval")]
    pub approval: Duration,
    /// From sending a signing package to the last share.
    #[serde(with = "humantime_serde_compat", default = "default_signing")]
    pub signing: Duration,
    /// From the request to the signature, whatever happens.
    #[serde(with = "humantime_serde_compat", default = "default_overall")]
    pub overall: Duration,
}

fn yes() -> bool {
    true
}
fn default_approval() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_signing() -> Duration {
    Duration::from_secs(60)
}
fn default_overall() -> Duration {
    Duration::from_secs(72 * 3600)
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            approval: default_approval(),
            signing: default_signing(),
            overall: default_overall(),
        }
    }
}

impl Deadlines {
    pub fn emergency() -> Self {
        Self {
            approval: Duration::from_secs(3600),
            signing: default_signing(),
            overall: Duration::from_secs(4 * 3600),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            requesters: Vec::new(),
            prevent_self_approval: true,
            approvals: None,
            required: BTreeMap::new(),
            veto_roles: Vec::new(),
            deadlines: Deadlines::default(),
            emergency: None,
            witnesses: None,
            requester_keys: BTreeMap::new(),
        }
    }
}

/// The rules one ceremony runs under: the normal ones, or break-glass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Size of the signing set.
    pub signers: u16,
    pub required: BTreeMap<String, u16>,
    pub deadlines: Deadlines,
}

/// A policy that is malformed or cannot be met, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy {field}: {why}")]
pub struct PolicyError {
    pub field: String,
    pub why: String,
}

fn fail<T>(field: impl Into<String>, why: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError {
        field: field.into(),
        why: why.into(),
    })
}

impl Policy {
    /// Parses TOML; a syntax error names its line and column.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        toml::from_str(text).map_err(|e| PolicyError {
            field: "file".into(),
            why: e.to_string().trim_end().to_string(),
        })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    pub fn rules(&self, threshold: u16) -> Rules {
        rules(self.approvals, &self.required, self.deadlines, threshold)
    }

    pub fn emergency_rules(&self, threshold: u16) -> Option<Rules> {
        self.emergency
            .as_ref()
            .map(|e| rules(e.approvals, &e.required, e.deadlines, threshold))
    }

    /// The rules a ceremony runs under: the emergency ones for break-glass,
    /// the normal ones otherwise; `None` for break-glass without an
    /// emergency policy (which no ceremony can be).
    pub fn rules_for(&self, break_glass: bool, threshold: u16) -> Option<Rules> {
        if break_glass {
            self.emergency_rules(threshold)
        } else {
            Some(self.rules(threshold))
        }
    }

    /// Checks the policy can be met by `roster` with threshold `t`.
    pub fn validate(&self, roster: &Roster, t: u16) -> Result<(), PolicyError> {
        check_rules(
            "",
            self.approvals,
            &self.required,
            &self.deadlines,
            roster,
            t,
        )?;
        for (i, role) in self.veto_roles.iter().enumerate() {
            if !roster.participants.iter().any(|p| &p.role == role) {
                return fail(
                    format!("veto_roles[{i}]"),
                    format!("no participant of the roster has role {role:?}"),
                );
            }
        }
        if self.prevent_self_approval {
            check_self_approval(
                "prevent_self_approval",
                &self.requesters,
                roster,
                &self.rules(t),
            )?;
        }
        if let Some(e) = &self.emergency {
            if e.declarers.is_empty() {
                return fail("emergency.declarers", "name who may declare break-glass");
            }
            if e.reviewers.is_empty() {
                return fail(
                    "emergency.reviewers",
                    "name who must review break-glass ceremonies",
                );
            }
            check_rules(
                "emergency.",
                e.approvals,
                &e.required,
                &e.deadlines,
                roster,
                t,
            )?;
            if self.prevent_self_approval
                && let Some(rules) = self.emergency_rules(t)
            {
                check_self_approval("emergency.declarers", &e.declarers, roster, &rules)?;
            }
        }
        if let Some(w) = &self.witnesses {
            w.validate()?;
        }
        self.check_requester_keys()
    }

    /// With requester keys, everyone who may ask has one: a request is
    /// taken only signed.
    fn check_requester_keys(&self) -> Result<(), PolicyError> {
        if self.requester_keys.is_empty() {
            return Ok(());
        }
        let declarers = self.emergency.iter().flat_map(|e| &e.declarers);
        let askers = self.requesters.iter().map(|r| ("requesters", r));
        for (field, name) in askers.chain(declarers.map(|d| ("emergency.declarers", d))) {
            if !self.requester_keys.contains_key(name) {
                return fail(
                    "requester_keys",
                    format!(
                        "{name} (in {field}) has none: with requester keys, every request is \
                         signed, so list {name}'s identity key too"
                    ),
                );
            }
        }
        Ok(())
    }
}

/// A requester who is a participant cannot count towards its own quorum:
/// the quorum must be reachable without them.
fn check_self_approval(
    field: &str,
    requesters: &[String],
    roster: &Roster,
    rules: &Rules,
) -> Result<(), PolicyError> {
    for requester in requesters {
        let without: Vec<&str> = roster
            .participants
            .iter()
            .filter(|p| p.id.as_str() != requester)
            .map(|p| p.role.as_str())
            .collect();
        if !satisfiable(&without, rules) {
            return fail(
                field,
                format!(
                    "requester {requester} is a participant, and without their approval the quorum cannot be met (prevent_self_approval)"
                ),
            );
        }
    }
    Ok(())
}

fn rules(
    approvals: Option<u16>,
    required: &BTreeMap<String, u16>,
    deadlines: Deadlines,
    t: u16,
) -> Rules {
    let by_role: u16 = required.values().fold(0u16, |a, b| a.saturating_add(*b));
    Rules {
        signers: approvals.unwrap_or(t).max(by_role).max(t),
        required: required.clone(),
        deadlines,
    }
}

fn check_rules(
    prefix: &str,
    approvals: Option<u16>,
    required: &BTreeMap<String, u16>,
    deadlines: &Deadlines,
    roster: &Roster,
    t: u16,
) -> Result<(), PolicyError> {
    if let Some(a) = approvals
        && a < t
    {
        return fail(
            format!("{prefix}approvals"),
            format!("{a} is below the key's threshold t = {t}; no policy can go below t"),
        );
    }
    for (role, need) in required {
        let have = roster
            .participants
            .iter()
            .filter(|p| &p.role == role)
            .count();
        if usize::from(*need) > have {
            return fail(
                format!("{prefix}required.{role}"),
                format!(
                    "needs {need} approvals from {role}, but the roster has {have} {role} participant(s)"
                ),
            );
        }
    }
    let r = rules(approvals, required, *deadlines, t);
    if usize::from(r.signers) > roster.len() {
        return fail(
            format!("{prefix}approvals"),
            format!(
                "needs {} approvals, but the roster has {} participants",
                r.signers,
                roster.len()
            ),
        );
    }
    for (name, d) in [
        ("approval", deadlines.approval),
        ("signing", deadlines.signing),
        ("overall", deadlines.overall),
    ] {
        if d.is_zero() {
            return fail(
                format!("{prefix}deadlines.{name}"),
                "must be longer than zero",
            );
        }
    }
    if deadlines.approval > deadlines.overall || deadlines.signing > deadlines.overall {
        return fail(
            format!("{prefix}deadlines.overall"),
            "must be at least as long as the approval and signing deadlines",
        );
    }
    Ok(())
}

/// Whether participants with these roles can meet `rules`.
pub fn satisfiable(roles: &[&str], rules: &Rules) -> bool {
    roles.len() >= usize::from(rules.signers)
        && rules
            .required
            .iter()
            .all(|(role, need)| roles.iter().filter(|r| **r == role).count() >= usize::from(*need))
}

/// Durations as humantime strings ("24h", "60s").
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration like \"90s\" or \"24h\": {e}"
            ))
        })
    }
}

#[cfg(test)]
mod tests;
