//! A key group's history (`quorate_ceremonies::key::history`): its
//! registration, its approvers' backup notes, its hand-over and its
//! retirement. A note the approver signed about its share replays; one the
//! log key's holder made up or one about another share is caught, naming
//! the entry. So are a hand-over of another key and a retirement that the
//! group's own key did not sign, and (from v2 on) a change of the group
//! that no key ceremony in the history made.

use super::*;
use quorate_ceremonies::Timestamp;
use quorate_ceremonies::key::history::{
    HISTORY_FORMAT, HISTORY_FORMAT_V1, KeyGroupHistory, replay as replay_history,
};
use quorate_ceremonies::replay::TranscriptEntry;
use quorate_tlog::{MemoryTree, prove_inclusion};
use quorate_types::backup_note::{BackupNote, SignedBackupNote};
use quorate_types::{KeyGroupFile, KeyGroupName, ParticipantId, Policy, Sha256Digest};
use support::transcript::{GROUP, LOG_ORIGIN, ROSTER, THRESHOLD, log_key, verifier};

/// The registered group, and alice's agent.
fn group() -> (KeyGroupFile, support::Agent) {
    let (package, roster, mut agents) = support::deal(&ROSTER, THRESHOLD);
    let file = KeyGroupFile::new(
        KeyGroupName::new(GROUP).expect("a valid name"),
        THRESHOLD,
        &package,
        roster,
        Policy::default(),
    )
    .expect("a key group file");
    let alice = agents
        .remove(&ParticipantId::new("alice").expect("a valid id"))
        .expect("alice");
    (file, alice)
}

/// alice's note about the share with public point `share_point`.
fn note(share_point: Vec<u8>) -> BackupNote {
    BackupNote {
        key_group: KeyGroupName::new(GROUP).expect("a valid name"),
        participant: ParticipantId::new("alice").expect("a valid id"),
        commitments_sha256: Sha256Digest::of(b"commitments"),
        share_point,
        threshold: 2,
        custodians: ["c1", "c2", "c3"]
            .map(|c| ParticipantId::new(c).expect("a valid id"))
            .to_vec(),
        at_unix_ms: 1_800_000_000_000,
    }
}

/// The history of `entries`, all proven in one checkpoint.
fn history(entries: &[Entry]) -> KeyGroupHistory {
    let log: Vec<Vec<u8>> = entries.iter().map(Entry::encode).collect();
    let mut tree = MemoryTree::new();
    for bytes in &log {
        tree.append(bytes);
    }
    let checkpoint = log_key()
        .sign_checkpoint(&Checkpoint {
            origin: LOG_ORIGIN.into(),
            size: tree.size(),
            root: tree.root(),
        })
        .expect("a signed checkpoint");
    KeyGroupHistory {
        format: HISTORY_FORMAT.into(),
        key_group: KeyGroupName::new(GROUP).expect("a valid name"),
        checkpoint,
        entries: log
            .iter()
            .enumerate()
            .map(|(i, bytes)| TranscriptEntry {
                index: i as u64,
                entry: String::from_utf8(bytes.clone()).expect("UTF-8"),
                proof: prove_inclusion(i as u64, tree.size(), &tree)
                    .expect("a proof")
                    .hashes,
            })
            .collect(),
    }
}

fn backed_up(note: SignedBackupNote) -> Entry {
    Entry::ShareBackedUp {
        at: Timestamp(1_800_000_000_000),
        note,
    }
}

#[test]
fn backup_notes_replay_only_if_the_approver_signed_them_about_its_share() {
    let (file, alice) = group();
    let registered = Entry::KeyGroupRegistered {
        at: Timestamp(1_700_000_000_000),
        by: "operator".into(),
        key_group: file,
    };
    let mine = alice
        .key
        .verifying_share()
        .serialize()
        .expect("a verifying share");
    let good = note(mine.clone()).sign(&alice.identity);
    let replayed = replay_history(
        &history(&[registered.clone(), backed_up(good)]),
        &verifier(),
    )
    .expect("alice's own note replays");
    assert_eq!(replayed.backups.len(), 1);
    assert_eq!(replayed.backups[0].custodians, 3);

    // Made up by whoever holds the log key: not signed by alice.
    let other = quorate_secrets::IdentityKey::generate(
        ParticipantId::new("alice").expect("a valid id"),
        &mut rand_core::OsRng,
    );
    let forged = note(mine).sign(&other);
    let err = replay_history(
        &history(&[registered.clone(), backed_up(forged)]),
        &verifier(),
    )
    .expect_err("a forged note");
    assert_eq!(err.entry, Some(1));
    assert!(
        err.why
            .contains("does not verify under alice's identity key"),
        "{err}"
    );

    // About another share than alice's.
    let stale = note(vec![0x58; 32]).sign(&alice.identity);
    let err = replay_history(&history(&[registered, backed_up(stale)]), &verifier())
        .expect_err("a note about another share");
    assert!(err.why.contains("another share than alice's"), "{err}");
}

#[test]
fn a_hand_over_replays_only_from_the_groups_own_key() {
    use quorate_types::handover::{HandOver, Link};
    let (file, _) = group();
    let registered = Entry::KeyGroupRegistered {
        at: Timestamp(1_700_000_000_000),
        by: "operator".into(),
        key_group: file,
    };
    // Two keys that sign well, but the old one is not the group's.
    let key = |name: &str| {
        quorate_secrets::IdentityKey::generate(
            ParticipantId::new(name).expect("a valid id"),
            &mut rand_core::OsRng,
        )
    };
    let (old, new) = (key("old"), key("new"));
    let statement = HandOver {
        old_key_group: GROUP.into(),
        old_key: old.public().to_bytes(),
        new_key_group: "release-2".into(),
        new_key: new.public().to_bytes(),
        new_threshold: 4,
        new_roster_sha256: "00".repeat(32),
        new_policy_sha256: "11".repeat(32),
        at_unix_ms: 1_800_000_000_000,
        compromised: false,
        reason: "rotation".into(),
    }
    .to_bytes();
    let link = Link {
        statement: String::from_utf8(statement.clone()).expect("UTF-8"),
        old_signature: old.sign(&statement),
        new_signature: new.sign(&statement),
    };
    let handed_over = Entry::KeyGroupHandedOver {
        at: Timestamp(1_800_000_000_000),
        by: "operator".into(),
        key_group: KeyGroupName::new(GROUP).expect("a valid name"),
        link,
    };
    let err = replay_history(&history(&[registered, handed_over]), &verifier())
        .expect_err("a hand-over of another key");
    assert_eq!(err.entry, Some(1));
    assert!(err.why.contains("another key than key group"), "{err}");
}

#[test]
fn a_retirement_replays_only_if_the_group_signed_it() {
    use quorate_types::retirement::Retirement;
    let (package, roster, mut agents) = support::deal(&ROSTER, THRESHOLD);
    let file = KeyGroupFile::new(
        KeyGroupName::new(GROUP).expect("a valid name"),
        THRESHOLD,
        &package,
        roster,
        Policy::default(),
    )
    .expect("a key group file");
    let statement = Retirement {
        key_group: KeyGroupName::new(GROUP).expect("a valid name"),
        group_key: file.group_key.clone(),
        successor: Some(KeyGroupName::new("release-2").expect("a valid name")),
        at_unix_ms: 1_800_000_000_000,
        reason: "rotated".into(),
    }
    .to_bytes();
    // The group signs it: two FROST rounds among a threshold of agents.
    let mut signers: Vec<_> = agents.values_mut().take(THRESHOLD as usize).collect();
    let commitments = signers
        .iter_mut()
        .map(|a| (a.participant().identifier(), a.commit()))
        .collect();
    let signing = frost_ed25519::SigningPackage::new(commitments, &statement);
    let shares = signers
        .iter_mut()
        .map(|a| (a.participant().identifier(), a.sign(&signing)))
        .collect();
    let by_group: [u8; 64] = frost_ed25519::aggregate(&signing, &shares, &package)
        .expect("the group's signature")
        .serialize()
        .expect("serialized")
        .try_into()
        .expect("64 bytes");
    let by_stranger = quorate_secrets::IdentityKey::generate(
        ParticipantId::new("mallory").expect("a valid id"),
        &mut rand_core::OsRng,
    )
    .sign(&statement);
    let entries = |signature: [u8; 64]| {
        [
            Entry::KeyGroupRegistered {
                at: Timestamp(1_700_000_000_000),
                by: "operator".into(),
                key_group: file.clone(),
            },
            Entry::KeyGroupRetired {
                at: Timestamp(1_800_000_000_000),
                by: "operator".into(),
                key_group: KeyGroupName::new(GROUP).expect("a valid name"),
                statement: String::from_utf8(statement.clone()).expect("UTF-8"),
                signature: quorate_types::statement::Signature(signature),
            },
        ]
    };
    let replayed =
        replay_history(&history(&entries(by_group)), &verifier()).expect("the group retired");
    assert_eq!(
        replayed.retired,
        Some(Some(KeyGroupName::new("release-2").expect("a valid name")))
    );
    let err = replay_history(&history(&entries(by_stranger)), &verifier())
        .expect_err("a retirement the group did not sign");
    assert_eq!(err.entry, Some(1));
    assert!(err.why.contains("not signed by key group"), "{err}");
}

#[test]
fn a_change_no_key_ceremony_made_replays_only_in_a_v1_history() {
    let (file, _) = group();
    let registered = Entry::KeyGroupRegistered {
        at: Timestamp(1_700_000_000_000),
        by: "operator".into(),
        key_group: file.clone(),
    };
    // Whoever holds the log key swaps alice's identity key for their own.
    let mut swapped = file;
    let theirs = quorate_secrets::IdentityKey::generate(
        ParticipantId::new("alice").expect("a valid id"),
        &mut rand_core::OsRng,
    );
    for p in &mut swapped.roster.participants {
        if p.id.as_str() == "alice" {
            p.identity = Some(theirs.public());
        }
    }
    let changed = |by: &str| Entry::KeyGroupChanged {
        at: Timestamp(1_800_000_000_000),
        by: by.into(),
        version: 1,
        key_group: swapped.clone(),
    };
    // An operator's roster change may replace an identity key: the replay
    // takes it as recorded, and says so.
    let roster_changed = Entry::RosterChanged {
        at: Timestamp(1_800_000_000_000),
        by: "operator".into(),
        key_group: KeyGroupName::new(GROUP).expect("a valid name"),
        version: 1,
        roster: swapped.roster.clone(),
    };
    let replayed = replay_history(&history(&[registered.clone(), roster_changed]), &verifier())
        .expect("a roster change replays");
    assert!(replayed.changes_checked);
    assert_eq!(replayed.registered_by, "operator");
    assert_eq!(
        replayed.identity_changes,
        vec![quorate_ceremonies::key::history::IdentityChange {
            participant: ParticipantId::new("alice").expect("a valid id"),
            version: 1,
        }]
    );
    for by in ["operator", "key ceremony key-0001"] {
        let mut forged = history(&[registered.clone(), changed(by)]);
        let err = replay_history(&forged, &verifier()).expect_err("a change no ceremony made");
        assert_eq!(err.entry, Some(1));
        assert!(
            err.why.contains("the history holds no such key ceremony"),
            "{err}"
        );
        // A v1 history took changes as recorded.
        forged.format = HISTORY_FORMAT_V1.into();
        let replayed = replay_history(&forged, &verifier()).expect("v1 takes it as recorded");
        assert_eq!(replayed.version, 1);
    }
}
