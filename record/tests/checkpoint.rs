//! Signed checkpoints: C2SP and Go known answers, then round trips and
//! tampering.
//!
//! Known answers, copied verbatim:
//! - PeterNeumann and EnochRoot keys and signatures: golang/mod
//!   sumdb/note/note_test.go (TestNewVerifier, TestNewSigner, TestSign,
//!   TestOpen), also in the signed_note crate docs. The signed-note spec
//!   (C2SP signed-note.md) publishes no verifier key for its own example.
//! - The checkpoint: C2SP tlog-checkpoint.md, whose log key is unpublished,
//!   so its signature can only be shown to be ignored as unknown.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use quorate_tlog::{Checkpoint, Hash, LogKey, LogVerifier, MemoryTree, RecordError};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardSigner};

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

const SOFA_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const SOFA_SIG: &str = "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

fn peter_note() -> String {
    format!("{PETER_TEXT}\n{PETER_SIG}")
}

fn peter_seed() -> [u8; 32] {
    let data = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
    let decoded = STANDARD.decode(data).unwrap();
    assert_eq!(decoded[0], 0x01, "Ed25519 signature type");
    decoded[1..].try_into().unwrap()
}

fn sofa_checkpoint() -> Checkpoint {
    let root = STANDARD
        .decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
        .unwrap();
    Checkpoint {
        origin: "example.com/behind-the-sofa".into(),
        size: 20852163,
        root: Hash(root.try_into().unwrap()),
    }
}

/// The signature line a note ends with, after `body` and the blank line.
fn signature_line<'a>(note: &'a str, body: &str) -> &'a str {
    note.strip_prefix(body)
        .and_then(|s| s.strip_prefix('\n'))
        .unwrap()
}

#[test]
fn peter_neumann_verifier_key_parses_and_verifies_the_published_note() {
    let verifier = LogVerifier::parse(PETER_VKEY).unwrap();
    assert_eq!(verifier.name(), "PeterNeumann");
    assert_eq!(verifier.key_id(), 0xc74f20a3);
    assert_eq!(verifier.verifier_key(), PETER_VKEY);
    assert_eq!(verifier.verify_note(&peter_note()).unwrap(), PETER_TEXT);
}

#[test]
fn key_id_and_verifier_key_match_the_published_pair() {
    let key = LogKey::from_seed("PeterNeumann", &peter_seed()).unwrap();
    assert_eq!(key.key_id(), 0xc74f20a3);
    assert_eq!(key.verifier_key(), PETER_VKEY);
    // key ID = SHA-256(key name || 0x0A || 0x01 || public key)[:4]
    let mut h = Sha256::new();
    h.update(b"PeterNeumann\n\x01");
    h.update(key.public_key());
    assert_eq!(h.finalize()[..4], 0xc74f20a3u32.to_be_bytes());
    assert_eq!(key.verifier().unwrap().key_id(), 0xc74f20a3);
}

#[test]
fn a_one_byte_change_in_the_text_is_rejected() {
    let verifier = LogVerifier::parse(PETER_VKEY).unwrap();
    for (i, c) in PETER_TEXT.char_indices().filter(|&(_, c)| c != '\n') {
        let other = if c == 'x' { "y" } else { "x" };
        let text = format!("{}{other}{}", &PETER_TEXT[..i], &PETER_TEXT[i + 1..]);
        let err = verifier
            .verify_note(&format!("{text}\n{PETER_SIG}"))
            .unwrap_err();
        assert_eq!(
            err,
            RecordError::BadSignature("PeterNeumann+c74f20a3".into()),
            "byte {i}"
        );
    }
}

#[test]
fn a_one_byte_change_in_the_signature_is_rejected() {
    let verifier = LogVerifier::parse(PETER_VKEY).unwrap();
    let start = "— PeterNeumann ".len();
    let end = PETER_SIG.len() - "=\n".len();
    for i in start..end {
        let c = PETER_SIG.as_bytes()[i];
        let other = if c == b'A' { "B" } else { "A" };
        let sig = format!("{}{other}{}", &PETER_SIG[..i], &PETER_SIG[i + 1..]);
        assert!(
            verifier
                .verify_note(&format!("{PETER_TEXT}\n{sig}"))
                .is_err(),
            "char {i}"
        );
    }
    // Inside the Ed25519 signature: a bad signature by this key.
    let i = start + 40;
    let sig = format!("{}A{}", &PETER_SIG[..i], &PETER_SIG[i + 1..]);
    assert_ne!(sig, PETER_SIG);
    assert_eq!(
        verifier
            .verify_note(&format!("{PETER_TEXT}\n{sig}"))
            .unwrap_err()
            .to_string(),
        "signature by PeterNeumann+c74f20a3 does not verify"
    );
    // Inside the key ID: a signature by some other key, so none by this one.
    let sig = PETER_SIG.replacen("x08go", "A08go", 1);
    assert_eq!(
        verifier
            .verify_note(&format!("{PETER_TEXT}\n{sig}"))
            .unwrap_err()
            .to_string(),
        "checkpoint is not signed by PeterNeumann+c74f20a3"
    );
}

#[test]
fn unknown_signatures_are_ignored_but_not_trusted() {
    let peter = LogVerifier::parse(PETER_VKEY).unwrap();
    let enoch = LogVerifier::parse(ENOCH_VKEY).unwrap();
    let both = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(peter.verify_note(&both).unwrap(), PETER_TEXT);
    assert_eq!(enoch.verify_note(&both).unwrap(), PETER_TEXT);
    let only_enoch = format!("{PETER_TEXT}\n{ENOCH_SIG}");
    assert_eq!(
        peter.verify_note(&only_enoch),
        Err(RecordError::NotSignedBy("PeterNeumann+c74f20a3".into()))
    );
    // A bad signature by this key is not excused by a good unknown one.
    let i = "— PeterNeumann ".len() + 40;
    let bad_peter = format!("{}A{}", &PETER_SIG[..i], &PETER_SIG[i + 1..]);
    let mixed = format!("{PETER_TEXT}\n{ENOCH_SIG}{bad_peter}");
    // To Enoch's verifier the broken Peter line is just an unknown key.
    assert_eq!(enoch.verify_note(&mixed).unwrap(), PETER_TEXT);
    assert_eq!(
        peter.verify_note(&mixed),
        Err(RecordError::BadSignature("PeterNeumann+c74f20a3".into()))
    );
}

#[test]
fn a_valid_note_that_is_not_a_checkpoint_is_refused_after_its_signature_checks() {
    let verifier = LogVerifier::parse(PETER_VKEY).unwrap();
    let err = verifier.verify_checkpoint(&peter_note()).unwrap_err();
    assert!(matches!(err, RecordError::MalformedCheckpoint(_)), "{err}");
    // Two lines of text: no origin, size and root hash.
    assert!(
        err.to_string()
            .contains("needs origin, tree size and root hash"),
        "{err}"
    );
}

#[test]
fn the_c2sp_checkpoint_example_parses_and_formats_exactly() {
    let cp = Checkpoint::parse(SOFA_BODY).unwrap();
    assert_eq!(cp, sofa_checkpoint());
    assert_eq!(cp.body(), SOFA_BODY);
}

#[test]
fn the_c2sp_example_signature_is_an_unknown_key_even_under_the_same_name() {
    let ours = LogKey::from_seed("example.com/behind-the-sofa", &[7; 32]).unwrap();
    let verifier = ours.verifier().unwrap();
    let spec_note = format!("{SOFA_BODY}\n{SOFA_SIG}");
    assert_eq!(
        verifier.verify_checkpoint(&spec_note),
        Err(RecordError::NotSignedBy(format!(
            "example.com/behind-the-sofa+{:08x}",
            ours.key_id()
        )))
    );
    // Cosigned by us, before or after the spec's signature, it verifies.
    let ours_note = ours.sign_checkpoint(&sofa_checkpoint()).unwrap();
    let our_line = signature_line(&ours_note, SOFA_BODY);
    for note in [
        format!("{spec_note}{our_line}"),
        format!("{SOFA_BODY}\n{our_line}{SOFA_SIG}"),
    ] {
        assert_eq!(
            verifier.verify_checkpoint(&note).unwrap(),
            sofa_checkpoint()
        );
    }
}

#[test]
fn sign_then_verify_round_trips_in_the_signed_note_format() {
    let key = LogKey::generate(&mut OsRng, "quorate.example/log").unwrap();
    let mut tree = MemoryTree::new();
    for i in 0..5u8 {
        tree.append(&[i]);
    }
    let cp = Checkpoint {
        origin: "quorate.example/log".into(),
        size: tree.size(),
        root: tree.root(),
    };
    let note = key.sign_checkpoint(&cp).unwrap();
    assert_eq!(
        key.verifier().unwrap().verify_checkpoint(&note).unwrap(),
        cp
    );
    assert_eq!(
        LogVerifier::parse(&key.verifier_key())
            .unwrap()
            .verify_checkpoint(&note)
            .unwrap(),
        cp
    );

    // body, blank line, "— <name> <base64(keyid || sig)>\n", checked by hand.
    let line = signature_line(&note, &cp.body());
    let b64 = line
        .strip_prefix("— quorate.example/log ")
        .unwrap()
        .strip_suffix('\n')
        .unwrap();
    let raw = STANDARD.decode(b64).unwrap();
    assert_eq!(raw.len(), 4 + 64);
    assert_eq!(raw[..4], key.key_id().to_be_bytes());
    let public = VerifyingKey::from_bytes(&key.public_key()).unwrap();
    let sig = Signature::from_slice(&raw[4..]).unwrap();
    public.verify(cp.body().as_bytes(), &sig).unwrap();
    let vkey_data = STANDARD
        .decode(key.verifier_key().splitn(3, '+').nth(2).unwrap())
        .unwrap();
    assert_eq!(vkey_data[0], 0x01);
    assert_eq!(vkey_data[1..], key.public_key());
}

#[test]
fn the_wrong_key_is_rejected() {
    let cp = sofa_checkpoint();
    let signer = LogKey::generate(&mut OsRng, "example.com/behind-the-sofa").unwrap();
    let note = signer.sign_checkpoint(&cp).unwrap();
    for name in ["example.com/behind-the-sofa", "someone.else"] {
        let other = LogKey::generate(&mut OsRng, name)
            .unwrap()
            .verifier()
            .unwrap();
        let err = other.verify_checkpoint(&note).unwrap_err();
        assert_eq!(
            err,
            RecordError::NotSignedBy(format!("{name}+{:08x}", other.key_id()))
        );
    }
}

#[test]
fn a_tampered_size_or_root_is_rejected() {
    let key = LogKey::generate(&mut OsRng, "example.com/log").unwrap();
    let verifier = key.verifier().unwrap();
    let cp = Checkpoint {
        origin: "example.com/log".into(),
        size: 41,
        root: Hash([9; 32]),
    };
    let note = key.sign_checkpoint(&cp).unwrap();
    let line = signature_line(&note, &cp.body()).to_owned();
    let bigger = Checkpoint {
        size: 42,
        ..cp.clone()
    };
    let other_root = Checkpoint {
        root: Hash([8; 32]),
        ..cp.clone()
    };
    let other_origin = Checkpoint {
        origin: "example.com/gol".into(),
        ..cp.clone()
    };
    for forged in [bigger, other_root, other_origin] {
        let err = verifier
            .verify_checkpoint(&format!("{}\n{line}", forged.body()))
            .unwrap_err();
        assert!(matches!(err, RecordError::BadSignature(_)), "{err}");
    }
}

#[test]
fn an_extra_unknown_cosignature_still_verifies() {
    let key = LogKey::generate(&mut OsRng, "example.com/log").unwrap();
    let cp = Checkpoint {
        origin: "example.com/log".into(),
        size: 3,
        root: Hash([1; 32]),
    };
    let (witness_skey, _) = signed_note::generate_key(&mut OsRng, "witness.example");
    let witness = StandardSigner::new(&witness_skey).unwrap();
    let mut note = Note::from_bytes(key.sign_checkpoint(&cp).unwrap().as_bytes()).unwrap();
    note.add_sigs(&[&witness]).unwrap();
    let cosigned = String::from_utf8(note.to_bytes()).unwrap();
    assert_eq!(cosigned.matches("\n— ").count(), 2);
    assert_eq!(
        key.verifier()
            .unwrap()
            .verify_checkpoint(&cosigned)
            .unwrap(),
        cp
    );
}

#[test]
fn extension_lines_are_allowed_and_ignored() {
    let (skey, vkey) = signed_note::generate_key(&mut OsRng, "example.com/ext");
    let mut note = Note::new(
        format!("{SOFA_BODY}first extension\nsecond extension\n").as_bytes(),
        &[],
    )
    .unwrap();
    note.add_sigs(&[&StandardSigner::new(&skey).unwrap()])
        .unwrap();
    let text = String::from_utf8(note.to_bytes()).unwrap();
    assert_eq!(
        LogVerifier::parse(&vkey)
            .unwrap()
            .verify_checkpoint(&text)
            .unwrap(),
        sofa_checkpoint()
    );
}

#[test]
fn malformed_checkpoint_bodies_say_what_is_wrong() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let cases = [
        (format!("o\n1\n{root}"), "does not end in a newline"),
        ("o\n1\n".to_owned(), "needs origin, tree size and root hash"),
        (format!("\n1\n{root}\n"), "origin line is empty"),
        (format!("o\n01\n{root}\n"), "tree size \"01\""),
        (format!("o\n0x1\n{root}\n"), "tree size \"0x1\""),
        (format!("o\n18446744073709551616\n{root}\n"), "tree size"),
        ("o\n1\nAAAA\n".to_owned(), "root hash \"AAAA\""),
        (format!("o\n1\n{root}\next\n\n"), "extension line is empty"),
    ];
    for (body, why) in cases {
        let err = Checkpoint::parse(&body).unwrap_err();
        assert!(
            matches!(err, RecordError::MalformedCheckpoint(_)),
            "{body:?}: {err}"
        );
        assert!(err.to_string().contains(why), "{body:?}: {err}");
    }
}

#[test]
fn mangled_verifier_keys_are_refused() {
    // As golang/mod sumdb/note/note_test.go TestNewVerifier: every proper
    // substring and every single-byte increment.
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if (i, j) != (0, b.len()) {
                let s = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(LogVerifier::parse(s).is_err(), "{s:?}");
            }
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let s = String::from_utf8(m).unwrap();
        assert!(LogVerifier::parse(&s).is_err(), "{s:?}");
    }
    let err = LogVerifier::parse(
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("malformed verifier key: "),
        "{err}"
    );
    let err =
        LogVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap_err();
    assert!(
        err.to_string().contains("not an Ed25519 (type 0x01) key"),
        "{err}"
    );
    let err =
        LogVerifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap_err();
    assert!(err.to_string().contains("key id does not match"), "{err}");
}

#[test]
fn invalid_key_names_and_origins_are_refused() {
    for name in ["", "has space", "a+b", "tab\there", "nbsp\u{a0}x"] {
        assert_eq!(
            LogKey::from_seed(name, &[1; 32]).unwrap_err(),
            RecordError::InvalidKeyName(name.into())
        );
        assert!(LogKey::generate(&mut OsRng, name).is_err());
    }
    let key = LogKey::from_seed("example.com/log", &[1; 32]).unwrap();
    for origin in ["", "two\nlines", "cr\rhere"] {
        let cp = Checkpoint {
            origin: origin.into(),
            size: 0,
            root: quorate_tlog::EMPTY_ROOT,
        };
        assert_eq!(
            key.sign_checkpoint(&cp).unwrap_err(),
            RecordError::InvalidOrigin(origin.into())
        );
    }
}

#[test]
fn malformed_notes_are_refused() {
    let verifier = LogVerifier::parse(PETER_VKEY).unwrap();
    for note in [
        PETER_TEXT.to_owned(),
        format!("{PETER_TEXT}\n"),
        format!("{PETER_TEXT}\n{}", PETER_SIG.trim_end()),
        format!("\x01{PETER_TEXT}\n{PETER_SIG}"),
        format!("{PETER_TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ] {
        assert!(
            matches!(
                verifier.verify_note(&note),
                Err(RecordError::MalformedNote(_))
            ),
            "{note:?}"
        );
    }
}

#[test]
fn seed_round_trips() {
    let key = LogKey::generate(&mut OsRng, "example.com/log").unwrap();
    let again = LogKey::from_seed(key.name(), &key.seed()).unwrap();
    assert_eq!(again.verifier_key(), key.verifier_key());
    assert_eq!(again.name(), "example.com/log");
}

#[test]
fn debug_never_prints_the_seed() {
    let key = LogKey::generate(&mut OsRng, "example.com/log").unwrap();
    let seed = key.seed();
    let shown = format!("{key:?} {key:#?}");
    assert!(shown.contains("example.com/log"), "{shown}");
    assert!(shown.contains(&format!("{:08x}", key.key_id())), "{shown}");
    assert!(!shown.contains(&hex::encode(*seed)), "{shown}");
    assert!(!shown.contains(&hex::encode(&seed[..8])), "{shown}");
    assert!(!shown.contains(&STANDARD.encode(*seed)), "{shown}");
    assert!(
        !shown.contains(&STANDARD.encode([&[1u8][..], &seed[..]].concat())),
        "{shown}"
    );
    assert!(!shown.contains(&format!("{:?}", *seed)), "{shown}");
    assert!(!shown.contains(&format!("{:?}", &seed[..4])), "{shown}");
}
