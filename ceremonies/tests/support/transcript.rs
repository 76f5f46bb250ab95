//! Deterministic ceremony transcripts, recorded as the coordinator records
//! them (`coordinator/src/hub.rs`): the key group's registration, the
//! request, then each accepted event with the decisions `Ceremony::handle`
//! returned, appended to an RFC 6962 log that also holds other entries, a
//! checkpoint signed over the final tree, and an inclusion proof for each of
//! the ceremony's entries.
//!
//! Everything random comes from one seeded ChaCha rng (the dealer, the
//! identity keys, every round-1 nonce), the clock starts at [`T0`] and steps
//! one second per logged entry, and the log key has a fixed seed, so the
//! same scenario gives the same bytes every run.
//!
//! Over 500 lines: the recorder is one coordinator stand-in, kept whole so
//! that it records exactly as `Hub::apply` does.

use std::collections::BTreeMap;
use std::sync::Arc;

use frost_ed25519::round2::SignatureShare;
use quorate_ceremonies::record::Entry;
use quorate_ceremonies::replay::{TRANSCRIPT_FORMAT, Transcript, TranscriptEntry};
use quorate_ceremonies::{Action, Ceremony, Event, KeyGroup, Phase, Request, Timestamp};
use quorate_tlog::{Checkpoint, LogKey, LogVerifier, MemoryTree, prove_inclusion};
use quorate_types::KeyGroupFile;
use quorate_types::batch::FollowUp;
use quorate_types::policy::{Deadlines, Emergency};
use quorate_types::{CeremonyId, Decision, KeyGroupName, ParticipantId, Policy};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use super::{Agent, deal_with, pid};

/// The first tick of the recorder's clock, in unix ms.
pub const T0: i64 = 1_700_000_000_000;
/// How far the clock moves per logged entry, in ms.
pub const TICK: i64 = 1_000;
/// The log's origin line and its key's name.
pub const LOG_ORIGIN: &str = "audit.example/log";
/// The log key's Ed25519 seed.
pub const LOG_SEED: [u8; 32] = [0x42; 32];

/// The roster: two engineers, two security people, one release engineer.
pub const ROSTER: [(&str, &str); 5] = [
    ("alice", "engineering"),
    ("bob", "engineering"),
    ("carol", "security"),
    ("dave", "security"),
    ("erin", "release"),
];
pub const THRESHOLD: u16 = 3;
pub const GROUP: &str = "release-signing";
pub const CEREMONY: &str = "release-1.0.0";
pub const MESSAGE: &[u8] =
    b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  quorate-1.0.0.tar.gz\n";

/// Another key group in the same log, so that the ceremony's entries are
/// not the whole log.
const OTHER_GROUP: &str = "infra-signing";
const OTHER_ROSTER: [(&str, &str); 3] = [("ops-a", "ops"), ("ops-b", "ops"), ("ops-c", "ops")];
/// Another ceremony of [`GROUP`], interleaved with the audited one.
const OTHER_CEREMONY: &str = "nightly-2023-11-14";

/// The log key every scenario's checkpoint is signed with.
pub fn log_key() -> LogKey {
    LogKey::from_seed(LOG_ORIGIN, &LOG_SEED).expect("a valid log key name")
}

/// The auditor's verifier for [`log_key`].
pub fn verifier() -> LogVerifier {
    log_key().verifier().expect("the log key's verifier")
}

/// One of each role normally; under break-glass, release-manager declares,
/// auditor reviews, and one security approval (plus t in all) is enough.
pub fn emergency_policy() -> Policy {
    let count = |pairs: &[(&str, u16)]| -> BTreeMap<String, u16> {
        pairs.iter().map(|(r, n)| (r.to_string(), *n)).collect()
    };
    Policy {
        requesters: vec!["release-manager".into()],
        required: count(&[("engineering", 1), ("security", 1), ("release", 1)]),
        emergency: Some(Emergency {
            declarers: vec!["release-manager".into()],
            reviewers: vec!["auditor".into()],
            approvals: None,
            required: count(&[("security", 1)]),
            deadlines: Deadlines::emergency(),
        }),
        ..Policy::default()
    }
}

/// A ceremony's record: every entry of the log (the audited ceremony's and
/// others'), which of them are the ceremony's, and the ceremony as the
/// coordinator left it.
#[derive(Clone)]
pub struct Recorded {
    /// Every log entry's bytes, by log index.
    pub log: Vec<Vec<u8>>,
    /// The log indexes of the audited ceremony's entries, in order.
    pub ours: Vec<u64>,
    /// The ceremony as the coordinator's engine left it.
    pub ceremony: Ceremony,
    /// The auditor's transcript, proved against a checkpoint over the
    /// whole log.
    pub transcript: Transcript,
}

impl Recorded {
    /// The audited ceremony's entries as the record holds them.
    pub fn entries(&self) -> Vec<Entry> {
        self.ours
            .iter()
            .map(|&i| Entry::decode(&self.log[i as usize]).expect("a recorded entry"))
            .collect()
    }
}

/// The transcript of the entries at `ours` in a log holding `log`, each
/// with its inclusion proof against a checkpoint over the whole log signed
/// by `key`.
pub fn transcript_of(log: &[Vec<u8>], ours: &[u64], ceremony: &str, key: &LogKey) -> Transcript {
    let mut tree = MemoryTree::new();
    for bytes in log {
        tree.append(bytes);
    }
    let checkpoint = key
        .sign_checkpoint(&Checkpoint {
            origin: LOG_ORIGIN.into(),
            size: tree.size(),
            root: tree.root(),
        })
        .expect("the checkpoint is signed");
    let entries = ours
        .iter()
        .map(|&index| TranscriptEntry {
            index,
            entry: String::from_utf8(log[index as usize].clone()).expect("entries are UTF-8"),
            proof: prove_inclusion(index, tree.size(), &tree)
                .expect("an inclusion proof")
                .hashes,
        })
        .collect();
    Transcript {
        format: TRANSCRIPT_FORMAT.into(),
        ceremony: CeremonyId::new(ceremony).expect("a valid ceremony id"),
        checkpoint,
        entries,
    }
}

/// What a scenario's request asks to sign.
pub struct Message {
    pub label: String,
    pub message: Vec<u8>,
    /// What a digest-only message stands for (a git tag object).
    pub context: Vec<u8>,
    pub follow_ups: Vec<FollowUp>,
}

/// Plays the coordinator: runs events through the engine at its own clock's
/// time and records each accepted one, as `Hub::apply` does.
pub struct Recorder {
    rng: ChaCha20Rng,
    now: i64,
    log: Vec<Vec<u8>>,
    ours: Vec<u64>,
    group: Arc<KeyGroup>,
    agents: BTreeMap<ParticipantId, Agent>,
    ceremony: Ceremony,
    /// The interleaved ceremony, once requested.
    other: Option<Ceremony>,
}

impl Recorder {
    /// Registers another key group and then [`GROUP`] (3-of-5 over
    /// [`ROSTER`] under `policy`), and records the request of
    /// [`CEREMONY`] by `requester` (break-glass with that justification if
    /// `break_glass` is set).
    pub fn new(seed: u64, policy: Policy, requester: &str, break_glass: Option<&str>) -> Self {
        Self::with_options(seed, policy, requester, break_glass, None, Vec::new())
    }

    /// As [`Self::new`], with the roster changed to give each participant
    /// the role `roles` lists (recorded as version 1) before the request.
    pub fn with_roles(
        seed: u64,
        policy: Policy,
        requester: &str,
        break_glass: Option<&str>,
        roles: &[(&str, &str)],
    ) -> Self {
        Self::with_options(
            seed,
            policy,
            requester,
            break_glass,
            Some(roles),
            Vec::new(),
        )
    }

    /// As [`Recorder::new`], for a request whose batch has `follow_ups`.
    pub fn with_batch(
        seed: u64,
        policy: Policy,
        requester: &str,
        break_glass: Option<&str>,
        follow_ups: Vec<FollowUp>,
    ) -> Self {
        Self::with_options(seed, policy, requester, break_glass, None, follow_ups)
    }

    fn with_options(
        seed: u64,
        policy: Policy,
        requester: &str,
        break_glass: Option<&str>,
        roles: Option<&[(&str, &str)]>,
        follow_ups: Vec<FollowUp>,
    ) -> Self {
        Self::with_message(
            seed,
            policy,
            requester,
            break_glass,
            roles,
            Message {
                label: "SHA256SUMS".into(),
                message: MESSAGE.to_vec(),
                context: Vec::new(),
                follow_ups,
            },
        )
    }

    /// The most general setup: as [`Recorder::with_roles`] (no roster
    /// change when `roles` is `None`), for a request of `message`.
    pub fn with_message(
        seed: u64,
        policy: Policy,
        requester: &str,
        break_glass: Option<&str>,
        roles: Option<&[(&str, &str)]>,
        message: Message,
    ) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut now = T0;
        let mut log = Vec::new();
        let mut tick = || {
            let at = Timestamp(now);
            now += TICK;
            at
        };

        // Somebody else's key group comes first in the log.
        let (other_package, other_roster, _) = deal_with(&OTHER_ROSTER, 2, &mut rng);
        let other_file = KeyGroupFile::new(
            KeyGroupName::new(OTHER_GROUP).expect("a valid key group name"),
            2,
            &other_package,
            other_roster,
            Policy::default(),
        )
        .expect("a key group file");
        log.push(
            Entry::KeyGroupRegistered {
                at: tick(),
                by: "ops-admin".into(),
                key_group: other_file,
            }
            .encode(),
        );

        let (package, roster, agents) = deal_with(&ROSTER, THRESHOLD, &mut rng);
        let file = KeyGroupFile::new(
            KeyGroupName::new(GROUP).expect("a valid key group name"),
            THRESHOLD,
            &package,
            roster,
            policy,
        )
        .expect("a key group file");
        let mut ours = vec![log.len() as u64];
        log.push(
            Entry::KeyGroupRegistered {
                at: tick(),
                by: "security-officer".into(),
                key_group: file.clone(),
            }
            .encode(),
        );
        let registered = KeyGroup::from_file(&file).expect("a valid key group");
        let group = match roles {
            None => registered,
            Some(roles) => {
                let mut roster = file.roster.clone();
                for p in &mut roster.participants {
                    if let Some((_, role)) = roles.iter().find(|(id, _)| *id == p.id.as_str()) {
                        p.role = (*role).into();
                    }
                }
                let changed = registered
                    .with_roster(roster.clone())
                    .expect("a valid change");
                ours.push(log.len() as u64);
                log.push(
                    Entry::RosterChanged {
                        at: tick(),
                        by: "security-officer".into(),
                        key_group: file.name.clone(),
                        version: 1,
                        roster,
                    }
                    .encode(),
                );
                changed
            }
        };
        let group = Arc::new(group);
        group
            .policy
            .validate(&group.roster, THRESHOLD)
            .expect("the policy is valid for the roster");

        let request = Request {
            id: CeremonyId::new(CEREMONY).expect("a valid ceremony id"),
            key_group: group.name.clone(),
            requester: requester.into(),
            label: message.label,
            message: message.message,
            created_at: tick(),
            break_glass: break_glass.map(Into::into),
            context: message.context,
            key_group_version: group.version,
            rules: 1,
            follow_ups: message.follow_ups,
            signed: None,
        };
        let ceremony = Ceremony::new(request.clone(), group.clone()).expect("a valid request");
        ours.push(log.len() as u64);
        log.push(
            Entry::CeremonyRequested {
                at: request.created_at,
                request,
            }
            .encode(),
        );
        Self {
            rng,
            now,
            log,
            ours,
            group,
            agents,
            ceremony,
            other: None,
        }
    }

    fn tick(&mut self) -> Timestamp {
        let at = Timestamp(self.now);
        self.now += TICK;
        at
    }

    /// Moves the recorder's clock on by `ms` (for deadlines to pass).
    pub fn advance(&mut self, ms: i64) {
        self.now += ms;
    }

    /// `name` rejects, giving `reason`.
    pub fn reject(&mut self, name: &str, reason: &str) -> Vec<Action> {
        let statement = self.agents[&pid(name)].decide(
            &self.ceremony,
            Decision::Reject {
                reason: reason.into(),
            },
        );
        self.apply(Event::Rejected { statement })
    }

    pub fn ceremony(&self) -> &Ceremony {
        &self.ceremony
    }

    /// Hands `event` to the audited ceremony's engine and records it with
    /// the decisions made, as `Hub::apply` does; returns the decisions.
    pub fn apply(&mut self, event: Event) -> Vec<Action> {
        let at = self.tick();
        let seq = self.ceremony.version();
        let actions = self
            .ceremony
            .handle(&event, at)
            .unwrap_or_else(|e| panic!("the engine accepts {event:?}: {e}"));
        self.ours.push(self.log.len() as u64);
        self.log.push(
            Entry::CeremonyEvent {
                at,
                ceremony: self.ceremony.id().clone(),
                seq,
                event,
                decisions: actions.clone(),
            }
            .encode(),
        );
        actions
    }

    fn agent(&mut self, name: &str) -> &mut Agent {
        self.agents.get_mut(&pid(name)).expect("a known agent")
    }

    /// `name` approves, with fresh commitments.
    pub fn approve(&mut self, name: &str) -> Vec<Action> {
        let statement = self.agents[&pid(name)].decide(&self.ceremony, Decision::Approve);
        let commitments = {
            let rng = &mut self.rng;
            self.agents
                .get_mut(&pid(name))
                .expect("a known agent")
                .commit_with(rng)
        };
        self.apply(Event::Approved {
            statement,
            commitments,
        })
    }

    /// `name` sends fresh commitments.
    pub fn commit(&mut self, name: &str) -> Vec<Action> {
        let commitments = {
            let rng = &mut self.rng;
            self.agents
                .get_mut(&pid(name))
                .expect("a known agent")
                .commit_with(rng)
        };
        self.apply(Event::Committed {
            participant: pid(name),
            commitments,
        })
    }

    /// `name` sends its share for the package it owes one for. With
    /// `valid == false` the share is off by one bit, so it does not verify.
    pub fn submit(&mut self, name: &str, valid: bool) -> Vec<Action> {
        let round = self
            .ceremony
            .package_for(&pid(name))
            .unwrap_or_else(|| panic!("{name} owes no share"))
            .clone();
        let mut share = self.agent(name).sign(round.package());
        if !valid {
            let mut bytes = share.serialize();
            bytes[0] ^= 1;
            share = SignatureShare::deserialize(&bytes).expect("still a scalar");
        }
        self.apply(Event::ShareSubmitted {
            participant: pid(name),
            attempt: round.attempt(),
            share,
        })
    }

    /// Every signer that owes a share sends a valid one, in signing-set
    /// order.
    pub fn sign_all(&mut self) -> Vec<Action> {
        let Phase::ExpectShares(round) = self.ceremony.phase() else {
            panic!("no signing package is out");
        };
        let owing: Vec<String> = round
            .signers()
            .iter()
            .filter(|s| self.ceremony.package_for(s).is_some())
            .map(|s| s.to_string())
            .collect();
        let mut last = Vec::new();
        for s in owing {
            last = self.submit(&s, true);
        }
        last
    }

    pub fn review(&mut self, by: &str, notes: &str) -> Vec<Action> {
        self.apply(Event::Reviewed {
            by: by.into(),
            notes: notes.into(),
        })
    }

    /// Records an unrelated entry: the other ceremony's request, then
    /// dave's approval in it, then its cancellation, then nothing more.
    pub fn interleave(&mut self) {
        let at = self.tick();
        let entry = match self.other.take() {
            None => {
                let request = Request {
                    id: CeremonyId::new(OTHER_CEREMONY).expect("a valid ceremony id"),
                    key_group: self.group.name.clone(),
                    requester: "release-manager".into(),
                    label: "nightly SHA256SUMS".into(),
                    message: b"nightly build\n".to_vec(),
                    created_at: at,
                    break_glass: None,
                    context: Vec::new(),
                    key_group_version: 0,
                    rules: 1,
                    follow_ups: Vec::new(),
                    signed: None,
                };
                self.other = Some(
                    Ceremony::new(request.clone(), self.group.clone()).expect("a valid request"),
                );
                Entry::CeremonyRequested { at, request }
            }
            Some(mut other) => {
                let event = match other.version() {
                    // dave approves; his nonces for it are thrown away,
                    // so that the audited ceremony's are not disturbed.
                    0 => {
                        let agent = &self.agents[&pid("dave")];
                        let statement = agent.decide(&other, Decision::Approve);
                        let (_, commitments) =
                            frost_ed25519::round1::commit(agent.key.signing_share(), &mut self.rng);
                        Event::Approved {
                            statement,
                            commitments,
                        }
                    }
                    1 => Event::Cancelled {
                        by: "release-manager".into(),
                        reason: "superseded by the release".into(),
                    },
                    _ => {
                        self.other = Some(other);
                        return;
                    }
                };
                let seq = other.version();
                let decisions = other.handle(&event, at).expect("the other ceremony");
                let entry = Entry::CeremonyEvent {
                    at,
                    ceremony: other.id().clone(),
                    seq,
                    event,
                    decisions,
                };
                self.other = Some(other);
                entry
            }
        };
        self.log.push(entry.encode());
    }

    /// Signs a checkpoint over the whole log and proves each of the
    /// ceremony's entries against it.
    pub fn finish(self) -> Recorded {
        let transcript = transcript_of(&self.log, &self.ours, CEREMONY, &log_key());
        Recorded {
            log: self.log,
            ours: self.ours,
            ceremony: self.ceremony,
            transcript,
        }
    }
}

pub use super::scenarios::*;
