//! The named ceremonies the replay and record tests share, each recorded
//! by a [`Recorder`] as the coordinator records it.

use quorate_ceremonies::{Action, Outcome};
use quorate_types::batch::FollowUp;

use super::transcript::{Recorded, Recorder, emergency_policy};

fn signed(actions: &[Action]) -> bool {
    matches!(actions, [Action::Close(Outcome::Signed { .. })])
}

/// (a) A clean 3-of-5 ceremony: alice, carol and erin approve (one of each
/// role), all three sign; another ceremony's entries are interleaved.
pub fn clean() -> Recorded {
    let mut r = Recorder::new(1, emergency_policy(), "release-manager", None);
    r.interleave();
    r.approve("alice");
    r.interleave();
    r.approve("carol");
    let actions = r.approve("erin");
    assert!(
        matches!(
            actions.as_slice(),
            [Action::SendSigningPackage { attempt: 1, .. }]
        ),
        "{actions:?}"
    );
    r.interleave();
    assert!(signed(&r.sign_all()));
    r.finish()
}

/// (d) After bob's role changes from engineering to release (roster
/// version 1), alice, carol and bob approve: one of each role under the
/// changed roster only.
pub fn after_roster_change() -> Recorded {
    let mut r = Recorder::with_roles(
        4,
        emergency_policy(),
        "release-manager",
        None,
        &[("bob", "release")],
    );
    r.approve("alice");
    r.approve("carol");
    let actions = r.approve("bob");
    assert!(
        matches!(
            actions.as_slice(),
            [Action::SendSigningPackage { attempt: 1, .. }]
        ),
        "{actions:?}"
    );
    assert!(signed(&r.sign_all()));
    r.finish()
}

/// (b) A break-glass ceremony declared by release-manager: carol (the one
/// security approval the emergency policy needs), alice and bob approve and
/// sign without a release approval; then auditor reviews it.
pub fn break_glass_reviewed() -> Recorded {
    let mut r = Recorder::new(
        2,
        emergency_policy(),
        "release-manager",
        Some("CVE-2023-0001 is exploited in the wild; erin is unreachable"),
    );
    r.approve("carol");
    r.interleave();
    r.approve("alice");
    r.approve("bob");
    r.interleave();
    assert!(signed(&r.sign_all()));
    r.interleave();
    r.review(
        "auditor",
        "checked the tarball against the CI build; justified",
    );
    r.finish()
}

/// (c) alice, carol and erin approve and attempt 1 goes out; bob approves
/// too; carol's share is valid but alice's is not, so alice is dropped and
/// attempt 1 abandoned; carol and erin send fresh commitments and attempt 2
/// (carol, erin, bob) signs.
pub fn reformed_after_invalid_share() -> Recorded {
    let mut r = Recorder::new(3, emergency_policy(), "release-manager", None);
    r.approve("alice");
    r.approve("carol");
    r.interleave();
    r.approve("erin");
    r.approve("bob");
    r.submit("carol", true);
    r.interleave();
    let actions = r.submit("alice", false);
    assert!(
        matches!(
            actions.as_slice(),
            [
                Action::DropSigner { .. },
                Action::AbandonAttempt { attempt: 1, .. },
                Action::RequestCommitments { .. }
            ]
        ),
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

/// The trusted comment of [`minisign_batch`]'s global signature.
pub const TRUSTED_COMMENT: &str = "timestamp:1700000000\tfile:quorate-1.0.0.tar.gz\thashed";

/// (d) A batch of two messages, as a minisign signature needs: alice,
/// carol and erin approve the message and the trusted comment; attempt 1
/// signs the message; all three send fresh commitments and attempt 2 signs
/// the first signature followed by the trusted comment.
pub fn minisign_batch() -> Recorded {
    let follow_ups = vec![FollowUp::SignatureThen {
        suffix: TRUSTED_COMMENT.as_bytes().to_vec(),
    }];
    let mut r = Recorder::with_batch(4, emergency_policy(), "release-manager", None, follow_ups);
    r.approve("alice");
    r.interleave();
    r.approve("carol");
    r.approve("erin");
    let actions = r.sign_all();
    assert!(
        matches!(
            actions.as_slice(),
            [
                Action::ContinueBatch { signed: 0, .. },
                Action::RequestCommitments { .. }
            ]
        ),
        "{actions:?}"
    );
    r.commit("alice");
    r.interleave();
    r.commit("carol");
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
