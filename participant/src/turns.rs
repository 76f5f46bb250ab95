//! Turns per ceremony: work on one ceremony (a decision, a work item) runs
//! one at a time and in order, while different ceremonies proceed
//! concurrently. A ceremony's lock lives only while someone holds or awaits
//! it, so an agent that sees ceremonies for months does not keep one per
//! ceremony it ever saw.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use quorate_types::CeremonyId;
use tokio::sync::OwnedMutexGuard;

#[derive(Default)]
pub struct Turns {
    locks: Mutex<HashMap<CeremonyId, Arc<tokio::sync::Mutex<()>>>>,
}

/// The ceremony's turn, held until dropped.
pub struct Turn<'a> {
    turns: &'a Turns,
    id: CeremonyId,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Turns {
    /// Waits for `id`'s turn: until every earlier caller for `id` has
    /// dropped its own.
    pub async fn take(&self, id: &CeremonyId) -> Turn<'_> {
        let lock = Arc::clone(self.map().entry(id.clone()).or_default());
        Turn {
            turns: self,
            id: id.clone(),
            guard: Some(lock.lock_owned().await),
        }
    }

    /// How many ceremonies have a lock: those someone holds or awaits.
    #[cfg(test)]
    pub fn in_use(&self) -> usize {
        self.map().len()
    }

    fn map(&self) -> MutexGuard<'_, HashMap<CeremonyId, Arc<tokio::sync::Mutex<()>>>> {
        self.locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.turns.map();
        // Everyone who holds or awaits the lock took a clone under the map's
        // lock, which is held now: one reference left means nobody else.
        if map.get(&self.id).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests;
