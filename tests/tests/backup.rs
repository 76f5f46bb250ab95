//! Share backup with custodians, end to end with real agents: alice backs
//! up her share 3-of-5 with custodians, each checks their piece, her share
//! file is deleted, three pieces restore it, and she signs again. A
//! tampered piece is named; pieces that restore another share are refused.

use quorate_e2e::*;
use quorate_participant::backup::{self, Form};
use quorate_secrets::{GroupFileIo, Passphrase};
use quorate_types::{KeyGroupFile, ParticipantId};

fn custodian_pass(c: &ParticipantId) -> Passphrase {
    Passphrase::new(zeroize::Zeroizing::new(format!("{c}'s long passphrase")))
}

fn custodians() -> Vec<ParticipantId> {
    [
        "carol-lawyer",
        "dan-vault",
        "eve-cfo",
        "frank-cto",
        "grace-ops",
    ]
    .map(pid)
    .to_vec()
}

fn read(path: &std::path::Path) -> quorate_backup::Piece {
    let custodian = pid(path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.split('.').next())
        .unwrap());
    backup::read_piece(path, &|_| Ok(custodian_pass(&custodian))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_share_is_restored_from_three_of_five_custodians_and_signs_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy(dir.path()).await;
    let alice = pid("alice");
    d.stop_agent(&alice).await;
    let config = d.agent_configs[&alice].clone();
    let passphrase = config.passphrase.clone().unwrap();
    let out = dir.path().join("backup");
    let made = backup::backup(
        &config,
        &passphrase,
        &custodians(),
        3,
        &out,
        Form::Sealed(&|c| Ok(custodian_pass(c))),
    )
    .unwrap();
    assert_eq!((made.commitments.threshold, made.commitments.count), (3, 5));
    // Each custodian checks their piece against the key group file.
    let group = KeyGroupFile::load(&config.key_group).unwrap();
    let mine = backup::share_point(&group, &alice).unwrap();
    let paths: Vec<_> = custodians()
        .iter()
        .map(|c| out.join(format!("{c}.piece")))
        .collect();
    for path in &paths {
        read(path).verify(Some(&mine)).unwrap();
    }
    // The record notes the backup, signed by alice, without a secret;
    // the same note again is the same entry.
    assert!(backup::note(&config, &made.note).await.unwrap());
    assert!(!backup::note(&config, &made.note).await.unwrap());
    let mut auditor = d.clients(quorate::local::AUDITOR).await.unwrap();
    let note = quorate::audit::checkpoint(&mut auditor.audit)
        .await
        .unwrap();
    let size = quorate::audit::witnesses::size_of(&note).unwrap();
    let entries = auditor
        .audit
        .entries(quorate_wire::EntriesRequest {
            start: 0,
            end: size,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let noted: Vec<_> = entries
        .iter()
        .filter_map(
            |e| match quorate_ceremonies::Entry::decode(&e.entry).unwrap() {
                quorate_ceremonies::Entry::ShareBackedUp { note, .. } => Some(note),
                _ => None,
            },
        )
        .collect();
    assert_eq!(noted, std::slice::from_ref(&made.note));
    assert_eq!(noted[0].note.commitments_sha256, made.commitments.hash());
    // An auditor's replay of the key group's history checks the note.
    let history = quorate::audit::export_key_group(&mut auditor.audit, &group.name)
        .await
        .unwrap();
    let path = dir.path().join("release.history");
    std::fs::write(&path, serde_json::to_vec(&history).unwrap()).unwrap();
    let log = quorate::audit::log_verifier(&d.log_verifier_key).unwrap();
    let replayed = quorate::audit::replay_history_file(&path, &log).unwrap();
    assert_eq!(replayed.backups.len(), 1, "{replayed:?}");
    assert_eq!(replayed.backups[0].participant, alice);
    assert_eq!(
        replayed.backups[0].commitments_sha256,
        made.commitments.hash()
    );
    // Nobody notes a backup for someone else, nor one of another share.
    let mut forged = made.note.note.clone();
    forged.participant = pid("bob");
    let identity = quorate_secrets::IdentityKey::load(&config.identity_key, &passphrase).unwrap();
    let err = backup::note(&config, &forged.clone().sign(&identity))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("may note only its own backups"),
        "{err:#}"
    );
    // The record takes at most MAX_BACKUP_NOTES notes per approver.
    for n in 1..quorate_coordinator::hub::MAX_BACKUP_NOTES {
        let mut more = made.note.note.clone();
        more.commitments_sha256 = quorate_types::Sha256Digest::of(&n.to_be_bytes());
        assert!(backup::note(&config, &more.sign(&identity)).await.unwrap());
    }
    let mut one_more = made.note.note.clone();
    one_more.commitments_sha256 = quorate_types::Sha256Digest::of(b"one more");
    let err = backup::note(&config, &one_more.sign(&identity))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the most it takes"), "{err:#}");
    let mut stale = made.note.note.clone();
    stale.share_point = vec![9; 32];
    let err = backup::note(&config, &stale.sign(&identity))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("another share than alice's"),
        "{err:#}"
    );

    // The piece is sealed: its value is nowhere in the clear.
    let sealed = std::fs::read_to_string(&paths[0]).unwrap();
    assert!(!sealed.contains("value"), "{sealed}");

    // The share is lost.
    let share_bytes = std::fs::read(&config.key_share).unwrap();
    std::fs::remove_file(&config.key_share).unwrap();
    assert!(d.start_agent(&alice).await.is_err());

    // A tampered piece is named, and nothing is written.
    let pieces: Vec<_> = [0, 2, 4].iter().map(|&i| read(&paths[i])).collect();
    let mut json = serde_json::to_value(&pieces[1]).unwrap();
    let value = json["value"].as_str().unwrap().to_string();
    let flipped = if value.starts_with('0') { "1" } else { "0" };
    json["value"] = format!("{flipped}{}", &value[1..]).into();
    let tampered: quorate_backup::Piece = serde_json::from_value(json).unwrap();
    let with_tampered = [pieces[0].clone(), tampered, pieces[2].clone()];
    let err = backup::restore(&config, &passphrase, &with_tampered).unwrap_err();
    assert!(
        err.to_string()
            .contains("eve-cfo's piece (3 of 5) does not match its commitments"),
        "{err:#}"
    );
    assert!(!config.key_share.exists());

    // Pieces of bob's share do not restore alice's.
    let bob = pid("bob");
    d.stop_agent(&bob).await;
    let bob_config = d.agent_configs[&bob].clone();
    let bob_out = dir.path().join("bob-backup");
    // Printed pieces, typed back in.
    let printed = backup::backup(
        &bob_config,
        bob_config.passphrase.as_ref().unwrap(),
        &custodians(),
        3,
        &bob_out,
        Form::Printable,
    )
    .unwrap()
    .printed;
    assert!(
        std::fs::read_dir(&bob_out).unwrap().all(|f| !f
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("piece")),
        "printed pieces are never on disk"
    );
    let bobs: Vec<_> = printed[..3]
        .iter()
        .map(|(_, text)| quorate_backup::printable::from_text(text).unwrap())
        .collect();
    let err = backup::restore(&config, &passphrase, &bobs).unwrap_err();
    assert!(err.to_string().contains("backs up bob's share"), "{err:#}");
    d.start_agent(&bob).await.unwrap();

    // Three good pieces restore it: a new sealed file holding the same
    // share.
    backup::restore(&config, &passphrase, &pieces).unwrap();
    assert_ne!(std::fs::read(&config.key_share).unwrap(), share_bytes);
    d.start_agent(&alice).await.unwrap();

    // alice signs again.
    let id = request(&d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    // With three approvals of a 3-of-5 group, alice's share was needed.
    let s = wait_for(&d, &id, "signed", |s| !s.signature.is_empty()).await;
    assert!(
        s.approvals.iter().any(|a| a.participant == "alice"),
        "{s:?}"
    );
    let key = ed25519_dalek::VerifyingKey::from_bytes(
        &hex::decode(&d.group.group_key).unwrap().try_into().unwrap(),
    )
    .unwrap();
    let signature = ed25519_dalek::Signature::from_slice(&s.signature).unwrap();
    key.verify_strict(MANIFEST.as_bytes(), &signature).unwrap();
    d.stop().await.unwrap();
}
