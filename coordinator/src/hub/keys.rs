//! Key ceremonies in the hub: every one in memory (there is one per key
//! group made), each input recorded before it takes effect, and the key
//! group a ceremony makes registered in the same commit as the event that
//! made it.

use std::collections::BTreeMap;
use std::sync::Arc;

use quorate_ceremonies::Entry;
use quorate_ceremonies::key::rebuild::{rebuild, registered_by};
use quorate_ceremonies::key::{KeyCeremony, KeyError, KeyEvent};
use quorate_types::key_ceremony::{KeyProposal, SignedKeyMessage};
use quorate_types::{KeyCeremonyId, ParticipantId};
use rand_core::{OsRng, RngCore};
use tokio::sync::broadcast;

use super::{Hub, HubError, Versions, to_the_end};
use crate::poison::write;
use crate::store::{CeremonyStore, StoreError};

/// Every key ceremony, and a feed of which one changed.
pub(super) struct KeyCeremonies {
    all: tokio::sync::Mutex<BTreeMap<KeyCeremonyId, Arc<KeyCeremony>>>,
    changes: broadcast::Sender<KeyCeremonyId>,
}

impl KeyCeremonies {
    /// Rebuilds every recorded key ceremony through the engine.
    pub(super) fn load(store: &impl CeremonyStore) -> Result<Self, StoreError> {
        let mut all = BTreeMap::new();
        for stored in store.key_ceremonies()? {
            let key =
                rebuild(&stored.proposed, &stored.events).map_err(|e| StoreError::Corrupt {
                    key: format!("key ceremony {}", e.ceremony),
                    why: e.why,
                })?;
            all.insert(key.id().clone(), Arc::new(key));
        }
        Ok(Self {
            all: tokio::sync::Mutex::new(all),
            changes: broadcast::channel(256).0,
        })
    }

    /// Rebuilds the key ceremonies `changed` from the record (another
    /// replica recorded their change), and says so to those who follow
    /// them. Only those: the others' entries are not read again.
    pub(super) async fn reload(
        &self,
        store: &impl CeremonyStore,
        changed: &[KeyCeremonyId],
    ) -> Result<(), StoreError> {
        let fresh = changed
            .iter()
            .map(|id| Ok((id.clone(), Arc::new(load_one(store, id)?))))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.all.lock().await.extend(fresh);
        for id in changed {
            let _ = self.changes.send(id.clone());
        }
        Ok(())
    }
}

/// Rebuilds key ceremony `id` through the engine from its entries in the
/// record: its proposal and its events (the registration of the key group
/// it made, listed with them, is not its input).
fn load_one(store: &impl CeremonyStore, id: &KeyCeremonyId) -> Result<KeyCeremony, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt {
        key: format!("key ceremony {id}"),
        why,
    };
    let mut proposed = None;
    let mut events = Vec::new();
    for index in store.key_ceremony_entries(id)? {
        let entry = Entry::decode(&store.entry(index)?)
            .map_err(|e| corrupt(format!("entry {index}: {e}")))?;
        match &entry {
            Entry::KeyCeremonyProposed { ceremony, .. } if ceremony == id => proposed = Some(entry),
            Entry::KeyCeremonyEvent { ceremony, .. } if ceremony == id => events.push(entry),
            _ => {}
        }
    }
    let proposed = proposed.ok_or_else(|| corrupt("followed, but not in the record".into()))?;
    rebuild(&proposed, &events).map_err(|e| corrupt(e.why))
}

impl<S: CeremonyStore> Hub<S> {
    /// Records `by`'s proposal of a key group made by DKG.
    pub async fn propose_key_group(
        self: &Arc<Self>,
        proposal: KeyProposal,
        by: String,
    ) -> Result<Arc<KeyCeremony>, HubError> {
        let hub = Arc::clone(self);
        to_the_end(async move { hub.propose_now(proposal, by).await }).await
    }

    async fn propose_now(
        &self,
        proposal: KeyProposal,
        by: String,
    ) -> Result<Arc<KeyCeremony>, HubError> {
        let name = proposal.key_group.clone();
        if proposal.changes().is_none() && self.key_group(&name).is_some() {
            return Err(HubError::KeyGroupExists(name));
        }
        let mut all = self.keys.all.lock().await;
        if let Some(open) = all
            .values()
            .find(|k| k.proposal().key_group == name && !k.phase().is_finished())
        {
            return Err(HubError::KeyCeremonyOpen(name, open.id().clone()));
        }
        let at = self.clock.now();
        let key = KeyCeremony::propose(new_key_ceremony_id(), proposal.clone(), at, by.clone())?;
        let entry = Entry::KeyCeremonyProposed {
            at,
            by,
            ceremony: key.id().clone(),
            proposal,
        };
        self.store.append(vec![entry]).await?;
        let key = Arc::new(key);
        all.insert(key.id().clone(), key.clone());
        let _ = self.keys.changes.send(key.id().clone());
        Ok(key)
    }

    /// Records `by`'s proposal of new shares of key group `name` among its
    /// share holders but for `removed`.
    pub async fn propose_refresh(
        self: &Arc<Self>,
        name: &quorate_types::KeyGroupName,
        removed: Vec<ParticipantId>,
        by: String,
    ) -> Result<Arc<KeyCeremony>, HubError> {
        let (current, from) = self.as_it_stands(name)?;
        let roster = quorate_types::Roster {
            participants: current
                .roster
                .participants
                .iter()
                .filter(|p| !removed.contains(&p.id))
                .cloned()
                .collect(),
        };
        let proposal = KeyProposal {
            key_group: current.name.clone(),
            threshold: current.threshold,
            roster,
            policy: current.policy.clone(),
            refresh: Some(quorate_types::key_ceremony::Refresh {
                from,
                version: current.version,
                removed,
            }),
            repair: None,
        };
        self.propose_key_group(proposal, by).await
    }

    /// Records `by`'s proposal that `helpers` rebuild `participant`'s
    /// share of key group `name` (or, with `enrol`, make one for them as a
    /// new participant).
    pub async fn propose_repair(
        self: &Arc<Self>,
        name: &quorate_types::KeyGroupName,
        participant: quorate_types::RosterEntry,
        helpers: Vec<ParticipantId>,
        enrol: bool,
        by: String,
    ) -> Result<Arc<KeyCeremony>, HubError> {
        let (current, from) = self.as_it_stands(name)?;
        let holds = current.roster.get(&participant.id).is_some();
        if holds == enrol {
            return Err(HubError::InvalidKeyGroup(if enrol {
                format!(
                    "{} holds a share of {name} already: repair it instead",
                    participant.id
                )
            } else {
                format!(
                    "{} holds no share of {name}: enrol them instead",
                    participant.id
                )
            }));
        }
        let mut roster = current.roster.clone();
        match roster
            .participants
            .iter_mut()
            .find(|e| e.id == participant.id)
        {
            Some(entry) => *entry = participant.clone(),
            None => roster.participants.push(participant.clone()),
        }
        let proposal = KeyProposal {
            key_group: current.name.clone(),
            threshold: current.threshold,
            roster,
            policy: current.policy.clone(),
            refresh: None,
            repair: Some(quorate_types::key_ceremony::Repair {
                from,
                version: current.version,
                participant,
                helpers,
            }),
        };
        self.propose_key_group(proposal, by).await
    }

    /// The key group `name` as it stands, and its file.
    fn as_it_stands(
        &self,
        name: &quorate_types::KeyGroupName,
    ) -> Result<
        (
            Arc<quorate_ceremonies::KeyGroup>,
            quorate_types::KeyGroupFile,
        ),
        HubError,
    > {
        let current = self
            .key_group(name)
            .ok_or_else(|| HubError::UnknownKeyGroup(name.to_string()))?;
        let from = quorate_types::KeyGroupFile::new(
            current.name.clone(),
            current.threshold,
            &current.public_key_package,
            current.roster.clone(),
            current.policy.clone(),
        )
        .map_err(|e| HubError::InvalidKeyGroup(e.to_string()))?;
        Ok((current, from))
    }

    /// Records `caller`'s signed messages to key ceremony `id`, all or
    /// none, and registers the key group if they complete it.
    pub async fn post_key_messages(
        self: &Arc<Self>,
        id: KeyCeremonyId,
        caller: ParticipantId,
        messages: Vec<SignedKeyMessage>,
    ) -> Result<Arc<KeyCeremony>, HubError> {
        let hub = Arc::clone(self);
        to_the_end(async move {
            let events = messages
                .into_iter()
                .map(|message| {
                    if message.message.participant != caller {
                        return Err(HubError::NotYourMessage {
                            caller: caller.clone(),
                            signer: message.message.participant.clone(),
                        });
                    }
                    Ok(KeyEvent::Message { message })
                })
                .collect::<Result<Vec<_>, _>>()?;
            hub.feed_key_ceremony(&id, events).await
        })
        .await
    }

    /// Records `by`'s cancellation of key ceremony `id`.
    pub async fn cancel_key_ceremony(
        self: &Arc<Self>,
        id: KeyCeremonyId,
        by: String,
        reason: String,
    ) -> Result<Arc<KeyCeremony>, HubError> {
        let hub = Arc::clone(self);
        to_the_end(async move {
            hub.feed_key_ceremony(&id, vec![KeyEvent::Cancelled { by, reason }])
                .await
        })
        .await
    }

    async fn feed_key_ceremony(
        &self,
        id: &KeyCeremonyId,
        events: Vec<KeyEvent>,
    ) -> Result<Arc<KeyCeremony>, HubError> {
        // A key ceremony may end by giving its key group a new version.
        let _changing = self.versions.write().await;
        let mut all = self.keys.all.lock().await;
        let current = all
            .get(id)
            .ok_or_else(|| HubError::UnknownKeyCeremony(id.clone()))?;
        let mut key = KeyCeremony::clone(current);
        let mut entries = Vec::new();
        for event in events {
            let at = self.clock.now();
            let seq = key.version();
            let decisions = key.handle(event.clone(), at)?;
            entries.push(Entry::KeyCeremonyEvent {
                at,
                ceremony: id.clone(),
                seq,
                event,
                decisions,
            });
            if key.phase().is_finished() {
                break;
            }
        }
        let registered = match key.registered() {
            None => None,
            Some(file) => {
                let (entry, group) = self.registration(&key, file)?;
                entries.push(entry);
                Some((file.name.clone(), group))
            }
        };
        if entries.is_empty() {
            return Ok(current.clone());
        }
        self.store.append(entries).await?;
        if let Some((name, group)) = registered {
            let mut groups = write(&self.key_groups);
            match groups.get_mut(&name) {
                Some(versions) if key.proposal().changes().is_some() => versions.0.push(group),
                _ => {
                    groups.insert(name, Versions(vec![group]));
                }
            }
        }
        let key = Arc::new(key);
        all.insert(id.clone(), key.clone());
        let _ = self.keys.changes.send(id.clone());
        Ok(key)
    }

    /// The entry that registers what `key` made (a new key group, or the
    /// next version of a refreshed one) and the group as it will be served.
    fn registration(
        &self,
        key: &KeyCeremony,
        file: &quorate_types::KeyGroupFile,
    ) -> Result<(Entry, Arc<quorate_ceremonies::KeyGroup>), HubError> {
        let at = self.clock.now();
        let by = registered_by(key.id());
        let Some((_, version)) = key.proposal().changes() else {
            if self.key_group(&file.name).is_some() {
                return Err(HubError::KeyGroupExists(file.name.clone()));
            }
            let group =
                quorate_ceremonies::KeyGroup::from_file(file).map_err(HubError::InvalidKeyGroup)?;
            let entry = Entry::KeyGroupRegistered {
                at,
                by,
                key_group: file.clone(),
            };
            return Ok((entry, Arc::new(group)));
        };
        let current = self
            .key_group(&file.name)
            .ok_or_else(|| HubError::UnknownKeyGroup(file.name.to_string()))?;
        if current.version != version {
            return Err(HubError::RefreshStale(file.name.clone(), version));
        }
        let group = current
            .with_refresh(file)
            .map_err(HubError::InvalidKeyGroup)?;
        let entry = Entry::KeyGroupChanged {
            at,
            by,
            version: group.version,
            key_group: file.clone(),
        };
        Ok((entry, Arc::new(group)))
    }

    /// The open key ceremonies whose deadline has passed, and the next
    /// deadline of the others.
    pub async fn key_deadlines(
        &self,
    ) -> (Vec<KeyCeremonyId>, Option<quorate_ceremonies::Timestamp>) {
        let now = self.clock.now();
        let all = self.keys.all.lock().await;
        let open = all.values().filter(|k| !k.phase().is_finished());
        let (due, later): (Vec<_>, Vec<_>) = open.partition(|k| k.deadline() <= now);
        (
            due.iter().map(|k| k.id().clone()).collect(),
            later.iter().map(|k| k.deadline()).min(),
        )
    }

    /// Records that key ceremony `id`'s deadline passed: it fails, naming
    /// whom it waited for.
    pub async fn key_deadline_passed(
        self: &Arc<Self>,
        id: KeyCeremonyId,
    ) -> Result<Arc<KeyCeremony>, HubError> {
        let hub = Arc::clone(self);
        to_the_end(async move {
            hub.feed_key_ceremony(&id, vec![KeyEvent::DeadlinePassed])
                .await
        })
        .await
    }

    pub async fn key_ceremony(&self, id: &KeyCeremonyId) -> Result<Arc<KeyCeremony>, HubError> {
        self.keys
            .all
            .lock()
            .await
            .get(id)
            .cloned()
            .ok_or_else(|| HubError::UnknownKeyCeremony(id.clone()))
    }

    /// The open key ceremonies whose roster names `participant`.
    pub async fn key_ceremonies_of(&self, participant: &ParticipantId) -> Vec<Arc<KeyCeremony>> {
        self.keys
            .all
            .lock()
            .await
            .values()
            .filter(|k| !k.phase().is_finished() && k.proposal().roster.get(participant).is_some())
            .cloned()
            .collect()
    }

    /// Whether `participant` is in the roster of key ceremony `id`.
    pub async fn in_key_ceremony(&self, id: &KeyCeremonyId, participant: &ParticipantId) -> bool {
        self.keys
            .all
            .lock()
            .await
            .get(id)
            .is_some_and(|k| k.proposal().roster.get(participant).is_some())
    }

    pub fn subscribe_key_changes(&self) -> broadcast::Receiver<KeyCeremonyId> {
        self.keys.changes.subscribe()
    }
}

impl From<KeyError> for HubError {
    fn from(e: KeyError) -> Self {
        HubError::Key(e)
    }
}

fn new_key_ceremony_id() -> KeyCeremonyId {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    KeyCeremonyId::new(format!("key-{}", hex::encode(bytes)))
        .unwrap_or_else(|_| unreachable!("hex is a valid id"))
}
