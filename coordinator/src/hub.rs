//! The coordinator's live state: every live ceremony's engine, fed events
//! in order, each event stored and flushed before it takes effect, and a
//! feed of which ceremony changed for the streams that push work out.
//! Ended ceremonies are read from the record when asked for ([`resident`]).

mod following;
mod keys;
mod resident;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use quorate_ceremonies::record::{RefusalReason, RefusedAction};
use quorate_ceremonies::{Action, Ceremony, CeremonyError, Entry, Event, KeyGroup, Request};
use quorate_types::KeyGroupFile;
use quorate_types::backup_note::SignedBackupNote;
use quorate_types::{CeremonyId, KeyGroupName, ParticipantId, Party, RequestId, Roster};
use rand_core::{OsRng, RngCore};
use tokio::sync::{broadcast, watch};

use crate::authz::Authz;
use crate::clock::Clock;
use crate::limits::{Gate, LimitError, Limits};
use crate::poison::{lock, read, write};
use crate::snapshot::Snapshot;
use crate::store::{CeremonyStore, KeyGroupChange, StoreError};
use quorate_ceremonies::lifecycle::is_live;
pub use resident::CAPACITY as RECENT_CAPACITY;
use resident::{Deadlines, Gauges, Recent};

/// The most backup notes the record takes per participant and key group:
/// a few backups per refresh for years, and no way to grow the log without
/// end.
pub const MAX_BACKUP_NOTES: usize = 64;

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
    #[error("no key ceremony {0}")]
    UnknownKeyCeremony(quorate_types::KeyCeremonyId),
    #[error("key group {0} is being made by key ceremony {1} already; cancel it first")]
    KeyCeremonyOpen(KeyGroupName, quorate_types::KeyCeremonyId),
    #[error(
        "key group {0} changed since version {1}, which the key ceremony started from; \
         cancel it and propose it again"
    )]
    RefreshStale(KeyGroupName, u64),
    #[error("{caller} may post only its own key messages; this one is signed as {signer}")]
    NotYourMessage {
        caller: ParticipantId,
        signer: ParticipantId,
    },
    #[error("backup note not recorded: {0}")]
    InvalidBackupNote(String),
    #[error("retirement not recorded: {0}")]
    InvalidRetirement(String),
    #[error("hand-over not recorded: {0}")]
    InvalidHandOver(String),
    #[error(
        "key group {name} is retired and takes no new ceremony{}",
        successor.as_ref().map(|s| format!(": ask key group {s}")).unwrap_or_default()
    )]
    Retired {
        name: KeyGroupName,
        successor: Option<KeyGroupName>,
    },
    #[error(
        "this hand-over says key group {0}'s key is compromised: key group {0} signs it \
         only under break-glass (quorate sign --break-glass --justification \"...\"), \
         whose review the record keeps"
    )]
    CompromiseNotBreakGlass(KeyGroupName),
    #[error("ceremony {0} is busy: a write of its to the record is taking long; try again")]
    Busy(CeremonyId),
    #[error(transparent)]
    Key(quorate_ceremonies::key::KeyError),
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// A ceremony that was made or changed, with its key group, so that a
/// listener can pass over the ceremonies of groups it does not serve
/// without looking at them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub ceremony: CeremonyId,
    pub key_group: KeyGroupName,
}

struct Live {
    ceremony: Arc<Snapshot>,
    /// How many of the ceremony's events each participant added
    /// ([`crate::limits::MAX_EVENTS_PER_PARTICIPANT`]).
    events_by: HashMap<String, u32>,
}

/// The participant an event counts against, if any: its decisions, and
/// fresh commitments the ceremony did not ask of it (a restart, a resent
/// approval, or a signer that lost its nonces and so voids a round). What
/// the ceremony asks for (commitments for a new round, each round's
/// shares, whose rounds the counted events bound) is not counted, so that
/// honest signers never run out because another keeps voiding rounds;
/// and the clock's, the requester's cancel and the auditor's review always
/// go through, so a ceremony can always end.
fn counted_sender<'e>(event: &'e Event, ceremony: &Ceremony) -> Option<&'e str> {
    match event {
        Event::Approved { .. } | Event::Rejected { .. } => Some(event.sender()),
        Event::Committed { participant, .. } if !ceremony.wants_commitments_from(participant) => {
            Some(event.sender())
        }
        Event::Committed { .. }
        | Event::ShareSubmitted { .. }
        | Event::Cancelled { .. }
        | Event::DeadlinePassed
        | Event::Reviewed { .. } => None,
    }
}

/// A live ceremony: fed one event at a time by whoever holds `fed` (which
/// writes to the record under it, for at most
/// [`crate::limits::CEREMONY_LOCK_WAIT`] of anyone else's waiting), and
/// read at once by anyone from `current`, never waiting on a write.
struct Slot {
    fed: tokio::sync::Mutex<Live>,
    current: RwLock<Arc<Snapshot>>,
}

impl Slot {
    fn new(ceremony: Arc<Snapshot>, events_by: HashMap<String, u32>) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(Arc::clone(&ceremony)),
            fed: tokio::sync::Mutex::new(Live {
                ceremony,
                events_by,
            }),
        })
    }

    /// The ceremony as its last recorded event left it.
    fn current(&self) -> Arc<Snapshot> {
        read(&self.current).clone()
    }
}

type Shared = Arc<Slot>;

/// A ceremony as the hub serves it, with the index of its request in the
/// record (the order ceremonies are listed in).
#[derive(Clone)]
pub struct Listed {
    pub index: u64,
    pub ceremony: Arc<Snapshot>,
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
    /// The request as its requester signed it, if it did.
    pub signed: Option<quorate_types::SignedRequest>,
}

pub struct Hub<S> {
    store: S,
    authz: Authz,
    clock: Arc<dyn Clock>,
    key_groups: RwLock<HashMap<KeyGroupName, Versions>>,
    /// The live ceremonies, with the index of each one's request.
    ceremonies: Mutex<HashMap<CeremonyId, (u64, Shared)>>,
    gauges: Mutex<Gauges>,
    deadlines: Mutex<Deadlines>,
    /// The latest ceremonies to end, so that those following them do not
    /// each read them from the record.
    recent: Mutex<Recent>,
    changes: broadcast::Sender<Change>,
    stopping: watch::Sender<bool>,
    /// Admission of new ceremonies (see [`crate::limits`]).
    gate: Mutex<Gate>,
    keys: keys::KeyCeremonies,
    /// Held to read while a request is made (from reading the key group's
    /// version to recording the request), and to write while a key group
    /// gets a new version: a request is judged by the version in force when
    /// it is recorded.
    versions: tokio::sync::RwLock<()>,
    /// Retired key groups: no new ceremony of them is taken.
    retired: RwLock<HashMap<KeyGroupName, quorate_types::retirement::Retirement>>,
}

impl<S: CeremonyStore> Hub<S> {
    /// Loads every key group and the live ceremonies from the store.
    pub fn load(store: S, clock: Arc<dyn Clock>, authz: Authz) -> Result<Self, HubError> {
        if store.check_writable().is_err() {
            // A follower: it grants what the writer's recorded list does too.
            authz.follow_record(store.parties()?.as_deref());
        }
        let (key_groups, retired) = load_key_groups(&store)?;
        let mut ceremonies = HashMap::new();
        let mut gate = Gate::new(Limits::default());
        let mut gauges = Gauges::default();
        let mut deadlines = Deadlines::default();
        for ended in store.ended_counts()? {
            gauges.add(ended.state, ended.key_group, ended.count);
        }
        for stored in store.live_ceremonies()? {
            let index = stored.index;
            let (ceremony, events_by) = rebuild_live(&key_groups, stored)?;
            let id = ceremony.id().clone();
            if !ceremony.is_finished() {
                gate.opened(id.clone(), &ceremony.request().requester);
            }
            gauges.moved(None, &ceremony);
            deadlines.moved(&ceremony);
            ceremonies.insert(id, (index, Slot::new(Snapshot::new(ceremony), events_by)));
        }
        let keys = keys::KeyCeremonies::load(&store)?;
        Ok(Self {
            keys,
            versions: tokio::sync::RwLock::new(()),
            retired: RwLock::new(retired),
            store,
            authz,
            clock,
            key_groups: RwLock::new(key_groups),
            ceremonies: Mutex::new(ceremonies),
            gauges: Mutex::new(gauges),
            deadlines: Mutex::new(deadlines),
            recent: Mutex::new(Recent::default()),
            changes: broadcast::channel(4096).0,
            stopping: watch::channel(false).0,
            gate: Mutex::new(gate),
        })
    }

    /// Applies `limits` to new ceremonies (the defaults until then).
    pub fn with_limits(self, limits: Limits) -> Self {
        lock(&self.gate).set_limits(limits);
        self
    }

    /// The most bytes of items one page of a reply holds
    /// ([`Limits::reply_bytes`]).
    pub fn reply_bytes(&self) -> usize {
        lock(&self.gate).limits().reply_bytes
    }

    /// Records the key group's registration by `by`, then serves it.
    pub async fn register_key_group(
        self: &Arc<Self>,
        file: KeyGroupFile,
        by: String,
    ) -> Result<Arc<KeyGroup>, HubError> {
        let hub = Arc::clone(self);
        to_the_end(async move { hub.register_key_group_now(file, by).await }).await
    }

    async fn register_key_group_now(
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
        self: &Arc<Self>,
        name: &KeyGroupName,
        roster: Roster,
        by: String,
    ) -> Result<Arc<KeyGroup>, HubError> {
        let (hub, name) = (Arc::clone(self), name.clone());
        to_the_end(async move { hub.change_roster_now(&name, roster, by).await }).await
    }

    async fn change_roster_now(
        &self,
        name: &KeyGroupName,
        roster: Roster,
        by: String,
    ) -> Result<Arc<KeyGroup>, HubError> {
        let _changing = self.versions.write().await;
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

    /// Records `by`'s hand-over `link` from its old key group to its new
    /// one: both registered here, their keys the statement's, the new
    /// group's threshold, roster and policy the ones it names, and both
    /// signatures good.
    pub async fn record_hand_over(
        &self,
        link: quorate_types::handover::Link,
        by: String,
    ) -> Result<quorate_types::handover::HandOver, HubError> {
        let _in_force = self.versions.read().await;
        let h = link.check().map_err(HubError::InvalidHandOver)?;
        let group = |name: &str| {
            let name =
                KeyGroupName::new(name).map_err(|e| HubError::InvalidHandOver(e.to_string()))?;
            self.key_group(&name)
                .ok_or_else(|| HubError::UnknownKeyGroup(name.to_string()))
        };
        let (old, new) = (group(&h.old_key_group)?, group(&h.new_key_group)?);
        use quorate_types::handover::digest_of as digest;
        let differs = [
            ("the old key", old.group_key() != h.old_key),
            ("the new key", new.group_key() != h.new_key),
            ("the new threshold", new.threshold != h.new_threshold),
            ("the new roster", digest(&new.roster) != h.new_roster_sha256),
            ("the new policy", digest(&new.policy) != h.new_policy_sha256),
        ];
        if let Some((what, _)) = differs.iter().find(|(_, d)| *d) {
            return Err(HubError::InvalidHandOver(format!(
                "{what} of the statement is not the registered key groups' ({} and {})",
                h.old_key_group, h.new_key_group
            )));
        }
        let entry = Entry::KeyGroupHandedOver {
            at: self.clock.now(),
            by,
            key_group: old.name.clone(),
            link,
        };
        self.store.append(vec![entry]).await.map_err(|e| match e {
            StoreError::Exists(_) => {
                HubError::InvalidHandOver(format!("key group {} is handed over already", old.name))
            }
            e => e.into(),
        })?;
        Ok(h)
    }

    /// Records `by`'s retirement of key group `name`: `statement`, signed
    /// (`signature`) by the group's own key. No new ceremony of the group
    /// is taken from then on; open ones go on.
    pub async fn retire(
        &self,
        name: &KeyGroupName,
        statement: String,
        signature: [u8; 64],
        by: String,
    ) -> Result<quorate_types::retirement::Retirement, HubError> {
        let _changing = self.versions.write().await;
        let group = self
            .key_group(name)
            .ok_or_else(|| HubError::UnknownKeyGroup(name.to_string()))?;
        if read(&self.retired).contains_key(name) {
            return Err(HubError::InvalidRetirement(format!(
                "key group {name} is retired already"
            )));
        }
        let key = hex::encode(group.group_key());
        let retirement = quorate_types::retirement::check(&statement, &signature, name, &key)
            .map_err(HubError::InvalidRetirement)?;
        let entry = Entry::KeyGroupRetired {
            at: self.clock.now(),
            by,
            key_group: name.clone(),
            statement,
            signature: quorate_types::statement::Signature(signature),
        };
        self.store.append(vec![entry]).await.map_err(|e| match e {
            StoreError::Exists(_) => {
                HubError::InvalidRetirement(format!("key group {name} is retired already"))
            }
            e => e.into(),
        })?;
        write(&self.retired).insert(name.clone(), retirement.clone());
        Ok(retirement)
    }

    /// Records `participant`'s signed note that it backed up its share,
    /// if its key group takes it ([`quorate_ceremonies::backup_note`]).
    /// The same note again is taken as recorded. Returns its log index,
    /// or `None` when it was recorded before.
    pub async fn note_backup(
        &self,
        participant: &ParticipantId,
        note: SignedBackupNote,
    ) -> Result<Option<u64>, HubError> {
        if &note.note.participant != participant {
            return Err(HubError::InvalidBackupNote(format!(
                "{participant} may note only its own backups; this note is {}'s",
                note.note.participant
            )));
        }
        // Judged by the key group as it stands when recorded: no roster or
        // key change between the check and the append.
        let _in_force = self.versions.read().await;
        let group = self
            .key_group(&note.note.key_group)
            .ok_or_else(|| HubError::UnknownKeyGroup(note.note.key_group.to_string()))?;
        quorate_ceremonies::backup_note::check(&group, &note)
            .map_err(HubError::InvalidBackupNote)?;
        if self.store.backup_notes_of(&group.name, participant)? >= MAX_BACKUP_NOTES {
            return Err(HubError::InvalidBackupNote(format!(
                "the record holds {MAX_BACKUP_NOTES} backup notes of {participant} in key group \
                 {} already, the most it takes",
                group.name
            )));
        }
        let entry = Entry::ShareBackedUp {
            at: self.clock.now(),
            note,
        };
        match self.store.append(vec![entry]).await {
            Ok(indexes) => Ok(indexes.first().copied()),
            Err(StoreError::Exists(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the requesters, auditors and operators the coordinator
    /// starts with (from `by`, its configuration), unless the record lists
    /// exactly these already. Returns whether it recorded a change.
    pub async fn record_parties(&self, parties: &[Party], by: String) -> Result<bool, HubError> {
        let parties = quorate_types::parties::normalize(parties);
        let changed = self.store.parties()?.as_ref() != Some(&parties);
        if changed {
            let entry = Entry::PartiesChanged {
                at: self.clock.now(),
                by,
                parties,
            };
            self.store.append(vec![entry]).await?;
        }
        // The record holds its own list now: granted whole.
        self.authz.follow_record(None);
        Ok(changed)
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
        self: &Arc<Self>,
        key_group: &str,
        requester: String,
        asked: Asked,
        break_glass: Option<String>,
        request_id: Option<RequestId>,
    ) -> Result<(Arc<Snapshot>, bool), HubError> {
        let (hub, key_group) = (Arc::clone(self), key_group.to_string());
        to_the_end(async move {
            hub.create_now(&key_group, requester, asked, break_glass, request_id)
                .await
        })
        .await
    }

    async fn create_now(
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
            signed,
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
        let _in_force = self.versions.read().await;
        let group = self
            .key_group(&name)
            .ok_or_else(|| HubError::UnknownKeyGroup(name.to_string()))?;
        if let Some(r) = read(&self.retired).get(&name) {
            return Err(HubError::Retired {
                name: name.clone(),
                successor: r.successor.clone(),
            });
        }
        if break_glass.is_none()
            && group.policy.emergency.is_some()
            && quorate_types::handover::compromise_of(&message, &group.group_key())
        {
            return Err(HubError::CompromiseNotBreakGlass(name));
        }
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
            signed,
        };
        let ceremony = Snapshot::new(Ceremony::new(request.clone(), group)?);
        let id = request.id.clone();
        let at = request.created_at;
        // A follower refuses before admitting: its gate counts only what
        // the record holds.
        self.store.check_writable()?;
        lock(&self.gate).admit(&id, &request.requester, at)?;
        let index = match self
            .store
            .append(vec![Entry::CeremonyRequested { at, request }])
            .await
        {
            Ok(indexes) => indexes.first().copied().unwrap_or_default(),
            Err(e) => {
                // The same request id made at once by another call, which
                // holds the ceremony open: its admission stands, and a
                // retry gets that ceremony.
                if let (Some(request), StoreError::Exists(_)) = (request_id, &e) {
                    return Err(HubError::RequestInFlight(request));
                }
                lock(&self.gate).closed(&id);
                return Err(e.into());
            }
        };
        lock(&self.gauges).moved(None, &ceremony);
        lock(&self.deadlines).moved(&ceremony);
        lock(&self.ceremonies).insert(
            id.clone(),
            (index, Slot::new(Arc::clone(&ceremony), HashMap::new())),
        );
        let _ = self.changes.send(Change {
            key_group: ceremony.request().key_group.clone(),
            ceremony: id,
        });
        Ok((ceremony, true))
    }

    /// Hands `event` to the ceremony's engine; if the engine accepts it,
    /// records it with the engine's decisions (durably), and only then lets
    /// it take effect.
    pub async fn apply(
        self: &Arc<Self>,
        id: &CeremonyId,
        event: Event,
    ) -> Result<(Arc<Snapshot>, Vec<Action>), HubError> {
        let (hub, id) = (Arc::clone(self), id.clone());
        to_the_end(async move { hub.apply_now(&id, event).await }).await
    }

    async fn apply_now(
        &self,
        id: &CeremonyId,
        event: Event,
    ) -> Result<(Arc<Snapshot>, Vec<Action>), HubError> {
        let live = self.live(id)?;
        let live = match live {
            Some(live) => live,
            // An ended ceremony, read from the record: its engine refuses
            // most events, but a break-glass one takes its review. Two at
            // once cannot both be recorded: the record takes each event
            // number once.
            None => Slot::new(self.ended(id)?, HashMap::new()),
        };
        let slot = live;
        let mut live = tokio::time::timeout(crate::limits::CEREMONY_LOCK_WAIT, slot.fed.lock())
            .await
            .map_err(|_| HubError::Busy(id.clone()))?;
        let sender = counted_sender(&event, live.ceremony.ceremony()).map(str::to_string);
        if let Some(sender) = &sender
            && live.events_by.get(sender).copied().unwrap_or(0)
                >= crate::limits::MAX_EVENTS_PER_PARTICIPANT
        {
            return Err(LimitError::TooManyEvents {
                participant: sender.clone(),
                ceremony: id.clone(),
            }
            .into());
        }
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
        if let Some(sender) = sender {
            *live.events_by.entry(sender).or_default() += 1;
        }
        let snapshot = Snapshot::new(next);
        let before = std::mem::replace(&mut live.ceremony, Arc::clone(&snapshot));
        *write(&slot.current) = Arc::clone(&snapshot);
        lock(&self.gauges).moved(Some(&before), &snapshot);
        lock(&self.deadlines).moved(&snapshot);
        if !is_live(snapshot.state()) {
            // Ended: it leaves the live set; the record serves it from now
            // on, and the recent ones are kept at hand.
            lock(&self.ceremonies).remove(id);
            lock(&self.recent).keep(id.clone(), Arc::clone(&snapshot));
        }
        drop(live);
        if snapshot.is_finished() {
            lock(&self.gate).closed(id);
        }
        let _ = self.changes.send(Change {
            ceremony: id.clone(),
            key_group: snapshot.request().key_group.clone(),
        });
        Ok((snapshot, actions))
    }

    /// The ceremony as it stands: live from memory, ended from the record.
    pub async fn ceremony(&self, id: &CeremonyId) -> Result<Arc<Snapshot>, HubError> {
        match self.live(id)? {
            Some(live) => Ok(live.current()),
            None => self.ended(id),
        }
    }

    /// The live ceremonies, in order of request.
    pub async fn live_ceremonies(&self) -> Vec<Listed> {
        let mut all: Vec<_> = lock(&self.ceremonies)
            .values()
            .map(|(index, live)| (*index, live.clone()))
            .collect();
        all.sort_by_key(|(index, _)| *index);
        let mut out = Vec::with_capacity(all.len());
        for (index, live) in all {
            out.push(Listed {
                index,
                ceremony: live.current(),
            });
        }
        out
    }

    /// Up to `limit` ceremonies, live or ended, in order of request after
    /// the one whose request is at `after`; `wanted` filters. Reads the
    /// record: a page of history costs what it skips and lists.
    pub async fn history(
        &self,
        after: Option<u64>,
        limit: usize,
        wanted: impl Fn(&Ceremony) -> bool,
    ) -> Result<Vec<Listed>, HubError> {
        const CHUNK: usize = 256;
        let mut out = Vec::new();
        let mut cursor = after;
        while out.len() < limit {
            let chunk = self.store.requests_after(cursor, CHUNK)?;
            let Some((last, _)) = chunk.last() else { break };
            cursor = Some(*last);
            for (index, id) in chunk {
                let ceremony = self.ceremony(&id).await?;
                if wanted(&ceremony) {
                    out.push(Listed { index, ceremony });
                    if out.len() == limit {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Ceremonies whose next deadline has passed, and the earliest deadline
    /// still to come.
    pub async fn due(&self) -> (Vec<CeremonyId>, Option<quorate_ceremonies::Timestamp>) {
        let now = self.clock.now();
        let (candidates, next) = lock(&self.deadlines).take_due(now);
        let mut due = Vec::new();
        for id in candidates {
            let Ok(Some(live)) = self.live(&id) else {
                continue;
            };
            match live.current().next_deadline() {
                Some(d) if d <= now => due.push(id),
                // Moved meanwhile: keep it.
                next => lock(&self.deadlines).set(&id, next),
            }
        }
        (due, next)
    }

    /// Looks at the ceremony's deadline again in a second: a deadline
    /// that could not be applied (the record refused the write) is not
    /// forgotten.
    pub async fn retry_deadline(&self, id: &CeremonyId) {
        let Ok(Some(live)) = self.live(id) else {
            return;
        };
        let next = live.current().next_deadline();
        if let Some(next) = next {
            let soon = quorate_ceremonies::Timestamp(self.clock.now().unix_ms() + 1000);
            lock(&self.deadlines).set(id, Some(next.max(soon)));
        }
    }

    /// Ceremonies by (state, key group, count), every one in the record.
    pub fn counts(&self) -> Vec<(String, String, u64)> {
        lock(&self.gauges).counts()
    }

    /// How many ended ceremonies are kept at hand (at most
    /// [`RECENT_CAPACITY`]): for tests of what memory holds.
    pub fn recent_held(&self) -> usize {
        lock(&self.recent).len()
    }

    /// How many ceremonies have a deadline waiting: for tests of what
    /// memory holds.
    pub fn deadlines_held(&self) -> usize {
        lock(&self.deadlines).len()
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
        match self.store.append(vec![entry]).await {
            Ok(_) => {}
            // The writer records what it refuses; a follower refuses
            // every write anyway.
            Err(StoreError::Follower { .. }) => {
                tracing::info!(%caller, %action, "refused on a follower; not recorded")
            }
            Err(e) => tracing::error!(error = %e, %caller, %action, "could not record a refusal"),
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
        let all: Vec<_> = lock(&self.ceremonies)
            .values()
            .map(|(_, live)| live.clone())
            .collect();
        let mut out = Vec::new();
        for live in all {
            let current = live.current();
            if !current.is_finished() && key_groups.contains(&current.request().key_group) {
                out.push(current);
            }
        }
        out.sort_by(|a, b| {
            let (a, b) = (a.request(), b.request());
            (a.created_at, &a.id).cmp(&(b.created_at, &b.id))
        });
        out
    }

    /// Admits one writing call of `caller` now, if its rate allows
    /// ([`Limits::writes_per_minute`]).
    pub fn admit_write(&self, caller: &str) -> Result<(), LimitError> {
        lock(&self.gate).admit_write(caller, self.clock.now())
    }

    pub fn subscribe_changes(&self) -> broadcast::Receiver<Change> {
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

    /// The live ceremony `id`; `None` if it is not live (ended, or
    /// unknown).
    fn live(&self, id: &CeremonyId) -> Result<Option<Shared>, HubError> {
        Ok(lock(&self.ceremonies).get(id).map(|(_, live)| live.clone()))
    }

    /// An ended ceremony: one of the latest to end, or read from the
    /// record.
    fn ended(&self, id: &CeremonyId) -> Result<Arc<Snapshot>, HubError> {
        if let Some(recent) = lock(&self.recent).get(id) {
            return Ok(recent);
        }
        let stored = self
            .store
            .ceremony(id)?
            .ok_or_else(|| HubError::UnknownCeremony(id.clone()))?;
        let key_groups = read(&self.key_groups);
        Ok(Snapshot::new(rebuild(&key_groups, stored)?))
    }
}

/// Every key group's versions and the retired ones, from the record.
type KeyGroups = (
    HashMap<KeyGroupName, Versions>,
    HashMap<KeyGroupName, quorate_types::retirement::Retirement>,
);

fn load_key_groups(store: &impl CeremonyStore) -> Result<KeyGroups, StoreError> {
    let mut key_groups = HashMap::new();
    let mut retired = HashMap::new();
    for stored in store.key_groups()? {
        let name = stored.registered.name.clone();
        if let Some(r) = stored.retired {
            retired.insert(name.clone(), r);
        }
        let corrupt = |why| StoreError::Corrupt {
            key: format!("key group {name}"),
            why,
        };
        let mut group = Arc::new(KeyGroup::from_file(&stored.registered).map_err(corrupt)?);
        let mut versions = vec![group.clone()];
        for change in stored.changes {
            let next = match change {
                KeyGroupChange::Roster(roster) => group.with_recorded_roster(roster),
                KeyGroupChange::Refreshed(file) => group.with_refresh(&file),
            };
            group = Arc::new(next.map_err(corrupt)?);
            versions.push(group.clone());
        }
        key_groups.insert(name.clone(), Versions(versions));
    }
    Ok((key_groups, retired))
}

/// A live ceremony rebuilt from the record with each participant's counted
/// events ([`counted_sender`]), judged as each came: replayed through the
/// engine event by event, once. Should an event not replay (a ceremony
/// that a closing decision of its own rules left awaiting review), the
/// ceremony is rebuilt as [`rebuild`] does.
fn rebuild_live(
    key_groups: &HashMap<KeyGroupName, Versions>,
    stored: crate::store::StoredCeremony,
) -> Result<(Ceremony, HashMap<String, u32>), StoreError> {
    let mut ceremony = rebuild(
        key_groups,
        crate::store::StoredCeremony {
            index: stored.index,
            request: stored.request.clone(),
            events: Vec::new(),
        },
    )?;
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut replayed = true;
    for e in &stored.events {
        if let Some(sender) = counted_sender(&e.event, &ceremony) {
            *counts.entry(sender.to_string()).or_default() += 1;
        }
        replayed &= ceremony.handle(&e.event, e.at).is_ok();
    }
    if !replayed {
        ceremony = rebuild(key_groups, stored)?;
    }
    Ok((ceremony, counts))
}

/// A recorded ceremony rebuilt: a closed one as recorded, never judged
/// again (today's rules may refuse what its own allowed); an open one
/// replayed through the engine, under the rules it runs by.
fn rebuild(
    key_groups: &HashMap<KeyGroupName, Versions>,
    stored: crate::store::StoredCeremony,
) -> Result<Ceremony, StoreError> {
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
    let recorded = stored
        .events
        .iter()
        .map(|r| (&r.event, r.at, r.decisions.as_slice()));
    match Ceremony::from_record(stored.request.clone(), group.clone(), recorded) {
        Some(closed) => Ok(closed),
        None => Ceremony::replay(
            stored.request,
            group,
            stored.events.iter().map(|r| (&r.event, r.at)),
        )
        .map_err(|(index, e)| StoreError::Corrupt {
            key: format!("event {index} of ceremony {id}"),
            why: format!("does not replay: {e}"),
        }),
    }
}

/// Runs a change to its end even if its caller goes away (a cancelled
/// call): a change is recorded, then takes effect in memory, and stopping
/// between the two would leave the record ahead of the hub.
async fn to_the_end<T: Send + 'static>(
    change: impl std::future::Future<Output = Result<T, HubError>> + Send + 'static,
) -> Result<T, HubError> {
    tokio::spawn(change).await.map_err(|e| {
        HubError::Store(StoreError::Failed(format!(
            "a change stopped half way ({e}); restart the coordinator"
        )))
    })?
}

fn new_ceremony_id() -> CeremonyId {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    CeremonyId::new(hex::encode(bytes)).unwrap_or_else(|_| unreachable!("hex is a valid id"))
}
