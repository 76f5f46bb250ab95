//! Unit tests of the parent module.

use super::*;

#[test]
fn pae_matches_the_dsse_spec_example_and_parses_back() {
    // The DSSE protocol's worked example.
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    let bytes = pae(PAYLOAD_TYPE, b"{}");
    assert_eq!(
        parse_pae(&bytes),
        Some((PAYLOAD_TYPE.to_string(), b"{}".to_vec()))
    );
    for bad in [
        &b"DSSEv1 1 a 02 {}"[..],
        b"DSSEv1 1 a 3 {}",
        b"DSSEv2 1 a 2 {}",
        b"DSSEv1 x a 2 {}",
    ] {
        assert_eq!(parse_pae(bad), None, "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn statements_round_trip_and_show_their_subjects() {
    let subjects = vec![
        Subject {
            name: "app.tar.gz".into(),
            sha256: [1; 32],
        },
        Subject {
            name: "app.sbom".into(),
            sha256: [2; 32],
        },
    ];
    let s = InTotoStatement::new(subjects.clone(), None, None).unwrap();
    assert_eq!(s.predicate_type, RELEASE_APPROVAL);
    assert_eq!(InTotoStatement::parse(&s.to_json()).unwrap(), s);
    let lines = describe_pae(&pae(PAYLOAD_TYPE, &s.to_json())).unwrap();
    assert_eq!(
        lines[1],
        format!("subject app.tar.gz sha256 {}", hex::encode([1; 32]))
    );
    assert_eq!(lines.len(), 3);
    assert_eq!(describe_pae(&pae("text/plain", &s.to_json())), None);

    let p = InTotoStatement::new(
        subjects.clone(),
        None,
        Some(serde_json::json!({"builder": {}})),
    )
    .unwrap();
    assert_eq!(p.predicate_type, SLSA_PROVENANCE);
    assert_eq!(
        InTotoStatement::new(vec![], None, None),
        Err(DsseError::NoSubjects)
    );
    assert_eq!(
        InTotoStatement::new(vec![subjects[0].clone(), subjects[0].clone()], None, None),
        Err(DsseError::DuplicateSubject("app.tar.gz".into()))
    );
    assert_eq!(
        InTotoStatement::new(subjects, None, Some(serde_json::json!([1]))),
        Err(DsseError::PredicateNotObject)
    );
}

#[test]
fn envelope_wraps_the_pae_payload() {
    let s = InTotoStatement::new(
        vec![Subject {
            name: "a".into(),
            sha256: [0; 32],
        }],
        None,
        None,
    )
    .unwrap();
    let message = pae(PAYLOAD_TYPE, &s.to_json());
    let e = Envelope::from_pae(&message, &[5; 32], &[6; 64]).unwrap();
    assert_eq!(e.payload_type, PAYLOAD_TYPE);
    assert_eq!(e.pae().unwrap(), message);
    assert_eq!(e.signatures[0].keyid, keyid(&[5; 32]));
    assert_eq!(Envelope::parse(e.to_json().as_bytes()).unwrap(), e);
    assert!(Envelope::from_pae(b"SHA256SUMS", &[5; 32], &[6; 64]).is_err());
    assert!(Envelope::parse(br#"{"payload":"","payloadType":"x","signatures":[]}"#).is_err());
}
