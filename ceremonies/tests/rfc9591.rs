//! RFC 9591's FROST(Ed25519, SHA-512) vector through the engine's own check
//! of a signing package (`PackageCheck`, what every signing round runs):
//! each of the vector's signature shares verifies against its signer's
//! verifying share, their aggregate is the vector's signature (which
//! ed25519-dalek's strict check accepts), and an altered share, a share
//! from the wrong signer, or a share over another message does not verify.

use quorate_ceremonies::PackageCheck;
use quorate_ceremonies::testing::rfc9591::{id, vector};

#[test]
fn the_engine_checks_and_aggregates_the_rfc9591_shares() {
    let v = vector();
    let pubkeys = v.public_key_package();
    let mut check = PackageCheck::new(v.package());
    assert!(!check.is_complete());
    for (who, share) in v.shares() {
        assert!(check.verify_share(who, &pubkeys, &share), "{who:?}");
    }
    assert!(check.is_complete());
    let signature = check.aggregate(&pubkeys).expect("the aggregate verifies");
    assert_eq!(
        hex::encode(signature.serialize().expect("64 bytes")),
        v.final_output.sig
    );
}

#[test]
fn the_engine_refuses_altered_misattributed_and_misdirected_shares() {
    let v = vector();
    let pubkeys = v.public_key_package();
    let shares = v.shares();
    let (p1, p3) = (id(1), id(3));

    // A share off by one bit.
    let mut bytes = shares[&p1].serialize();
    bytes[0] ^= 1;
    let altered = frost_ed25519::round2::SignatureShare::deserialize(&bytes).expect("a scalar");
    let mut check = PackageCheck::new(v.package());
    assert!(!check.verify_share(p1, &pubkeys, &altered));
    // P3's share presented as P1's, and P2's (not in the package) at all.
    assert!(!check.verify_share(p1, &pubkeys, &shares[&p3]));
    assert!(!check.verify_share(id(2), &pubkeys, &shares[&p3]));
    assert!(!check.is_complete());

    // The same commitments over another message: the vector's shares are
    // for "test", not this.
    let other =
        frost_ed25519::SigningPackage::new(v.package().signing_commitments().clone(), b"tesT");
    let mut check = PackageCheck::new(other);
    for (who, share) in &shares {
        assert!(!check.verify_share(*who, &pubkeys, share), "{who:?}");
    }

    // With one share refused, there is nothing valid to aggregate.
    let mut check = PackageCheck::new(v.package());
    assert!(check.verify_share(p1, &pubkeys, &shares[&p1]));
    assert!(check.aggregate(&pubkeys).is_err());
}
