use std::sync::Arc;
use std::time::Duration;

use super::*;

fn id(s: &str) -> CeremonyId {
    CeremonyId::new(s).unwrap()
}

#[tokio::test]
async fn a_ceremony_waits_its_turn_and_others_do_not() {
    let turns = Arc::new(Turns::default());
    let first = turns.take(&id("c1")).await;
    // Another ceremony goes ahead at once.
    let other = tokio::time::timeout(Duration::from_secs(5), turns.take(&id("c2")))
        .await
        .unwrap();
    drop(other);
    // The same ceremony waits until the first turn ends.
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let waiting = {
        let turns = Arc::clone(&turns);
        tokio::spawn(async move {
            let _turn = turns.take(&id("c1")).await;
            let _ = tx.send(());
        })
    };
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        rx.try_recv().is_err(),
        "the second turn began before the first ended"
    );
    assert_eq!(turns.in_use(), 1);
    drop(first);
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
    assert!(rx.try_recv().is_ok());
}

#[tokio::test]
async fn no_lock_outlives_its_last_turn() {
    let turns = Arc::new(Turns::default());
    for n in 0..100 {
        drop(turns.take(&id(&format!("c{n}"))).await);
    }
    assert_eq!(turns.in_use(), 0);
    // Many callers for one ceremony, each in turn: the lock goes with the
    // last of them.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let turns = Arc::clone(&turns);
            tokio::spawn(async move {
                let _turn = turns.take(&id("busy")).await;
                tokio::task::yield_now().await;
            })
        })
        .collect();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(5), t)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(turns.in_use(), 0);
}
