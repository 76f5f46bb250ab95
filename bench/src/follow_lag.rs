//! Issue 22: how long after an append commits a follower has it, when it
//! polls the log every 100 ms ([`FOLLOW_EVERY`]) and when it also wakes
//! on PostgreSQL's LISTEN/NOTIFY (each append notifies as it commits).
//! One replica appends an entry every `every` (a period that does not
//! divide the poll's), another follows; each run in a database of its
//! own in the cluster at `--postgres`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quorate_coordinator::store::CeremonyStore;
use quorate_coordinator::store::replica::{FOLLOW_EVERY, ReplicaStore};

use crate::record::entry;
use crate::replicas::database;

/// Prints the follower's lag, in percentiles, for both ways of waking.
pub async fn run(postgres: &str, appends: usize, every: Duration) -> anyhow::Result<()> {
    println!("| follower wakes on | appends | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for notified in [false, true] {
        let mut lags = lags(postgres, appends, every, notified).await?;
        lags.sort_unstable();
        let at = |q: f64| {
            let i = ((lags.len() as f64 * q) as usize).min(lags.len() - 1);
            lags[i].as_secs_f64() * 1000.0
        };
        let how = if notified {
            "LISTEN/NOTIFY (and the poll)"
        } else {
            "the poll alone (every 100 ms)"
        };
        println!(
            "| {how} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            lags.len(),
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0)
        );
    }
    Ok(())
}

/// Each append's lag: from its commit's answer to the writer until the
/// follower imported it.
async fn lags(
    postgres: &str,
    appends: usize,
    every: Duration,
    notified: bool,
) -> anyhow::Result<Vec<Duration>> {
    let url = database(postgres, &format!("quorate_bench_lag_{notified}")).await?;
    let scratch = tempfile::tempdir()?;
    let writer = ReplicaStore::open(&scratch.path().join("w"), &url, "w").await?;
    let follower = Arc::new(
        ReplicaStore::following(&scratch.path().join("f"), url.as_str(), "f", "", |_| {
            Ok(None)
        })
        .await?,
    );
    let start = writer.size();
    let following = {
        let follower = Arc::clone(&follower);
        tokio::spawn(async move {
            let mut arrived = HashMap::new();
            while arrived.len() < appends {
                if notified {
                    tokio::select! {
                        _ = follower.news() => {}
                        _ = tokio::time::sleep(FOLLOW_EVERY) => {}
                    }
                } else {
                    tokio::time::sleep(FOLLOW_EVERY).await;
                }
                let followed = follower.follow().await?;
                let now = Instant::now();
                for (index, _) in followed.entries {
                    if index >= start {
                        arrived.insert(index, now);
                    }
                }
            }
            anyhow::Ok(arrived)
        })
    };
    let mut committed = Vec::with_capacity(appends);
    for n in 0..appends {
        let indexes = writer.append(vec![entry(n as u64)]).await?;
        let now = Instant::now();
        committed.extend(indexes.into_iter().map(|i| (i, now)));
        tokio::time::sleep(every).await;
    }
    let arrived = tokio::time::timeout(Duration::from_secs(60), following).await???;
    committed
        .into_iter()
        .map(|(index, at)| {
            arrived
                .get(&index)
                .map(|seen| seen.saturating_duration_since(at))
                .ok_or_else(|| anyhow::anyhow!("the follower never had entry {index}"))
        })
        .collect()
}
