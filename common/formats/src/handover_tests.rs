//! Hand-overs ([`quorate_types::handover`]) as consumers follow them.

use ed25519_dalek::{Signer, SigningKey};
use quorate_types::handover::{HandOver, Link};

use crate::trust::TrustPolicy;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(k: &SigningKey) -> [u8; 32] {
    k.verifying_key().to_bytes()
}

/// The link from `old` to `new`, signed by both.
fn link(old: &SigningKey, new: &SigningKey, compromised: bool) -> Link {
    let statement = HandOver {
        old_key_group: "release".into(),
        old_key: public(old),
        new_key_group: "release-2".into(),
        new_key: public(new),
        new_threshold: 4,
        new_roster_sha256: "00".repeat(32),
        new_policy_sha256: "11".repeat(32),
        at_unix_ms: 1_800_000_000_000,
        compromised,
        reason: "routine rotation".into(),
    };
    let bytes = statement.to_bytes();
    Link {
        statement: String::from_utf8(bytes.clone()).unwrap(),
        old_signature: old.sign(&bytes).to_bytes(),
        new_signature: new.sign(&bytes).to_bytes(),
    }
}

fn policy(k: &SigningKey) -> TrustPolicy {
    let pem = crate::pem::ed25519_public_key_pem(&public(k));
    TrustPolicy::from_toml(&format!(
        "[[key_group]]\nname = \"release\"\npublic_key = \"\"\"{pem}\"\"\"\nformats = [\"raw\"]\n"
    ))
    .unwrap()
}

fn trusted(p: &TrustPolicy) -> Vec<[u8; 32]> {
    p.groups.iter().map(|g| g.key).collect()
}

#[test]
fn a_chain_of_hand_overs_extends_trust_in_any_order() {
    let (a, b, c) = (key(1), key(2), key(3));
    let p = policy(&a);
    // a -> b -> c, given backwards.
    let chained = p
        .with_hand_overs(&[link(&b, &c, false), link(&a, &b, false)])
        .unwrap();
    assert_eq!(trusted(&chained), [public(&a), public(&b), public(&c)]);
    assert_eq!(chained.groups[2].name, "release -> release-2 -> release-2");
    // A link from a key nobody trusts is not in the chain.
    let stranger = p.with_hand_overs(&[link(&b, &c, false)]).unwrap();
    assert_eq!(trusted(&stranger), [public(&a)]);
}

#[test]
fn trust_update_moves_each_key_to_the_end_of_its_chain() {
    let (a, b, c) = (key(1), key(2), key(3));
    let pem = crate::pem::ed25519_public_key_pem(&public(&a));
    let text = format!(
        "# ours\n[[key_group]]\nname = \"release\"\npublic_key = \"\"\"{pem}\"\"\"\nformats = [\"raw\"]\nartifacts = [\"app-*\"]\n"
    );
    let (updated, moved) =
        TrustPolicy::update_toml(&text, &[link(&b, &c, false), link(&a, &b, false)]).unwrap();
    assert_eq!(moved, [("release".to_string(), "release-2".to_string())]);
    let p = TrustPolicy::from_toml(&updated).unwrap();
    assert_eq!(trusted(&p), [public(&c)]);
    assert_eq!(p.groups[0].artifacts, ["app-*"]);
    // A fork is refused.
    let err =
        TrustPolicy::update_toml(&text, &[link(&a, &b, false), link(&a, &c, false)]).unwrap_err();
    assert!(err.contains("a fork"), "{err}");
}

#[test]
fn a_compromise_withdraws_the_old_key() {
    let (a, b) = (key(1), key(2));
    let p = policy(&a).with_hand_overs(&[link(&a, &b, true)]).unwrap();
    assert_eq!(trusted(&p), [public(&b)]);
}

#[test]
fn a_link_not_signed_by_both_keys_is_refused() {
    let (a, b, mallory) = (key(1), key(2), key(9));
    let mut forged = link(&a, &b, false);
    forged.old_signature = mallory.sign(forged.statement.as_bytes()).to_bytes();
    let err = policy(&a).with_hand_overs(&[forged]).unwrap_err();
    assert!(err.contains("not signed by the old key"), "{err}");
    let mut uncosigned = link(&a, &b, false);
    uncosigned.new_signature = uncosigned.old_signature;
    let err = policy(&a).with_hand_overs(&[uncosigned]).unwrap_err();
    assert!(err.contains("not cosigned by the new key"), "{err}");
    // An altered statement fails the signatures, or its form.
    let mut altered = link(&a, &b, false);
    altered.statement = altered.statement.replace("routine", "ROUTINE");
    assert!(altered.check().is_err());
    let mut spaced = link(&a, &b, false);
    spaced.statement = spaced.statement.replace("{\"old", "{ \"old");
    assert!(spaced.check().unwrap_err().contains("canonical"));
    // The link file round-trips.
    let good = link(&a, &b, false);
    let json = serde_json::to_string(&good).unwrap();
    assert_eq!(Link::from_json(&json).unwrap(), good);
}
