//! The engine's `Ceremony::handle` over event sequences the input picks:
//! approvals, rejections, fresh commitments, signature shares (real ones
//! over the ceremony's package, or stale), deadlines, cancellations,
//! reviews and forged statements, at clock steps the input picks too.
//!
//! It must never panic; an event it refuses changes nothing; a signature
//! it makes verifies under the group key; it agrees with a small model of
//! decisions ([`Model`]) after every event; and replaying the events it
//! took, at their times, gives the very same ceremony (an auditor's replay
//! equals the live run).
//!
//! The key group (5 approvers, 3 of them sign) is dealt once from a fixed
//! seed; the input's first byte picks its policy and break-glass, its
//! second the seed of the approvers' nonces, and each following pair of
//! bytes one event (the first; its high bit for hours) and its argument
//! (the member, and how much later it comes).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use frost_ed25519 as frost;
use quorate_ceremonies::{Ceremony, Event, KeyGroup, Request, Timestamp};
use quorate_secrets::IdentityKey;
use quorate_types::{
    CeremonyId, Decision, KeyGroupFile, KeyGroupName, ParticipantId, Policy, Roster, RosterEntry,
    SignedStatement, Statement,
};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const MEMBERS: [(&str, &str); 5] = [
    ("alice", "engineering"),
    ("bob", "engineering"),
    ("carol", "security"),
    ("dave", "security"),
    ("erin", "release"),
];
const THRESHOLD: u16 = 3;
const REQUESTER: &str = "release-manager";
const STARTED_AT: i64 = 1_800_000_000_000;

struct Member {
    id: ParticipantId,
    key: frost::keys::KeyPackage,
    identity: IdentityKey,
}

struct World {
    members: Vec<Member>,
    /// The same key and roster under each policy the input may pick.
    groups: Vec<Arc<KeyGroup>>,
}

fn pid(name: &str) -> ParticipantId {
    ParticipantId::new(name).unwrap_or_else(|e| unreachable!("a valid id: {e}"))
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let ids: Vec<frost::Identifier> = MEMBERS.iter().map(|(n, _)| pid(n).identifier()).collect();
        let (shares, public) = frost::keys::generate_with_dealer(
            5,
            THRESHOLD,
            frost::keys::IdentifierList::Custom(&ids),
            &mut rng,
        )
        .unwrap_or_else(|e| unreachable!("dealing a 3-of-5 group: {e}"));
        let members: Vec<Member> = MEMBERS
            .iter()
            .map(|(name, _)| {
                let id = pid(name);
                let share = shares[&id.identifier()].clone();
                let key = frost::keys::KeyPackage::try_from(share)
                    .unwrap_or_else(|e| unreachable!("a dealt share: {e}"));
                let identity = IdentityKey::generate(id.clone(), &mut rng);
                Member { id, key, identity }
            })
            .collect();
        let roster = Roster {
            participants: MEMBERS
                .iter()
                .zip(&members)
                .map(|((name, role), m)| RosterEntry {
                    id: m.id.clone(),
                    name: name.to_string(),
                    role: role.to_string(),
                    coordinator: None,
                    identity: Some(m.identity.public()),
                })
                .collect(),
        };
        let policies = [
            "",
            "veto_roles = [\"security\"]\n[required]\nsecurity = 1\nrelease = 1\n",
            "[required]\nrelease = 1\n[emergency]\ndeclarers = [\"release-manager\"]\nreviewers = [\"auditor\"]\n",
        ];
        let groups = policies
            .iter()
            .map(|toml| {
                let policy =
                    Policy::from_toml(toml).unwrap_or_else(|e| unreachable!("a valid policy: {e}"));
                let file = KeyGroupFile::new(
                    KeyGroupName::new("release").unwrap_or_else(|e| unreachable!("{e}")),
                    THRESHOLD,
                    &public,
                    roster.clone(),
                    policy,
                )
                .unwrap_or_else(|e| unreachable!("a valid key group: {e}"));
                Arc::new(KeyGroup::from_file(&file).unwrap_or_else(|e| unreachable!("{e}")))
            })
            .collect();
        World { members, groups }
    })
}

fn statement(member: &Member, ceremony: &Ceremony, decision: Decision) -> Statement {
    let request = ceremony.request();
    Statement {
        ceremony: request.id.clone(),
        key_group: request.key_group.clone(),
        participant: member.id.clone(),
        message_sha256: ceremony.message_sha256(),
        break_glass: request.break_glass.is_some(),
        decision,
        at_unix_ms: STARTED_AT,
        follow_ups: request.follow_ups.clone(),
    }
}

/// What the input asks of an event, for the model.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    Approve,
    Reject,
    /// An approval signed with another member's identity key.
    Forged,
    /// A cancel by the requester, or by a stranger.
    Cancel {
        stranger: bool,
    },
    /// A review by the auditor, or by the requester (no reviewer).
    Review {
        auditor: bool,
    },
    Other,
}

/// A small model of what the engine must do with decisions, whatever the
/// order of events and the clock: each approver decides once; a forged
/// approval, a stranger's cancel and a review by anyone but a reviewer
/// are never taken; a finished ceremony takes nothing but its review; a
/// taken cancel ends it cancelled, a taken rejection by a veto role ends
/// it rejected; and the engine's approvals and rejections are exactly the
/// decisions it took.
#[derive(Default)]
struct Model {
    approved: std::collections::BTreeSet<ParticipantId>,
    rejected: std::collections::BTreeSet<ParticipantId>,
    finished: bool,
}

impl Model {
    fn check(&mut self, ask: Ask, who: &ParticipantId, veto: bool, taken: bool, c: &Ceremony) {
        use quorate_ceremonies::State;
        match ask {
            Ask::Forged => assert!(!taken, "a forged approval was taken"),
            Ask::Cancel { stranger: true } => assert!(!taken, "a stranger's cancel was taken"),
            Ask::Review { auditor: false } => {
                assert!(!taken, "a review by a non-reviewer was taken")
            }
            _ => {}
        }
        if self.finished && !matches!(ask, Ask::Review { .. }) {
            assert!(
                !taken,
                "a finished ceremony took an event other than its review"
            );
        }
        if taken {
            match ask {
                Ask::Approve | Ask::Reject => {
                    assert!(
                        !self.approved.contains(who) && !self.rejected.contains(who),
                        "{who} decided twice"
                    );
                    if ask == Ask::Approve {
                        self.approved.insert(who.clone());
                    } else {
                        self.rejected.insert(who.clone());
                        if veto {
                            assert_eq!(c.state(), State::Rejected, "a veto did not end it");
                        }
                    }
                }
                Ask::Cancel { .. } => assert_eq!(c.state(), State::Cancelled),
                _ => {}
            }
        }
        let approved: std::collections::BTreeSet<_> =
            c.approvals().iter().map(|(p, _)| p.clone()).collect();
        let rejected: std::collections::BTreeSet<_> =
            c.rejections().iter().map(|(p, _, _)| p.clone()).collect();
        assert_eq!(
            approved, self.approved,
            "the engine's approvals are not the model's"
        );
        assert_eq!(
            rejected, self.rejected,
            "the engine's rejections are not the model's"
        );
        self.finished = c.is_finished();
    }
}

pub fn handle(data: &[u8]) {
    let _ = run(data);
}

/// As [`handle`]; the state the ceremony ended the input in (for the seed
/// corpus, which shows that its inputs reach every ending).
pub fn run(data: &[u8]) -> Option<quorate_ceremonies::State> {
    let [setup, seed, events @ ..] = data else {
        return None;
    };
    let world = world();
    let group = Arc::clone(&world.groups[usize::from(setup % 3)]);
    let break_glass = (setup % 3 == 2 && setup & 0x80 != 0).then(|| "CVE in the wild".to_string());
    let request = Request {
        id: CeremonyId::new("release-1.0.0").unwrap_or_else(|e| unreachable!("{e}")),
        key_group: group.name.clone(),
        requester: REQUESTER.into(),
        label: "SHA256SUMS".into(),
        message: b"abc  app-1.0.tar.gz\n".to_vec(),
        created_at: Timestamp(STARTED_AT),
        break_glass,
        context: Vec::new(),
        key_group_version: 0,
        follow_ups: Vec::new(),
        rules: quorate_ceremonies::RULES,
        signed: None,
    };
    let Ok(mut ceremony) = Ceremony::new(request.clone(), Arc::clone(&group)) else {
        panic!("the engine refused a well-formed request");
    };
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(*seed));
    let mut nonces: BTreeMap<ParticipantId, frost::round1::SigningNonces> = BTreeMap::new();
    let mut taken: Vec<(Event, Timestamp)> = Vec::new();
    let mut model = Model::default();
    let mut now = STARTED_AT;
    for pair in events.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        // Up to 15 seconds (a signing round fits in its minute), or `arg`
        // hours when the high bit is set: deadlines pass too.
        now += if op & 0x80 != 0 {
            i64::from(arg) * 3_600_000
        } else {
            i64::from(arg % 16) * 1_000
        };
        let member = &world.members[usize::from(arg) % world.members.len()];
        // Fresh nonces are kept only if the engine takes their event, as
        // an agent keeps those whose commitments were acknowledged.
        let mut fresh = None;
        let mut commit = |member: &Member| {
            let (n, c) = frost::round1::commit(member.key.signing_share(), &mut rng);
            fresh = Some((member.id.clone(), n));
            c
        };
        let ask = match op % 8 {
            0 => Ask::Approve,
            1 => Ask::Reject,
            5 => Ask::Cancel {
                stranger: arg & 1 == 1,
            },
            6 => Ask::Review {
                auditor: arg & 1 == 0,
            },
            7 => Ask::Forged,
            _ => Ask::Other,
        };
        let veto = setup % 3 == 1 && MEMBERS[usize::from(arg) % MEMBERS.len()].1 == "security";
        let event = match op % 8 {
            0 => Event::Approved {
                statement: statement(member, &ceremony, Decision::Approve).sign(&member.identity),
                commitments: commit(member),
            },
            1 => Event::Rejected {
                statement: statement(
                    member,
                    &ceremony,
                    Decision::Reject {
                        reason: "not this one".into(),
                    },
                )
                .sign(&member.identity),
            },
            2 => Event::Committed {
                participant: member.id.clone(),
                commitments: commit(member),
            },
            3 => {
                let Some(round) = ceremony.package_for(&member.id) else {
                    continue;
                };
                let Some(n) = nonces.get(&member.id) else {
                    continue;
                };
                let Ok(share) = frost::round2::sign(round.package(), n, &member.key) else {
                    continue;
                };
                // Odd arguments send it to an attempt it is not of.
                Event::ShareSubmitted {
                    participant: member.id.clone(),
                    attempt: round.attempt() + u32::from(arg & op & 1),
                    share,
                }
            }
            4 => Event::DeadlinePassed,
            5 => Event::Cancelled {
                by: if arg & 1 == 0 { REQUESTER } else { "mallory" }.into(),
                reason: "superseded".into(),
            },
            6 => Event::Reviewed {
                by: if arg & 1 == 0 { "auditor" } else { REQUESTER }.into(),
                notes: "checked".into(),
            },
            _ => {
                // An approval signed by another member's identity key.
                let other = &world.members[(usize::from(arg) + 1) % world.members.len()];
                let forged: SignedStatement =
                    statement(member, &ceremony, Decision::Approve).sign(&other.identity);
                Event::Approved {
                    statement: forged,
                    commitments: commit(member),
                }
            }
        };
        let before = ceremony.clone();
        let was_taken = match ceremony.handle(&event, Timestamp(now)) {
            Ok(_) => {
                taken.push((event, Timestamp(now)));
                if let Some((id, n)) = fresh.take() {
                    nonces.insert(id, n);
                }
                true
            }
            Err(_) => {
                assert!(ceremony == before, "a refused event changed the ceremony");
                false
            }
        };
        model.check(ask, &member.id, veto, was_taken, &ceremony);
        if let Some(signature) = ceremony.signature() {
            let key = group.public_key_package.verifying_key();
            assert!(
                key.verify(&request.message, signature).is_ok(),
                "the engine made a signature that does not verify"
            );
        }
    }
    let replayed = Ceremony::replay(request, group, taken.iter().map(|(e, at)| (e, *at)));
    match replayed {
        Ok(replayed) => assert!(replayed == ceremony, "the replay differs from the live run"),
        Err((i, e)) => panic!("event {i}, taken live, is refused in replay: {e}"),
    }
    Some(ceremony.state())
}
