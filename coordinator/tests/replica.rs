//! A coordinator replica's store over a real PostgreSQL (the throwaway
//! cluster `tests/run` starts): appends go to the database first and then
//! to the replica's mirror, which answers reads; a refused append reaches
//! neither; a new replica catches its mirror up from the database, and a
//! mirror of another log is refused; only one replica writes, a second
//! waits as a standby and takes over when the holder dies, a follower
//! refuses appends naming the holder, is notified of the holder's and
//! follows them, and one whose lease is taken halts; a replica with
//! another log key than the first's is refused; proofs come from
//! the tree the database keeps, equal to the mirror's; the record moves
//! from the embedded store to PostgreSQL and back with equal roots.

mod entries;
mod pg;

use std::time::Duration;

use entries::{event, request};
use pg::database;
use quorate_coordinator::migrate::postgres::{to_embedded, to_postgres};
use quorate_coordinator::store::postgres::PgLog;
use quorate_coordinator::store::replica::{FOLLOW_AT_MOST, LEASE, ReplicaStore};
use quorate_coordinator::store::{CeremonyStore, RedbStore, StoreError};
use quorate_tlog::{InclusionProof, MemoryTree};
use quorate_types::CeremonyId;

/// The root of the log in the database, from its entries' bytes.
async fn root_in(url: &str) -> anyhow::Result<(u64, quorate_tlog::Hash)> {
    let log = PgLog::connect(url, "reader").await?;
    let mut tree = MemoryTree::new();
    loop {
        let page = log.read(tree.size(), 100).await?;
        if page.is_empty() {
            break;
        }
        for stored in page {
            tree.append(&stored.bytes);
        }
    }
    Ok((tree.size(), tree.root()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_go_to_the_database_then_the_mirror_and_a_new_replica_catches_up()
-> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let store = ReplicaStore::open(&dir.path().join("a"), &url, "a").await?;
    assert_eq!(
        store.append(vec![request("c1"), event("c1", 0)]).await?,
        [0, 1]
    );

    // Refused by the mirror's checks: the database never sees it.
    refused(
        store.append(vec![event("c1", 1), request("c1")]).await,
        &["ceremony c1"],
    );
    assert_eq!(root_in(&url).await?.0, 2);

    // Callers at once: every index once, in the database and the mirror.
    let store = std::sync::Arc::new(store);
    let mut tasks = Vec::new();
    for t in 0..6u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("t{t}");
            let mut got = store.append(vec![request(&id)]).await?;
            for seq in 0..4 {
                got.extend(store.append(vec![event(&id, seq)]).await?);
            }
            Ok::<_, StoreError>(got)
        }));
    }
    let mut indexes = Vec::new();
    for task in tasks {
        indexes.extend(task.await??);
    }
    indexes.sort();
    assert_eq!(indexes, (2..32).collect::<Vec<u64>>());
    let (size, root) = root_in(&url).await?;
    assert_eq!((store.size(), store.root(size)?), (32, root));
    assert_eq!(
        store
            .ceremony(&CeremonyId::new("t3")?)?
            .map(|c| c.events.len()),
        Some(4)
    );

    // Callers at once asking for the same ceremony, in one group or
    // several: one is taken, the others refused, and the database has it
    // once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.append(vec![request("same")]).await
        }));
    }
    let mut taken = 0;
    for task in tasks {
        match task.await? {
            Ok(_) => taken += 1,
            Err(StoreError::Exists(what)) => assert!(what.contains("same"), "{what}"),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(taken, 1);
    let (size, root) = root_in(&url).await?;
    assert_eq!((store.size(), store.root(size)?), (33, root));

    // The holder goes away; a replica with an empty data_dir takes the
    // lease once it ends, and its mirror catches up from the database.
    drop(store);
    let other = ReplicaStore::open(&dir.path().join("b"), &url, "b").await?;
    assert_eq!((other.size(), other.root(33)?), (33, root));
    assert_eq!(
        other
            .ceremony(&CeremonyId::new("t5")?)?
            .map(|c| c.events.len()),
        Some(4)
    );
    assert_eq!(other.append(vec![event("t5", 4)]).await?, [33]);
    drop(other);

    // The first replica's mirror is behind by one: it catches up too.
    let again = ReplicaStore::open(&dir.path().join("a"), &url, "a").await?;
    assert_eq!(again.size(), 34);
    assert_eq!(again.root(34)?, root_in(&url).await?.1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_replica_waits_as_a_standby_and_takes_over_when_the_holder_dies()
-> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let first = ReplicaStore::open(&dir.path().join("a"), &url, "a").await?;
    assert_eq!(first.append(vec![request("c1")]).await?, [0]);
    let standby = {
        let (dir, url) = (dir.path().join("b"), url.clone());
        tokio::spawn(async move { ReplicaStore::open(&dir, &url, "b").await })
    };
    // Longer than a lease: the holder renews it, the standby waits.
    tokio::time::sleep(LEASE + Duration::from_secs(1)).await;
    assert!(
        !standby.is_finished(),
        "the standby took a lease still renewed"
    );
    assert_eq!(first.append(vec![event("c1", 0)]).await?, [1]);

    // The holder dies without handing the lease back: its renewals stop,
    // and within a lease's length the standby holds it, caught up.
    drop(first);
    let second = tokio::time::timeout(LEASE * 3, standby).await???;
    assert_eq!((second.epoch(), second.size()), (2, 2));
    assert_eq!(second.append(vec![event("c1", 1)]).await?, [2]);
    assert_eq!(root_in(&url).await?, (3, second.root(3)?));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_refuses_appends_is_notified_of_the_holders_and_follows_them()
-> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let holder = ReplicaStore::open(&dir.path().join("a"), &url, "a").await?;
    let advertised = "https://a.example:7400";
    let follower =
        ReplicaStore::following(&dir.path().join("b"), url.as_str(), "b", advertised, |_| {
            Ok(None)
        })
        .await?;
    let first = follower.follow().await?;
    assert!(!first.holding && first.entries.is_empty());
    // Refused, naming the holder (which advertised no address).
    match follower.append(vec![request("c1")]).await {
        Err(StoreError::Follower { holder, address }) => {
            assert_eq!((holder.as_deref(), address), (Some("a"), None));
        }
        other => panic!("a follower appended: {other:?}"),
    }
    assert_eq!(follower.size(), 0);

    // The holder's append is notified as it commits, and followed.
    let news = follower.news();
    assert_eq!(
        holder.append(vec![request("c1"), event("c1", 0)]).await?,
        [0, 1]
    );
    tokio::time::timeout(Duration::from_secs(30), news).await?;
    let followed = follower.follow().await?;
    let indexes: Vec<u64> = followed.entries.iter().map(|(i, _)| *i).collect();
    assert_eq!((indexes, followed.holding), (vec![0, 1], false));
    assert_eq!(follower.root(2)?, holder.root(2)?);

    // The holder hands the lease back: the follower takes it, advertising
    // its address, and appends once told to.
    holder.close().await;
    drop(holder);
    assert!(follower.follow().await?.holding);
    assert!(follower.append(vec![event("c1", 1)]).await.is_err());
    follower.start_writing();
    assert_eq!(follower.append(vec![event("c1", 1)]).await?, [2]);
    let seen = PgLog::connect(url.as_str(), "reader")
        .await?
        .holder()
        .await?;
    let seen = seen.map(|h| (h.replica, h.address));
    assert_eq!(seen, Some(("b".to_string(), advertised.to_string())));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proofs_come_from_the_database_and_agree_with_the_mirror() -> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let store = ReplicaStore::open(&dir.path().join("a"), &url, "a").await?;
    // Groups of 1 to 5 entries: 37 in all.
    let mut n = 0;
    for group in [1, 2, 3, 5, 4, 1, 5, 5, 3, 2, 1, 5] {
        let entries = (n..n + group).map(|i| request(&format!("c{i}"))).collect();
        store.append(entries).await?;
        n += group;
    }
    assert_eq!(store.size(), 37);
    let db = PgLog::connect(url.as_str(), "reader").await?;
    let same = |db: InclusionProof, mirror: InclusionProof| db.hashes == mirror.hashes;
    for size in [1, 2, 5, 16, 17, 37] {
        let root = store.root(size)?;
        for index in 0..size {
            let proved = store.prove_inclusion_at_source(index, size).await?;
            let leaf = quorate_tlog::leaf_hash(&store.entry(index)?);
            quorate_tlog::check_inclusion(&proved, leaf, root)?;
            assert!(same(db.prove_inclusion(index, size).await?, proved));
        }
        for old in 1..size {
            let proved = store.prove_consistency_at_source(old, size).await?;
            quorate_tlog::check_consistency(&proved, store.root(old)?, root)?;
            let direct = db.prove_consistency(old, size).await?;
            assert_eq!(direct.hashes, store.prove_consistency(old, size)?.hashes);
        }
    }
    // The cosigned checkpoint the holder shares: the latest kept, never an
    // older one over it.
    assert_eq!(store.shared_cosigned().await, None);
    store.share_cosigned(16, "sixteen").await;
    store.share_cosigned(5, "five").await;
    assert_eq!(store.shared_cosigned().await, Some((16, "sixteen".into())));
    store.share_cosigned(37, "all").await;
    assert_eq!(store.shared_cosigned().await, Some((37, "all".into())));

    // Asked beyond the log: refused as such, not as a database failure.
    let beyond = store.prove_inclusion_at_source(37, 37).await.err();
    assert!(
        matches!(beyond, Some(StoreError::OutOfRange(_))),
        "{beyond:?}"
    );

    // A log written before the database kept the tree (its hashes gone):
    // the replica that takes the lease completes the tree, in batches,
    // before it appends; and an append finds it complete.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let held = || async {
        let n: i64 = client
            .query_one("SELECT count(*) FROM quorate_hashes", &[])
            .await?
            .get(0);
        anyhow::Ok(n as u64)
    };
    store.close().await;
    drop(store);
    client.execute("DELETE FROM quorate_hashes", &[]).await?;
    assert!(db.prove_inclusion(3, 37).await.is_err());
    let next = ReplicaStore::open(&dir.path().join("b"), &url, "b").await?;
    assert_eq!(held().await?, quorate_tlog::stored_hash_count(37));
    next.append(vec![request("c37")]).await?;
    assert_eq!(held().await?, quorate_tlog::stored_hash_count(38));
    for index in [0, 3, 36, 37] {
        let mirrored = next.prove_inclusion(index, 38)?;
        assert!(same(db.prove_inclusion(index, 38).await?, mirrored));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_whose_lease_is_taken_halts_and_appends_nothing() -> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let store = ReplicaStore::open(&dir.path().join("a"), &url, "a").await?;
    store.append(vec![request("c1")]).await?;
    let halted = store.halted();

    // An operator ends the lease by hand and another replica takes it.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .execute(
            "UPDATE quorate_lease SET expires_at = clock_timestamp()",
            &[],
        )
        .await?;
    let b = PgLog::connect(&url, "b").await?;
    let taken = b.acquire(Duration::from_secs(30)).await?;
    assert_eq!(taken.map(|l| l.epoch), Some(2));

    refused(
        store.append(vec![event("c1", 0)]).await,
        &["no longer holds the sequencing lease"],
    );
    let why = tokio::time::timeout(Duration::from_secs(10), halted).await?;
    assert!(why.contains("replica b holds it now"), "{why}");
    assert_eq!((store.size(), root_in(&url).await?.0), (1, 1));
    // Halted: nothing more is taken.
    let err = store
        .append(vec![event("c1", 0)])
        .await
        .err()
        .map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some(why.as_str()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_far_behind_catches_up_over_several_follows() -> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let holder = ReplicaStore::open(&dir.path().join("a"), &url, "a").await?;
    let follower =
        ReplicaStore::following(&dir.path().join("b"), url.as_str(), "b", "", |_| Ok(None)).await?;
    let behind = FOLLOW_AT_MOST + 10;
    let ids: Vec<u64> = (0..behind).collect();
    for chunk in ids.chunks(1024) {
        let entries = chunk.iter().map(|i| request(&format!("c{i}"))).collect();
        holder.append(entries).await?;
    }
    // One follow imports at most FOLLOW_AT_MOST, and says there is more:
    // its news is there at once.
    let first = follower.follow().await?;
    assert_eq!(first.entries.len() as u64, FOLLOW_AT_MOST);
    assert!(!first.holding);
    tokio::time::timeout(Duration::from_secs(5), follower.news()).await?;
    let rest = follower.follow().await?;
    let indexes: Vec<u64> = first
        .entries
        .iter()
        .chain(&rest.entries)
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(indexes, ids);
    assert_eq!(follower.size(), behind);
    assert_eq!(follower.root(behind)?, holder.root(behind)?);
    Ok(())
}

/// Asserts `result` is an error whose text says each of `says`.
fn refused<T>(result: Result<T, impl std::fmt::Display>, says: &[&str]) {
    let err = result.err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| says.iter().all(|s| e.contains(s))),
        "{err:?}"
    );
}

/// Opens replica `name` in `dir/name` as the coordinator does, with the
/// log key in its data directory (made if there is none).
async fn follow_with_log_key(
    dir: &std::path::Path,
    url: &str,
    name: &str,
) -> anyhow::Result<ReplicaStore> {
    let data_dir = dir.join(name);
    ReplicaStore::following(&data_dir, url, name, "", |size| {
        let origin = quorate_coordinator::config::default_origin();
        let key = quorate_coordinator::log_key::load_or_create(&data_dir, &origin, size)?;
        Ok(Some(key.verifier_key()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_with_another_log_key_is_refused() -> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    // The first to start over the database records its key (made now).
    let first = follow_with_log_key(dir.path(), &url, "a").await?;
    drop(first);
    // Another started beside it on the empty log makes another key.
    refused(
        follow_with_log_key(dir.path(), &url, "b").await,
        &[
            "is not the one replica \"a\" recorded",
            "Copy log-key.json from a's data directory",
        ],
    );
    // With a copy of the first's key it starts, and so does the first.
    let key = quorate_coordinator::log_key::FILE_NAME;
    std::fs::copy(
        dir.path().join("a").join(key),
        dir.path().join("b").join(key),
    )?;
    follow_with_log_key(dir.path(), &url, "b").await?;
    follow_with_log_key(dir.path(), &url, "a").await?;
    Ok(())
}

/// An embedded record in `dir` of two entries, with its log key.
async fn embedded_record(dir: &std::path::Path) -> anyhow::Result<()> {
    let store = RedbStore::open(dir)?;
    let origin = quorate_coordinator::config::default_origin();
    quorate_coordinator::log_key::load_or_create(dir, &origin, 0)?;
    store.append(vec![request("c1"), event("c1", 0)]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_migration_records_its_log_key_over_a_strays() -> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    // A replica started over the empty database records a key of its own.
    let stray = follow_with_log_key(dir.path(), &url, "stray").await?;
    stray.close().await;
    drop(stray);
    // The record migrated there brings its key, which replaces that one.
    embedded_record(&dir.path().join("a")).await?;
    to_postgres(&dir.path().join("a"), url.as_str()).await?;
    follow_with_log_key(dir.path(), &url, "a").await?;
    refused(
        follow_with_log_key(dir.path(), &url, "stray").await,
        &["is not the one replica \"migrate-"],
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_from_before_the_recorded_key_takes_only_the_key_that_signed_it() -> anyhow::Result<()>
{
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let a = dir.path().join("a");
    embedded_record(&a).await?;
    to_postgres(&a, url.as_str()).await?;
    // As an earlier release left it: no key recorded, and the checkpoint
    // the witnesses cosigned, signed with a's key.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    client.batch_execute("DELETE FROM quorate_log_key").await?;
    drop(client);
    let _ = connection.await;
    let origin = quorate_coordinator::config::default_origin();
    let key = quorate_coordinator::log_key::load(&a, &origin)?;
    let mirror = RedbStore::open(&a)?;
    let checkpoint = quorate_tlog::Checkpoint {
        origin: origin.clone(),
        size: mirror.size(),
        root: mirror.root(mirror.size())?,
    };
    drop(mirror);
    PgLog::connect(url.as_str(), "t")
        .await?
        .save_cosigned(checkpoint.size, &key.sign_checkpoint(&checkpoint)?)
        .await?;
    // Another key is refused, naming why; a's is taken and recorded.
    let b = dir.path().join("b");
    std::fs::create_dir_all(&b)?;
    quorate_coordinator::log_key::load_or_create(&b, &origin, 0)?;
    refused(
        follow_with_log_key(dir.path(), &url, "b").await,
        &["did not sign the checkpoint of the log the witnesses"],
    );
    follow_with_log_key(dir.path(), &url, "a").await?;
    let recorded = PgLog::connect(url.as_str(), "t").await?.log_key().await?;
    assert_eq!(recorded, Some(key.verifier_key()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mirror_of_another_log_is_refused() -> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let store = ReplicaStore::open(&dir.path().join("a"), &url, "a").await?;
    store.append(vec![request("c1"), event("c1", 0)]).await?;
    drop(store);

    let other = dir.path().join("other");
    RedbStore::open(&other)?.append(vec![request("c2")]).await?;
    refused(
        ReplicaStore::open(&other, &url, "b").await,
        &["is not the start of the log in PostgreSQL"],
    );
    let longer = dir.path().join("longer");
    RedbStore::open(&longer)?
        .append(vec![request("c1"), event("c1", 0), event("c1", 1)])
        .await?;
    refused(
        ReplicaStore::open(&longer, &url, "c").await,
        &["more than the 2 of the log"],
    );
    assert_eq!(root_in(&url).await?.0, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_record_moves_to_postgres_and_back_with_equal_roots() -> anyhow::Result<()> {
    let url = database().await?;
    let dir = tempfile::tempdir()?;
    let embedded = dir.path().join("embedded");
    let entries: Vec<_> = (0..50)
        .flat_map(|i| {
            let id = format!("c{i}");
            [request(&id), event(&id, 0)]
        })
        .collect();
    let root = {
        let store = RedbStore::open(&embedded)?;
        let origin = quorate_coordinator::config::default_origin();
        quorate_coordinator::log_key::load_or_create(&embedded, &origin, 0)?;
        store.append(entries).await?;
        store.root(100)?
    };
    let key = std::fs::read_to_string(embedded.join(quorate_coordinator::log_key::FILE_NAME))?;

    let copied = to_postgres(&embedded, &url).await?;
    assert_eq!((copied.entries, copied.root), (100, root));
    assert_eq!(root_in(&url).await?, (100, root));
    // Not twice: the database is no longer empty.
    refused(
        to_postgres(&embedded, &url).await,
        &["holds 100 entries already"],
    );

    // The embedded data_dir serves as the first replica's mirror.
    let replica = ReplicaStore::open(&embedded, &url, "a").await?;
    replica.append(vec![event("c7", 1)]).await?;
    let root = replica.root(101)?;
    // Back, while the replica runs: refused.
    let back = dir.path().join("back");
    refused(
        to_embedded(&url, &embedded, &back).await,
        &["replica a holds"],
    );
    // Closed, it hands the lease back: no wait for it to end.
    replica.close().await;
    drop(replica);
    let copied = to_embedded(&url, &embedded, &back).await?;
    assert_eq!((copied.entries, copied.root), (101, root));
    let store = RedbStore::open(&back)?;
    assert_eq!((store.size(), store.root(101)?), (101, root));
    assert_eq!(
        std::fs::read_to_string(back.join(quorate_coordinator::log_key::FILE_NAME))?,
        key
    );
    Ok(())
}
