//! FROST packages as the coordinator and agents receive them: signing
//! commitments and signature shares (coordinator), signing packages
//! (agents), DKG packages, and key groups' public key packages. The first
//! byte picks the kind. Whatever deserializes serializes to a value that
//! deserializes to the same.

use frost_ed25519 as frost;
use frost_ed25519::keys::dkg::{round1, round2};

macro_rules! round_trip {
    ($type:ty, $bytes:expr) => {
        if let Ok(value) = <$type>::deserialize($bytes) {
            let Ok(again) = value.serialize() else {
                panic!(
                    "a {} that deserialized does not serialize",
                    stringify!($type)
                );
            };
            assert!(
                <$type>::deserialize(&again).is_ok_and(|v| v == value),
                "a {} does not survive a round trip",
                stringify!($type)
            );
        }
    };
}

pub fn packages(data: &[u8]) {
    let Some((kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 6 {
        0 => round_trip!(frost::round1::SigningCommitments, bytes),
        1 => {
            // SignatureShare::serialize cannot fail.
            if let Ok(value) = frost::round2::SignatureShare::deserialize(bytes) {
                let again = frost::round2::SignatureShare::deserialize(&value.serialize());
                assert!(
                    again.is_ok_and(|v| v == value),
                    "signature share round trip"
                );
            }
        }
        2 => round_trip!(frost::SigningPackage, bytes),
        3 => round_trip!(round1::Package, bytes),
        4 => round_trip!(round2::Package, bytes),
        _ => round_trip!(frost::keys::PublicKeyPackage, bytes),
    }
}
