//! `quorate.v1.KeyGroups`: registering and reading key groups.

use quorate_ceremonies::KeyGroup;
use quorate_types::KeyGroupFile;
use quorate_types::{KeyGroupName, ParticipantId};
use quorate_wire::{self as proto, key_groups_server::KeyGroups};
use tonic::{Request, Response, Status};

use super::{Admit, SharedHub, authorize, to_status_error};
use crate::authz::Role;
use crate::store::CeremonyStore;

pub struct KeyGroupsService<S> {
    pub hub: SharedHub<S>,
}

impl<S: CeremonyStore> KeyGroupsService<S> {
    /// The caller, if it is an operator (who may `action`).
    fn operator<T>(&self, request: &Request<T>, action: &str) -> Result<ParticipantId, Status> {
        let caller = crate::auth::caller(request)?;
        authorize(
            &self.hub,
            &caller,
            &[Role::Operator],
            Admit::NoParticipants,
            action,
        )?;
        Ok(caller)
    }
}

#[tonic::async_trait]
impl<S: CeremonyStore> KeyGroups for KeyGroupsService<S> {
    async fn register(
        &self,
        request: Request<proto::RegisterKeyGroupRequest>,
    ) -> Result<Response<proto::KeyGroup>, Status> {
        let caller = self.operator(&request, "register key groups")?;
        super::admit_write(&self.hub, caller.as_str())?;
        let group = request
            .into_inner()
            .key_group
            .ok_or_else(|| Status::invalid_argument("key_group: missing"))?;
        let file = KeyGroupFile::try_from(&group)?;
        let name = file.name.clone();
        self.hub
            .register_key_group(file.clone(), caller.to_string())
            .await
            .map_err(to_status_error)?;
        tracing::info!(key_group = %name, by = %caller, "key group registered");
        Ok(Response::new(proto::KeyGroup::from(&file)))
    }

    async fn get(
        &self,
        request: Request<proto::GetKeyGroupRequest>,
    ) -> Result<Response<proto::KeyGroup>, Status> {
        let caller = crate::auth::caller(&request)?;
        authorize(
            &self.hub,
            &caller,
            &[Role::Operator, Role::Requester, Role::Auditor],
            Admit::AnyParticipant,
            "read key groups",
        )?;
        let name = KeyGroupName::new(&request.get_ref().name)
            .map_err(|e| Status::invalid_argument(format!("name: {e}")))?;
        let group = self
            .hub
            .key_group(&name)
            .ok_or_else(|| Status::not_found(format!("no key group {name}")))?;
        Ok(Response::new(reply(&group)?))
    }

    async fn change_roster(
        &self,
        request: Request<proto::ChangeRosterRequest>,
    ) -> Result<Response<proto::KeyGroup>, Status> {
        let caller = self.operator(&request, "change rosters")?;
        super::admit_write(&self.hub, caller.as_str())?;
        let request = request.into_inner();
        let name = group_name("name", &request.name)?;
        let roster = proto::convert::roster(&request.roster)?;
        let group = self
            .hub
            .change_roster(&name, roster, caller.to_string())
            .await
            .map_err(to_status_error)?;
        tracing::info!(key_group = %name, version = group.version, by = %caller, "roster changed");
        Ok(Response::new(reply(&group)?))
    }

    async fn record_hand_over(
        &self,
        request: Request<proto::RecordHandOverRequest>,
    ) -> Result<Response<proto::RecordHandOverReply>, Status> {
        let caller = self.operator(&request, "record hand-overs")?;
        super::admit_write(&self.hub, caller.as_str())?;
        let text = String::from_utf8(request.into_inner().link)
            .map_err(|_| Status::invalid_argument("link: not UTF-8 text"))?;
        let link = quorate_types::handover::Link::from_json(&text)
            .map_err(|e| Status::invalid_argument(format!("link: {e}")))?;
        let h = self
            .hub
            .record_hand_over(link, caller.to_string())
            .await
            .map_err(to_status_error)?;
        tracing::warn!(from = %h.old_key_group, to = %h.new_key_group, by = %caller, "hand-over recorded");
        Ok(Response::new(proto::RecordHandOverReply {}))
    }

    async fn retire(
        &self,
        request: Request<proto::RetireKeyGroupRequest>,
    ) -> Result<Response<proto::RetireKeyGroupReply>, Status> {
        let caller = self.operator(&request, "retire key groups")?;
        super::admit_write(&self.hub, caller.as_str())?;
        let request = request.into_inner();
        let name = group_name("key_group", &request.key_group)?;
        let statement = String::from_utf8(request.statement)
            .map_err(|_| Status::invalid_argument("statement: not UTF-8 text"))?;
        let signature: [u8; 64] = request
            .signature
            .try_into()
            .map_err(|_| Status::invalid_argument("signature: not 64 bytes"))?;
        self.hub
            .retire(&name, statement, signature, caller.to_string())
            .await
            .map_err(to_status_error)?;
        tracing::warn!(key_group = %name, by = %caller, "key group retired");
        Ok(Response::new(proto::RetireKeyGroupReply {}))
    }
}

/// `value` as a key group name, or a status naming `field`.
fn group_name(field: &str, value: &str) -> Result<KeyGroupName, Status> {
    KeyGroupName::new(value).map_err(|e| Status::invalid_argument(format!("{field}: {e}")))
}

fn reply(group: &KeyGroup) -> Result<proto::KeyGroup, Status> {
    let file = KeyGroupFile::new(
        group.name.clone(),
        group.threshold,
        &group.public_key_package,
        group.roster.clone(),
        group.policy.clone(),
    )
    .map_err(|e| Status::internal(e.to_string()))?;
    Ok(proto::KeyGroup {
        roster_version: group.version,
        ..proto::KeyGroup::from(&file)
    })
}
