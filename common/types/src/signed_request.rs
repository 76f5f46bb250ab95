//! Requesters' signed requests.
//!
//! A key group whose policy lists `requester_keys` takes only requests
//! signed by the requester's identity key, so the requester's name, which
//! the requesters list, break-glass and the self-approval rule depend on,
//! is the requester's word and not the coordinator's. The signed bytes are
//! `quorate-request/v1\n` followed by the [`RequestStatement`]'s JSON,
//! fields in the order declared here and no spaces.
//!
//! A signed request makes one ceremony, ever: the ceremony's id is the one
//! its requester and request id make ([`CeremonyId::of_request`]), so a
//! coordinator that replays a signed request gets the ceremony it already
//! made. [`check`] is the one rule, and every party runs it: the
//! coordinator before it records the request, the engine (so replay
//! checks it too), and each agent before it shows the request and again,
//! from the record, before it releases a share.

use serde::{Deserialize, Serialize};

use crate::batch::FollowUp;
use crate::identity::PublicIdentity;
use crate::statement::{Signature, StatementSigner};
use crate::{CeremonyId, KeyGroupName, Policy, RequestId, Sha256Digest};

pub const REQUEST_CONTEXT: &[u8] = b"quorate-request/v1\n";

/// What a requester asked for, in its own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestStatement {
    pub key_group: KeyGroupName,
    pub requester: String,
    /// The requester's own name for the request: with `requester`, it
    /// names the ceremony.
    pub request_id: RequestId,
    pub label: String,
    /// SHA-256 of the exact bytes to sign.
    pub message_sha256: Sha256Digest,
    /// Break-glass, with the requester's justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<String>,
    /// SHA-256 of the request's context, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_sha256: Option<Sha256Digest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<FollowUp>,
    /// The requester's clock when it signed, ms since the Unix epoch.
    pub at_unix_ms: i64,
}

impl RequestStatement {
    /// The bytes the identity key signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        crate::prefixed_json::encode(REQUEST_CONTEXT, self)
    }

    pub fn sign(self, key: &impl StatementSigner) -> SignedRequest {
        let signature = key.sign_bytes(&self.signed_bytes());
        SignedRequest {
            request: self,
            signature: Signature(signature),
        }
    }
}

/// A request and its requester's identity-key signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRequest {
    pub request: RequestStatement,
    pub signature: Signature,
}

impl SignedRequest {
    pub fn verify(&self, key: &PublicIdentity) -> bool {
        key.verify(&self.request.signed_bytes(), &self.signature.0)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a signed request: {e}"))
    }
}

/// What a ceremony says was asked, to hold its signed request against.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub ceremony: &'a CeremonyId,
    pub key_group: &'a KeyGroupName,
    pub requester: &'a str,
    pub label: &'a str,
    pub message: &'a [u8],
    pub break_glass: Option<&'a str>,
    pub context: &'a [u8],
    pub follow_ups: &'a [FollowUp],
    /// When the coordinator made the ceremony, ms since the Unix epoch.
    pub created_at_unix_ms: i64,
}

/// How long before its ceremony is made a signed request may be signed:
/// a coordinator cannot keep one back and start it later.
pub const MAX_REQUEST_AGE_MS: i64 = 10 * 60 * 1000;
/// How far the requester's clock may be ahead of the coordinator's.
pub const REQUEST_CLOCK_SKEW_MS: i64 = 60 * 1000;

/// Why a ceremony's request does not stand as its requester's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error(
        "the key group's policy takes only requests signed by the requester's identity key, \
         and this one is unsigned"
    )]
    Unsigned,
    #[error(
        "the key group's policy lists no requester keys, so a signed request cannot be \
         checked: send it unsigned, or list the requester's key in requester_keys"
    )]
    Unexpected,
    #[error("requester {0} has no key in the key group's policy (requester_keys)")]
    NoKey(String),
    #[error("the request is signed as {signed}'s, but it is {shown}'s")]
    OtherRequester { signed: String, shown: String },
    #[error("the request's signature does not verify under {0}'s key in the policy")]
    BadSignature(String),
    #[error("the signed request's {0} is not the ceremony's")]
    Differs(&'static str),
    #[error(
        "the request was signed {minutes} minutes before its ceremony was made; a signed \
         request is good for {} minutes: sign it again",
        MAX_REQUEST_AGE_MS / 60_000
    )]
    Stale { minutes: i64 },
    #[error("the request is signed {seconds} s after its ceremony was made: a clock is wrong")]
    FromTheFuture { seconds: i64 },
    #[error(
        "the ceremony's id is not the one its signed request makes (request id {0}): a signed \
         request makes one ceremony"
    )]
    OtherCeremony(RequestId),
}

/// Whether `signed` is a request `asked` may stand on under `policy`: none
/// when the policy lists no requester keys; else signed by the key listed
/// for its requester, over exactly what the ceremony shows, at most
/// [`MAX_REQUEST_AGE_MS`] before the ceremony was made, and for this
/// ceremony.
pub fn check(
    policy: &Policy,
    signed: Option<&SignedRequest>,
    asked: &Asked<'_>,
) -> Result<(), RequestError> {
    if policy.requester_keys.is_empty() {
        return match signed {
            None => Ok(()),
            Some(_) => Err(RequestError::Unexpected),
        };
    }
    let signed = signed.ok_or(RequestError::Unsigned)?;
    let r = &signed.request;
    if r.requester != asked.requester {
        return Err(RequestError::OtherRequester {
            signed: r.requester.clone(),
            shown: asked.requester.to_string(),
        });
    }
    let key = policy
        .requester_keys
        .get(&r.requester)
        .ok_or_else(|| RequestError::NoKey(r.requester.clone()))?;
    if !signed.verify(key) {
        return Err(RequestError::BadSignature(r.requester.clone()));
    }
    let context = (!asked.context.is_empty()).then(|| Sha256Digest::of(asked.context));
    let differs = [
        ("key group", &r.key_group != asked.key_group),
        ("label", r.label != asked.label),
        (
            "message",
            r.message_sha256 != Sha256Digest::of(asked.message),
        ),
        ("break-glass", r.break_glass.as_deref() != asked.break_glass),
        ("context", r.context_sha256 != context),
        ("follow-ups", r.follow_ups != asked.follow_ups),
    ];
    if let Some((what, _)) = differs.iter().find(|(_, differs)| *differs) {
        return Err(RequestError::Differs(what));
    }
    let age = asked.created_at_unix_ms.saturating_sub(r.at_unix_ms);
    if age > MAX_REQUEST_AGE_MS {
        return Err(RequestError::Stale {
            minutes: age / 60_000,
        });
    }
    if age < -REQUEST_CLOCK_SKEW_MS {
        return Err(RequestError::FromTheFuture {
            seconds: -age / 1000,
        });
    }
    if &CeremonyId::of_request(&r.requester, &r.request_id) != asked.ceremony {
        return Err(RequestError::OtherCeremony(r.request_id.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
