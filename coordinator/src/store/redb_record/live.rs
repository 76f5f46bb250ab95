//! The live ceremonies and the count of ended ones, kept as entries are
//! appended (`quorate_ceremonies::lifecycle` says what each entry does),
//! in the same transaction: a coordinator starts by loading only live
//! ceremonies, and counts the others without reading them.
//!
//! Tables: [`LIVE`] maps each live ceremony to its request's index, whether
//! it is break-glass and its key group; [`ENDED`] counts ended ceremonies
//! by key group and final state; [`REQUESTS`] lists every ceremony by its
//! request's index, the order history is listed in.

use std::collections::{BTreeMap, BTreeSet};

use quorate_ceremonies::Entry;
use quorate_ceremonies::lifecycle::Lifecycle;
use redb::{ReadableTable, Table, TableDefinition};

use super::{StoreError, storage};

/// Live ceremony id → (request index, break-glass, key group).
pub(super) const LIVE: TableDefinition<&str, (u64, bool, &str)> = TableDefinition::new("live");
/// (key group, final state) → how many ceremonies ended so.
pub(super) const ENDED: TableDefinition<(&str, &str), u64> = TableDefinition::new("ended");
/// Request index → ceremony id, every ceremony.
pub(super) const REQUESTS: TableDefinition<u64, &str> = TableDefinition::new("requests");

/// A live ceremony as [`LIVE`] holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LiveCeremony {
    pub(super) request: u64,
    pub(super) break_glass: bool,
    pub(super) key_group: String,
}

/// What a group of appends changes in the tables.
#[derive(Debug, Clone, Default)]
pub(super) struct Changes {
    opened: BTreeMap<String, LiveCeremony>,
    ended: BTreeSet<String>,
    counts: BTreeMap<(String, String), u64>,
    requests: Vec<(u64, String)>,
}

impl Changes {
    /// Whether the group changes none of the tables.
    pub(super) fn is_empty(&self) -> bool {
        self.opened.is_empty()
            && self.ended.is_empty()
            && self.counts.is_empty()
            && self.requests.is_empty()
    }

    /// Notes what entry `index` changes, given the live set as it stands
    /// in `live` with these changes on top.
    pub(super) fn note(
        &mut self,
        index: u64,
        entry: &Entry,
        live: &Table<&str, (u64, bool, &str)>,
    ) -> Result<(), StoreError> {
        match entry.lifecycle() {
            Lifecycle::Opens {
                ceremony,
                break_glass,
            } => {
                let Entry::CeremonyRequested { request, .. } = entry else {
                    return Ok(());
                };
                let id = ceremony.as_str().to_string();
                self.ended.remove(&id);
                self.opened.insert(
                    id.clone(),
                    LiveCeremony {
                        request: index,
                        break_glass,
                        key_group: request.key_group.as_str().to_string(),
                    },
                );
                self.requests.push((index, id));
            }
            Lifecycle::Ends { ceremony, ending } => {
                let id = ceremony.as_str();
                let Some(was) = self.live(id, live)? else {
                    // Ended already (a review of a ceremony that ended
                    // otherwise): nothing changes.
                    return Ok(());
                };
                if let Some(state) = ending.state(was.break_glass) {
                    self.opened.remove(id);
                    self.ended.insert(id.to_string());
                    *self
                        .counts
                        .entry((was.key_group, state.to_string()))
                        .or_default() += 1;
                }
            }
            Lifecycle::Same => {}
        }
        Ok(())
    }

    fn live(
        &self,
        id: &str,
        live: &Table<&str, (u64, bool, &str)>,
    ) -> Result<Option<LiveCeremony>, StoreError> {
        if self.ended.contains(id) {
            return Ok(None);
        }
        if let Some(opened) = self.opened.get(id) {
            return Ok(Some(opened.clone()));
        }
        Ok(live.get(id).map_err(storage)?.map(|v| {
            let (request, break_glass, key_group) = v.value();
            LiveCeremony {
                request,
                break_glass,
                key_group: key_group.to_string(),
            }
        }))
    }

    /// Writes the changes into the transaction's tables.
    pub(super) fn write(
        &self,
        live: &mut Table<&str, (u64, bool, &str)>,
        ended: &mut Table<(&str, &str), u64>,
        requests: &mut Table<u64, &str>,
    ) -> Result<(), StoreError> {
        for (id, c) in &self.opened {
            live.insert(
                id.as_str(),
                (c.request, c.break_glass, c.key_group.as_str()),
            )
            .map_err(storage)?;
        }
        for id in &self.ended {
            live.remove(id.as_str()).map_err(storage)?;
        }
        for ((group, state), n) in &self.counts {
            let key = (group.as_str(), state.as_str());
            let before = ended.get(key).map_err(storage)?.map_or(0, |v| v.value());
            ended.insert(key, before + n).map_err(storage)?;
        }
        for (index, id) in &self.requests {
            requests.insert(index, id.as_str()).map_err(storage)?;
        }
        Ok(())
    }
}
