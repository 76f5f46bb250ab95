//! Whose request is it? Before an agent shows a request to its approver,
//! and again from the record before it releases a share, it checks that the
//! request stands as its requester's under the key group's policy: signed
//! with the requester's identity key when the policy lists requester keys
//! ([`quorate_types::signed_request`]), by someone the policy lets ask, and
//! for break-glass, declared by an allowed declarer with a justification.
//! A coordinator cannot put a request in a requester's name, or in the
//! name of someone the policy lets ask. Pure.

use quorate_types::Policy;
use quorate_types::signed_request::{self, Asked, SignedRequest};

/// Why the request does not stand, or `Ok`.
pub fn check(
    policy: &Policy,
    signed: Option<&SignedRequest>,
    asked: &Asked<'_>,
) -> Result<(), String> {
    signed_request::check(policy, signed, asked).map_err(|e| e.to_string())?;
    let requester = asked.requester;
    match asked.break_glass {
        None => {
            if !policy.requesters.is_empty() && !policy.requesters.iter().any(|r| r == requester) {
                return Err(format!(
                    "requester {requester} is not among the policy's requesters"
                ));
            }
        }
        Some(justification) => {
            let Some(emergency) = &policy.emergency else {
                return Err("break-glass was declared, but the policy allows none".into());
            };
            if !emergency.declarers.iter().any(|d| d == requester) {
                return Err(format!(
                    "{requester} declared break-glass but is not among the policy's declarers"
                ));
            }
            if justification.trim().is_empty() {
                return Err("break-glass was declared without a justification".into());
            }
        }
    }
    Ok(())
}
