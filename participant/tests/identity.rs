//! Loading the agent's identity key (`quorate_participant::identity`): it
//! must exist, be this participant's, and be the key the roster lists.

use std::path::Path;

use quorate_secrets::IdentityKey;

use quorate_participant::AgentConfig;
use quorate_participant::identity::load_identity;
use quorate_types::{ParticipantId, Roster, RosterEntry};
use rand_core::OsRng;

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

fn config(dir: &Path, identity_key: &Path) -> AgentConfig {
    AgentConfig {
        id: pid("alice"),
        coordinator: "http://127.0.0.1:1".into(),
        key_share: dir.join("alice.share.json"),
        identity_key: identity_key.to_owned(),
        passphrase: None,
        key_group: dir.join("group.json"),
        state_dir: dir.join("state"),
        socket: None,
        auto_approve: false,
        network: Default::default(),
        page: None,
        alert_webhook_ca: None,
        witnesses: Vec::new(),
        witness_quorum: None,
        witness_listen: None,
        alert_command: None,
        alert_webhook: None,
        log_key: None,
        tls: None,
    }
}

fn passphrase() -> quorate_secrets::Passphrase {
    quorate_secrets::Passphrase::new("correct horse".to_string().into())
}

fn roster(identity: Option<quorate_types::PublicIdentity>) -> Roster {
    Roster {
        participants: vec![RosterEntry {
            id: pid("alice"),
            name: "Alice".into(),
            role: "engineering".into(),
            coordinator: None,
            identity,
        }],
    }
}

fn saved(dir: &Path, who: &str) -> (IdentityKey, std::path::PathBuf) {
    let key = IdentityKey::generate(pid(who), &mut OsRng);
    let path = dir.join(format!("{who}.identity.json"));
    key.save(
        &path,
        &passphrase(),
        &quorate_secrets::sealed::KdfParams::for_random_passphrase(),
    )
    .unwrap();
    (key, path)
}

#[test]
fn the_roster_key_of_this_participant_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (key, path) = saved(dir.path(), "alice");
    let loaded = load_identity(
        &config(dir.path(), &path),
        &roster(Some(key.public())),
        &passphrase(),
    )
    .unwrap();
    assert_eq!(loaded.public(), key.public());
}

#[test]
fn a_missing_key_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.identity.json");
    let e = load_identity(&config(dir.path(), &path), &roster(None), &passphrase()).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(e.to_string().contains("alice.identity.json"), "{e}");
}

#[test]
fn another_participants_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (key, path) = saved(dir.path(), "bob");
    let e = load_identity(
        &config(dir.path(), &path),
        &roster(Some(key.public())),
        &passphrase(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("identity key of bob"), "{e}");
}

#[test]
fn a_key_the_roster_does_not_list_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = saved(dir.path(), "alice");
    let other = IdentityKey::generate(pid("alice"), &mut OsRng);
    let e = load_identity(
        &config(dir.path(), &path),
        &roster(Some(other.public())),
        &passphrase(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("but the roster"), "{e}");
    let e = load_identity(&config(dir.path(), &path), &roster(None), &passphrase()).unwrap_err();
    assert!(e.to_string().contains("lists no identity key"), "{e}");
}
