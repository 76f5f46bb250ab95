//! The happy path.

use super::*;

#[test]
fn three_of_five_happy_path_signs() {
    let mut h = Harness::new();
    assert_eq!(h.ceremony.state(), State::CollectingApprovals);
    assert_eq!(h.ceremony.message_sha256(), Sha256Digest::of(MESSAGE));

    assert_eq!(h.approve("alice"), vec![]);
    assert_eq!(h.approve("bob"), vec![]);
    assert_eq!(h.ceremony.phase(), &Phase::ExpectApprovals);
    assert!(h.ceremony.package_for(&pid("alice")).is_none());

    let actions = h.approve("carol");
    assert_eq!(
        actions,
        vec![Action::SendSigningPackage {
            attempt: 1,
            signers: ids(&["alice", "bob", "carol"]),
        }]
    );
    assert_eq!(h.ceremony.state(), State::Signing);
    assert_eq!(h.ceremony.attempts(), 1);
    assert_eq!(h.ceremony.approvals().len(), 3);

    let round = h
        .ceremony
        .package_for(&pid("alice"))
        .expect("alice owes a share");
    assert_eq!(round.attempt(), 1);
    assert_eq!(round.signers(), ids(&["alice", "bob", "carol"]).as_slice());
    assert_eq!(round.package().message(), MESSAGE);
    let in_package: BTreeSet<_> = round
        .package()
        .signing_commitments()
        .keys()
        .copied()
        .collect();
    let expected: BTreeSet<_> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| pid(n).identifier())
        .collect();
    assert_eq!(in_package, expected);
    assert!(h.ceremony.package_for(&pid("dave")).is_none());

    assert_eq!(h.submit("alice"), vec![]);
    assert!(
        h.ceremony.package_for(&pid("alice")).is_none(),
        "alice no longer owes a share"
    );
    assert!(h.ceremony.package_for(&pid("bob")).is_some());

    let signature = h.sign_all();
    assert_verifies(&h.group, MESSAGE, &signature);
    // frost's own verification agrees.
    h.group
        .public_key_package
        .verifying_key()
        .verify(MESSAGE, &signature)
        .expect("frost verifies the signature");
}
