//! Unit tests of the parent module: each way a request fails to stand as
//! its requester's is named.

use super::*;

use crate::testing::Key;

const MESSAGE: &[u8] = b"abc  release.tar.gz\n";

fn statement() -> RequestStatement {
    RequestStatement {
        key_group: KeyGroupName::new("release").unwrap(),
        requester: "release-manager".into(),
        request_id: RequestId::new("r1").unwrap(),
        label: "SHA256SUMS".into(),
        message_sha256: Sha256Digest::of(MESSAGE),
        break_glass: None,
        context_sha256: None,
        follow_ups: Vec::new(),
        at_unix_ms: 1_700_000_000_000,
    }
}

fn policy(key: &Key) -> Policy {
    Policy {
        requester_keys: [("release-manager".to_string(), key.public())].into(),
        ..Policy::default()
    }
}

/// Checks `signed` against the ceremony its request makes, changed by
/// `change`.
fn check_with(
    policy: &Policy,
    signed: Option<&SignedRequest>,
    change: impl FnOnce(&mut Asked<'_>),
) -> Result<(), RequestError> {
    let ceremony = CeremonyId::of_request("release-manager", &RequestId::new("r1").unwrap());
    let key_group = KeyGroupName::new("release").unwrap();
    let mut asked = Asked {
        ceremony: &ceremony,
        key_group: &key_group,
        requester: "release-manager",
        label: "SHA256SUMS",
        message: MESSAGE,
        break_glass: None,
        context: b"",
        follow_ups: &[],
        created_at_unix_ms: 1_700_000_005_000,
    };
    change(&mut asked);
    check(policy, signed, &asked)
}

#[test]
fn signed_bytes_are_canonical() {
    let text = String::from_utf8(statement().signed_bytes()).unwrap();
    let expected = format!(
        "quorate-request/v1\n{{\"key_group\":\"release\",\"requester\":\"release-manager\",\
         \"request_id\":\"r1\",\"label\":\"SHA256SUMS\",\"message_sha256\":\"{}\",\
         \"at_unix_ms\":1700000000000}}",
        Sha256Digest::of(MESSAGE)
    );
    assert_eq!(text, expected);
}

#[test]
fn the_requesters_own_request_stands() {
    let key = Key::new(1);
    let signed = statement().sign(&key);
    let back = SignedRequest::from_bytes(&signed.to_bytes()).unwrap();
    assert_eq!(check_with(&policy(&key), Some(&back), |_| {}), Ok(()));
}

#[test]
fn without_requester_keys_requests_go_unsigned() {
    let key = Key::new(1);
    assert_eq!(check_with(&Policy::default(), None, |_| {}), Ok(()));
    assert_eq!(
        check_with(&Policy::default(), Some(&statement().sign(&key)), |_| {}),
        Err(RequestError::Unexpected)
    );
}

#[test]
fn a_forged_or_borrowed_request_is_refused() {
    let key = Key::new(1);
    let policy = policy(&key);
    assert_eq!(
        check_with(&policy, None, |_| {}),
        Err(RequestError::Unsigned)
    );
    // Signed by a key that is not the requester's.
    let forged = statement().sign(&Key::new(2));
    assert_eq!(
        check_with(&policy, Some(&forged), |_| {}),
        Err(RequestError::BadSignature("release-manager".into()))
    );
    // Altered after signing.
    let mut altered = statement().sign(&key);
    altered.request.label = "other".into();
    assert_eq!(
        check_with(&policy, Some(&altered), |a| a.label = "other"),
        Err(RequestError::BadSignature("release-manager".into()))
    );
    // Shown as another requester's, or signed by one with no key.
    let signed = statement().sign(&key);
    assert!(matches!(
        check_with(&policy, Some(&signed), |a| a.requester = "release-deputy"),
        Err(RequestError::OtherRequester { .. })
    ));
    let mut deputy = statement();
    deputy.requester = "release-deputy".into();
    assert_eq!(
        check_with(&policy, Some(&deputy.sign(&key)), |a| a.requester =
            "release-deputy"),
        Err(RequestError::NoKey("release-deputy".into()))
    );
}

/// One change to what a ceremony shows.
type Change = fn(&mut Asked<'_>);

#[test]
fn the_ceremony_must_show_what_was_signed() {
    let key = Key::new(1);
    let policy = policy(&key);
    let signed = statement().sign(&key);
    let cases: [(&str, Change); 6] = [
        ("key group", |a| {
            a.key_group = Box::leak(Box::new(KeyGroupName::new("other").unwrap()))
        }),
        ("label", |a| a.label = "other"),
        ("message", |a| a.message = b"other"),
        ("break-glass", |a| a.break_glass = Some("now")),
        ("context", |a| a.context = b"object 1234"),
        ("follow-ups", |a| {
            a.follow_ups = Box::leak(Box::new([FollowUp::SignatureThen {
                suffix: b"x".to_vec(),
            }]))
        }),
    ];
    for (what, change) in cases {
        assert_eq!(
            check_with(&policy, Some(&signed), change),
            Err(RequestError::Differs(what)),
            "{what}"
        );
    }
}

#[test]
fn a_signed_request_is_good_for_minutes_not_weeks() {
    let key = Key::new(1);
    let signed = statement().sign(&key);
    let signed_at = 1_700_000_000_000;
    let err = check_with(&policy(&key), Some(&signed), |a| {
        a.created_at_unix_ms = signed_at + 3 * 24 * 3600 * 1000
    })
    .unwrap_err();
    assert_eq!(
        err,
        RequestError::Stale {
            minutes: 3 * 24 * 60
        }
    );
    assert!(err.to_string().contains("sign it again"), "{err}");
    let err = check_with(&policy(&key), Some(&signed), |a| {
        a.created_at_unix_ms = signed_at - 5 * 60 * 1000
    })
    .unwrap_err();
    assert_eq!(err, RequestError::FromTheFuture { seconds: 300 });
    // Within the window either way, it stands.
    for created in [
        signed_at + MAX_REQUEST_AGE_MS,
        signed_at - REQUEST_CLOCK_SKEW_MS,
    ] {
        assert_eq!(
            check_with(&policy(&key), Some(&signed), |a| a.created_at_unix_ms =
                created),
            Ok(())
        );
    }
}

#[test]
fn a_signed_request_makes_one_ceremony() {
    let key = Key::new(1);
    let signed = statement().sign(&key);
    let other = CeremonyId::new("0123456789abcdef").unwrap();
    let other: &'static CeremonyId = Box::leak(Box::new(other));
    assert_eq!(
        check_with(&policy(&key), Some(&signed), |a| a.ceremony = other),
        Err(RequestError::OtherCeremony(RequestId::new("r1").unwrap()))
    );
}
