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
