//! The floor: FROST(Ed25519, SHA-512) in one process, with nothing around
//! it. A dealer key, then per ceremony round 1 for every signer, the
//! signing package, round 2 for every signer, aggregation, and one
//! Ed25519 verification of the result.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use frost_ed25519 as frost;
use rand_core::OsRng;

use crate::size::Size;
use crate::stats::Samples;

/// Time spent in each step of one in-process ceremony of one size.
pub struct Baseline {
    pub size: Size,
    pub dealer: Samples,
    pub round1: Samples,
    pub round2: Samples,
    pub aggregate: Samples,
    pub verify: Samples,
    /// Round 1 + round 2 + aggregate + verify: what a ceremony cannot
    /// avoid computing.
    pub ceremony: Samples,
}

impl Baseline {
    /// Mean seconds of one whole in-process ceremony.
    pub fn ceremony_secs(&self) -> f64 {
        self.ceremony.mean().as_secs_f64()
    }
}

pub fn measure(size: Size, runs: usize) -> anyhow::Result<Baseline> {
    let mut out = Baseline {
        size,
        dealer: Samples::default(),
        round1: Samples::default(),
        round2: Samples::default(),
        aggregate: Samples::default(),
        verify: Samples::default(),
        ceremony: Samples::default(),
    };
    let started = Instant::now();
    let (shares, public) = frost::keys::generate_with_dealer(
        size.n,
        size.t,
        frost::keys::IdentifierList::Default,
        OsRng,
    )?;
    let keys = shares
        .into_iter()
        .map(|(id, share)| Ok((id, frost::keys::KeyPackage::try_from(share)?)))
        .collect::<Result<BTreeMap<_, _>, frost::Error>>()?;
    out.dealer.push(started.elapsed());
    let signers: Vec<_> = keys.values().take(usize::from(size.t)).collect();
    let verifying_key = ed25519_dalek::VerifyingKey::from_bytes(
        &public
            .verifying_key()
            .serialize()?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a group key is 32 bytes"))?,
    )?;
    for run in 0..runs {
        let message = format!("baseline ceremony {run}").into_bytes();
        let t0 = Instant::now();
        let mut nonces = BTreeMap::new();
        let mut commitments = BTreeMap::new();
        for key in &signers {
            let (n, c) = frost::round1::commit(key.signing_share(), &mut OsRng);
            nonces.insert(*key.identifier(), n);
            commitments.insert(*key.identifier(), c);
        }
        let package = frost::SigningPackage::new(commitments, &message);
        let t1 = Instant::now();
        let mut shares = BTreeMap::new();
        for key in &signers {
            let n = nonces
                .get(key.identifier())
                .ok_or_else(|| anyhow::anyhow!("every signer committed"))?;
            shares.insert(*key.identifier(), frost::round2::sign(&package, n, key)?);
        }
        let t2 = Instant::now();
        let signature = frost::aggregate(&package, &shares, &public)?;
        let t3 = Instant::now();
        let bytes: [u8; 64] = signature
            .serialize()?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a signature is 64 bytes"))?;
        verifying_key.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&bytes))?;
        let t4 = Instant::now();
        out.round1.push(t1 - t0);
        out.round2.push(t2 - t1);
        out.aggregate.push(t3 - t2);
        out.verify.push(t4 - t3);
        out.ceremony.push(t4 - t0);
    }
    Ok(out)
}

/// How many in-process runs give a steady mean without taking long.
pub fn runs_for(size: Size, quick: bool) -> usize {
    if quick {
        return 1;
    }
    // About a second of work per size: round 2 and aggregation grow as t².
    let t = u64::from(size.t);
    let per_run = Duration::from_micros(300 + 25 * t * t);
    (Duration::from_secs(1).as_micros() / per_run.as_micros()).clamp(20, 2000) as usize
}
