//! Abuse limits: how many ceremonies may be open, in total and per
//! requester; how fast one identity may create them; how large a message
//! the services take and give; and how far a server stream's reader may
//! fall behind before the stream is ended.
//!
//! Every limit, when hit, is `RESOURCE_EXHAUSTED` (oversize messages:
//! tonic's `OUT_OF_RANGE`) with a message that names the limit and what to
//! do, and a refused request changes nothing.

use std::collections::HashMap;
use std::time::Duration;

use quorate_ceremonies::Timestamp;
use quorate_types::CeremonyId;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

/// Largest request any service decodes: a 64 KiB message plus its framing
/// and the other fields, with room to spare.
pub const MAX_DECODE: usize = 256 * 1024;

/// Largest reply any service encodes: tonic clients refuse more by default.
pub const MAX_ENCODE: usize = 4 * 1024 * 1024;

/// The most bytes of items a listing reply holds (`Ceremonies.List`,
/// `Audit.Entries`), at least one item: well under what clients accept
/// ([`MAX_ENCODE`]). A reply holds fewer than asked when theirs would pass
/// it, and says where to go on.
pub const REPLY_BYTES: usize = 3 * 1024 * 1024;

/// Work items that may wait unread on an agent's `Signer.Subscribe` stream.
pub const WORK_BUFFER: usize = 64;

/// Updates that may wait unread on a `Ceremonies.Watch` stream.
pub const WATCH_BUFFER: usize = 16;

/// How long a server stream's buffer may stay full before the stream is
/// ended: the reader is not reading.
pub const STREAM_PATIENCE: Duration = Duration::from_secs(30);

/// How often the coordinator pings each client's connection (HTTP/2, and
/// TCP keepalives), and how long it waits for the answer before it
/// closes the connection: a client that vanished without closing (a
/// half-open connection) then frees its streams.
pub const KEEPALIVE: Duration = Duration::from_secs(10);
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a call waits for a ceremony that another call is writing
/// an event of to the record (a slow disk) before it gets `UNAVAILABLE`.
/// Reading a ceremony never waits.
pub const CEREMONY_LOCK_WAIT: Duration = Duration::from_secs(5);

/// The most calls and streams at once on one client connection, unless
/// `limits.streams_per_connection` says otherwise.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 128;

/// The longest any call's handler runs before the caller gets
/// `CANCELLED` ("Timeout expired"; a stream's items may come later),
/// unless `limits.call_seconds` says otherwise. A caller's own shorter
/// `grpc-timeout` wins.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Events one participant may add to one ceremony: its approval or
/// rejection, fresh commitments (one per restart, resent approval or
/// abandoned attempt) and its shares, for the message and each follow-up.
/// A ceremony needs a few; a participant past this many is stuck or
/// hostile, and the ceremony goes on without more of its events, which
/// would only grow the record.
pub const MAX_EVENTS_PER_PARTICIPANT: u32 = 128;

/// `[limits]` in `coordinator.toml`. Every field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(try_from = "RawLimits")]
pub struct Limits {
    /// Ceremonies not yet finished, across every requester and key group.
    pub max_open_ceremonies: usize,
    /// Ceremonies one requester may have not yet finished.
    pub max_open_per_requester: usize,
    /// Ceremonies one identity may create per minute, sustained.
    pub creations_per_minute: u32,
    /// Ceremonies one identity may create back to back before
    /// `creations_per_minute` applies.
    pub creation_burst: u32,
    /// Writing calls (create, cancel, review, approve, reject, commit,
    /// share, backup notes, key groups, key ceremonies) one identity may
    /// make per minute, sustained; refused ones count too.
    pub writes_per_minute: u32,
    /// Writing calls one identity may make back to back before
    /// `writes_per_minute` applies.
    pub write_burst: u32,
    /// The most bytes of items in one page of a listing reply (and of a
    /// statement's evidence): at most [`REPLY_BYTES`], lower for clients
    /// that accept less.
    pub reply_bytes: usize,
    /// The most calls and streams at once on one client connection
    /// (HTTP/2's `SETTINGS_MAX_CONCURRENT_STREAMS`): a client past it waits
    /// for one of its calls to end.
    pub streams_per_connection: u32,
    /// The longest any call's handler runs before the caller gets
    /// `CANCELLED`, in seconds (1 to [`MAX_CALL_SECONDS`]).
    pub call_seconds: u64,
}

/// The longest `limits.call_seconds` may be.
pub const MAX_CALL_SECONDS: u64 = 3600;

impl Limits {
    /// [`Limits::call_seconds`] as a duration.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_secs(self.call_seconds)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_open_ceremonies: 1000,
            max_open_per_requester: 50,
            creations_per_minute: 30,
            creation_burst: 10,
            writes_per_minute: 1200,
            write_burst: 300,
            reply_bytes: REPLY_BYTES,
            streams_per_connection: MAX_STREAMS_PER_CONNECTION,
            call_seconds: CALL_TIMEOUT.as_secs(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_open_ceremonies: Option<usize>,
    max_open_per_requester: Option<usize>,
    creations_per_minute: Option<u32>,
    creation_burst: Option<u32>,
    writes_per_minute: Option<u32>,
    write_burst: Option<u32>,
    reply_bytes: Option<usize>,
    streams_per_connection: Option<u32>,
    call_seconds: Option<u64>,
}

impl TryFrom<RawLimits> for Limits {
    type Error = String;

    fn try_from(raw: RawLimits) -> Result<Self, String> {
        let d = Limits::default();
        let limits = Limits {
            max_open_ceremonies: raw.max_open_ceremonies.unwrap_or(d.max_open_ceremonies),
            max_open_per_requester: raw
                .max_open_per_requester
                .unwrap_or(d.max_open_per_requester),
            creations_per_minute: raw.creations_per_minute.unwrap_or(d.creations_per_minute),
            creation_burst: raw.creation_burst.unwrap_or(d.creation_burst),
            writes_per_minute: raw.writes_per_minute.unwrap_or(d.writes_per_minute),
            write_burst: raw.write_burst.unwrap_or(d.write_burst),
            reply_bytes: raw.reply_bytes.unwrap_or(d.reply_bytes),
            streams_per_connection: raw
                .streams_per_connection
                .unwrap_or(d.streams_per_connection),
            call_seconds: raw.call_seconds.unwrap_or(d.call_seconds),
        };
        if limits.streams_per_connection < 2 {
            return Err(format!(
                "limits.streams_per_connection: {} is below 2 (an agent holds its work \
                 stream open while it calls)",
                limits.streams_per_connection
            ));
        }
        if !(1..=MAX_CALL_SECONDS).contains(&limits.call_seconds) {
            return Err(format!(
                "limits.call_seconds: {} is not between 1 and {MAX_CALL_SECONDS}",
                limits.call_seconds
            ));
        }
        if !(1024..=REPLY_BYTES).contains(&limits.reply_bytes) {
            return Err(format!(
                "limits.reply_bytes: {} is not between 1024 and {REPLY_BYTES} \
                 (clients refuse replies over 4 MiB)",
                limits.reply_bytes
            ));
        }
        for (field, value) in [
            ("max_open_ceremonies", limits.max_open_ceremonies as u64),
            (
                "max_open_per_requester",
                limits.max_open_per_requester as u64,
            ),
            ("creations_per_minute", limits.creations_per_minute.into()),
            ("creation_burst", limits.creation_burst.into()),
            ("writes_per_minute", limits.writes_per_minute.into()),
            ("write_burst", limits.write_burst.into()),
        ] {
            if value == 0 {
                return Err(format!(
                    "limits.{field}: must be at least 1 (0 would refuse every ceremony)"
                ));
            }
        }
        Ok(limits)
    }
}

/// A create refused by a limit; nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "the coordinator has {open} open ceremonies, the most it allows \
         (limits.max_open_ceremonies); wait for some to finish, or cancel some"
    )]
    TooManyOpen { open: usize },
    #[error(
        "requester {requester} has {open} open ceremonies, the most allowed \
         (limits.max_open_per_requester); finish or cancel some first"
    )]
    TooManyOpenFor { requester: String, open: usize },
    #[error(
        "requester {requester} is creating ceremonies faster than the {per_minute} a minute \
         (after a burst of {burst}) allowed per identity (limits.creations_per_minute, \
         limits.creation_burst); try again in {retry_after_s} s"
    )]
    TooFast {
        requester: String,
        per_minute: u32,
        burst: u32,
        retry_after_s: i64,
    },
    #[error(
        "{caller} is making writing calls faster than the {per_minute} a minute (after a \
         burst of {burst}) allowed per identity (limits.writes_per_minute, \
         limits.write_burst); try again in {retry_after_s} s"
    )]
    TooManyWrites {
        caller: String,
        per_minute: u32,
        burst: u32,
        retry_after_s: i64,
    },
    #[error(
        "{participant} has added {MAX_EVENTS_PER_PARTICIPANT} events to ceremony {ceremony}, \
         the most one participant may; the ceremony goes on without more of its events \
         (it can still be cancelled, expire or be reviewed)"
    )]
    TooManyEvents {
        participant: String,
        ceremony: CeremonyId,
    },
}

/// The metadata key of a refusal that passes: the seconds until the call
/// may go through (a rate), as the `Retry-After` of HTTP. A limit refusal
/// without it stands until something changes (a cap).
pub const RETRY_AFTER: &str = "retry-after";

impl From<LimitError> for Status {
    fn from(e: LimitError) -> Self {
        let mut status = Status::resource_exhausted(e.to_string());
        let retry = match &e {
            LimitError::TooFast { retry_after_s, .. }
            | LimitError::TooManyWrites { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        };
        if let Some(seconds) = retry
            && let Ok(value) = seconds.to_string().parse()
        {
            status.metadata_mut().insert(RETRY_AFTER, value);
        }
        status
    }
}

/// Admission of new ceremonies: counts the open ones per requester, and
/// keeps one token bucket per identity (as a GCRA: one timestamp each).
#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    open: HashMap<CeremonyId, String>,
    open_per_requester: HashMap<String, usize>,
    creations: Bucket,
    writes: Bucket,
}

/// A token bucket per identity, as a GCRA: per identity, when its bucket
/// is full again ("theoretical arrival time"); an identity missing here
/// has a full bucket.
#[derive(Debug, Default)]
struct Bucket {
    full_at: HashMap<String, i64>,
    prune_at: usize,
}

impl Bucket {
    /// Takes a token of `who`'s at `now_ms` at `per_minute` with `burst`,
    /// or says in how many seconds one is there.
    fn take(&mut self, who: &str, now_ms: i64, per_minute: u32, burst: u32) -> Result<(), i64> {
        // Ms between tokens; rounded up, so the rate is never above it.
        let per_minute = i64::from(per_minute.max(1));
        let interval = (60_000 + per_minute - 1) / per_minute;
        let burst = i64::from(burst.max(1));
        let full_at = self.full_at.get(who).copied().unwrap_or(now_ms).max(now_ms) + interval;
        let over = full_at - now_ms - burst * interval;
        if over > 0 {
            return Err((over + 999) / 1000);
        }
        self.prune(now_ms);
        self.full_at.insert(who.to_string(), full_at);
        Ok(())
    }

    /// Forgets identities whose buckets are full (as if never seen), once
    /// the table has grown.
    fn prune(&mut self, now_ms: i64) {
        if self.full_at.len() < self.prune_at.max(PRUNE_FLOOR) {
            return;
        }
        self.full_at.retain(|_, full_at| *full_at > now_ms);
        self.prune_at = (self.full_at.len() * 2).max(PRUNE_FLOOR);
    }
}

/// Below this many identities the rate table is never pruned.
const PRUNE_FLOOR: usize = 1024;

impl Gate {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            open: HashMap::new(),
            open_per_requester: HashMap::new(),
            creations: Bucket::default(),
            writes: Bucket::default(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Open ceremonies, in total.
    pub fn open(&self) -> usize {
        self.open.len()
    }

    /// Open ceremonies of `requester`.
    pub fn open_of(&self, requester: &str) -> usize {
        self.open_per_requester.get(requester).copied().unwrap_or(0)
    }

    /// Counts an open ceremony without checking any limit (a ceremony
    /// replayed from the record).
    pub fn opened(&mut self, id: CeremonyId, requester: &str) {
        if self.open.insert(id, requester.to_string()).is_none() {
            *self
                .open_per_requester
                .entry(requester.to_string())
                .or_insert(0) += 1;
        }
    }

    /// Admits ceremony `id` by `requester` at `now` if every limit allows,
    /// and counts it open and against the requester's rate. A refusal
    /// changes nothing.
    pub fn admit(
        &mut self,
        id: &CeremonyId,
        requester: &str,
        now: Timestamp,
    ) -> Result<(), LimitError> {
        let mine = self.open_of(requester);
        if mine >= self.limits.max_open_per_requester {
            return Err(LimitError::TooManyOpenFor {
                requester: requester.to_string(),
                open: mine,
            });
        }
        if self.open.len() >= self.limits.max_open_ceremonies {
            return Err(LimitError::TooManyOpen {
                open: self.open.len(),
            });
        }
        let (per_minute, burst) = (self.limits.creations_per_minute, self.limits.creation_burst);
        self.creations
            .take(requester, now.unix_ms(), per_minute, burst)
            .map_err(|retry_after_s| LimitError::TooFast {
                requester: requester.to_string(),
                per_minute,
                burst,
                retry_after_s,
            })?;
        self.opened(id.clone(), requester);
        Ok(())
    }

    /// Admits one writing call of `caller` at `now`, if its rate allows.
    pub fn admit_write(&mut self, caller: &str, now: Timestamp) -> Result<(), LimitError> {
        let (per_minute, burst) = (self.limits.writes_per_minute, self.limits.write_burst);
        self.writes
            .take(caller, now.unix_ms(), per_minute, burst)
            .map_err(|retry_after_s| LimitError::TooManyWrites {
                caller: caller.to_string(),
                per_minute,
                burst,
                retry_after_s,
            })
    }

    /// Uncounts a ceremony that finished, or whose creation failed.
    pub fn closed(&mut self, id: &CeremonyId) {
        let Some(requester) = self.open.remove(id) else {
            return;
        };
        if let Some(n) = self.open_per_requester.get_mut(&requester) {
            *n -= 1;
            if *n == 0 {
                self.open_per_requester.remove(&requester);
            }
        }
    }
}

/// The sending half of a bounded server stream: `capacity` items may wait
/// unread; when the buffer stays full for `patience`, the stream is ended
/// with `RESOURCE_EXHAUSTED` (one slot is held back for that status), and
/// the reader resubscribes.
pub struct StreamSender<T> {
    tx: mpsc::Sender<Result<T, Status>>,
    last: Option<mpsc::OwnedPermit<Result<T, Status>>>,
    capacity: usize,
    patience: Duration,
    what: &'static str,
}

/// Why a [`StreamSender`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The reader went away.
    Gone,
    /// The reader fell behind; it was told so.
    TooSlow,
}

/// A bounded server stream of `what` (e.g. "work items").
pub fn bounded_stream<T: Send + 'static>(
    capacity: usize,
    patience: Duration,
    what: &'static str,
) -> (StreamSender<T>, ReceiverStream<Result<T, Status>>) {
    let capacity = capacity.max(1);
    let (tx, rx) = mpsc::channel(capacity + 1);
    let last = tx.clone().try_reserve_owned().ok();
    (
        StreamSender {
            tx,
            last,
            capacity,
            patience,
            what,
        },
        ReceiverStream::new(rx),
    )
}

impl<T> StreamSender<T> {
    /// Queues `item`, waiting up to the patience for room.
    pub async fn send(&mut self, item: T) -> Result<(), Ended> {
        if self.last.is_none() {
            return Err(Ended::TooSlow);
        }
        match tokio::time::timeout(self.patience, self.tx.send(Ok(item))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Ended::Gone),
            Err(_) => {
                let status = self.too_slow();
                if let Some(last) = self.last.take() {
                    last.send(Err(status));
                }
                Err(Ended::TooSlow)
            }
        }
    }

    fn too_slow(&self) -> Status {
        Status::resource_exhausted(format!(
            "this stream fell {} {} behind and did not catch up within {} s \
             (its buffer is bounded); resubscribe",
            self.capacity,
            self.what,
            self.patience.as_secs()
        ))
    }
}

#[cfg(test)]
mod tests;
