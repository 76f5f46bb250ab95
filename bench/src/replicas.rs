//! Issue 22: durable appends/s through a coordinator replica over
//! PostgreSQL (the database first, then the replica's mirror), and whole
//! 3-of-5 ceremonies/s through a coordinator over it, with 0, 1 and 2
//! standbys following the log as it grows, beside the embedded store, on
//! this machine. Each run gets a database of its own in the
//! cluster at `--postgres` (e.g. one `tests/postgres start DIR` made).

use std::sync::Arc;

use quorate_coordinator::store::CeremonyStore;
use quorate_coordinator::store::replica::ReplicaStore;

use crate::record::appends_to;

#[path = "../../coordinator/tests/pg/cluster.rs"]
mod cluster;
pub use cluster::fresh_database as database;

/// Prints appends/s for the embedded store, then for a replica over
/// PostgreSQL with `replicas - 1` standbys, for each count of callers.
pub async fn run(postgres: &str, callers: &[usize], per_caller: u64) -> anyhow::Result<()> {
    println!("| store | replicas | callers | entries | appends/s |");
    println!("|---|---|---|---|---|");
    for &n in callers {
        let scratch = tempfile::tempdir()?;
        let store = Arc::new(quorate_coordinator::store::RedbStore::open(scratch.path())?);
        let a = appends_to(store, n, per_caller).await?;
        println!(
            "| embedded (redb) | 1 | {n} | {} | {:.0} |",
            a.entries,
            a.per_sec()
        );
    }
    for replicas in 1..=3usize {
        for &n in callers {
            let url = database(postgres, &format!("quorate_bench_{replicas}_{n}")).await?;
            let scratch = tempfile::tempdir()?;
            let holder =
                Arc::new(ReplicaStore::open(&scratch.path().join("r0"), &url, "r0").await?);
            // Standbys: waiting for the lease, following the log.
            let mut standbys = Vec::new();
            for r in 1..replicas {
                let (dir, url) = (scratch.path().join(format!("r{r}")), url.clone());
                standbys.push(tokio::spawn(async move {
                    ReplicaStore::open(&dir, &url, &format!("r{r}")).await
                }));
            }
            let a = appends_to(Arc::clone(&holder), n, per_caller).await?;
            println!(
                "| PostgreSQL, mirrored | {replicas} | {n} | {} | {:.0} |",
                a.entries,
                a.per_sec()
            );
            for s in standbys {
                s.abort();
            }
            holder.close().await;
        }
    }
    ceremonies(postgres).await
}

/// Whole 3-of-5 ceremonies/s, 8 in flight, through a local deployment
/// whose coordinator keeps its record in the embedded store, then in
/// PostgreSQL with 0, 1 and 2 standbys.
async fn ceremonies(postgres: &str) -> anyhow::Result<()> {
    const TOTAL: usize = 200;
    const IN_FLIGHT: usize = 8;
    println!();
    println!("| store | replicas | ceremonies | in flight | ceremonies/s |");
    println!("|---|---|---|---|---|");
    for replicas in 0..=3usize {
        let scratch = tempfile::tempdir()?;
        let url = match replicas {
            0 => None,
            n => Some(database(postgres, &format!("quorate_bench_ceremonies_{n}")).await?),
        };
        let cluster = std::sync::Arc::new(
            crate::cluster::Cluster::start_over(
                &scratch.path().join("cluster"),
                crate::size::THREE_OF_FIVE,
                url.clone(),
            )
            .await?,
        );
        let mut standbys = Vec::new();
        if let Some(url) = &url {
            for r in 1..replicas {
                let (dir, url) = (scratch.path().join(format!("standby-{r}")), url.clone());
                standbys.push(tokio::spawn(async move {
                    ReplicaStore::open(&dir, &url, &format!("standby-{r}")).await
                }));
            }
        }
        cluster.ceremony().await?; // warm-up
        let took = cluster.run_concurrently(IN_FLIGHT, TOTAL).await?;
        let store = if url.is_some() {
            "PostgreSQL, mirrored"
        } else {
            "embedded (redb)"
        };
        println!(
            "| {store} | {} | {TOTAL} | {IN_FLIGHT} | {:.1} |",
            replicas.max(1),
            TOTAL as f64 / took.as_secs_f64()
        );
        for s in standbys {
            s.abort();
        }
        std::sync::Arc::into_inner(cluster)
            .ok_or_else(|| anyhow::anyhow!("a worker still holds the cluster"))?
            .stop()
            .await?;
    }
    Ok(())
}
