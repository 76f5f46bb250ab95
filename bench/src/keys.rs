//! Key ceremonies: DKG, refresh and repair through the coordinator (real
//! agents over mutual TLS, the record on disk), beside frost-core's cost for
//! the same steps in one process. The coordinator's figure is the time
//! from the proposal to the registration, as the record's own timestamps
//! show it; frost-core's is the sum of every participant's calls, one after
//! another, with no network, sealing or signatures.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use frost_ed25519::Identifier;
use frost_ed25519::keys::dkg::{self, round1, round2};
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, refresh, repairable};
use quorate::local::{AUDITOR, LocalDeployment, Options};
use quorate_ceremonies::Entry;
use quorate_types::{KeyCeremonyId, ParticipantId};
use rand_core::OsRng;

use crate::cluster::{roster, unlimited};
use crate::size::Size;

/// The three key ceremonies' times at one size.
pub struct KeyTimes {
    pub dkg: Duration,
    pub refresh: Duration,
    pub repair: Duration,
}

/// frost-core alone: every participant's DKG, refresh and repair calls.
pub fn in_process(size: Size) -> anyhow::Result<KeyTimes> {
    let ids: Vec<Identifier> = (0..size.n)
        .map(|i| Identifier::try_from(i + 1))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let (keys, public) = run_dkg(&ids, size, false, None)?;
    let dkg = started.elapsed();
    let started = Instant::now();
    let (keys, public) = run_dkg(&ids, size, true, Some((&keys, &public)))?;
    let refresh = started.elapsed();
    let started = Instant::now();
    let helpers: Vec<Identifier> = ids[1..=usize::from(size.t)].to_vec();
    let lost = ids[0];
    let mut deltas: BTreeMap<Identifier, Vec<repairable::Delta>> = BTreeMap::new();
    for h in &helpers {
        let mine = repairable::repair_share_part1::<frost_ed25519::Ed25519Sha512, _>(
            &helpers, &keys[h], &mut OsRng, lost,
        )?;
        for (to, delta) in mine {
            deltas.entry(to).or_default().push(delta);
        }
    }
    let sigmas: Vec<_> = helpers
        .iter()
        .map(|h| repairable::repair_share_part2(&deltas[h]))
        .collect();
    let repaired = repairable::repair_share_part3(&sigmas, lost, &public)?;
    let repair = started.elapsed();
    if repaired.signing_share() != keys[&lost].signing_share() {
        anyhow::bail!("the in-process repair did not rebuild the share");
    }
    Ok(KeyTimes {
        dkg,
        refresh,
        repair,
    })
}

type Keys = BTreeMap<Identifier, KeyPackage>;

/// A whole DKG (or, with `old`, a refresh) of `ids`, every participant in
/// turn.
fn run_dkg(
    ids: &[Identifier],
    size: Size,
    refreshing: bool,
    old: Option<(&Keys, &PublicKeyPackage)>,
) -> anyhow::Result<(Keys, PublicKeyPackage)> {
    let mut secrets1 = BTreeMap::new();
    let mut packages1: BTreeMap<Identifier, round1::Package> = BTreeMap::new();
    for id in ids {
        let (secret, package) = if refreshing {
            refresh::refresh_dkg_part1(*id, size.n, size.t, OsRng)?
        } else {
            dkg::part1(*id, size.n, size.t, OsRng)?
        };
        secrets1.insert(*id, secret);
        packages1.insert(*id, package);
    }
    let others = |me: &Identifier| -> BTreeMap<Identifier, round1::Package> {
        packages1
            .iter()
            .filter(|(id, _)| *id != me)
            .map(|(id, p)| (*id, p.clone()))
            .collect()
    };
    let mut secrets2 = BTreeMap::new();
    let mut inbox: BTreeMap<Identifier, BTreeMap<Identifier, round2::Package>> = BTreeMap::new();
    for (id, secret) in secrets1 {
        let (secret, packages) = if refreshing {
            refresh::refresh_dkg_part2(secret, &others(&id))?
        } else {
            dkg::part2(secret, &others(&id))?
        };
        secrets2.insert(id, secret);
        for (to, package) in packages {
            inbox.entry(to).or_default().insert(id, package);
        }
    }
    let mut keys = BTreeMap::new();
    let mut public = None;
    for (id, secret) in &secrets2 {
        let received = inbox.remove(id).unwrap_or_default();
        let (key, pkp) = match old {
            Some((old_keys, old_public)) => refresh::refresh_dkg_shares(
                secret,
                &others(id),
                &received,
                old_public.clone(),
                old_keys[id].clone(),
            )?,
            None => dkg::part3(secret, &others(id), &received)?,
        };
        keys.insert(*id, key);
        public = Some(pkp);
    }
    let public = public.ok_or_else(|| anyhow::anyhow!("no participants"))?;
    Ok((keys, public))
}

/// Through the coordinator: a DKG among `size.n` agents, a refresh of
/// every share, and the repair of one share by t helpers.
pub async fn through_coordinator(dir: &Path, size: Size) -> anyhow::Result<KeyTimes> {
    let options = Options {
        limits: unlimited(),
        dkg: true,
        ..Default::default()
    };
    let mut d =
        LocalDeployment::start_with(dir, "bench", &roster(size.n)?, size.t, options).await?;
    let result = async {
        let made = d
            .key_ceremony
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the group was not made by DKG"))?;
        let dkg = recorded(&d, &made).await?;
        let refreshed = d.refresh(&[]).await?;
        let refresh = recorded(&d, &refreshed).await?;
        let helpers: Vec<ParticipantId> = d
            .group
            .roster
            .ids()
            .skip(1)
            .take(usize::from(size.t))
            .cloned()
            .collect();
        let lost = d
            .group
            .roster
            .ids()
            .next()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("an empty roster"))?;
        let repaired = d.repair(&lost, &helpers).await?;
        let repair = recorded(&d, &repaired).await?;
        Ok(KeyTimes {
            dkg,
            refresh,
            repair,
        })
    }
    .await;
    d.stop().await?;
    result
}

/// How long key ceremony `id` took, from its proposal to the registration
/// of what it made, by the record's timestamps.
async fn recorded(d: &LocalDeployment, id: &KeyCeremonyId) -> anyhow::Result<Duration> {
    let mut audit = d.clients(AUDITOR).await?.audit;
    let transcript = quorate::audit::export_key(&mut audit, id).await?;
    let times: Vec<i64> = transcript
        .entries
        .iter()
        .map(|e| Entry::decode(e.entry.as_bytes()).map(|e| e.at().unix_ms()))
        .collect::<Result<_, _>>()?;
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        anyhow::bail!("key ceremony {id} has no entries");
    };
    Ok(Duration::from_millis(
        u64::try_from(last - first).unwrap_or(0),
    ))
}
