//! A signing share split into custodian pieces, checked, and restored;
//! a tampered piece is named, and pieces of another share are refused.

use frost_ed25519::keys::{IdentifierList, KeyPackage, SigningShare};
use quorate_backup::{BackupError, Piece, printable, restore, split};
use quorate_secrets::Passphrase;
use quorate_secrets::sealed::KdfParams;
use quorate_types::{KeyGroupName, ParticipantId};
use rand_core::OsRng;
use zeroize::Zeroizing;

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

/// Two key packages of a 2-of-3 group: alice's share and another.
fn shares() -> (KeyPackage, KeyPackage) {
    let (shares, _) =
        frost_ed25519::keys::generate_with_dealer(3, 2, IdentifierList::Default, OsRng).unwrap();
    let mut packages = shares
        .into_values()
        .map(|s| KeyPackage::try_from(s).unwrap());
    (packages.next().unwrap(), packages.next().unwrap())
}

fn verifying(p: &KeyPackage) -> [u8; 32] {
    p.verifying_share().serialize().unwrap().try_into().unwrap()
}

fn custodians() -> Vec<ParticipantId> {
    ["c1", "c2", "c3", "c4", "c5"].map(pid).to_vec()
}

fn backup(p: &KeyPackage) -> Vec<Piece> {
    let group = KeyGroupName::new("release").unwrap();
    let (pieces, commitments) =
        split(p.signing_share(), &group, &pid("alice"), &custodians(), 3).unwrap();
    assert_eq!(commitments.share_point(), Some(verifying(p)));
    pieces
}

fn same(a: &SigningShare, b: &SigningShare) -> bool {
    a.serialize() == b.serialize()
}

#[test]
fn any_three_of_five_pieces_restore_the_share_and_each_checks_alone() {
    let (alice, _) = shares();
    let pieces = backup(&alice);
    for piece in &pieces {
        piece.verify(Some(&verifying(&alice))).unwrap();
    }
    for picked in [[0, 1, 2], [0, 3, 4], [4, 2, 1]] {
        let three: Vec<Piece> = picked.iter().map(|&i| pieces[i].clone()).collect();
        let restored = restore(&three, &verifying(&alice)).unwrap();
        assert!(same(&restored, alice.signing_share()));
    }
    let two = &pieces[..2];
    assert!(matches!(
        restore(two, &verifying(&alice)),
        Err(BackupError::TooFew { got: 2, needed: 3 })
    ));
    // The same piece twice counts once.
    let twice = [pieces[0].clone(), pieces[0].clone(), pieces[1].clone()];
    assert!(matches!(
        restore(&twice, &verifying(&alice)),
        Err(BackupError::TooFew { got: 2, .. })
    ));
}

#[test]
fn a_tampered_piece_is_named() {
    let (alice, _) = shares();
    let pieces = backup(&alice);
    // c2's piece, altered: one digit of its value changed.
    let json = serde_json::to_string(&pieces[1]).unwrap();
    let value_at = json.find("\"value\":\"").unwrap() + 9;
    let mut altered = json.clone().into_bytes();
    altered[value_at] = if altered[value_at] == b'1' {
        b'2'
    } else {
        b'1'
    };
    let altered: Piece = serde_json::from_slice(&altered).unwrap();
    let err = altered.verify(None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "c2's piece (2 of 5) does not match its commitments: it was altered or mistyped"
    );
    let three = [pieces[0].clone(), altered, pieces[2].clone()];
    let err = restore(&three, &verifying(&alice)).unwrap_err();
    assert!(err.to_string().starts_with("c2's piece (2 of 5)"), "{err}");
}

#[test]
fn pieces_of_another_share_are_refused() {
    let (alice, bob) = shares();
    let pieces = backup(&alice);
    // Checked against bob's verifying share, as a restore on bob's agent.
    let err = pieces[0].verify(Some(&verifying(&bob))).unwrap_err();
    assert!(
        matches!(err, BackupError::NotTheParticipants { .. }),
        "{err}"
    );
    let err = restore(&pieces[..3], &verifying(&bob)).unwrap_err();
    assert!(err.to_string().contains("not alice's"), "{err}");
    // Pieces of two backups do not mix.
    let other = backup(&alice);
    let mixed = [pieces[0].clone(), pieces[1].clone(), other[2].clone()];
    let err = restore(&mixed, &verifying(&alice)).unwrap_err();
    assert!(matches!(err, BackupError::Foreign { .. }), "{err}");
}

#[test]
fn a_sealed_piece_opens_only_with_its_custodians_passphrase() {
    let (alice, _) = shares();
    let pieces = backup(&alice);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c1.piece");
    let pass = |s: &str| Passphrase::new(Zeroizing::new(s.to_string()));
    pieces[0]
        .save(&path, &pass("c1 pw"), &KdfParams::for_random_passphrase())
        .unwrap();
    let opened = Piece::load(&path, &pass("c1 pw")).unwrap();
    opened.verify(Some(&verifying(&alice))).unwrap();
    let err = Piece::load(&path, &pass("wrong")).unwrap_err();
    assert!(err.to_string().contains("passphrase is wrong"), "{err}");
}

#[test]
fn a_printed_piece_reads_back_and_a_typo_is_named_by_line() {
    let (alice, _) = shares();
    let pieces = backup(&alice);
    let text = printable::to_text(&pieces[3]);
    assert!(text.starts_with("quorate share piece v1\ncustodian: c4\npiece 4 of 5"));
    let back = printable::from_text(&text).unwrap();
    back.verify(Some(&verifying(&alice))).unwrap();
    // A typo on data line 3.
    let lines: Vec<&str> = text.lines().collect();
    let line3 = lines.iter().position(|l| l.starts_with("03: ")).unwrap();
    let mut typo: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let flipped = if typo[line3].as_bytes()[4] == b'0' {
        "1"
    } else {
        "0"
    };
    typo[line3].replace_range(4..5, flipped);
    let err = printable::from_text(&typo.join("\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "line {}: data line 3's checksum does not match: a typo on this line",
            line3 + 1
        )
    );
    // A line left out.
    let mut missing: Vec<&str> = lines.clone();
    missing.remove(line3);
    let err = printable::from_text(&missing.join("\n")).unwrap_err();
    assert!(err.to_string().contains("a line is missing"), "{err}");
}
