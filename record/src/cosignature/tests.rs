//! Unit tests of the parent module. The vectors in
//! `tests/vectors/cosignature.json` were checked against an independent
//! implementation (transparency-dev/formats in Go); the file says how.

use serde_json::Value;

use super::*;
use crate::LogKey;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../tests/vectors/cosignature.json")).unwrap()
}

fn seed(v: &Value) -> [u8; 32] {
    hex::decode(v["seed"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn name_of(vkey: &str) -> &str {
    vkey.split('+').next().unwrap()
}

/// Ed25519 is deterministic: the same seed, text and time give the exact
/// note the Go implementation accepted.
#[test]
fn makes_the_notes_the_go_implementation_accepted() {
    let v = vectors();
    let cases = v["made_by_quorate"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let vkey = case["vkey"].as_str().unwrap();
        let key = WitnessKey::from_seed(name_of(vkey), &seed(case)).unwrap();
        assert_eq!(key.verifier_key(), vkey);
        let text = case["text"].as_str().unwrap();
        let time = case["time"].as_u64().unwrap();
        let cosignature = key.cosign_text(text, time).unwrap();
        assert_eq!(format!("{text}\n{}", cosignature.line()), case["note"]);
        assert!(
            case["go_said"]
                .as_str()
                .unwrap()
                .starts_with(&format!("ok {time} "))
        );
    }
}

#[test]
fn accepts_the_cosignatures_the_go_implementation_made() {
    let v = vectors();
    let cases = v["made_by_go"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let key = WitnessKey::from_seed(name, &seed(case)).unwrap();
        // The key ID is derived the same way on both sides.
        assert_eq!(format!("{:08x}", key.key_id()), case["key_id"]);
        let verifier = WitnessVerifier::parse(&key.verifier_key()).unwrap();
        let note = case["note"].as_str().unwrap();
        let found = verify_cosignatures(note, std::slice::from_ref(&verifier)).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].witness, name);
        assert_eq!(found[0].time, case["time"].as_u64().unwrap());
        verifier
            .verify(case["text"].as_str().unwrap(), &found[0])
            .unwrap();
    }
}

#[test]
fn a_changed_checkpoint_fails_naming_the_witness() {
    let v = vectors();
    let case = &v["made_by_quorate"][0];
    let verifier = WitnessVerifier::parse(case["vkey"].as_str().unwrap()).unwrap();
    let note = case["note"]
        .as_str()
        .unwrap()
        .replace("20852163", "20852164");
    let err = verify_cosignatures(&note, &[verifier]).unwrap_err();
    assert_eq!(
        err,
        RecordError::BadSignature("witness.example.com/w1+8122a5ab".into())
    );
}

#[test]
fn a_changed_time_fails() {
    let key = WitnessKey::from_seed("w", &[1; 32]).unwrap();
    let text = "log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    let mut c = key.cosign_text(text, 100).unwrap();
    key.verifier().verify(text, &c).unwrap();
    c.time = 101;
    assert!(key.verifier().verify(text, &c).is_err());
    let note = format!("{text}\n{}", c.line());
    assert!(verify_cosignatures(&note, &[key.verifier()]).is_err());
}

#[test]
fn lines_by_unknown_keys_are_ignored_and_only_listed_witnesses_count() {
    let log = LogKey::from_seed("log.example", &[3; 32]).unwrap();
    let checkpoint = Checkpoint {
        origin: "log.example".into(),
        size: 5,
        root: crate::EMPTY_ROOT,
    };
    let signed = log.sign_checkpoint(&checkpoint).unwrap();
    let w1 = WitnessKey::from_seed("w1.example", &[4; 32]).unwrap();
    let w2 = WitnessKey::from_seed("w2.example", &[5; 32]).unwrap();
    let note = add_cosignatures(
        &signed,
        &[
            w1.cosign(&checkpoint, 10).unwrap(),
            w2.cosign(&checkpoint, 11).unwrap(),
        ],
    )
    .unwrap();
    // The log's own signature still verifies on the cosigned note.
    assert_eq!(
        log.verifier().unwrap().verify_checkpoint(&note).unwrap(),
        checkpoint
    );
    let found = verify_cosignatures(&note, &[w2.verifier()]).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].witness.as_str(), found[0].time),
        ("w2.example", 11)
    );
    // No listed witness signed: none found, not an error.
    let w3 = WitnessKey::from_seed("w3.example", &[6; 32]).unwrap();
    assert!(
        verify_cosignatures(&note, &[w3.verifier()])
            .unwrap()
            .is_empty()
    );
    // Adding the same witness again does not add a second line.
    let again = add_cosignatures(&note, &[w1.cosign(&checkpoint, 12).unwrap()]).unwrap();
    assert_eq!(again, note);
}

/// The key types keep the two signatures apart: the log key's verifier
/// does not take a cosignature, nor a witness verifier a log signature.
#[test]
fn log_signatures_and_cosignatures_do_not_stand_in_for_each_other() {
    let seed = [9; 32];
    let log = LogKey::from_seed("same.example", &seed).unwrap();
    let witness = WitnessKey::from_seed("same.example", &seed).unwrap();
    assert_ne!(log.key_id(), witness.key_id());
    let checkpoint = Checkpoint {
        origin: "same.example".into(),
        size: 0,
        root: crate::EMPTY_ROOT,
    };
    let signed = log.sign_checkpoint(&checkpoint).unwrap();
    assert!(
        verify_cosignatures(&signed, &[witness.verifier()])
            .unwrap()
            .is_empty()
    );
    let cosigned = format!(
        "{}\n{}",
        checkpoint.body(),
        witness.cosign(&checkpoint, 1).unwrap().line()
    );
    assert!(
        log.verifier()
            .unwrap()
            .verify_checkpoint(&cosigned)
            .is_err()
    );
    // A log vkey (type 0x01) is not a witness key.
    let err = WitnessVerifier::parse(&log.verifier_key()).unwrap_err();
    assert!(err.to_string().contains("type 0x01"), "{err}");
}

#[test]
fn malformed_witness_keys_say_what_is_wrong() {
    let good = WitnessKey::from_seed("w.example", &[2; 32])
        .unwrap()
        .verifier_key();
    let (name_and_id, key) = good.rsplit_once('+').unwrap();
    let (name, _id) = name_and_id.split_once('+').unwrap();
    for (bad, says) in [
        ("w.example".to_owned(), "<name>+<8 hex digit key id>"),
        (format!("{name}+00000000+{key}"), "does not match"),
        (format!("{name_and_id}+AAAA"), "key type 0x00"),
        (format!("{name_and_id}+BAAA"), "<name>+<8 hex digit key id>"),
        (format!("{name_and_id}+!!"), "<name>+<8 hex digit key id>"),
        (format!("bad name+{}", &good[name.len() + 1..]), "<name>+"),
    ] {
        let err = WitnessVerifier::parse(&bad).unwrap_err().to_string();
        assert!(err.contains(says), "{bad:?}: {err}");
    }
    assert_eq!(WitnessVerifier::parse(&good).unwrap().verifier_key(), good);
}

#[test]
fn times_beyond_the_format_are_refused() {
    let key = WitnessKey::from_seed("w", &[1; 32]).unwrap();
    assert!(key.cosign_text("a\n1\nb\n", 1 << 63).is_err());
    assert!(key.cosign_text("a\n1\nb\n", (1 << 63) - 1).is_ok());
}

#[test]
fn debug_does_not_print_the_seed() {
    let seed = [0xab; 32];
    let key = WitnessKey::from_seed("w", &seed).unwrap();
    let printed = format!("{key:?}");
    assert!(!printed.contains(&hex::encode(seed)));
    assert!(!printed.contains(&STANDARD.encode(seed)));
    assert!(printed.contains(&key.verifier_key()));
}
