//! A requester's signature on its request: what `quorate sign
//! --identity-key` adds to a ceremony request, for key groups whose policy
//! lists requester keys ([`quorate_types::signed_request`]).

use std::path::Path;

use quorate_secrets::IdentityKey;
use quorate_types::{RequestId, RequestStatement, Sha256Digest};
use quorate_wire as proto;

/// A fresh request id: 128 random bits.
pub fn fresh_request_id() -> String {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    hex::encode(bytes)
}

/// Signs `request` with `key`, as the requester the key names, at
/// `at_unix_ms`: gives it a request id if it has none, and the signed
/// request over its fields.
pub fn sign(
    request: &mut proto::CreateCeremonyRequest,
    key: &IdentityKey,
    at_unix_ms: i64,
) -> anyhow::Result<()> {
    if request.request_id.is_empty() {
        request.request_id = fresh_request_id();
    }
    // The coordinator records the justification trimmed; sign what it keeps.
    request.justification = request.justification.trim().to_string();
    let statement = RequestStatement {
        key_group: quorate_types::KeyGroupName::new(&request.key_group)?,
        requester: key.participant().to_string(),
        request_id: RequestId::new(&request.request_id)?,
        label: request.label.clone(),
        message_sha256: Sha256Digest::of(&request.message),
        break_glass: request.break_glass.then(|| request.justification.clone()),
        context_sha256: (!request.context.is_empty()).then(|| Sha256Digest::of(&request.context)),
        follow_ups: proto::convert::follow_ups("follow_ups", &request.follow_ups)?,
        at_unix_ms,
    };
    request.signed_request = statement.sign(key).to_bytes();
    Ok(())
}

/// Opens the requester's sealed identity key at `path` with the
/// passphrase from `QUORATE_PASSPHRASE`, or asked on the terminal.
pub fn open_key(path: &Path) -> anyhow::Result<IdentityKey> {
    if !path.exists() {
        anyhow::bail!(
            "the identity key {} does not exist; `quorate identity-key new` makes one",
            path.display()
        );
    }
    let passphrase =
        quorate_secrets::passphrase::obtain(None, &format!("passphrase of {}: ", path.display()))?;
    Ok(IdentityKey::load(path, &passphrase)?)
}

/// This machine's clock, ms since the Unix epoch.
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}
