//! Sealed files (key shares, identity keys, witness keys, custodians'
//! pieces) as an agent or custodian reads them.

use quorate_secrets::Passphrase;
use quorate_secrets::sealed::{Sealed, SecretKind};

/// Argon2 costs above these are not run here: each would take a large
/// share of a second (the limits on what loading accepts have their own
/// tests in `quorate-secrets`).
const MAX_FUZZ_M_COST: u32 = 64;
const MAX_FUZZ_T_COST: u32 = 2;

pub fn sealed_file(data: &[u8]) {
    let passphrase = Passphrase::new(zeroize::Zeroizing::new(
        crate::fixed::SEALED_PASSPHRASE.to_string(),
    ));
    for kind in [
        SecretKind::KeyShare,
        SecretKind::IdentityKey,
        SecretKind::WitnessKey,
        SecretKind::SharePiece,
    ] {
        let Ok(sealed) = Sealed::parse(data, kind) else {
            continue;
        };
        let kdf = sealed.kdf();
        if kdf.m_cost <= MAX_FUZZ_M_COST && kdf.t_cost <= MAX_FUZZ_T_COST {
            let _ = sealed.open(kind, &passphrase);
        }
    }
}
