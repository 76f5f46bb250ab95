//! Hands each ceremony the time when one of its deadlines passes. The
//! engine decides what that means; this task only watches the clock.

use std::sync::Weak;
use std::time::Duration;

use quorate_ceremonies::Event;

use crate::hub::Hub;
use crate::store::CeremonyStore;

/// Longest sleep between looks at the deadlines.
const MAX_SLEEP: Duration = Duration::from_secs(5);

pub(crate) async fn run<S: CeremonyStore>(hub: Weak<Hub<S>>, observer: crate::observer::Observer) {
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
                // Another event moved the deadline first: nothing to do.
                Err(e) => tracing::debug!(ceremony = %id, error = %e, "deadline not applied"),
            }
        }
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
