//! Who is calling. The identity comes from the channel, never from a
//! request body.
//!
//! For now the caller names itself in the `x-quorate-identity` metadata
//! header: this identifies, it does not authenticate. Mutual TLS with
//! roster-bound client certificates replaces it (issue 5); every handler
//! already goes through [`caller`], so only this function changes.

use quorate_common::ParticipantId;
use tonic::{Request, Status};

pub use quorate_common::proto::client::IDENTITY_HEADER;

pub fn caller<T>(request: &Request<T>) -> Result<ParticipantId, Status> {
    let value = request.metadata().get(IDENTITY_HEADER).ok_or_else(|| {
        Status::unauthenticated(format!("no {IDENTITY_HEADER} header: who is calling?"))
    })?;
    let text = value
        .to_str()
        .map_err(|_| Status::unauthenticated(format!("{IDENTITY_HEADER} is not ASCII")))?;
    ParticipantId::new(text).map_err(|e| Status::unauthenticated(e.to_string()))
}
