//! `quorate.v1.Signer`: what participant agents call. The participant is
//! always the authenticated caller.

use std::pin::Pin;
use std::sync::{Arc, Weak};

use frost_ed25519::round1::SigningCommitments;
use frost_ed25519::round2::SignatureShare;
use quorate_ceremonies::record::{RefusalReason, RefusedAction};
use quorate_ceremonies::{Action, Event};
use quorate_types::{Decision, KeyGroupName, ParticipantId, SignedStatement};
use quorate_wire::{self as proto, signer_server::Signer};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::{Admit, SharedHub, authorize, ceremony_for, ceremony_id, to_status_error};
use crate::hub::Hub;
use crate::limits::{STREAM_PATIENCE, StreamSender, WORK_BUFFER, bounded_stream};
use crate::observer::Observer;
use crate::snapshot::Snapshot;
use crate::store::CeremonyStore;

pub struct SignerService<S> {
    pub hub: SharedHub<S>,
    pub observer: Observer,
    /// Signs the receipts of recorded statements.
    pub log_key: Arc<quorate_tlog::LogKey>,
}

type WorkStream = Pin<Box<dyn Stream<Item = Result<proto::Work, Status>> + Send>>;

/// The work item for `participant` about ceremony `c`.
fn work_for(c: &Snapshot, participant: &ParticipantId) -> proto::Work {
    proto::Work {
        ceremony: Some(c.status()),
        commitments_wanted: c.wants_commitments_from(participant),
        signing_package: match c.package_for(participant) {
            Some(_) => c.package().to_vec(),
            None => Vec::new(),
        },
    }
}

fn commitments(bytes: &[u8]) -> Result<SigningCommitments, Status> {
    SigningCommitments::deserialize(bytes).map_err(|e| {
        Status::invalid_argument(format!(
            "commitments: not FROST(Ed25519) signing commitments: {e}"
        ))
    })
}

impl<S: CeremonyStore> SignerService<S> {
    /// The caller, if it is a participant of some key group: the Signer
    /// service is for agents only.
    fn participant<T>(&self, request: &Request<T>) -> Result<ParticipantId, Status> {
        let caller = crate::auth::caller(request)?;
        authorize(
            &self.hub,
            &caller,
            &[],
            Admit::AnyParticipant,
            "use the Signer service (for participants' agents)",
        )?;
        Ok(caller)
    }

    /// The caller's own signed statement; handing in someone else's is
    /// refused and recorded.
    async fn own_statement(
        &self,
        caller: &ParticipantId,
        ceremony: &str,
        bytes: &[u8],
        action: RefusedAction,
    ) -> Result<SignedStatement, Status> {
        let signed = SignedStatement::from_bytes(bytes)
            .map_err(|e| Status::invalid_argument(format!("statement: {e}")))?;
        let owner = &signed.statement.participant;
        if owner != caller {
            let status = Status::permission_denied(format!(
                "statement: it is {owner}'s decision, and {caller} may only hand in its own"
            ));
            let id = ceremony_id(ceremony).ok();
            let why = RefusalReason::ForeignStatement {
                owner: owner.clone(),
            };
            self.hub
                .record_refusal(caller, id.as_ref(), action, why)
                .await;
            return Err(status);
        }
        Ok(signed)
    }

    async fn act(
        &self,
        caller: &ParticipantId,
        ceremony: &str,
        event: Event,
    ) -> Result<Response<proto::Ack>, Status> {
        let id = ceremony_id(ceremony)?;
        if let Err(status) = ceremony_for(&self.hub, &id, caller).await {
            // Acting in a ceremony outside one's key groups is recorded.
            if status.code() == tonic::Code::PermissionDenied
                && let Ok(c) = self.hub.ceremony(&id).await
            {
                let action = match &event {
                    Event::Approved { .. } => RefusedAction::Approve,
                    Event::Rejected { .. } => RefusedAction::Reject,
                    Event::Committed { .. } => RefusedAction::Commit,
                    _ => RefusedAction::SubmitShare,
                };
                let why = RefusalReason::NotInRoster {
                    key_group: c.key_group().name.clone(),
                };
                self.hub
                    .record_refusal(caller, Some(&id), action, why)
                    .await;
            }
            return Err(status);
        }
        let (ceremony, actions) = self
            .hub
            .apply(&id, event.clone())
            .await
            .map_err(to_status_error)?;
        self.observer
            .applied(&ceremony, &event, &actions, self.hub.now().unix_ms());
        // The event is recorded; a share that failed its check is still an
        // error for its sender.
        for action in &actions {
            if let Action::DropSigner {
                participant,
                reason,
            } = action
                && participant == caller
            {
                return Err(Status::invalid_argument(format!(
                    "{caller} is dropped from ceremony {id}: {reason}"
                )));
            }
        }
        Ok(Response::new(proto::Ack {
            ceremony: Some(ceremony.status()),
            receipt: String::new(),
        }))
    }

    /// `ack` with the receipt of `statement` (its bytes as sent), which the
    /// record now holds.
    fn receipted(
        &self,
        ceremony: &str,
        statement: &[u8],
        mut ack: Response<proto::Ack>,
    ) -> Result<Response<proto::Ack>, Status> {
        let receipt = quorate_tlog::Receipt::for_statement(
            self.log_key.name(),
            ceremony,
            statement,
            self.hub.now().unix_ms(),
        );
        ack.get_mut().receipt = self.log_key.sign_receipt(&receipt).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a receipt");
            Status::internal("cannot sign a receipt")
        })?;
        Ok(ack)
    }
}

#[tonic::async_trait]
impl<S: CeremonyStore> Signer for SignerService<S> {
    type SubscribeStream = WorkStream;

    async fn subscribe(
        &self,
        request: Request<proto::SubscribeRequest>,
    ) -> Result<Response<WorkStream>, Status> {
        let caller = self.participant(&request)?;
        let groups = self.hub.key_groups_of(&caller);
        if groups.is_empty() {
            return Err(Status::permission_denied(format!(
                "{caller} is not in the roster of any key group"
            )));
        }
        tracing::info!(participant = %caller, "agent subscribed");
        // An agent that stops reading is cut off (and resubscribes), not
        // buffered for.
        let (tx, rx) = bounded_stream(WORK_BUFFER, STREAM_PATIENCE, "work items");
        tokio::spawn(feed(Arc::downgrade(&self.hub), caller, groups, tx));
        Ok(Response::new(Box::pin(rx)))
    }

    async fn approve(
        &self,
        request: Request<proto::ApproveRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        let caller = self.participant(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        let body = request.into_inner();
        let statement = self
            .own_statement(
                &caller,
                &body.ceremony,
                &body.statement,
                RefusedAction::Approve,
            )
            .await?;
        let commitments = commitments(&body.commitments)?;
        // An agent resends its approval until it is acknowledged (a crash
        // or the network may have lost the reply). A resent approval is
        // idempotent: the approval stands, and the commitments it brings
        // replace those whose nonces the agent never kept.
        let id = ceremony_id(&body.ceremony)?;
        let resent = ceremony_for(&self.hub, &id, &caller)
            .await
            .is_ok_and(|c| c.approval_of(&caller) == Some(&statement));
        let event = if resent {
            Event::Committed {
                participant: caller.clone(),
                commitments,
            }
        } else {
            Event::Approved {
                statement,
                commitments,
            }
        };
        let ack = self.act(&caller, &body.ceremony, event).await?;
        self.receipted(&body.ceremony, &body.statement, ack)
    }

    async fn reject(
        &self,
        request: Request<proto::RejectRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        let caller = self.participant(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        let body = request.into_inner();
        let statement = self
            .own_statement(
                &caller,
                &body.ceremony,
                &body.statement,
                RefusedAction::Reject,
            )
            .await?;
        if let Decision::Reject { reason } = &statement.statement.decision
            && let Err(e) = quorate_types::limits::check_reason(reason)
        {
            return Err(Status::invalid_argument(format!("statement.{e}")));
        }
        // A resent rejection (its reply was lost) is acknowledged as is.
        let id = ceremony_id(&body.ceremony)?;
        if let Ok(c) = ceremony_for(&self.hub, &id, &caller).await
            && c.statements().contains(&statement)
        {
            let ack = Response::new(proto::Ack {
                ceremony: Some(c.status()),
                receipt: String::new(),
            });
            return self.receipted(&body.ceremony, &body.statement, ack);
        }
        let event = Event::Rejected { statement };
        let ack = self.act(&caller, &body.ceremony, event).await?;
        self.receipted(&body.ceremony, &body.statement, ack)
    }

    async fn commit(
        &self,
        request: Request<proto::CommitRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        let caller = self.participant(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        let body = request.into_inner();
        let event = Event::Committed {
            participant: caller.clone(),
            commitments: commitments(&body.commitments)?,
        };
        self.act(&caller, &body.ceremony, event).await
    }

    async fn submit_share(
        &self,
        request: Request<proto::SubmitShareRequest>,
    ) -> Result<Response<proto::Ack>, Status> {
        let caller = self.participant(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        let body = request.into_inner();
        let share = SignatureShare::deserialize(&body.signature_share).map_err(|e| {
            Status::invalid_argument(format!(
                "signature_share: not a FROST(Ed25519) signature share: {e}"
            ))
        })?;
        let event = Event::ShareSubmitted {
            participant: caller.clone(),
            attempt: body.attempt,
            share,
        };
        self.act(&caller, &body.ceremony, event).await
    }

    async fn note_backup(
        &self,
        request: Request<proto::NoteBackupRequest>,
    ) -> Result<Response<proto::NoteBackupReply>, Status> {
        let caller = self.participant(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        let note =
            quorate_types::backup_note::SignedBackupNote::from_bytes(&request.get_ref().note)
                .map_err(|e| Status::invalid_argument(format!("note: {e}")))?;
        let index = self
            .hub
            .note_backup(&caller, note)
            .await
            .map_err(to_status_error)?;
        Ok(Response::new(proto::NoteBackupReply {
            recorded: index.is_some(),
            index: index.unwrap_or_default(),
        }))
    }
}

/// Parses a signed statement and checks it is the caller's own: nobody
/// hands in another participant's decision. The engine checks the signature.
/// Pushes a snapshot of the participant's open ceremonies, then every
/// change to a ceremony of its key groups, until the agent goes away or the
/// coordinator stops. Changes that pile up while it sends go out once per
/// ceremony, as the ceremony then stands. A feed that falls behind the changes gets a fresh
/// snapshot; an agent that falls behind its feed is cut off.
async fn feed<S: CeremonyStore>(
    hub: Weak<Hub<S>>,
    participant: ParticipantId,
    groups: Vec<KeyGroupName>,
    mut tx: StreamSender<proto::Work>,
) {
    let Some(strong) = hub.upgrade() else { return };
    let mut changes = strong.subscribe_changes();
    let mut stopping = strong.stopping();
    let mut snapshot = strong.open_ceremonies(&groups).await;
    drop(strong);
    loop {
        for c in snapshot.drain(..) {
            let sent = tokio::select! {
                sent = tx.send(work_for(&c, &participant)) => sent,
                _ = stopping.changed() => return,
            };
            if sent.is_err() {
                return;
            }
        }
        let changed = tokio::select! {
            changed = changes.recv() => changed,
            _ = stopping.changed() => return,
        };
        let Some(strong) = hub.upgrade() else { return };
        let mut ids = match changed {
            Ok(change) if groups.contains(&change.key_group) => vec![change.ceremony],
            Ok(_) => Vec::new(),
            Err(RecvError::Lagged(_)) => {
                snapshot = strong.open_ceremonies(&groups).await;
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        // Changes that came meanwhile: each ceremony once, as it is now.
        loop {
            match changes.try_recv() {
                Ok(change)
                    if groups.contains(&change.key_group) && !ids.contains(&change.ceremony) =>
                {
                    ids.push(change.ceremony)
                }
                Ok(_) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => {
                    ids.clear();
                    snapshot = strong.open_ceremonies(&groups).await;
                    break;
                }
                Err(TryRecvError::Closed) => return,
            }
        }
        for id in ids {
            if let Ok(c) = strong.ceremony(&id).await
                && groups.contains(&c.request().key_group)
            {
                snapshot.push(c);
            }
        }
    }
}
