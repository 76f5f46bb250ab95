//! The coordinator's live state: every ceremony's engine, fed events in
//! order, each event stored and flushed before it takes effect, and a feed
//! of which ceremony changed for the streams that push work out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use quorate_ceremonies::record::{RefusalReason, RefusedAction};
use quorate_ceremonies::{Action, Ceremony, CeremonyError, Entry, Event, KeyGroup, Request};
use quorate_types::KeyGroupFile;
use quorate_types::{CeremonyId, KeyGroupName, ParticipantId, Party, RequestId, Roster};
use rand_core::{OsRng, RngCore};
use tokio::sync::{broadcast, watch};

use crate::authz::Authz;
use crate::clock::Clock;
use crate::limits::{Gate, LimitError, Limits};
use crate::poison::{lock, read, write};
use crate::snapshot::Snapshot;
use crate::store::{CeremonyStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("no ceremony {0}")]
    UnknownCeremony(CeremonyId),
    #[error("no key group {0}")]
    UnknownKeyGroup(String),
    #[error("key group {0} is registered already")]
    KeyGroupExists(KeyGroupName),
    #[error("{0}")]
    InvalidKeyGroup(String),
    #[error("roster of key group {0} not changed: {1}")]
    InvalidRoster(KeyGroupName, String),
    #[error("the roster of key group {0} changed meanwhile; read it again and retry")]
    RosterRace(KeyGroupName),
    #[error(
        "request_id: {request} named ceremony {ceremony}, another request of yours; \
         choose a new request id for a new request"
    )]
    RequestIdTaken {
        request: RequestId,
        ceremony: CeremonyId,
    },
    #[error("request_id: {0} is being made by another call; ask again to get its ceremony")]
    RequestInFlight(RequestId),
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Limit(#[from] LimitError),
}

struct Live {
    ceremony: Arc<Snapshot>,
}

/// Every roster version of a key group: entry n is the group as roster
/// change n left it (0 as registered). Never empty.
struct Versions(Vec<Arc<KeyGroup>>);

impl Versions {
    fn latest(&self) -> &Arc<KeyGroup> {
        &self.0[self.0.len() - 1]
    }

    fn at(&self, version: u64) -> Option<Arc<KeyGroup>> {
        self.0.get(usize::try_from(version).ok()?).cloned()
    }
}

/// What a requester asks to have signed: the message (with its label and
/// context) and the batch's follow-up messages.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub label: String,
    pub message: Vec<u8>,
    pub context: Vec<u8>,
    pub follow_ups: Vec<quorate_types::batch::FollowUp>,
}

pub struct Hub<S> {
    store: S,
    authz: Authz,
    clock: Arc<dyn Clock>,
    key_groups: RwLock<HashMap<KeyGroupName, Versions>>,
    ceremonies: Mutex<HashMap<CeremonyId, Arc<tokio::sync::Mutex<Live>>>>,
    changes: broadcast::Sender<CeremonyId>,
    stopping: watch::Sender<bool>,
    /// Admission of new ceremonies (see [`crate::limits`]).
    gate: Mutex<Gate>,
}

impl<S: CeremonyStore> Hub<S> {
    /// Loads every key group and replays every ceremony from the store.
    pub fn load(store: S, clock: Arc<dyn Clock>, authz: Authz) -> Result<Self, HubError> {
        let mut key_groups = HashMap::new();
        for stored in store.key_groups()? {
            let name = stored.registered.name.clone();
            let corrupt = |why| StoreError::Corrupt {
                key: format!("key group {name}"),
                why,
            };
            let mut group = Arc::new(KeyGroup::from_file(&stored.registered).map_err(corrupt)?);
            let mut versions = vec![group.clone()];
            for roster in stored.roster_changes {
                group = Arc::new(group.with_recorded_roster(roster).map_err(corrupt)?);
                versions.push(group.clone());
            }
            key_groups.insert(name.clone(), Versions(versions));
        }
        let mut ceremonies = HashMap::new();
        let mut gate = Gate::new(Limits::default());
        for stored in store.ceremonies()? {
            let id = stored.request.id.clone();
            let request = &stored.request;
            let group = key_groups
                .get(&request.key_group)
                .and_then(|v| v.at(request.key_group_version))
                .ok_or_else(|| StoreError::Corrupt {
                    key: format!("request of ceremony {id}"),
                    why: format!(
                        "names roster version {} of key group {}, which the record lacks",
                        request.key_group_version, request.key_group
                    ),
                })?;
            // A closed ceremony is loaded as recorded, never judged again
            // (today's rules may refuse what its own allowed); an open one
            // is replayed through the engine, under the rules it runs by.
            let recorded = stored
                .events
                .iter()
                .map(|r| (&r.event, r.at, r.decisions.as_slice()));
            let ceremony =
                match Ceremony::from_record(stored.request.clone(), group.clone(), recorded) {
                    Some(closed) => closed,
                    None => Ceremony::replay(
                        stored.request,
                        group,
                        stored.events.iter().map(|r| (&r.event, r.at)),
                    )
                    .map_err(|(index, e)| StoreError::Corrupt {
                        key: format!("event {index} of ceremony {id}"),
                        why: format!("does not replay: {e}"),
                    })?,
                };
            if !ceremony.is_finished() {
                gate.opened(id.clone(), &ceremony.request().requester);
            }
            ceremonies.insert(
                id,
                Arc::new(tokio::sync::Mutex::new(Live {
                    ceremony: Snapshot::new(ceremony),
                })),
            );
        }
        Ok(Self {
            store,
            authz,
            clock,
            key_groups: RwLock::new(key_groups),
            ceremonies: Mutex::new(ceremonies),
            changes: broadcast::channel(1024).0,
            stopping: watch::channel(false).0,
            gate: Mutex::new(gate),
        })
    }

    /// Applies `limits` to new ceremonies (the defaults until then).
    pub fn with_limits(self, limits: Limits) -> Self {
        lock(&self.gate).set_limits(limits);
        self
    }

    /// Records the key group's registration by `by`, then serves it.
    pub async fn register_key_group(
        &self,
        file: KeyGroupFile,
        by: String,
    ) -> Result<Arc<KeyGroup>, HubError> {
        let group = Arc::new(KeyGroup::from_file(&file).map_err(HubError::InvalidKeyGroup)?);
        if self.key_group(&file.name).is_some() {
            return Err(HubError::KeyGroupExists(file.name));
        }
        let name = file.name.clone();
        let entry = Entry::KeyGroupRegistered {
            at: self.clock.now(),
            by,
            key_group: file,
        };
        self.store.append(vec![entry]).await.map_err(|e| match e {
            StoreError::Exists(_) => HubError::KeyGroupExists(name.clone()),
            e => e.into(),
        })?;
        write(&self.key_groups).insert(name, Versions(vec![group.clone()]));
        Ok(group)
    }

    /// Records `by`'s change of the key group's roster, then judges
    /// ceremonies requested from now on by it. Ceremonies already open keep
    /// the roster they were requested under.
    pub async fn change_roster(
        &self,
        name: &KeyGroupName,
        roster: Roster,
        by: String,
    ) -> Result<Arc<KeyGroup>, HubError> {
        let current = self
            .key_group(name)
            .ok_or_else(|| HubError::UnknownKeyGroup(name.to_string()))?;
        let group = Arc::new(
            current
                .with_roster(roster.clone())
                .map_err(|why| HubError::InvalidRoster(name.clone(), why))?,
        );
        let entry = Entry::RosterChanged {
            at: self.clock.now(),
            by,
            key_group: name.clone(),
            version: group.version,
            roster,
        };
        self.store.append(vec![entry]).await.map_err(|e| match e {
            StoreError::Exists(_) => HubError::RosterRace(name.clone()),
            e => e.into(),
        })?;
        let mut groups = write(&self.key_groups);
        let versions = groups
            .get_mut(name)
            .ok_or_else(|| HubError::UnknownKeyGroup(name.to_string()))?;
        // The record's unique key for (group, version) lets only one change
        // of each number through, so this is the next one.
        versions.0.push(group.clone());
        Ok(group)
    }

    /// Records the requesters, auditors and operators the coordinator
    /// starts with (from `by`, its configuration), unless the record lists
    /// exactly these already. Returns whether it recorded a change.
    pub async fn record_parties(&self, parties: &[Party], by: String) -> Result<bool, HubError> {
        let parties = quorate_types::parties::normalize(parties);
        if self.store.parties()?.as_ref() == Some(&parties) {
            return Ok(false);
        }
        let entry = Entry::PartiesChanged {
            at: self.clock.now(),
            by,
            parties,
        };
        self.store.append(vec![entry]).await?;
        Ok(true)
    }

    /// The key group as ceremonies requested now are judged: its latest
    /// roster.
    pub fn key_group(&self, name: &KeyGroupName) -> Option<Arc<KeyGroup>> {
        read(&self.key_groups).get(name).map(|v| v.latest().clone())
    }

    /// Key groups whose roster lists `participant`.
    pub fn key_groups_of(&self, participant: &ParticipantId) -> Vec<KeyGroupName> {
        read(&self.key_groups)
            .values()
            .map(Versions::latest)
            .filter(|g| g.roster.get(participant).is_some())
            .map(|g| g.name.clone())
            .collect()
    }

    /// Records a new ceremony of `key_group` for `requester`; with a
    /// `request_id`, the ceremony that request made if it was made before.
    /// Whether it was made now.
    pub async fn create(
        &self,
        key_group: &str,
        requester: String,
        asked: Asked,
        break_glass: Option<String>,
        request_id: Option<RequestId>,
    ) -> Result<(Arc<Snapshot>, bool), HubError> {
        let Asked {
            label,
            message,
            context,
            follow_ups,
        } = asked;
        let id = match &request_id {
            Some(r) => CeremonyId::of_request(&requester, r),
            None => new_ceremony_id(),
        };
        // A request made again (a retry after a lost reply) gets the
        // ceremony it made, whatever happened to it since; another request
        // under the same request id is refused.
        if let (Some(request), Ok(made)) = (&request_id, self.ceremony(&id).await) {
            let first = made.request();
            let same = first.requester == requester
                && first.key_group.as_str() == key_group
                && first.message == message
                && first.label == label
                && first.context == context
                && first.follow_ups == follow_ups
                && first.break_glass == break_glass;
            if !same {
                return Err(HubError::RequestIdTaken {
                    request: request.clone(),
                    ceremony: id,
                });
            }
            return Ok((made, false));
        }
        let name =
            KeyGroupName::new(key_group).map_err(|e| HubError::UnknownKeyGroup(e.to_string()))?;
        let group = self
            .key_group(&name)
            .ok_or_else(|| HubError::UnknownKeyGroup(name.to_string()))?;
        let request = Request {
            id,
            key_group: name,
            requester,
            label,
            message,
            created_at: self.clock.now(),
            break_glass,
            context,
            key_group_version: group.version,
            rules: quorate_ceremonies::RULES,
            follow_ups,
        };
        let ceremony = Snapshot::new(Ceremony::new(request.clone(), group)?);
        let id = request.id.clone();
        let at = request.created_at;
        lock(&self.gate).admit(&id, &request.requester, at)?;
        if let Err(e) = self
            .store
            .append(vec![Entry::CeremonyRequested { at, request }])
            .await
        {
            // The same request id made at once by another call, which
            // holds the ceremony open: its admission stands, and a retry
            // gets that ceremony.
            if let (Some(request), StoreError::Exists(_)) = (request_id, &e) {
                return Err(HubError::RequestInFlight(request));
            }
            lock(&self.gate).closed(&id);
            return Err(e.into());
        }
        lock(&self.ceremonies).insert(
            id.clone(),
            Arc::new(tokio::sync::Mutex::new(Live {
                ceremony: Arc::clone(&ceremony),
            })),
        );
        let _ = self.changes.send(id);
        Ok((ceremony, true))
    }

    /// Hands `event` to the ceremony's engine; if the engine accepts it,
    /// records it with the engine's decisions (durably), and only then lets
    /// it take effect.
    pub async fn apply(
        &self,
        id: &CeremonyId,
        event: Event,
    ) -> Result<(Arc<Snapshot>, Vec<Action>), HubError> {
        let live = self.live(id)?;
        let mut live = live.lock().await;
        // Never before the ceremony's latest event, whatever the clock
        // says (it may step back): the record never goes back in time.
        let at = self.clock.now().max(live.ceremony.last_event_at());
        let mut next = live.ceremony.ceremony().clone();
        let actions = next.handle(&event, at)?;
        let entry = Entry::CeremonyEvent {
            at,
            ceremony: id.clone(),
            seq: live.ceremony.version(),
            event,
            decisions: actions.clone(),
        };
        self.store.append(vec![entry]).await?;
        let snapshot = Snapshot::new(next);
        live.ceremony = Arc::clone(&snapshot);
        drop(live);
        if snapshot.is_finished() {
            lock(&self.gate).closed(id);
        }
        let _ = self.changes.send(id.clone());
        Ok((snapshot, actions))
    }

    pub async fn ceremony(&self, id: &CeremonyId) -> Result<Arc<Snapshot>, HubError> {
        let live = self.live(id)?;
        let live = live.lock().await;
        Ok(live.ceremony.clone())
    }

    /// Every ceremony, oldest first (by creation time, then id).
    pub async fn all_ceremonies(&self) -> Vec<Arc<Snapshot>> {
        let all: Vec<_> = lock(&self.ceremonies).values().cloned().collect();
        let mut out = Vec::with_capacity(all.len());
        for live in all {
            out.push(live.lock().await.ceremony.clone());
        }
        out.sort_by(|a, b| {
            let (a, b) = (a.request(), b.request());
            (a.created_at, &a.id).cmp(&(b.created_at, &b.id))
        });
        out
    }

    /// Ceremonies whose next deadline has passed, and the earliest deadline
    /// still to come.
    pub async fn due(&self) -> (Vec<CeremonyId>, Option<quorate_ceremonies::Timestamp>) {
        let now = self.clock.now();
        let all: Vec<_> = lock(&self.ceremonies).values().cloned().collect();
        let mut due = Vec::new();
        let mut next = None;
        for live in all {
            let live = live.lock().await;
            match live.ceremony.next_deadline() {
                Some(d) if d <= now => due.push(live.ceremony.id().clone()),
                Some(d) => next = Some(next.map_or(d, |n: quorate_ceremonies::Timestamp| n.min(d))),
                None => {}
            }
        }
        (due, next)
    }

    /// Records that `caller` was refused `action`, so the attempt is in the
    /// record; the refusal stands whether or not recording works.
    pub async fn record_refusal(
        &self,
        caller: &ParticipantId,
        ceremony: Option<&CeremonyId>,
        action: RefusedAction,
        why: RefusalReason,
    ) {
        let entry = Entry::Refused {
            at: self.clock.now(),
            caller: caller.to_string(),
            ceremony: ceremony.cloned(),
            action: action.clone(),
            why,
        };
        if let Err(e) = self.store.append(vec![entry]).await {
            tracing::error!(error = %e, %caller, %action, "could not record a refusal");
        }
    }

    pub fn authz(&self) -> &Authz {
        &self.authz
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn now(&self) -> quorate_ceremonies::Timestamp {
        self.clock.now()
    }

    /// Every ceremony not yet finished of the given key groups.
    pub async fn open_ceremonies(&self, key_groups: &[KeyGroupName]) -> Vec<Arc<Snapshot>> {
        let all: Vec<_> = lock(&self.ceremonies).values().cloned().collect();
        let mut out = Vec::new();
        for live in all {
            let live = live.lock().await;
            if !live.ceremony.is_finished()
                && key_groups.contains(&live.ceremony.request().key_group)
            {
                out.push(live.ceremony.clone());
            }
        }
        out.sort_by(|a, b| {
            let (a, b) = (a.request(), b.request());
            (a.created_at, &a.id).cmp(&(b.created_at, &b.id))
        });
        out
    }

    pub fn subscribe_changes(&self) -> broadcast::Receiver<CeremonyId> {
        self.changes.subscribe()
    }

    /// Resolves when the coordinator is shutting down, even if it already
    /// is: a stream opened during shutdown must end too, or the server
    /// waits for it forever.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        let mut stopping = self.stopping.subscribe();
        if *stopping.borrow() {
            stopping.mark_changed();
        }
        stopping
    }

    pub fn stop(&self) {
        // Stored even when nobody is listening yet.
        self.stopping.send_replace(true);
    }

    fn live(&self, id: &CeremonyId) -> Result<Arc<tokio::sync::Mutex<Live>>, HubError> {
        lock(&self.ceremonies)
            .get(id)
            .cloned()
            .ok_or_else(|| HubError::UnknownCeremony(id.clone()))
    }
}

fn new_ceremony_id() -> CeremonyId {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    CeremonyId::new(hex::encode(bytes)).unwrap_or_else(|_| unreachable!("hex is a valid id"))
}
