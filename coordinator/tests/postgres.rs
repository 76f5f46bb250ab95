//! The record's log in a real PostgreSQL (the throwaway cluster `tests/run`
//! starts; `QUORATE_TEST_POSTGRES` names it), each test in a database of
//! its own: appends from several tasks get every index once and none
//! skipped, and read back with their leaf hashes to the tree's root; only
//! the lease holder appends, a takeover fences the former holder, and a
//! holder whose database connection is cut cannot append; TLS to the
//! database checks the server's certificate, and plaintext reaches only a
//! database on loopback.

use std::time::Duration;

mod pg;

use pg::database;
use quorate_coordinator::store::postgres::{Database, PgError, PgLog};
use quorate_tlog::MemoryTree;

const TTL: Duration = Duration::from_secs(30);

fn entry(n: usize) -> Vec<u8> {
    format!("{{\"entry\":\"test\",\"n\":{n}}}").into_bytes()
}

fn lease_lost(result: Result<Vec<u64>, PgError>) -> String {
    match result {
        Err(e @ PgError::LeaseLost { .. }) => e.to_string(),
        other => panic!("expected the lease to be lost, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_from_many_tasks_get_every_index_once() -> anyhow::Result<()> {
    let url = database().await?;
    let first = PgLog::connect(&url, "a").await?;
    let lease = first
        .acquire(TTL)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a free lease was not taken"))?;
    // Four connections of the lease holder append at once.
    let mut tasks = Vec::new();
    for t in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut log = PgLog::connect(&url, "a").await?;
            let mut got = Vec::new();
            for b in 0..10 {
                let batch: Vec<Vec<u8>> = (0..3).map(|i| entry(t * 100 + b * 3 + i)).collect();
                let indexes = log.append(lease, &batch).await?;
                got.push((indexes, batch));
            }
            anyhow::Ok(got)
        }));
    }
    let mut by_index = std::collections::BTreeMap::new();
    for task in tasks {
        for (indexes, batch) in task.await?? {
            // A batch's entries are consecutive.
            assert!(indexes.windows(2).all(|w| w[1] == w[0] + 1), "{indexes:?}");
            for (i, bytes) in indexes.into_iter().zip(batch) {
                assert!(by_index.insert(i, bytes).is_none(), "index {i} given twice");
            }
        }
    }
    assert_eq!(
        by_index.keys().copied().collect::<Vec<_>>(),
        (0..120).collect::<Vec<u64>>()
    );
    assert_eq!(first.size().await?, 120);

    // Read back in pages: the bytes appended, with their leaf hashes, to
    // the same root as a tree of those bytes.
    let mut read = Vec::new();
    while read.len() < 120 {
        let page = first.read(read.len() as u64, 50).await?;
        assert!(!page.is_empty());
        read.extend(page);
    }
    let mut tree = MemoryTree::new();
    for (stored, (i, bytes)) in read.iter().zip(&by_index) {
        assert_eq!((stored.index, &stored.bytes), (*i, bytes));
        tree.append(bytes);
    }
    let mut replayed = MemoryTree::new();
    for stored in &read {
        assert_eq!(stored.leaf, quorate_tlog::leaf_hash(&stored.bytes));
        replayed.append(&stored.bytes);
    }
    assert_eq!(replayed.root(), tree.root());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_lease_holder_appends_and_a_takeover_fences_the_former() -> anyhow::Result<()> {
    let url = database().await?;
    let mut a = PgLog::connect(&url, "a").await?;
    let mut b = PgLog::connect(&url, "b").await?;
    let held = a
        .acquire(Duration::from_millis(1500))
        .await?
        .ok_or_else(|| anyhow::anyhow!("not taken"))?;
    assert_eq!(held.epoch, 1);
    // b cannot take it while it lasts, nor append under a's lease.
    assert_eq!(b.acquire(TTL).await?, None);
    let why = lease_lost(b.append(held, &[entry(0)]).await);
    assert!(
        why.contains("replica b no longer holds") && why.contains("replica a holds it now"),
        "{why}"
    );
    assert_eq!(a.append(held, &[entry(0)]).await?, vec![0]);
    // a holding on again keeps its epoch.
    let held = a
        .acquire(Duration::from_millis(1500))
        .await?
        .ok_or_else(|| anyhow::anyhow!("not kept"))?;
    assert_eq!(held.epoch, 1);

    // a stops renewing (it is stuck, or gone): once the lease ends, b takes
    // over at the next epoch, and from then on a's appends and renewals
    // are refused, whatever a thinks.
    let taken = loop {
        if let Some(l) = b.acquire(TTL).await? {
            break l;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(taken.epoch, 2);
    let why = lease_lost(a.append(held, &[entry(1)]).await);
    assert!(why.contains("replica b holds it now, at epoch 2"), "{why}");
    assert!(matches!(
        a.renew(held, TTL).await,
        Err(PgError::LeaseLost { .. })
    ));
    assert_eq!(a.acquire(TTL).await?, None);
    // b goes on from the last index, and hands over cleanly.
    assert_eq!(b.append(taken, &[entry(1), entry(2)]).await?, vec![1, 2]);
    b.release(taken).await?;
    let back = a
        .acquire(TTL)
        .await?
        .ok_or_else(|| anyhow::anyhow!("released, not free"))?;
    assert_eq!(back.epoch, 3);
    lease_lost(b.append(taken, &[entry(3)]).await);
    assert_eq!(a.append(back, &[entry(3)]).await?, vec![3]);
    assert_eq!(a.size().await?, 4);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_cut_off_from_the_database_cannot_append() -> anyhow::Result<()> {
    let url = database().await?;
    let mut a = PgLog::connect(&url, "a").await?;
    let b = PgLog::connect(&url, "b").await?;
    let held = a
        .acquire(Duration::from_millis(1500))
        .await?
        .ok_or_else(|| anyhow::anyhow!("not taken"))?;
    assert_eq!(a.append(held, &[entry(0)]).await?, vec![0]);
    // The database drops a's connection (a partition, as the server sees
    // it): a's next append fails, and nothing is added.
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let cut: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND application_name = 'quorate-coordinator a'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(cut, 1, "a's connection was not found");
    assert!(matches!(
        a.append(held, &[entry(1)]).await,
        Err(PgError::Db(_))
    ));
    assert_eq!(b.size().await?, 1);
    // Reconnected after b took over, a's old lease appends nothing.
    let taken = loop {
        if let Some(l) = b.acquire(TTL).await? {
            break l;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut again = PgLog::connect(&url, "a").await?;
    lease_lost(again.append(held, &[entry(1)]).await);
    assert_eq!(b.size().await?, 1);
    assert_eq!(taken.epoch, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_database_checks_its_certificate_and_plaintext_stays_on_loopback()
-> anyhow::Result<()> {
    let url = database().await?;
    let ca = std::env::var("QUORATE_TEST_POSTGRES_CA").map_err(|_| {
        anyhow::anyhow!(
            "QUORATE_TEST_POSTGRES_CA is not set: run the tests with tests/run, which starts a \
             throwaway PostgreSQL cluster serving TLS"
        )
    })?;
    let db = Database::new(&url)
        .with_ca(std::path::Path::new(&ca))
        .map_err(anyhow::Error::msg)?;
    let log = PgLog::connect(&db, "over-tls").await?;
    assert_eq!(log.size().await?, 0);
    // The server says the session is encrypted.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let ssl: bool = client
        .query_one(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'quorate-coordinator over-tls'",
            &[],
        )
        .await?
        .get(0);
    assert!(ssl);

    // A CA that did not issue the server's certificate: refused.
    let dir = tempfile::tempdir()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other = params.self_signed(&rcgen::KeyPair::generate()?)?;
    std::fs::write(dir.path().join("other.crt"), other.pem())?;
    let db = Database::new(&url)
        .with_ca(&dir.path().join("other.crt"))
        .map_err(anyhow::Error::msg)?;
    let err = PgLog::connect(&db, "b")
        .await
        .err()
        .map(|e| format!("{e:?}"));
    assert!(
        err.as_deref().is_some_and(|e| e.contains("UnknownIssuer")),
        "{err:?}"
    );
    // A file with no certificate: a clear error at once.
    std::fs::write(dir.path().join("empty.pem"), "")?;
    let err = Database::new(&url)
        .with_ca(&dir.path().join("empty.pem"))
        .err();
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("holds no certificate")),
        "{err:?}"
    );

    // Plaintext off loopback: refused before any connection is made.
    let err = PgLog::connect("postgres://quorate@192.0.2.7/quorate", "c")
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("192.0.2.7 is not on loopback")),
        "{err:?}"
    );
    Ok(())
}
