//! Test support shared by the gate's and the release check's tests: the
//! sample 3-of-5 key group from a dealer, with real identity keys.

use std::collections::BTreeMap;

use frost_ed25519::Identifier;
use frost_ed25519::keys::{IdentifierList, SecretShare};
use quorate_ceremonies::KeyGroup;
use quorate_secrets::IdentityKey;
use quorate_types::{KeyGroupFile, KeyGroupName, ParticipantId, Policy, Roster, RosterEntry};
use rand_core::OsRng;

/// The sample roster: two engineering, two security, one release.
pub const MEMBERS: [(&str, &str); 5] = [
    ("alice", "engineering"),
    ("bob", "engineering"),
    ("carol", "security"),
    ("dave", "security"),
    ("erin", "release"),
];

pub fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

/// A key group `release` of [`MEMBERS`], 3 of 5, under `policy`: the group,
/// each member's identity key and each member's share.
pub fn dealt_group(
    policy: Policy,
) -> (
    KeyGroup,
    BTreeMap<String, IdentityKey>,
    BTreeMap<Identifier, SecretShare>,
) {
    let ids: Vec<Identifier> = MEMBERS.iter().map(|(n, _)| pid(n).identifier()).collect();
    let (shares, package) =
        frost_ed25519::keys::generate_with_dealer(5, 3, IdentifierList::Custom(&ids), OsRng)
            .unwrap();
    let identities: BTreeMap<String, IdentityKey> = MEMBERS
        .iter()
        .map(|(n, _)| (n.to_string(), IdentityKey::generate(pid(n), &mut OsRng)))
        .collect();
    let roster = Roster {
        participants: MEMBERS
            .iter()
            .map(|(n, role)| RosterEntry {
                id: pid(n),
                name: n.to_uppercase(),
                role: (*role).into(),
                coordinator: None,
                identity: Some(identities[*n].public()),
            })
            .collect(),
    };
    let file = KeyGroupFile::new(
        KeyGroupName::new("release").unwrap(),
        3,
        &package,
        roster,
        policy,
    )
    .unwrap();
    (KeyGroup::from_file(&file).unwrap(), identities, shares)
}
