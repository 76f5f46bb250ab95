//! A replica that follows the record: entries another replica appended
//! take effect here as they did there, read back from the store (which
//! imported them already) exactly as a start rebuilds its state: a
//! ceremony is rebuilt from its request and events, through the engine,
//! a key group or key ceremony from its entries. Each change reaches the
//! feeds and watches as the writer's own changes do.

use std::collections::HashMap;
use std::sync::Arc;

use quorate_ceremonies::Entry;
use quorate_ceremonies::lifecycle::is_live;
use quorate_types::{CeremonyId, KeyCeremonyId};

use super::{Change, Hub, HubError, Slot, load_key_groups, rebuild, rebuild_live};
use crate::poison::{lock, read, write};
use crate::snapshot::Snapshot;
use crate::store::{CeremonyStore, StoreError, StoredCeremony};

/// What a run of followed entries changed, in the order to apply it.
#[derive(Default)]
struct Touched {
    key_groups: bool,
    /// The writer recorded its `[[party]]` list.
    parties: bool,
    key_ceremonies: Vec<KeyCeremonyId>,
    /// Each ceremony once, in the order first touched, with how many of
    /// its events came in this run and whether its request did.
    ceremonies: Vec<CeremonyId>,
    runs: HashMap<CeremonyId, (usize, bool)>,
}

impl Touched {
    fn of(entries: &[(u64, Entry)]) -> Self {
        let mut t = Self::default();
        for (_, entry) in entries {
            match entry {
                Entry::KeyGroupRegistered { .. }
                | Entry::RosterChanged { .. }
                | Entry::KeyGroupChanged { .. }
                | Entry::KeyGroupRetired { .. } => t.key_groups = true,
                Entry::KeyCeremonyProposed { ceremony, .. }
                | Entry::KeyCeremonyEvent { ceremony, .. } => {
                    if !t.key_ceremonies.contains(ceremony) {
                        t.key_ceremonies.push(ceremony.clone());
                    }
                }
                Entry::CeremonyRequested { request, .. } => t.ceremony(&request.id).1 = true,
                Entry::CeremonyEvent { ceremony, .. } => t.ceremony(ceremony).0 += 1,
                Entry::PartiesChanged { .. } => t.parties = true,
                Entry::ShareBackedUp { .. }
                | Entry::KeyGroupHandedOver { .. }
                | Entry::Refused { .. } => {}
            }
        }
        t
    }

    fn ceremony(&mut self, id: &CeremonyId) -> &mut (usize, bool) {
        if !self.runs.contains_key(id) {
            self.ceremonies.push(id.clone());
        }
        self.runs.entry(id.clone()).or_default()
    }
}

impl<S: CeremonyStore> Hub<S> {
    /// Lets `entries`, which another replica appended and the store has
    /// imported (in order, each with its index), take effect.
    pub async fn apply_followed(&self, entries: &[(u64, Entry)]) -> Result<(), HubError> {
        if entries.is_empty() {
            return Ok(());
        }
        let touched = Touched::of(entries);
        if touched.parties {
            self.authz.follow_record(self.store.parties()?.as_deref());
        }
        if touched.key_groups {
            let _changing = self.versions.write().await;
            let (groups, retired) = load_key_groups(&self.store)?;
            *write(&self.key_groups) = groups;
            *write(&self.retired) = retired;
        }
        if !touched.key_ceremonies.is_empty() {
            self.keys
                .reload(&self.store, &touched.key_ceremonies)
                .await?;
        }
        for id in &touched.ceremonies {
            let (events, requested) = touched.runs.get(id).copied().unwrap_or_default();
            self.follow_ceremony(id, events, requested)?;
        }
        Ok(())
    }

    /// Ceremony `id` as the record has it now, of which the last `events`
    /// (and its request, if `requested`) were just followed.
    fn follow_ceremony(
        &self,
        id: &CeremonyId,
        events: usize,
        requested: bool,
    ) -> Result<(), HubError> {
        let stored = self
            .store
            .ceremony(id)?
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("ceremony {id}"),
                why: "followed, but not in the record".into(),
            })?;
        let index = stored.index;
        // As it stood before these entries: to move its counts from.
        let before = match (requested, self.live(id)?) {
            (true, _) => None,
            (false, Some(live)) => Some(live.current()),
            (false, None) => {
                let kept = stored.events.len().saturating_sub(events);
                let earlier = StoredCeremony {
                    index,
                    request: stored.request.clone(),
                    events: stored.events[..kept].to_vec(),
                };
                Some(Snapshot::new(rebuild(&read(&self.key_groups), earlier)?))
            }
        };
        let (ceremony, events_by) = rebuild_live(&read(&self.key_groups), stored)?;
        let snapshot = Snapshot::new(ceremony);
        lock(&self.gauges).moved(before.as_deref().map(|b| b.ceremony()), &snapshot);
        lock(&self.deadlines).moved(&snapshot);
        if is_live(snapshot.state()) {
            if !snapshot.is_finished() {
                lock(&self.gate).opened(id.clone(), &snapshot.request().requester);
            }
            lock(&self.ceremonies).insert(
                id.clone(),
                (index, Slot::new(Arc::clone(&snapshot), events_by)),
            );
        } else {
            lock(&self.ceremonies).remove(id);
            lock(&self.recent).keep(id.clone(), Arc::clone(&snapshot));
        }
        if snapshot.is_finished() {
            lock(&self.gate).closed(id);
        }
        let _ = self.changes.send(Change {
            ceremony: id.clone(),
            key_group: snapshot.request().key_group.clone(),
        });
        Ok(())
    }
}
