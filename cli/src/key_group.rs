//! Key groups made by DKG, from the operator's side: propose one (or a
//! refresh of one's shares) and follow its key ceremony until the agents
//! have registered it or it has failed. The agents do the rest (`quorate-participant join`); no key
//! material passes through here or through the coordinator.

use quorate_types::{KeyGroupFile, Policy, Roster};
use quorate_wire as proto;

use crate::client::{KeyCeremonies, status_error};

/// Proposes key group `name`: `threshold` of `roster`, under `policy`.
pub async fn propose(
    client: &mut KeyCeremonies,
    name: &str,
    threshold: u16,
    roster: &Roster,
    policy: &Policy,
) -> anyhow::Result<proto::KeyCeremonyStatus> {
    Ok(client
        .propose(proto::ProposeKeyGroupRequest {
            name: name.to_string(),
            threshold: threshold.into(),
            roster: proto::KeyGroup::from_roster(roster),
            policy_toml: policy.to_toml(),
        })
        .await
        .map_err(status_error)?
        .into_inner())
}

/// Proposes new shares of key group `name` among its share holders but for
/// `remove`.
pub async fn propose_refresh(
    client: &mut KeyCeremonies,
    name: &str,
    remove: &[String],
) -> anyhow::Result<proto::KeyCeremonyStatus> {
    Ok(client
        .propose_refresh(proto::ProposeRefreshRequest {
            name: name.to_string(),
            remove: remove.to_vec(),
        })
        .await
        .map_err(status_error)?
        .into_inner())
}

/// Proposes that `helpers` rebuild `participant`'s share of key group
/// `name` (or, with `enrol`, make one for them as a new participant).
pub async fn propose_repair(
    client: &mut KeyCeremonies,
    name: &str,
    participant: &quorate_types::RosterEntry,
    helpers: &[String],
    enrol: bool,
) -> anyhow::Result<proto::KeyCeremonyStatus> {
    let entry = proto::KeyGroup::from_roster(&Roster {
        participants: vec![participant.clone()],
    })
    .pop();
    Ok(client
        .propose_repair(proto::ProposeRepairRequest {
            name: name.to_string(),
            participant: entry,
            helpers: helpers.to_vec(),
            enrol,
        })
        .await
        .map_err(status_error)?
        .into_inner())
}

/// Follows key ceremony `id` until it ends, calling `progress` with each
/// status; the registered key group, or why it failed.
pub async fn follow(
    client: &mut KeyCeremonies,
    id: &str,
    mut progress: impl FnMut(&proto::KeyCeremonyStatus),
) -> anyhow::Result<KeyGroupFile> {
    let mut stream = client
        .watch(proto::GetKeyCeremonyRequest { id: id.to_string() })
        .await
        .map_err(status_error)?
        .into_inner();
    while let Some(status) = stream.message().await.map_err(status_error)? {
        progress(&status);
        match status.state() {
            proto::KeyCeremonyState::Registered => {
                let group = status.registered.as_ref().ok_or_else(|| {
                    anyhow::anyhow!("key ceremony {id} is registered but carries no key group")
                })?;
                return Ok(KeyGroupFile::try_from(group)?);
            }
            proto::KeyCeremonyState::Failed => {
                anyhow::bail!("key ceremony {id} {}", status.summary)
            }
            _ => {}
        }
    }
    anyhow::bail!(
        "the coordinator closed the stream of key ceremony {id} before it ended; `quorate key-group status {id}` tells where it stands"
    )
}
