//! `quorate.v1.Ceremonies`: what a release manager calls.

use crate::hub::Listed;
use std::pin::Pin;

use quorate_types::limits::{self, LimitError};
use quorate_wire::{self as proto, ceremonies_server::Ceremonies};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::page;
use super::{Admit, SharedHub, authorize, ceremony_id, to_state, to_status_error};
use crate::authz::Role;
use crate::limits::{STREAM_PATIENCE, WATCH_BUFFER, bounded_stream};
use crate::observer::Observer;
use crate::store::CeremonyStore;
use quorate_ceremonies::Event;

pub struct CeremoniesService<S> {
    pub hub: SharedHub<S>,
    pub observer: Observer,
}

/// Who sees any ceremony (participants see their key groups' ones).
const SEE: &[Role] = &[Role::Requester, Role::Auditor, Role::Operator];

fn may_see<S: CeremonyStore>(
    hub: &crate::hub::Hub<S>,
    caller: &quorate_types::ParticipantId,
    ceremony: &quorate_ceremonies::Ceremony,
) -> Result<(), Status> {
    authorize(
        hub,
        caller,
        SEE,
        Admit::ParticipantOf(&ceremony.request().key_group),
        "see this ceremony",
    )
}

/// Where `ceremony` stands in the list's order.
type StatusStream = Pin<Box<dyn Stream<Item = Result<proto::CeremonyStatus, Status>> + Send>>;

impl<S: CeremonyStore> CeremoniesService<S> {
    async fn record(
        &self,
        id: &quorate_types::CeremonyId,
        event: Event,
    ) -> Result<Response<proto::CeremonyStatus>, Status> {
        let (ceremony, actions) = self
            .hub
            .apply(id, event.clone())
            .await
            .map_err(to_status_error)?;
        self.observer
            .applied(&ceremony, &event, &actions, self.hub.now().unix_ms());
        Ok(Response::new(ceremony.status()))
    }
}

#[tonic::async_trait]
impl<S: CeremonyStore> Ceremonies for CeremoniesService<S> {
    async fn create(
        &self,
        request: Request<proto::CreateCeremonyRequest>,
    ) -> Result<Response<proto::CeremonyStatus>, Status> {
        let requester = crate::auth::caller(&request)?;
        super::admit_write(&self.hub, requester.as_str())?;
        authorize(
            &self.hub,
            &requester,
            &[Role::Requester],
            Admit::NoParticipants,
            "request ceremonies",
        )?;
        let body = request.into_inner();
        limits::check_message(&body.message).map_err(invalid)?;
        limits::check_context(&body.context).map_err(invalid)?;
        limits::check_label(&body.label).map_err(invalid)?;
        let break_glass = limits::check_justification(body.break_glass, &body.justification)
            .map_err(invalid)?
            .map(str::to_string);
        let follow_ups = proto::convert::follow_ups("follow_ups", &body.follow_ups)?;
        let signed = match body.signed_request.as_slice() {
            [] => None,
            bytes => Some(
                quorate_types::SignedRequest::from_bytes(bytes)
                    .map_err(|e| Status::invalid_argument(format!("signed_request: {e}")))?,
            ),
        };
        let request_id = match (body.request_id.as_str(), &signed) {
            ("", None) => None,
            ("", Some(signed)) => Some(signed.request.request_id.clone()),
            (r, _) => Some(
                quorate_types::RequestId::new(r)
                    .map_err(|e| Status::invalid_argument(format!("request_id: {e}")))?,
            ),
        };
        if let (Some(signed), Some(id)) = (&signed, &request_id)
            && &signed.request.request_id != id
        {
            return Err(Status::invalid_argument(format!(
                "request_id: {id} is not the signed request's ({})",
                signed.request.request_id
            )));
        }
        let (ceremony, made) = self
            .hub
            .create(
                &body.key_group,
                requester.to_string(),
                crate::hub::Asked {
                    label: body.label,
                    message: body.message,
                    context: body.context,
                    follow_ups,
                    signed,
                },
                break_glass,
                request_id,
            )
            .await
            .map_err(to_status_error)?;
        if made {
            self.observer.created(&ceremony);
        }
        Ok(Response::new(ceremony.status()))
    }

    async fn get(
        &self,
        request: Request<proto::GetCeremonyRequest>,
    ) -> Result<Response<proto::CeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        let id = ceremony_id(&request.get_ref().id)?;
        let ceremony = self.hub.ceremony(&id).await.map_err(to_status_error)?;
        may_see(&self.hub, &caller, &ceremony)?;
        Ok(Response::new(ceremony.status()))
    }

    async fn list(
        &self,
        request: Request<proto::ListCeremoniesRequest>,
    ) -> Result<Response<proto::ListCeremoniesReply>, Status> {
        let caller = crate::auth::caller(&request)?;
        let everything = [Role::Requester, Role::Auditor, Role::Operator]
            .iter()
            .any(|r| self.hub.authz().has(&caller, *r));
        if !everything {
            authorize(
                &self.hub,
                &caller,
                SEE,
                Admit::AnyParticipant,
                "list ceremonies",
            )?;
        }
        let own_groups = self.hub.key_groups_of(&caller);
        let filter = request.into_inner();
        let page_size = page::size(filter.page_size)?;
        let after = page::Cursor::parse(&filter.page_token)?;
        let state = filter.state();
        let wanted = |c: &quorate_ceremonies::Ceremony| {
            let is = to_state(c.state());
            let group = c.key_group().name.as_str();
            (state == proto::CeremonyState::Unspecified || is == state)
                && (filter.key_group.is_empty() || group == filter.key_group)
                && (everything || own_groups.iter().any(|g| g.as_str() == group))
                && (!filter.break_glass || c.is_break_glass())
                && (!filter.unreviewed || is == proto::CeremonyState::AwaitingReview)
        };
        // Oldest first, by request: the order page tokens follow. A list
        // of live states reads memory only; any other reads the record.
        let live_only = filter.unreviewed
            || quorate_wire::convert::is_open(state)
            || state == proto::CeremonyState::AwaitingReview;
        let after = after.map(|c| c.0);
        let mut matching: Vec<Listed> = if live_only {
            self.hub
                .live_ceremonies()
                .await
                .into_iter()
                .filter(|l| after.is_none_or(|a| l.index > a) && wanted(&l.ceremony))
                .take(page_size + 1)
                .collect()
        } else {
            self.hub
                .history(after, page_size + 1, |c| wanted(c))
                .await
                .map_err(to_status_error)?
        };
        let more = matching.len() > page_size;
        matching.truncate(page_size);
        // Statuses only for the page, and no more bytes of them than a
        // client takes: a page stops short (with a token) past that.
        let budget = self.hub.reply_bytes();
        let mut ceremonies = Vec::new();
        let (mut bytes, mut last, mut cut) = (0, None, false);
        for listed in &matching {
            let status = listed.ceremony.status();
            bytes += prost::Message::encoded_len(&status) + 8;
            if bytes > budget && !ceremonies.is_empty() {
                cut = true;
                break;
            }
            last = Some(listed.index);
            ceremonies.push(status);
        }
        let next_page_token = match last {
            Some(last) if more || cut => page::Cursor(last).token(),
            _ => String::new(),
        };
        Ok(Response::new(proto::ListCeremoniesReply {
            ceremonies,
            next_page_token,
        }))
    }

    async fn cancel(
        &self,
        request: Request<proto::CancelCeremonyRequest>,
    ) -> Result<Response<proto::CeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        authorize(
            &self.hub,
            &caller,
            &[Role::Requester],
            Admit::NoParticipants,
            "cancel ceremonies",
        )?;
        let body = request.into_inner();
        let id = ceremony_id(&body.id)?;
        let reason = limits::check_reason(&body.reason).map_err(invalid)?;
        let event = Event::Cancelled {
            by: caller.to_string(),
            reason: reason.to_string(),
        };
        self.record(&id, event).await
    }

    async fn review(
        &self,
        request: Request<proto::ReviewCeremonyRequest>,
    ) -> Result<Response<proto::CeremonyStatus>, Status> {
        let caller = crate::auth::caller(&request)?;
        super::admit_write(&self.hub, caller.as_str())?;
        authorize(
            &self.hub,
            &caller,
            &[Role::Auditor],
            Admit::NoParticipants,
            "review ceremonies",
        )?;
        let body = request.into_inner();
        let id = ceremony_id(&body.id)?;
        limits::check_notes(&body.notes).map_err(invalid)?;
        let event = Event::Reviewed {
            by: caller.to_string(),
            notes: body.notes,
        };
        self.record(&id, event).await
    }

    type WatchStream = StatusStream;

    async fn watch(
        &self,
        request: Request<proto::GetCeremonyRequest>,
    ) -> Result<Response<StatusStream>, Status> {
        let caller = crate::auth::caller(&request)?;
        let id = ceremony_id(&request.get_ref().id)?;
        let mut changes = self.hub.subscribe_changes();
        let mut stopping = self.hub.stopping();
        let first = self.hub.ceremony(&id).await.map_err(to_status_error)?;
        may_see(&self.hub, &caller, &first)?;
        // A watcher that stops reading is cut off, not buffered for.
        let (mut tx, rx) = bounded_stream(WATCH_BUFFER, STREAM_PATIENCE, "status updates");
        let hub = std::sync::Arc::downgrade(&self.hub);
        tokio::spawn(async move {
            let mut done = first.is_finished();
            if tx.send(first.status()).await.is_err() {
                return;
            }
            while !done {
                let changed = tokio::select! {
                    changed = changes.recv() => changed,
                    _ = stopping.changed() => return,
                };
                match changed {
                    Ok(changed) if changed.ceremony != id => continue,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
                let Some(hub) = hub.upgrade() else { return };
                let Ok(ceremony) = hub.ceremony(&id).await else {
                    return;
                };
                drop(hub);
                done = ceremony.is_finished();
                let sent = tokio::select! {
                    sent = tx.send(ceremony.status()) => sent,
                    _ = stopping.changed() => return,
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(rx)))
    }
}

/// A field over its limit is the caller's to fix.
fn invalid(e: LimitError) -> Status {
    Status::invalid_argument(e.to_string())
}
