//! The scenarios of the frozen record vectors (`tests/vectors/`): one
//! transcript per format a ceremony signs and per way a ceremony ends, as
//! the coordinator records them (`support::transcript::Recorder`).
//!
//! `tests/vectors/v1/` was written by this code at the commit that added it,
//! before record entries carried codes instead of prose, and is never
//! rewritten: every later release must replay it to the same verdict.

use quorate_ceremonies::{Action, Event, Outcome};
use quorate_formats::{dsse, git_tag, sshsig};
use quorate_types::Policy;
use sha2::Digest;

use super::transcript::{self as scenario, Message, Recorded, Recorder, emergency_policy};

/// The artifact the digest-signing formats sign.
const ARTIFACT_NAME: &str = "quorate-1.0.0.tar.gz";
const ARTIFACT: &[u8] = b"pretend this is a release tarball\n";

/// Every frozen scenario, by file name.
pub fn all() -> Vec<(&'static str, Recorded)> {
    vec![
        ("raw", scenario::clean()),
        ("sshsig", sshsig()),
        ("dsse", dsse()),
        ("git-tag", git_tag()),
        ("minisign-batch", scenario::minisign_batch()),
        ("dropped-signer", dropped_signer()),
        ("invalid-share", scenario::reformed_after_invalid_share()),
        ("failed", failed()),
        ("expired", expired()),
        ("vetoed", vetoed()),
        ("cancelled", cancelled()),
        ("break-glass-reviewed", scenario::break_glass_reviewed()),
        ("roster-change", scenario::after_roster_change()),
    ]
}

fn message(label: &str, message: Vec<u8>, context: Vec<u8>) -> Message {
    Message {
        label: label.into(),
        message,
        context,
        follow_ups: Vec::new(),
    }
}

/// alice, carol and erin approve `message` and sign it.
fn approved_and_signed(seed: u64, message: Message) -> Recorded {
    let mut r = Recorder::with_message(
        seed,
        emergency_policy(),
        "release-manager",
        None,
        None,
        message,
    );
    r.approve("alice");
    r.interleave();
    r.approve("carol");
    r.approve("erin");
    r.interleave();
    assert!(signed(&r.sign_all()));
    r.finish()
}

fn signed(actions: &[Action]) -> bool {
    matches!(actions, [Action::Close(Outcome::Signed { .. })])
}

/// An OpenSSH signature (namespace `file`) over the artifact's SHA-512.
fn sshsig() -> Recorded {
    let namespace = sshsig::Namespace::new(sshsig::DEFAULT_NAMESPACE).expect("a namespace");
    let digest: [u8; 64] = sha2::Sha512::digest(ARTIFACT).into();
    let data = sshsig::signed_data(&namespace, &digest);
    approved_and_signed(11, message(ARTIFACT_NAME, data, Vec::new()))
}

/// A DSSE envelope's PAE of an in-toto statement naming two artifacts.
fn dsse() -> Recorded {
    let subject = |name: &str, bytes: &[u8]| dsse::Subject {
        name: name.into(),
        sha256: sha2::Sha256::digest(bytes).into(),
    };
    let statement = dsse::InTotoStatement::new(
        vec![
            subject(ARTIFACT_NAME, ARTIFACT),
            subject("quorate-1.0.0.sbom.json", b"{\"sbom\":true}\n"),
        ],
        None,
        None,
    )
    .expect("a statement");
    let pae = dsse::pae(dsse::PAYLOAD_TYPE, &statement.to_json());
    approved_and_signed(12, message("quorate-1.0.0.intoto.json", pae, Vec::new()))
}

/// An annotated git tag: the SSHSIG signed data (namespace `git`) of the
/// tag object, with the tag object itself as the ceremony's context.
fn git_tag() -> Recorded {
    let tag = git_tag::TagObject::new(
        "0123456789abcdef0123456789abcdef01234567",
        "commit",
        "v1.0.0",
        "Release Manager <release@example.com> 1700000000 +0000",
        "Release 1.0.0",
    )
    .expect("a tag object");
    approved_and_signed(
        13,
        message("v1.0.0", tag.signed_data(), tag.text().into_bytes()),
    )
}

/// alice, carol and erin approve and attempt 1 goes out; bob approves too;
/// carol and erin sign but alice sends nothing within the signing
/// deadline, so she is dropped; carol and erin commit afresh and attempt 2
/// (carol, erin, bob) signs.
fn dropped_signer() -> Recorded {
    let mut r = Recorder::new(14, emergency_policy(), "release-manager", None);
    r.approve("alice");
    r.approve("carol");
    r.approve("erin");
    r.approve("bob");
    r.submit("carol", true);
    r.submit("erin", true);
    r.advance(61_000);
    let actions = r.apply(Event::DeadlinePassed);
    assert!(
        matches!(actions.first(), Some(Action::DropSigner { .. })),
        "{actions:?}"
    );
    r.commit("carol");
    r.interleave();
    let actions = r.commit("erin");
    assert!(
        matches!(
            actions.as_slice(),
            [Action::SendSigningPackage { attempt: 2, .. }]
        ),
        "{actions:?}"
    );
    assert!(signed(&r.sign_all()));
    r.finish()
}

/// alice, carol and erin approve; erin, the only release approver, sends
/// an invalid share, so the rest cannot meet the policy.
fn failed() -> Recorded {
    let mut r = Recorder::new(18, emergency_policy(), "release-manager", None);
    r.approve("alice");
    r.approve("carol");
    r.approve("erin");
    r.submit("alice", true);
    let actions = r.submit("erin", false);
    assert!(
        matches!(actions.last(), Some(Action::Close(Outcome::Failed { .. }))),
        "{actions:?}"
    );
    r.finish()
}

/// alice approves; nobody else does within the approval deadline.
fn expired() -> Recorded {
    let mut r = Recorder::new(15, emergency_policy(), "release-manager", None);
    r.approve("alice");
    r.interleave();
    r.advance(24 * 3600 * 1000);
    let actions = r.apply(Event::DeadlinePassed);
    assert!(
        matches!(actions.as_slice(), [Action::Close(Outcome::Expired { .. })]),
        "{actions:?}"
    );
    r.finish()
}

/// Under a policy where security may veto: alice approves, carol rejects.
fn vetoed() -> Recorded {
    let mut policy: Policy = emergency_policy();
    policy.veto_roles = vec!["security".into()];
    let mut r = Recorder::new(16, policy, "release-manager", None);
    r.approve("alice");
    r.interleave();
    let actions = r.reject("carol", "the tarball is not the one CI built");
    assert!(
        matches!(
            actions.as_slice(),
            [Action::Close(Outcome::Rejected { .. })]
        ),
        "{actions:?}"
    );
    r.finish()
}

/// alice approves; the requester calls the ceremony off.
fn cancelled() -> Recorded {
    let mut r = Recorder::new(17, emergency_policy(), "release-manager", None);
    r.approve("alice");
    r.interleave();
    let actions = r.apply(Event::Cancelled {
        by: "release-manager".into(),
        reason: "wrong build".into(),
    });
    assert!(
        matches!(
            actions.as_slice(),
            [Action::Close(Outcome::Cancelled { .. })]
        ),
        "{actions:?}"
    );
    r.finish()
}
