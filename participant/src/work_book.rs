//! The latest work item of each ceremony the agent has seen, for its
//! approver's review list and `show`. Open ceremonies stay; of finished
//! ones the most recent [`FINISHED_KEPT`] stay, and older ones go unless
//! the agent still needs them (a record check to come, or a problem it
//! found, which stays in front of the approver). The journal keeps every
//! decision regardless. Without this an agent's
//! memory, and the work of every review list, grew with every ceremony it
//! ever saw.

use std::collections::{BTreeMap, VecDeque};

use quorate_types::CeremonyId;
use quorate_wire as proto;

/// Finished ceremonies kept beyond those the agent still needs.
pub const FINISHED_KEPT: usize = 1000;

pub struct WorkBook {
    /// Each ceremony's latest work item, and whether it is finished.
    work: BTreeMap<CeremonyId, (proto::Work, bool)>,
    /// Finished ceremonies in `work`, about oldest first.
    finished: VecDeque<CeremonyId>,
    capacity: usize,
}

impl Default for WorkBook {
    fn default() -> Self {
        Self::with_capacity(FINISHED_KEPT)
    }
}

impl WorkBook {
    /// Keeps `capacity` finished ceremonies besides those still needed.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            work: BTreeMap::new(),
            finished: VecDeque::new(),
            capacity,
        }
    }

    pub fn get(&self, id: &CeremonyId) -> Option<&proto::Work> {
        self.work.get(id).map(|(work, _)| work)
    }

    pub fn values(&self) -> impl Iterator<Item = &proto::Work> {
        self.work.values().map(|(work, _)| work)
    }

    /// Records `work` as `id`'s latest; `finished` says whether its
    /// ceremony is over. Then drops the finished ceremonies older than the
    /// latest `capacity` for which `needed` says no.
    pub fn insert(
        &mut self,
        id: CeremonyId,
        work: proto::Work,
        finished: bool,
        needed: impl Fn(&CeremonyId) -> bool,
    ) {
        let known_finished = self.work.get(&id).is_some_and(|(_, f)| *f);
        if finished && !known_finished {
            self.finished.push_back(id.clone());
        }
        self.work.insert(id, (work, finished || known_finished));
        // Those beyond the latest `capacity` go, unless still needed.
        let beyond = self.finished.len().saturating_sub(self.capacity);
        let mut needed_still = Vec::new();
        for _ in 0..beyond {
            let Some(oldest) = self.finished.pop_front() else {
                break;
            };
            if needed(&oldest) {
                needed_still.push(oldest);
            } else {
                self.work.remove(&oldest);
            }
        }
        for id in needed_still.into_iter().rev() {
            self.finished.push_front(id);
        }
    }

    /// The ceremonies kept.
    #[cfg(test)]
    pub fn ids(&self) -> Vec<&CeremonyId> {
        self.work.keys().collect()
    }
}

#[cfg(test)]
mod tests;
