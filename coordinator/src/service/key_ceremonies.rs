//! `quorate.v1.KeyCeremonies`: operators propose key groups made by DKG;
//! the roster's agents take part by posting signed key messages, which the
//! coordinator checks, records and relays, sealed round-2 packages only to
//! their recipient.

use std::pin::Pin;
use std::sync::Arc;

use quorate_ceremonies::key::{KeyCeremony, KeyPhase};
use quorate_types::key_ceremony::{KeyProposal, SignedKeyMessage};
use quorate_types::{KeyCeremonyId, KeyGroupName, ParticipantId};
use quorate_wire::{self as proto, key_ceremonies_server::KeyCeremonies};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::{SharedHub, to_status_error};
use crate::authz::{Membership, Role};
use crate::limits::{STREAM_PATIENCE, WATCH_BUFFER, bounded_stream};
use crate::store::CeremonyStore;

/// The most messages one post may carry: a round 2 of the largest roster.
const MAX_POSTED: usize = quorate_types::key_ceremony::MAX_PARTICIPANTS;

type StatusStream = Pin<Box<dyn Stream<Item = Result<proto::KeyCeremonyStatus, Status>> + Send>>;

pub struct KeyCeremoniesService<S> {
    pub hub: SharedHub<S>,
}

impl<S: CeremonyStore> KeyCeremoniesService<S> {
    /// Operators and auditors see every key ceremony; a participant sees
    /// those whose roster names it.
    async fn may_see(&self, caller: &ParticipantId, key: &KeyCeremony) -> Result<(), Status> {
        let named = key.proposal().roster.get(caller).is_some();
        self.check(
            caller,
            &[Role::Operator, Role::Auditor],
            named,
            "read key ceremonies",
        )
        .await
    }

    async fn check(
        &self,
        caller: &ParticipantId,
        roles: &[Role],
        admitted: bool,
        action: &str,
    ) -> Result<(), Status> {
        let membership = if admitted {
            Membership::Admitted
        } else {
            Membership::None
        };
        let known = admitted
            || !self.hub.key_groups_of(caller).is_empty()
            || !self.hub.key_ceremonies_of(caller).await.is_empty();
        self.hub
            .authz()
            .check(caller, roles, membership, known, action)
    }
}

#[tonic::async_trait]
impl<S: CeremonyStore> KeyCeremonies for KeyCeremoniesService<S> {
    async fn propose(
        &self,
        request: Request<proto::ProposeKeyGroupRequest>,
    ) -> Result<Response<proto::KeyCeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        self.check(&caller, &[Role::Operator], false, "propose key groups")
            .await?;
        let proposal = proposal(request.get_ref())?;
        let key = self
            .hub
            .propose_key_group(proposal, caller.to_string())
            .await
            .map_err(to_status_error)?;
        tracing::info!(key_ceremony = %key.id(), key_group = %key.proposal().key_group, by = %caller, "key group proposed");
        Ok(Response::new(status(&key, None)))
    }

    async fn propose_refresh(
        &self,
        request: Request<proto::ProposeRefreshRequest>,
    ) -> Result<Response<proto::KeyCeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        self.check(&caller, &[Role::Operator], false, "propose refreshes")
            .await?;
        let request = request.into_inner();
        let name = KeyGroupName::new(&request.name)
            .map_err(|e| Status::invalid_argument(format!("name: {e}")))?;
        let removed = request
            .remove
            .iter()
            .map(|p| proto::convert::participant("remove", p))
            .collect::<Result<Vec<_>, _>>()?;
        let key = self
            .hub
            .propose_refresh(&name, removed, caller.to_string())
            .await
            .map_err(to_status_error)?;
        tracing::info!(key_ceremony = %key.id(), key_group = %name, by = %caller, "refresh proposed");
        Ok(Response::new(status(&key, None)))
    }

    async fn propose_repair(
        &self,
        request: Request<proto::ProposeRepairRequest>,
    ) -> Result<Response<proto::KeyCeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        self.check(
            &caller,
            &[Role::Operator],
            false,
            "propose repairs and enrolments",
        )
        .await?;
        let request = request.into_inner();
        let name = KeyGroupName::new(&request.name)
            .map_err(|e| Status::invalid_argument(format!("name: {e}")))?;
        let entry = request
            .participant
            .ok_or_else(|| Status::invalid_argument("participant: missing"))?;
        let participant = proto::convert::roster(std::slice::from_ref(&entry))
            .map_err(|e| Status::invalid_argument(format!("participant: {}", e.why)))?
            .participants
            .remove(0);
        let helpers = request
            .helpers
            .iter()
            .map(|p| proto::convert::participant("helpers", p))
            .collect::<Result<Vec<_>, _>>()?;
        let key = self
            .hub
            .propose_repair(
                &name,
                participant,
                helpers,
                request.enrol,
                caller.to_string(),
            )
            .await
            .map_err(to_status_error)?;
        tracing::info!(key_ceremony = %key.id(), key_group = %name, by = %caller, "repair proposed");
        Ok(Response::new(status(&key, None)))
    }

    async fn get(
        &self,
        request: Request<proto::GetKeyCeremonyRequest>,
    ) -> Result<Response<proto::KeyCeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        let id = key_ceremony_id(&request.get_ref().id)?;
        let key = self.hub.key_ceremony(&id).await.map_err(to_status_error)?;
        self.may_see(&caller, &key).await?;
        Ok(Response::new(status(&key, reader(&key, &caller))))
    }

    type WatchStream = StatusStream;

    async fn watch(
        &self,
        request: Request<proto::GetKeyCeremonyRequest>,
    ) -> Result<Response<StatusStream>, Status> {
        let caller = crate::auth::caller(&request)?;
        let id = key_ceremony_id(&request.get_ref().id)?;
        let mut changes = self.hub.subscribe_key_changes();
        let mut stopping = self.hub.stopping();
        let first = self.hub.key_ceremony(&id).await.map_err(to_status_error)?;
        self.may_see(&caller, &first).await?;
        let (mut tx, rx) = bounded_stream(WATCH_BUFFER, STREAM_PATIENCE, "key ceremony updates");
        let hub = Arc::downgrade(&self.hub);
        tokio::spawn(async move {
            let mut key = first;
            let mut sent = None;
            loop {
                let done = key.phase().is_finished();
                let reader = reader(&key, &caller);
                // A participant acts only when the phase moves or a
                // package reaches it: the joins' progress is the
                // operator's to watch, and at 100 participants sending each
                // of them every change would cost more than the DKG.
                let news = (key.phase(), reader.map_or(0, |r| key.sealed_to(r)));
                if reader.is_none() || sent.as_ref() != Some(&news) || done {
                    if tx.send(status(&key, reader)).await.is_err() || done {
                        return;
                    }
                    sent = Some(news);
                }
                loop {
                    let changed = tokio::select! {
                        changed = changes.recv() => changed,
                        _ = stopping.changed() => return,
                    };
                    match changed {
                        Ok(changed) if changed != id => continue,
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
                let Some(hub) = hub.upgrade() else { return };
                let Ok(next) = hub.key_ceremony(&id).await else {
                    return;
                };
                key = next;
            }
        });
        Ok(Response::new(Box::pin(rx)))
    }

    async fn pending(
        &self,
        request: Request<proto::PendingKeyCeremoniesRequest>,
    ) -> Result<Response<proto::PendingKeyCeremoniesReply>, Status> {
        let caller = crate::auth::caller(&request)?;
        let mine = self.hub.key_ceremonies_of(&caller).await;
        // A participant of a key group asks whether a refresh or repair
        // of it is open, and is told when none is.
        let member = !mine.is_empty() || !self.hub.key_groups_of(&caller).is_empty();
        self.check(&caller, &[], member, "list key ceremonies")
            .await?;
        Ok(Response::new(proto::PendingKeyCeremoniesReply {
            ceremonies: mine.iter().map(|k| status(k, Some(&caller))).collect(),
        }))
    }

    async fn post(
        &self,
        request: Request<proto::PostKeyMessagesRequest>,
    ) -> Result<Response<proto::KeyCeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        let request = request.into_inner();
        let id = key_ceremony_id(&request.ceremony)?;
        let named = self.hub.in_key_ceremony(&id, &caller).await;
        self.check(&caller, &[], named, "post key messages").await?;
        if request.messages.is_empty() || request.messages.len() > MAX_POSTED {
            return Err(Status::invalid_argument(format!(
                "messages: {} given; post 1 to {MAX_POSTED}",
                request.messages.len()
            )));
        }
        let messages = request
            .messages
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                SignedKeyMessage::from_bytes(bytes)
                    .map_err(|e| Status::invalid_argument(format!("messages[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let key = self
            .hub
            .post_key_messages(id, caller.clone(), messages)
            .await
            .map_err(to_status_error)?;
        match key.phase() {
            KeyPhase::Registered => {
                tracing::info!(key_ceremony = %key.id(), key_group = %key.proposal().key_group, "key group registered")
            }
            KeyPhase::Failed => {
                tracing::warn!(key_ceremony = %key.id(), failure = ?key.failure(), "key ceremony failed")
            }
            _ => {}
        }
        Ok(Response::new(status(&key, Some(&caller))))
    }

    async fn cancel(
        &self,
        request: Request<proto::CancelKeyCeremonyRequest>,
    ) -> Result<Response<proto::KeyCeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        self.check(&caller, &[Role::Operator], false, "cancel key ceremonies")
            .await?;
        let request = request.into_inner();
        let id = key_ceremony_id(&request.id)?;
        let reason = quorate_types::limits::check_reason(&request.reason)
            .map_err(|e| Status::invalid_argument(e.to_string()))?
            .to_string();
        let key = self
            .hub
            .cancel_key_ceremony(id, caller.to_string(), reason)
            .await
            .map_err(to_status_error)?;
        Ok(Response::new(status(&key, None)))
    }
}

fn key_ceremony_id(value: &str) -> Result<KeyCeremonyId, Status> {
    KeyCeremonyId::new(value).map_err(|e| Status::invalid_argument(format!("id: {e}")))
}

/// Whose view of the sealed packages `caller` gets: its own as a
/// participant, every one as an operator or auditor.
fn reader<'a>(key: &KeyCeremony, caller: &'a ParticipantId) -> Option<&'a ParticipantId> {
    key.proposal().roster.get(caller).map(|_| caller)
}

fn proposal(request: &proto::ProposeKeyGroupRequest) -> Result<KeyProposal, Status> {
    let key_group = KeyGroupName::new(&request.name)
        .map_err(|e| Status::invalid_argument(format!("name: {e}")))?;
    let threshold = u16::try_from(request.threshold)
        .map_err(|_| Status::invalid_argument("threshold: must be from 2 to the roster's size"))?;
    let roster = proto::convert::roster(&request.roster)?;
    let policy = quorate_types::Policy::from_toml(&request.policy_toml)
        .map_err(|e| Status::invalid_argument(format!("policy_toml: {e}")))?;
    let proposal = KeyProposal {
        key_group,
        threshold,
        roster,
        policy,
        refresh: None,
        repair: None,
    };
    proposal
        .check()
        .map_err(|(field, why)| Status::invalid_argument(format!("{field}: {why}")))?;
    Ok(proposal)
}

fn to_state(phase: KeyPhase) -> proto::KeyCeremonyState {
    use proto::KeyCeremonyState as S;
    match phase {
        KeyPhase::Joining => S::Joining,
        KeyPhase::Exchanging => S::Exchanging,
        KeyPhase::Confirming => S::Confirming,
        KeyPhase::Registered => S::Registered,
        KeyPhase::Failed => S::Failed,
    }
}

/// The status `reader` gets (`None`: an operator or auditor, who gets no
/// messages: the record has them all).
pub(crate) fn status(
    key: &KeyCeremony,
    reader: Option<&ParticipantId>,
) -> proto::KeyCeremonyStatus {
    let (culprit, fault) = match key.failure() {
        Some((culprit, fault)) => (
            culprit.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            fault.to_string(),
        ),
        None => Default::default(),
    };
    let n = key.proposal().roster.len();
    let summary = match key.phase() {
        KeyPhase::Joining => format!("{} of {n} joined", key.joined().len()),
        KeyPhase::Exchanging => "exchanging sealed round-2 packages".to_string(),
        KeyPhase::Confirming => format!("{} of {n} confirmed the group", key.confirmed().count()),
        KeyPhase::Registered => "registered".to_string(),
        KeyPhase::Failed if culprit.is_empty() => format!("failed: {fault}"),
        KeyPhase::Failed => format!("failed: {culprit}: {fault}"),
    };
    proto::KeyCeremonyStatus {
        id: key.id().to_string(),
        key_group: key.proposal().key_group.to_string(),
        state: to_state(key.phase()).into(),
        proposal: serde_json::to_vec(key.proposal()).unwrap_or_default(),
        proposal_sha256: key.proposal_sha256().0.to_vec(),
        proposed_by: key.proposed_by().to_string(),
        proposed_at_unix_ms: key.proposed_at().unix_ms(),
        // Operators and auditors read the messages from the record: all of
        // a 67-of-100 DKG's are more than a gRPC reply holds.
        messages: match reader {
            Some(reader) => key
                .messages_for(Some(reader))
                .into_iter()
                .map(SignedKeyMessage::to_bytes)
                .collect(),
            None => Vec::new(),
        },
        joined: key.joined().keys().map(|p| p.to_string()).collect(),
        confirmed: key.confirmed().map(|p| p.to_string()).collect(),
        culprit,
        fault,
        registered: key.registered().map(proto::KeyGroup::from),
        summary,
        version: key.version(),
    }
}
