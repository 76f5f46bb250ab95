//! What the hub keeps in memory: the live ceremonies (open, or signed under
//! break-glass and awaiting review), their deadlines in a heap, and the
//! count of ceremonies by state and key group, kept as they change. An
//! ended ceremony leaves memory as it ends and is read from the record
//! when asked for; the counts of ended ceremonies come from the store at
//! start. Memory, start time, `/metrics` and the list of open ceremonies
//! grow with what is live, not with history.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use crate::snapshot::Snapshot;

use quorate_ceremonies::lifecycle::is_live;
use quorate_ceremonies::{Ceremony, Timestamp};
use quorate_types::CeremonyId;

/// Ceremonies by (state, key group): every ceremony in the record.
#[derive(Debug, Default)]
pub struct Gauges(BTreeMap<(String, String), u64>);

impl Gauges {
    pub fn add(&mut self, state: String, key_group: String, n: u64) {
        *self.0.entry((state, key_group)).or_default() += n;
    }

    /// A ceremony moved from `before` (none if new) to `after`.
    pub fn moved(&mut self, before: Option<&Ceremony>, after: &Ceremony) {
        if let Some(before) = before {
            let key = (
                before.state().to_string(),
                before.key_group().name.to_string(),
            );
            if let Some(n) = self.0.get_mut(&key) {
                *n = n.saturating_sub(1);
            }
        }
        self.add(
            after.state().to_string(),
            after.key_group().name.to_string(),
            1,
        );
    }

    /// (state, key group, count), for `/metrics`.
    pub fn counts(&self) -> Vec<(String, String, u64)> {
        self.0
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|((s, g), n)| (s.clone(), g.clone(), *n))
            .collect()
    }
}

/// The live ceremonies' next deadlines, earliest first: one per ceremony,
/// moved when the ceremony's changes and gone when it ends.
#[derive(Debug, Default)]
pub struct Deadlines {
    by_time: BTreeSet<(Timestamp, CeremonyId)>,
    of: HashMap<CeremonyId, Timestamp>,
}

impl Deadlines {
    /// Sets the ceremony's next deadline (`None`: it has none).
    pub fn set(&mut self, id: &CeremonyId, at: Option<Timestamp>) {
        if let Some(old) = self.of.remove(id) {
            self.by_time.remove(&(old, id.clone()));
        }
        if let Some(at) = at {
            self.of.insert(id.clone(), at);
            self.by_time.insert((at, id.clone()));
        }
    }

    /// The ceremony changed to `after`.
    pub fn moved(&mut self, after: &Ceremony) {
        let next = after.next_deadline().filter(|_| is_live(after.state()));
        self.set(after.id(), next);
    }

    /// Takes every deadline due at `now`, and the earliest still to come.
    pub fn take_due(&mut self, now: Timestamp) -> (Vec<CeremonyId>, Option<Timestamp>) {
        let mut due = Vec::new();
        while let Some((at, id)) = self.by_time.first().cloned() {
            if at > now {
                break;
            }
            self.by_time.remove(&(at, id.clone()));
            self.of.remove(&id);
            due.push(id);
        }
        (due, self.by_time.first().map(|(at, _)| *at))
    }

    /// How many ceremonies have a deadline waiting.
    pub fn len(&self) -> usize {
        self.of.len()
    }
}

/// The latest ceremonies to end, as they ended: every party that follows
/// a ceremony (each agent's feed, each watcher, each record check) asks
/// for it once it ends, and reading it from the record each time would
/// cost far more than this. At most [`CAPACITY`], the oldest leaving
/// first.
pub struct Recent<T = Arc<Snapshot>> {
    by_id: HashMap<CeremonyId, T>,
    order: VecDeque<CeremonyId>,
}

/// How many ended ceremonies [`Recent`] keeps.
pub const CAPACITY: usize = 1024;

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self {
            by_id: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<T: Clone> Recent<T> {
    pub fn get(&self, id: &CeremonyId) -> Option<T> {
        self.by_id.get(id).cloned()
    }

    /// Keeps `ended` as ceremony `id` (replacing an older copy of it).
    pub fn keep(&mut self, id: CeremonyId, ended: T) {
        if self.by_id.insert(id.clone(), ended).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.by_id.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}

#[cfg(test)]
mod tests;
