//! Hands each ceremony the time when one of its deadlines passes. The
//! engine decides what that means; this task only watches the clock. It is
//! supervised: if it panics, it is started again (and says so).

use std::sync::Weak;
use std::time::Duration;

use quorate_ceremonies::Event;

use crate::hub::Hub;
use crate::store::CeremonyStore;

/// Longest sleep between looks at the deadlines.
const MAX_SLEEP: Duration = Duration::from_secs(5);

/// Runs the deadline task until the coordinator stops, starting it again
/// whenever it panics.
pub(crate) async fn supervise<S: CeremonyStore>(
    hub: Weak<Hub<S>>,
    observer: crate::observer::Observer,
) {
    loop {
        let task = tokio::spawn(run(hub.clone(), observer.clone()));
        match task.await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, "the deadline task died; starting it again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn run<S: CeremonyStore>(hub: Weak<Hub<S>>, observer: crate::observer::Observer) {
    let Some(strong) = hub.upgrade() else { return };
    let mut changes = strong.subscribe_changes();
    let mut stopping = strong.stopping();
    drop(strong);
    loop {
        let Some(strong) = hub.upgrade() else { return };
        let (due, next) = strong.due().await;
        for id in due {
            match strong.apply(&id, Event::DeadlinePassed).await {
                Ok((ceremony, actions)) => observer.applied(
                    &ceremony,
                    &Event::DeadlinePassed,
                    &actions,
                    strong.now().unix_ms(),
                ),
                // The record refused the write, or another event moved the
                // deadline first: look at the ceremony's deadline again in
                // a while, so that none is forgotten.
                Err(e) => {
                    if let crate::hub::HubError::Store(_) = e {
                        tracing::warn!(ceremony = %id, error = %e, "deadline not recorded; trying again");
                    } else {
                        tracing::debug!(ceremony = %id, error = %e, "deadline not applied");
                    }
                    strong.retry_deadline(&id).await;
                }
            }
        }
        // Key ceremonies too: one past its deadline fails, naming whom it
        // waited for.
        let (keys_due, keys_next) = strong.key_deadlines().await;
        for id in keys_due {
            match strong.key_deadline_passed(id.clone()).await {
                Ok(key) => {
                    tracing::warn!(key_ceremony = %id, failure = ?key.failure(), "key ceremony timed out")
                }
                Err(e) => {
                    tracing::warn!(key_ceremony = %id, error = %e, "key ceremony deadline not recorded; trying again")
                }
            }
        }
        let next = match (next, keys_next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let wait = next
            .map(|n| {
                Duration::from_millis(
                    n.unix_ms().saturating_sub(strong.now().unix_ms()).max(1) as u64
                )
            })
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP);
        drop(strong);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = changes.recv() => {}
            _ = stopping.changed() => return,
        }
    }
}
