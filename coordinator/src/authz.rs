//! Who may do what. Every RPC handler asks [`Authz::check`] before acting.
//!
//! Identities come from [`crate::auth`]. Participants are the roster ids of
//! registered key groups; everyone else is a party listed in
//! `coordinator.toml` with roles:
//!
//! | RPC | allowed |
//! | --- | --- |
//! | KeyGroups.Register, ChangeRoster | operator |
//! | KeyGroups.Get | any known identity |
//! | Ceremonies.Create, Cancel | requester (and the key group's policy must list it; only its own ceremony is cancelled) |
//! | Ceremonies.Get, Watch | requester, auditor, operator; a participant of the ceremony's key group |
//! | Ceremonies.List | requester, auditor, operator; a participant sees its key groups' ceremonies only |
//! | Ceremonies.Review | auditor (and the emergency policy's reviewers) |
//! | Signer.* | a participant, acting only as itself, in its key groups |
//! | Audit.Checkpoint, InclusionProof, ConsistencyProof | auditor, operator, any participant |
//! | Audit.Entries (the whole log) | auditor, operator |
//! | Audit.CeremonyEntries, StatementEvidence | auditor, operator; a participant of the ceremony's key group |
//! | Audit.KeyCeremonyEntries | auditor, operator; a participant the key ceremony names |
//! | KeyCeremonies.Propose*, Cancel | operator |
//! | KeyCeremonies.Get, Watch | operator, auditor; a participant the key ceremony names |
//! | KeyCeremonies.Pending, Post | a participant the key ceremony names, posting only its own messages |
//!
//! An identity that is neither a party nor in any roster is
//! `UNAUTHENTICATED`; a known one outside its row is `PERMISSION_DENIED`.
//! A replica that follows the writer grants only the roles both its own
//! list and the writer's recorded one grant ([`Authz::follow_record`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use quorate_types::ParticipantId;
use tonic::Status;

use crate::poison::{read, write};

pub use quorate_types::{Party, PartyRole as Role};

/// A replica over PostgreSQL that follows the writer grants a party only
/// the roles both its own `[[party]]` list and the list the record holds
/// (the writer's, recorded as it took up writing) grant it: a replica
/// configured apart can withhold access, never add it. The writer, and a
/// coordinator on the embedded store, grant what their own list says (and
/// record it).
#[derive(Debug, Default)]
pub struct Authz {
    /// This coordinator's own `[[party]]` list.
    configured: HashMap<String, BTreeSet<Role>>,
    /// What is granted now: `configured`, or its meet with the record's.
    granted: RwLock<HashMap<String, BTreeSet<Role>>>,
}

/// Whether the caller is a participant for the purpose at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// The row does not admit participants.
    NotAsked,
    /// A participant, and this row admits it.
    Admitted,
    /// A participant of some key group, but not one this row admits.
    Outside,
    /// In no roster at all.
    None,
}

impl Authz {
    pub fn new(parties: &[Party]) -> Self {
        let configured = roles_of(parties);
        Self {
            granted: RwLock::new(configured.clone()),
            configured,
        }
    }

    /// Grants only what both this coordinator's list and `recorded`, the
    /// list the record holds, grant; with `None` (nothing recorded, or
    /// this coordinator writes), what its own list grants.
    pub fn follow_record(&self, recorded: Option<&[Party]>) {
        let granted = match recorded {
            None => self.configured.clone(),
            Some(recorded) => {
                let recorded = roles_of(recorded);
                self.configured
                    .iter()
                    .filter_map(|(name, roles)| {
                        let both: BTreeSet<Role> =
                            recorded.get(name)?.intersection(roles).copied().collect();
                        (!both.is_empty()).then(|| (name.clone(), both))
                    })
                    .collect()
            }
        };
        *write(&self.granted) = granted;
    }

    /// Allows `who` to `action` if it has one of `roles`, or if
    /// `membership` admits it as a participant.
    pub fn check(
        &self,
        who: &ParticipantId,
        roles: &[Role],
        membership: Membership,
        is_participant_anywhere: bool,
        action: &str,
    ) -> Result<(), Status> {
        let granted = read(&self.granted);
        let has = granted.get(who.as_str());
        let configured = self.configured.get(who.as_str());
        let holds = |set: Option<&BTreeSet<Role>>| {
            set.is_some_and(|set| roles.iter().any(|r| set.contains(r)))
        };
        if holds(has) || membership == Membership::Admitted {
            return Ok(());
        }
        if holds(configured) {
            return Err(Status::permission_denied(format!(
                "{who} may not {action} at this replica: its [[party]] list grants that, but \
                 the list the record holds (the writer's) does not, and a replica grants only \
                 what both say; configure every replica alike"
            )));
        }
        // (What is granted is some of what is configured.)
        if configured.is_none() && !is_participant_anywhere {
            return Err(Status::unauthenticated(format!(
                "unknown identity {who}: neither a party in coordinator.toml nor in the roster of a key group"
            )));
        }
        let needs: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        let also = match membership {
            Membership::NotAsked => String::new(),
            _ => " or a participant of the key group concerned".to_string(),
        };
        Err(Status::permission_denied(format!(
            "{who} may not {action}: that needs the role {}{also}",
            if needs.is_empty() {
                "of participant".to_string()
            } else {
                needs.join(" or ")
            }
        )))
    }

    pub fn has(&self, who: &ParticipantId, role: Role) -> bool {
        read(&self.granted)
            .get(who.as_str())
            .is_some_and(|set| set.contains(&role))
    }
}

fn roles_of(parties: &[Party]) -> HashMap<String, BTreeSet<Role>> {
    let mut map: HashMap<String, BTreeSet<Role>> = HashMap::new();
    for p in parties {
        map.entry(p.name.clone())
            .or_default()
            .extend(p.roles.iter().copied());
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(name: &str, roles: &[Role]) -> Party {
        Party {
            name: name.into(),
            roles: roles.to_vec(),
        }
    }

    /// `who`'s call needing `role`, as a refusal (a name that is no
    /// participant id is INVALID_ARGUMENT).
    fn asks(authz: &Authz, who: &str, role: Role) -> Result<(), Status> {
        let who = ParticipantId::new(who).map_err(|e| Status::invalid_argument(e.to_string()))?;
        authz.check(&who, &[role], Membership::NotAsked, false, "act")
    }

    fn may(authz: &Authz, who: &str, role: Role) -> Result<(), tonic::Code> {
        asks(authz, who, role).map_err(|s| s.code())
    }

    #[test]
    fn a_follower_grants_only_what_its_list_and_the_records_both_grant() {
        let ours = [
            party("ana", &[Role::Auditor, Role::Operator]),
            party("ben", &[Role::Requester]),
            party("cy", &[Role::Auditor]),
        ];
        let authz = Authz::new(&ours);
        assert_eq!(may(&authz, "ana", Role::Operator), Ok(()));
        // The writer's list: ana an auditor only, ben not at all, and dee
        // whom this replica does not list.
        let recorded = [
            party("ana", &[Role::Auditor]),
            party("cy", &[Role::Auditor]),
            party("dee", &[Role::Auditor]),
        ];
        authz.follow_record(Some(&recorded));
        assert_eq!(may(&authz, "ana", Role::Auditor), Ok(()));
        assert_eq!(may(&authz, "cy", Role::Auditor), Ok(()));
        assert_eq!(
            may(&authz, "ana", Role::Operator),
            Err(tonic::Code::PermissionDenied)
        );
        assert_eq!(
            may(&authz, "ben", Role::Requester),
            Err(tonic::Code::PermissionDenied)
        );
        assert!(ParticipantId::new("ben").is_ok_and(|ben| !authz.has(&ben, Role::Requester)));
        assert_eq!(
            may(&authz, "dee", Role::Auditor),
            Err(tonic::Code::Unauthenticated)
        );
        // The withheld are told why.
        let refused = asks(&authz, "ben", Role::Requester);
        assert!(
            refused
                .as_ref()
                .is_err_and(|s| s.message().contains("the list the record holds")),
            "{refused:?}"
        );
        // Writing (or nothing recorded): its own list again.
        authz.follow_record(None);
        assert_eq!(may(&authz, "ana", Role::Operator), Ok(()));
        assert_eq!(may(&authz, "ben", Role::Requester), Ok(()));
        assert_eq!(
            may(&authz, "dee", Role::Auditor),
            Err(tonic::Code::Unauthenticated)
        );
    }
}
