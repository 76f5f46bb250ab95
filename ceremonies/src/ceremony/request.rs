//! What a requester asks for, and the checks a request must pass to
//! start a ceremony: the key group and roster version it names, who may
//! ask (or declare break-glass), the limits of what can be signed, and the
//! version of the rules it runs by.
//!
//! A ceremony runs by the version of the engine's rules its request names,
//! for life. A release that changes a rule (who counts, a deadline's
//! effect) gives the new rules the next number and keeps the old ones for
//! the ceremonies that run by them, so a coordinator resuming an open
//! ceremony, and an auditor replaying any ceremony, judge it as it was
//! judged. A release refuses a request naming rules it does not know:
//! it could only misjudge it.

use super::*;
use quorate_types::limits;
use quorate_types::signed_request::{self, SignedRequest};

/// What a release manager asked for. Recorded first; never changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: CeremonyId,
    pub key_group: KeyGroupName,
    /// The authenticated identity that asked.
    pub requester: String,
    /// A human label, e.g. the message's file name.
    pub label: String,
    #[serde(with = "quorate_types::hex_bytes")]
    pub message: Vec<u8>,
    pub created_at: Timestamp,
    /// Set for a break-glass ceremony: the requester's written justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<String>,
    /// What a digest-only message stands for (a git tag object whose
    /// SHA-512 the SSHSIG signed data holds); agents check it hashes to
    /// that digest before showing it. Empty for most messages.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "quorate_types::hex_bytes"
    )]
    pub context: Vec<u8>,
    /// The key group's roster the ceremony is judged by: 0 as registered,
    /// n after the nth recorded roster change.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub key_group_version: u64,
    /// Messages signed after `message`, in order, under the same
    /// approvals, each built by its rule from the signature before it (a
    /// minisign global signature). Empty for a single message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUp>,
    /// The version of the engine's rules the ceremony runs by ([`RULES`]
    /// for new requests). Left out when 1, so the requests recorded before
    /// rules had numbers (v1 entries) read as 1 and encode as they were.
    #[serde(default = "first_rules", skip_serializing_if = "is_first_rules")]
    pub rules: u32,
    /// The request as its requester signed it, when the key group's policy
    /// lists requester keys ([`quorate_types::signed_request`]). Left out
    /// when none, so requests recorded before requests were signed encode
    /// as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<SignedRequest>,
}

impl Request {
    /// What this request shows, to hold its signed request against.
    pub fn asked(&self) -> signed_request::Asked<'_> {
        signed_request::Asked {
            ceremony: &self.id,
            key_group: &self.key_group,
            requester: &self.requester,
            label: &self.label,
            message: &self.message,
            break_glass: self.break_glass.as_deref(),
            context: &self.context,
            follow_ups: &self.follow_ups,
            created_at_unix_ms: self.created_at.unix_ms(),
        }
    }
}

/// The version of the rules this release runs new ceremonies by.
pub const RULES: u32 = 1;
/// Every version of the rules this release can run a ceremony by.
pub const KNOWN_RULES: &[u32] = &[1];

fn first_rules() -> u32 {
    1
}

fn is_first_rules(n: &u32) -> bool {
    *n == 1
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Whether `request` may start a ceremony of `key_group`.
pub(super) fn check_request(request: &Request, key_group: &KeyGroup) -> Result<(), CeremonyError> {
    if !KNOWN_RULES.contains(&request.rules) {
        return Err(CeremonyError::InvalidRequest(format!(
            "it runs by version {} of the ceremony rules, which this release does not know \
             (it knows {KNOWN_RULES:?}): judge it with the release that made it, or a later one",
            request.rules
        )));
    }
    if request.key_group != key_group.name {
        return Err(CeremonyError::InvalidRequest(format!(
            "request names key group {} but was given {}",
            request.key_group, key_group.name
        )));
    }
    if request.key_group_version != key_group.version {
        return Err(CeremonyError::InvalidRequest(format!(
            "request is judged by roster version {} of key group {}, but was given version {}",
            request.key_group_version, key_group.name, key_group.version
        )));
    }
    if request.message.is_empty() {
        return Err(CeremonyError::InvalidRequest(
            "the message to sign is empty".into(),
        ));
    }
    let policy = &key_group.policy;
    match &request.break_glass {
        Some(justification) => {
            limits::check_justification(true, justification).map_err(invalid)?;
            let emergency = policy.emergency.as_ref().ok_or_else(|| {
                CeremonyError::InvalidRequest(format!(
                    "key group {} has no emergency policy, so break-glass is not possible",
                    key_group.name
                ))
            })?;
            if !emergency.declarers.contains(&request.requester) {
                return Err(CeremonyError::NotAllowed {
                    who: request.requester.clone(),
                    action: format!("declare break-glass for key group {}", key_group.name),
                });
            }
        }
        None => {
            if !policy.requesters.is_empty() && !policy.requesters.contains(&request.requester) {
                return Err(CeremonyError::NotAllowed {
                    who: request.requester.clone(),
                    action: format!("request ceremonies for key group {}", key_group.name),
                });
            }
        }
    }
    signed_request::check(policy, request.signed.as_ref(), &request.asked()).map_err(|e| {
        CeremonyError::NotAllowed {
            who: request.requester.clone(),
            action: format!("request ceremonies for key group {}: {e}", key_group.name),
        }
    })?;
    limits::check_message(&request.message).map_err(invalid)?;
    limits::check_context(&request.context).map_err(invalid)?;
    limits::check_label(&request.label).map_err(invalid)?;
    batch::check(&request.follow_ups)
        .map_err(|e| CeremonyError::InvalidRequest(format!("follow_ups: {e}")))?;
    Ok(())
}

fn invalid(e: limits::LimitError) -> CeremonyError {
    CeremonyError::InvalidRequest(e.to_string())
}
