//! The gRPC services. Each handler parses its request (bad input is
//! `INVALID_ARGUMENT` naming the field), takes the caller from [`crate::auth`],
//! calls the [`Hub`], and converts the answer.

mod audit;
mod ceremonies;
mod key_ceremonies;
mod key_groups;
mod page;
mod signer;

use std::sync::Arc;

use quorate_ceremonies::{Ceremony, CeremonyError, Phase, Progress, State};
use quorate_types::{CeremonyId, ParticipantId, SignedRequest};
use quorate_wire as proto;
use tonic::Status;

use crate::authz::{Membership, Role};
use crate::hub::{Hub, HubError};
use crate::snapshot::Snapshot;
use crate::store::CeremonyStore;

pub use audit::AuditService;
pub use ceremonies::CeremoniesService;
pub use key_ceremonies::KeyCeremoniesService;
pub use key_groups::KeyGroupsService;
pub use signer::SignerService;

pub(crate) type SharedHub<S> = Arc<Hub<S>>;

/// Which participants a row of the authorization matrix admits.
pub(crate) enum Admit<'a> {
    NoParticipants,
    AnyParticipant,
    ParticipantOf(&'a quorate_types::KeyGroupName),
}

/// Checks `who` may `action` (see [`crate::authz`]).
pub(crate) fn authorize<S: CeremonyStore>(
    hub: &Hub<S>,
    who: &ParticipantId,
    roles: &[Role],
    admit: Admit<'_>,
    action: &str,
) -> Result<(), Status> {
    let groups = hub.key_groups_of(who);
    let membership = match admit {
        Admit::NoParticipants => Membership::NotAsked,
        Admit::AnyParticipant if !groups.is_empty() => Membership::Admitted,
        Admit::ParticipantOf(g) if groups.contains(g) => Membership::Admitted,
        _ if groups.is_empty() => Membership::None,
        _ => Membership::Outside,
    };
    hub.authz()
        .check(who, roles, membership, !groups.is_empty(), action)
}

pub(crate) fn ceremony_id(value: &str) -> Result<CeremonyId, Status> {
    CeremonyId::new(value).map_err(|e| Status::invalid_argument(format!("ceremony: {e}")))
}

pub(crate) fn to_state(state: State) -> proto::CeremonyState {
    use proto::CeremonyState as P;
    match state {
        State::AwaitingReview => P::AwaitingReview,
        State::Cancelled => P::Cancelled,
        State::Expired => P::Expired,
        State::CollectingApprovals => P::CollectingApprovals,
        State::CollectingCommitments => P::CollectingCommitments,
        State::Failed => P::Failed,
        State::Rejected => P::Rejected,
        State::Signed => P::Signed,
        State::Signing => P::Signing,
    }
}

pub(crate) fn to_status(c: &Ceremony) -> proto::CeremonyStatus {
    let group = c.key_group();
    let role = |p: &ParticipantId| group.role_of(p).unwrap_or_default().to_string();
    let (signing_set, attempt, shares_received) = match c.phase() {
        Phase::ExpectShares(round) => (
            round.signers().iter().map(|s| s.to_string()).collect(),
            round.attempt(),
            round.shares_received().map(|s| s.to_string()).collect(),
        ),
        _ => (Vec::new(), c.attempts(), Vec::new()),
    };
    proto::CeremonyStatus {
        id: c.id().to_string(),
        key_group: group.name.to_string(),
        requester: c.request().requester.clone(),
        label: c.request().label.clone(),
        message: c.request().message.clone(),
        context: c.request().context.clone(),
        follow_ups: c.request().follow_ups.iter().map(Into::into).collect(),
        signed_request: c
            .request()
            .signed
            .as_ref()
            .map(SignedRequest::to_bytes)
            .unwrap_or_default(),
        batch_signatures: c
            .batch_signatures()
            .iter()
            .filter_map(|s| s.serialize().ok())
            .collect(),
        message_sha256: c.message_sha256().0.to_vec(),
        state: to_state(c.state()).into(),
        threshold: group.threshold.into(),
        created_at_unix_ms: c.request().created_at.unix_ms(),
        approvals: c
            .approvals()
            .iter()
            .map(|(p, at)| proto::Approval {
                participant: p.to_string(),
                role: role(p),
                at_unix_ms: at.unix_ms(),
                statement: c.approval_of(p).map(|s| s.to_bytes()).unwrap_or_default(),
            })
            .collect(),
        rejections: c
            .rejections()
            .iter()
            .map(|(p, reason, at)| proto::Rejection {
                participant: p.to_string(),
                role: role(p),
                reason: reason.clone(),
                at_unix_ms: at.unix_ms(),
            })
            .collect(),
        signing_set,
        attempt,
        shares_received,
        dropped: c
            .dropped()
            .iter()
            .map(|(p, reason)| proto::Dropped {
                participant: p.to_string(),
                reason: reason.to_string(),
            })
            .collect(),
        signature: c
            .signature()
            .and_then(|s| s.serialize().ok())
            .unwrap_or_default(),
        summary: Progress(c).to_string(),
        version: c.version(),
        break_glass: c.is_break_glass(),
        justification: c.request().break_glass.clone().unwrap_or_default(),
        next_deadline_unix_ms: c.next_deadline().map_or(0, |d| d.unix_ms()),
        reviewed_by: c.review_record().map(|r| r.by.clone()).unwrap_or_default(),
        review_notes: c
            .review_record()
            .map(|r| r.notes.clone())
            .unwrap_or_default(),
        approvals_by_role: c
            .approvals()
            .iter()
            .fold(Default::default(), |mut m, (p, _)| {
                *m.entry(role(p)).or_insert(0) += 1;
                m
            }),
    }
}

pub(crate) fn to_status_error(e: HubError) -> Status {
    match e {
        HubError::UnknownCeremony(_)
        | HubError::UnknownKeyGroup(_)
        | HubError::UnknownKeyCeremony(_) => Status::not_found(e.to_string()),
        HubError::KeyCeremonyOpen(..) => Status::already_exists(e.to_string()),
        HubError::RefreshStale(..) => Status::failed_precondition(e.to_string()),
        HubError::NotYourMessage { .. } => Status::permission_denied(e.to_string()),
        HubError::Key(e) => key_error(e),
        HubError::KeyGroupExists(_) | HubError::RequestIdTaken { .. } => {
            Status::already_exists(e.to_string())
        }
        HubError::InvalidKeyGroup(_)
        | HubError::InvalidRoster(..)
        | HubError::InvalidBackupNote(_)
        | HubError::InvalidRetirement(_)
        | HubError::InvalidHandOver(_) => Status::invalid_argument(e.to_string()),
        HubError::Retired { .. } | HubError::CompromiseNotBreakGlass(_) => {
            Status::failed_precondition(e.to_string())
        }
        HubError::RosterRace(_) | HubError::RequestInFlight(_) => Status::aborted(e.to_string()),
        HubError::Busy(_) => Status::unavailable(e.to_string()),
        HubError::Store(crate::store::StoreError::Follower { ref address, .. }) => {
            let mut status = Status::unavailable(e.to_string());
            if let Some(address) = address.as_deref().and_then(|a| a.parse().ok()) {
                status
                    .metadata_mut()
                    .insert(quorate_wire::coordinators::WRITER, address);
            }
            status
        }
        HubError::Store(_) => {
            tracing::error!(error = %e, "storage failure");
            Status::unavailable(e.to_string())
        }
        HubError::Ceremony(e) => ceremony_error(e),
        HubError::Limit(e) => {
            tracing::warn!(refused = %e, "limit reached");
            e.into()
        }
    }
}

fn key_error(e: quorate_ceremonies::key::KeyError) -> Status {
    use quorate_ceremonies::key::KeyError as K;
    let message = e.to_string();
    match e {
        K::Proposal { .. }
        | K::OtherCeremony(_)
        | K::BadSignature(_)
        | K::OtherProposal { .. }
        | K::BadRecipient(_)
        | K::Reason(..)
        | K::BadEnvelope(_) => Status::invalid_argument(message),
        K::NotInRoster(_) | K::NotTakingPart(_) => Status::permission_denied(message),
        K::NotYet(..) => Status::failed_precondition(message),
        K::Repeated(..) => Status::already_exists(message),
        K::Finished(_) | K::OutOfTurn { .. } | K::NotDue(_) => Status::failed_precondition(message),
    }
}

fn ceremony_error(e: CeremonyError) -> Status {
    let message = e.to_string();
    match e {
        CeremonyError::AlreadyDecided { .. }
        | CeremonyError::DuplicateCommitments { .. }
        | CeremonyError::DuplicateShare { .. } => Status::already_exists(message),
        CeremonyError::CommitmentsReused { .. }
        | CeremonyError::BadStatement { .. }
        | CeremonyError::InvalidRequest(_)
        | CeremonyError::MessageMismatch { .. } => Status::invalid_argument(message),
        CeremonyError::NotAllowed { .. }
        | CeremonyError::UnknownParticipant { .. }
        | CeremonyError::NotInSigningSet { .. } => Status::permission_denied(message),
        CeremonyError::NoReviewNeeded(_) | CeremonyError::NotDue { .. } => {
            Status::failed_precondition(message)
        }
        CeremonyError::Finished { .. }
        | CeremonyError::NoSigningPackage { .. }
        | CeremonyError::NotApproved { .. }
        | CeremonyError::ParticipantDropped { .. }
        | CeremonyError::StaleAttempt { .. } => Status::failed_precondition(message),
    }
}

/// Makes sure the ceremony is one the caller's key groups hold.
pub(crate) async fn ceremony_for<S: CeremonyStore>(
    hub: &Hub<S>,
    id: &CeremonyId,
    caller: &ParticipantId,
) -> Result<Arc<Snapshot>, Status> {
    let ceremony = hub.ceremony(id).await.map_err(to_status_error)?;
    if ceremony.key_group().roster.get(caller).is_none() {
        return Err(Status::permission_denied(format!(
            "{caller} is not in the roster of key group {}",
            ceremony.key_group().name
        )));
    }
    Ok(ceremony)
}

/// Admits one writing call of `caller`, or answers `RESOURCE_EXHAUSTED`
/// saying its rate ([`crate::limits::Limits::writes_per_minute`]).
pub(crate) fn admit_write<S: CeremonyStore>(hub: &Hub<S>, caller: &str) -> Result<(), Status> {
    hub.admit_write(caller).map_err(|e| {
        tracing::warn!(refused = %e, "limit reached");
        Status::from(e)
    })
}
