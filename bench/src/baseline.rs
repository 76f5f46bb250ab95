//! The floors: FROST(Ed25519, SHA-512) in one process, with nothing around
//! it (a dealer key, then per ceremony round 1 for every signer, the
//! signing package, round 2 for every signer, aggregation, and one
//! Ed25519 verification of the result); and the mandated floor, that plus
//! every other piece of cryptography the design requires of one ceremony
//! ([`mandated`]), with nothing else.

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

/// A dealer's key of `size`: every participant's key package, and the
/// group's public key package.
type Dealt = (
    BTreeMap<frost::Identifier, frost::keys::KeyPackage>,
    frost::keys::PublicKeyPackage,
);

fn deal(size: Size) -> anyhow::Result<Dealt> {
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
    Ok((keys, public))
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
    let (keys, public) = deal(size)?;
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

/// The mandated floor: one FROST ceremony as [`measure`] times it, plus
/// the other cryptography the design requires of a ceremony of `t`
/// signers who all approve, each step once, in one thread:
///
/// - `t` approval statements signed (Ed25519), and verified strictly by
///   the coordinator (`t`) and by each signer's gate (`t × t`);
/// - round-1 commitments decoded with their subgroup checks by the
///   coordinator (`t`) and, in the signing package, by each signer
///   (`t × t`), two points each;
/// - one checkpoint signed by the coordinator and verified by each
///   signer's record check (`t`).
///
/// The mean of `runs` ceremonies.
pub fn mandated(size: Size, runs: usize) -> anyhow::Result<Samples> {
    use ed25519_dalek::{Signer, SigningKey};
    let t = usize::from(size.t);
    let (keys, public) = deal(size)?;
    let signers: Vec<_> = keys.values().take(t).collect();
    let key = || {
        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
        SigningKey::from_bytes(&seed)
    };
    let approvers: Vec<SigningKey> = (0..t).map(|_| key()).collect();
    let log_key = key();
    // A statement and a checkpoint of the sizes the record holds.
    let statement = vec![b's'; 420];
    let checkpoint = vec![b'c'; 110];
    let mut out = Samples::default();
    for run in 0..runs {
        let message = format!("mandated ceremony {run}").into_bytes();
        let t0 = Instant::now();
        let approvals: Vec<_> = approvers.iter().map(|k| k.sign(&statement)).collect();
        for (k, sig) in approvers.iter().zip(&approvals) {
            k.verifying_key().verify_strict(&statement, sig)?;
        }
        let mut nonces = BTreeMap::new();
        let mut commitments = BTreeMap::new();
        for key in &signers {
            let (n, c) = frost::round1::commit(key.signing_share(), &mut OsRng);
            // The coordinator decodes what the signer sent.
            let c = frost::round1::SigningCommitments::deserialize(&c.serialize()?)?;
            nonces.insert(*key.identifier(), n);
            commitments.insert(*key.identifier(), c);
        }
        let package = frost::SigningPackage::new(commitments, &message);
        let sent = package.serialize()?;
        let mut shares = BTreeMap::new();
        for key in &signers {
            // Each signer's gate: the approvals, then the package decoded.
            for (k, sig) in approvers.iter().zip(&approvals) {
                k.verifying_key().verify_strict(&statement, sig)?;
            }
            let package = frost::SigningPackage::deserialize(&sent)?;
            let n = nonces
                .get(key.identifier())
                .ok_or_else(|| anyhow::anyhow!("every signer committed"))?;
            shares.insert(*key.identifier(), frost::round2::sign(&package, n, key)?);
        }
        let signature = frost::aggregate(&package, &shares, &public)?;
        public.verifying_key().verify(&message, &signature)?;
        let signed = log_key.sign(&checkpoint);
        for _ in 0..t {
            log_key
                .verifying_key()
                .verify_strict(&checkpoint, &signed)?;
        }
        out.push(t0.elapsed());
    }
    Ok(out)
}
