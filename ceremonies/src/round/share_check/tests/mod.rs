//! Unit tests of the parent module: the quick check accepts exactly the
//! shares frost-core accepts, over real 3-of-5 rounds.

use std::collections::BTreeMap;

use frost_ed25519::keys::{IdentifierList, KeyPackage, PublicKeyPackage};
use frost_ed25519::round1::{self, SigningNonces};
use frost_ed25519::round2::{self, SignatureShare};
use frost_ed25519::{Identifier, SigningPackage};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::holds;
use crate::round::package_check::PackageValues;

struct Round {
    public: PublicKeyPackage,
    package: SigningPackage,
    shares: BTreeMap<Identifier, SignatureShare>,
    values: PackageValues,
}

/// A 3-of-5 dealing and one round over the first three signers.
fn round(seed: u64) -> Round {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (secret, public) =
        frost_ed25519::keys::generate_with_dealer(5, 3, IdentifierList::Default, &mut rng).unwrap();
    let keys: Vec<KeyPackage> = secret
        .into_values()
        .take(3)
        .map(|s| KeyPackage::try_from(s).unwrap())
        .collect();
    let mut nonces: BTreeMap<Identifier, SigningNonces> = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for k in &keys {
        let (n, c) = round1::commit(k.signing_share(), &mut rng);
        nonces.insert(*k.identifier(), n);
        commitments.insert(*k.identifier(), c);
    }
    let package = SigningPackage::new(commitments, b"SHA256SUMS");
    let shares = keys
        .iter()
        .map(|k| {
            let id = *k.identifier();
            (id, round2::sign(&package, &nonces[&id], k).unwrap())
        })
        .collect();
    let values = PackageValues::of(&package, public.verifying_key()).unwrap();
    Round {
        public,
        package,
        shares,
        values,
    }
}

fn frost_accepts(r: &Round, id: Identifier, share: &SignatureShare) -> bool {
    let verifying = &r.public.verifying_shares()[&id];
    frost_core::verify_signature_share(id, verifying, share, &r.package, r.public.verifying_key())
        .is_ok()
}

#[test]
fn agrees_with_frost_on_valid_and_swapped_shares() {
    for seed in 0..4 {
        let r = round(seed);
        for &id in r.shares.keys() {
            let verifying = &r.public.verifying_shares()[&id];
            for (&from, share) in &r.shares {
                let quick = holds(id, &r.package, &r.values, share, verifying);
                // A share is valid for its own signer only.
                assert_eq!(quick, Some(from == id), "seed {seed}");
                assert_eq!(quick, Some(frost_accepts(&r, id, share)), "seed {seed}");
            }
        }
    }
}

#[test]
fn a_share_of_a_signer_outside_the_package_is_left_to_frost() {
    let r = round(7);
    let outsider = Identifier::try_from(5).unwrap();
    let (_, share) = r.shares.iter().next().unwrap();
    let verifying = &r.public.verifying_shares()[&outsider];
    assert_eq!(
        holds(outsider, &r.package, &r.values, share, verifying),
        None
    );
}

#[test]
fn an_altered_share_is_not_accepted() {
    let r = round(9);
    let (&id, share) = r.shares.iter().next().unwrap();
    let mut bytes = share.serialize();
    bytes[0] ^= 1;
    let altered = SignatureShare::deserialize(&bytes).unwrap();
    let verifying = &r.public.verifying_shares()[&id];
    assert_eq!(
        holds(id, &r.package, &r.values, &altered, verifying),
        Some(false)
    );
    assert!(!frost_accepts(&r, id, &altered));
}
