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

use std::collections::{BTreeSet, HashMap};

use quorate_types::ParticipantId;
use tonic::Status;

pub use quorate_types::{Party, PartyRole as Role};

#[derive(Debug, Default)]
pub struct Authz {
    parties: HashMap<String, BTreeSet<Role>>,
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
        let mut map: HashMap<String, BTreeSet<Role>> = HashMap::new();
        for p in parties {
            map.entry(p.name.clone())
                .or_default()
                .extend(p.roles.iter().copied());
        }
        Self { parties: map }
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
        let has = self.parties.get(who.as_str());
        if has.is_none() && !is_participant_anywhere {
            return Err(Status::unauthenticated(format!(
                "unknown identity {who}: neither a party in coordinator.toml nor in the roster of a key group"
            )));
        }
        if has.is_some_and(|set| roles.iter().any(|r| set.contains(r))) {
            return Ok(());
        }
        if membership == Membership::Admitted {
            return Ok(());
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
        self.parties
            .get(who.as_str())
            .is_some_and(|set| set.contains(&role))
    }
}
