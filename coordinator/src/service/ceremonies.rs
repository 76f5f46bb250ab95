//! `quorate.v1.Ceremonies`: what a release manager calls.

use std::pin::Pin;

use quorate_common::MAX_MESSAGE_BYTES;
use quorate_common::proto::{self, ceremonies_server::Ceremonies};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{SharedHub, ceremony_id, to_status, to_status_error};
use crate::store::CeremonyStore;

pub(crate) struct CeremoniesService<S> {
    pub hub: SharedHub<S>,
}

type StatusStream = Pin<Box<dyn Stream<Item = Result<proto::CeremonyStatus, Status>> + Send>>;

#[tonic::async_trait]
impl<S: CeremonyStore> Ceremonies for CeremoniesService<S> {
    async fn create(
        &self,
        request: Request<proto::CreateCeremonyRequest>,
    ) -> Result<Response<proto::CeremonyStatus>, Status> {
        let requester = crate::auth::caller(&request)?;
        let body = request.into_inner();
        if body.message.len() > MAX_MESSAGE_BYTES {
            return Err(Status::invalid_argument(format!(
                "message: {} bytes is over the limit of {MAX_MESSAGE_BYTES}; sign a manifest \
                 of the artifacts (e.g. SHA256SUMS) instead",
                body.message.len()
            )));
        }
        if body.label.len() > 256 {
            return Err(Status::invalid_argument("label: longer than 256 bytes"));
        }
        let ceremony = self
            .hub
            .create(
                &body.key_group,
                requester.to_string(),
                body.label,
                body.message,
            )
            .await
            .map_err(to_status_error)?;
        tracing::info!(ceremony = %ceremony.id(), key_group = %body.key_group, %requester, "ceremony requested");
        Ok(Response::new(to_status(&ceremony)))
    }

    async fn get(
        &self,
        request: Request<proto::GetCeremonyRequest>,
    ) -> Result<Response<proto::CeremonyStatus>, Status> {
        let id = ceremony_id(&request.get_ref().id)?;
        let ceremony = self.hub.ceremony(&id).await.map_err(to_status_error)?;
        Ok(Response::new(to_status(&ceremony)))
    }

    type WatchStream = StatusStream;

    async fn watch(
        &self,
        request: Request<proto::GetCeremonyRequest>,
    ) -> Result<Response<StatusStream>, Status> {
        let id = ceremony_id(&request.get_ref().id)?;
        let mut changes = self.hub.subscribe_changes();
        let mut stopping = self.hub.stopping();
        let first = self.hub.ceremony(&id).await.map_err(to_status_error)?;
        let (tx, rx) = mpsc::channel(16);
        let hub = std::sync::Arc::downgrade(&self.hub);
        tokio::spawn(async move {
            let mut done = first.is_finished();
            if tx.send(Ok(to_status(&first))).await.is_err() {
                return;
            }
            while !done {
                let changed = tokio::select! {
                    changed = changes.recv() => changed,
                    _ = stopping.changed() => return,
                };
                match changed {
                    Ok(changed) if changed != id => continue,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
                let Some(hub) = hub.upgrade() else { return };
                let Ok(ceremony) = hub.ceremony(&id).await else {
                    return;
                };
                drop(hub);
                done = ceremony.is_finished();
                if tx.send(Ok(to_status(&ceremony))).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
