//! 4. requesters.

use super::*;

#[test]
fn only_listed_requesters_may_request() {
    let (group, _) = key_group(Policy {
        requesters: vec!["release-manager".into()],
        ..roles_policy()
    });
    let err = Ceremony::new(request("mallory", None), group.clone())
        .expect_err("mallory is not a requester");
    assert_eq!(
        err,
        CeremonyError::NotAllowed {
            who: "mallory".into(),
            action: format!("request ceremonies for key group {GROUP}"),
        }
    );
    // A participant is not a requester either unless listed.
    let err =
        Ceremony::new(request("alice", None), group.clone()).expect_err("alice is not listed");
    assert!(matches!(err, CeremonyError::NotAllowed { .. }), "{err:?}");

    Ceremony::new(request("release-manager", None), group).expect("a listed requester");

    // No list: anyone may ask.
    let (open, _) = key_group(roles_policy());
    Ceremony::new(request("mallory", None), open).expect("no requesters list");
}

#[test]
fn with_requester_keys_only_the_requesters_signed_request_starts_a_ceremony() {
    use quorate_types::{RequestId, RequestStatement, Sha256Digest};
    let key = quorate_secrets::IdentityKey::generate(
        ParticipantId::new("release-manager").expect("a valid name"),
        &mut rand_core::OsRng,
    );
    let (group, _) = key_group(Policy {
        requesters: vec!["release-manager".into()],
        requester_keys: [("release-manager".to_string(), key.public())].into(),
        ..roles_policy()
    });
    let request_id = RequestId::new("r1").expect("a valid request id");
    let signed = |key: &quorate_secrets::IdentityKey| {
        let mut r = request("release-manager", None);
        r.id = CeremonyId::of_request("release-manager", &request_id);
        r.signed = Some(
            RequestStatement {
                key_group: r.key_group.clone(),
                requester: "release-manager".into(),
                request_id: request_id.clone(),
                label: r.label.clone(),
                message_sha256: Sha256Digest::of(&r.message),
                break_glass: None,
                context_sha256: None,
                follow_ups: Vec::new(),
                at_unix_ms: r.created_at.unix_ms(),
            }
            .sign(key),
        );
        r
    };
    Ceremony::new(signed(&key), group.clone()).expect("the requester's signed request");
    let unsigned = Ceremony::new(request("release-manager", None), group.clone())
        .expect_err("an unsigned request");
    assert!(
        unsigned.to_string().contains("this one is unsigned"),
        "{unsigned}"
    );
    let other = quorate_secrets::IdentityKey::generate(
        ParticipantId::new("release-manager").expect("a valid name"),
        &mut rand_core::OsRng,
    );
    let forged = Ceremony::new(signed(&other), group).expect_err("a forged signature");
    assert!(forged.to_string().contains("does not verify"), "{forged}");
}
