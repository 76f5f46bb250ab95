//! A coordinator starts over any history its record holds: a closed
//! ceremony is loaded as recorded, never judged again under today's rules,
//! and a recorded roster change is not re-validated against today's
//! policy rules. (An auditor's replay still checks both offline.)

use std::collections::BTreeMap;
use std::sync::Arc;

use frost_ed25519::keys::IdentifierList;
use quorate_ceremonies::reason::RejectionReason;
use quorate_ceremonies::{Action, Entry, Event, Outcome, Request, State, Timestamp};
use quorate_coordinator::authz::Authz;
use quorate_coordinator::clock::SystemClock;
use quorate_coordinator::hub::Hub;
use quorate_coordinator::store::{CeremonyStore, RedbStore};
use quorate_types::{
    CeremonyId, KeyGroupFile, KeyGroupName, ParticipantId, Policy, Roster, RosterEntry,
};

const T0: i64 = 1_700_000_000_000;

fn pid(id: &str) -> ParticipantId {
    ParticipantId::new(id).unwrap()
}

fn roster(roles: &[(&str, &str)]) -> Roster {
    Roster {
        participants: roles
            .iter()
            .map(|(id, role)| RosterEntry {
                id: pid(id),
                name: id.to_uppercase(),
                role: (*role).into(),
                coordinator: None,
                identity: None,
            })
            .collect(),
    }
}

/// A 2-of-3 key group in which only release-manager may ask, and one
/// security approval is required.
fn key_group() -> KeyGroupFile {
    let members = [
        ("alice", "engineering"),
        ("bob", "release"),
        ("carol", "security"),
    ];
    let ids: Vec<_> = members.iter().map(|(n, _)| pid(n).identifier()).collect();
    let (_, package) = frost_ed25519::keys::generate_with_dealer(
        3,
        2,
        IdentifierList::Custom(&ids),
        rand_core::OsRng,
    )
    .unwrap();
    let policy = Policy {
        requesters: vec!["release-manager".into()],
        required: BTreeMap::from([("security".to_string(), 1)]),
        ..Policy::default()
    };
    KeyGroupFile::new(
        KeyGroupName::new("release").unwrap(),
        2,
        &package,
        roster(&members),
        policy,
    )
    .unwrap()
}

fn request(id: &str, requester: &str, version: u64) -> Request {
    Request {
        id: CeremonyId::new(id).unwrap(),
        key_group: KeyGroupName::new("release").unwrap(),
        requester: requester.into(),
        label: "SHA256SUMS".into(),
        message: format!("{id}\n").into_bytes(),
        created_at: Timestamp(T0),
        break_glass: None,
        context: Vec::new(),
        key_group_version: version,
        rules: 1,
        follow_ups: Vec::new(),
        signed: None,
    }
}

#[tokio::test]
async fn a_history_todays_rules_would_refuse_still_loads_as_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let group = key_group();
    let name = group.name.clone();
    // Closed under rules that let "intruder" ask: today's policy lists
    // only release-manager, so the engine would refuse this request.
    let refused_today = request("c-old-rules", "intruder", 0);
    let rejected = Outcome::Rejected {
        reason: RejectionReason::Vetoed {
            by: pid("carol"),
            role: "security".into(),
        },
    };
    // A roster change today's policy check refuses: nobody is in security
    // any more, which the policy requires.
    let no_security = roster(&[
        ("alice", "engineering"),
        ("bob", "release"),
        ("carol", "release"),
    ]);
    let registered = quorate_ceremonies::KeyGroup::from_file(&group).unwrap();
    assert!(
        registered.with_roster(no_security.clone()).is_err(),
        "today's rules refuse the change"
    );
    let entries = vec![
        Entry::KeyGroupRegistered {
            at: Timestamp(T0),
            by: "operator".into(),
            key_group: group.clone(),
        },
        Entry::CeremonyRequested {
            at: Timestamp(T0),
            request: refused_today.clone(),
        },
        Entry::CeremonyEvent {
            at: Timestamp(T0 + 1),
            ceremony: refused_today.id.clone(),
            seq: 0,
            event: Event::Cancelled {
                by: "intruder".into(),
                reason: "superseded".into(),
            },
            decisions: vec![Action::Close(rejected.clone())],
        },
        Entry::RosterChanged {
            at: Timestamp(T0 + 2),
            by: "operator".into(),
            key_group: name.clone(),
            version: 1,
            roster: no_security,
        },
    ];
    {
        let store = RedbStore::open(dir.path()).unwrap();
        store.append(entries).await.unwrap();
    }
    let store = RedbStore::open(dir.path()).unwrap();
    let hub = Hub::load(store, Arc::new(SystemClock), Authz::new(&[]))
        .expect("the coordinator loads its own history");
    let c = hub.ceremony(&refused_today.id).await.unwrap();
    // As recorded: its outcome, not today's judgement (which would refuse
    // the request, so there would be no ceremony to show).
    assert_eq!(c.ceremony().state(), State::Rejected);
    assert_eq!(
        c.ceremony().phase(),
        &quorate_ceremonies::Phase::Done(rejected)
    );
    assert_eq!(c.ceremony().version(), 1);
    // Today's engine does refuse it: the load did not re-judge it.
    let today = quorate_ceremonies::Ceremony::new(refused_today, Arc::new(registered));
    assert!(today.is_err(), "today's rules refuse the old request");
}

/// A hub on the store in `dir`, with the time `dial` says.
fn hub_on(dir: &std::path::Path, dial: &Arc<Dial>) -> Arc<Hub<RedbStore>> {
    Arc::new(Hub::load(RedbStore::open(dir).unwrap(), dial.clone(), Authz::new(&[])).unwrap())
}

/// A clock that can be set.
struct Dial(std::sync::atomic::AtomicI64);

impl quorate_coordinator::clock::Clock for Dial {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[tokio::test]
async fn a_clock_that_steps_back_never_takes_the_record_back_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let dial = Arc::new(Dial(std::sync::atomic::AtomicI64::new(T0)));
    let hub = hub_on(dir.path(), &dial);
    hub.register_key_group(key_group(), "operator".into())
        .await
        .unwrap();
    let (made, _) = hub
        .create(
            "release",
            "release-manager".into(),
            quorate_coordinator::hub::Asked {
                label: "SHA256SUMS".into(),
                message: b"abc  file\n".to_vec(),
                context: Vec::new(),
                follow_ups: Vec::new(),
                signed: None,
            },
            None,
            None,
        )
        .await
        .unwrap();
    let created = made.request().created_at;
    // The clock steps back a minute (an NTP correction, a VM restore).
    dial.0
        .store(T0 - 60_000, std::sync::atomic::Ordering::SeqCst);
    let (after, _) = hub
        .apply(
            made.id(),
            Event::Cancelled {
                by: "release-manager".into(),
                reason: "wrong build".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(after.ceremony().state(), State::Cancelled);
    let store = hub.store();
    let last = Entry::decode(&store.entry(store.size() - 1).unwrap()).unwrap();
    let Entry::CeremonyEvent { at, .. } = last else {
        panic!("the cancellation is the last entry: {last:?}");
    };
    assert_eq!(at, created, "recorded no earlier than the request");
}

/// Five cancelled ceremonies and one open, as the hub counts them.
fn assert_counts(hub: &Hub<RedbStore>) {
    let mut counts = hub.counts();
    counts.sort();
    assert_eq!(
        counts,
        vec![
            ("cancelled".into(), "release".into(), 5),
            ("collecting approvals".into(), "release".into(), 1),
        ]
    );
}

/// Memory holds the live ceremonies only: an ended one leaves it as it
/// ends, and is read from the record when asked for; the counts by state
/// cover every ceremony, across a restart that loads only live ones.
#[tokio::test]
async fn ended_ceremonies_leave_memory_and_are_read_from_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let dial = Arc::new(Dial(std::sync::atomic::AtomicI64::new(T0)));
    let asked = |n: u32| quorate_coordinator::hub::Asked {
        label: "SHA256SUMS".into(),
        message: format!("release {n}\n").into_bytes(),
        context: Vec::new(),
        follow_ups: Vec::new(),
        signed: None,
    };
    let mut ended = Vec::new();
    let open;
    {
        let hub = hub_on(dir.path(), &dial);
        hub.register_key_group(key_group(), "operator".into())
            .await
            .unwrap();
        for n in 0..5 {
            let (made, _) = hub
                .create("release", "release-manager".into(), asked(n), None, None)
                .await
                .unwrap();
            let event = Event::Cancelled {
                by: "release-manager".into(),
                reason: "superseded".into(),
            };
            hub.apply(made.id(), event).await.unwrap();
            ended.push(made.id().clone());
        }
        let (made, _) = hub
            .create("release", "release-manager".into(), asked(9), None, None)
            .await
            .unwrap();
        open = made.id().clone();
        let live: Vec<_> = hub.live_ceremonies().await;
        assert_eq!(live.len(), 1, "only the open ceremony is in memory");
        assert_eq!(live[0].ceremony.id(), &open);
        assert_eq!(hub.deadlines_held(), 1, "and only its deadline");
        assert_eq!(hub.recent_held(), 5, "the latest to end, kept at hand");
        let cancelled = hub.ceremony(&ended[0]).await.unwrap();
        assert_eq!(cancelled.state(), State::Cancelled, "read from the record");
        assert_counts(&hub);
        // An ended ceremony takes no more input, read from the record.
        let again = Event::Cancelled {
            by: "release-manager".into(),
            reason: "twice".into(),
        };
        assert!(hub.apply(&ended[1], again).await.is_err());
    }

    // Restarted: the record's live set alone is loaded; the counts of
    // the ended ones come from the store, not from reading them.
    let hub = hub_on(dir.path(), &dial);
    let live: Vec<_> = hub.live_ceremonies().await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].ceremony.id(), &open);
    assert_eq!(hub.recent_held(), 0, "nothing ended since the start");
    assert_counts(&hub);
    for id in &ended {
        assert_eq!(hub.ceremony(id).await.unwrap().state(), State::Cancelled);
    }
    let history = hub.history(None, 100, |_| true).await.unwrap();
    let listed: Vec<_> = history.iter().map(|l| l.ceremony.id().clone()).collect();
    let mut all = ended.clone();
    all.push(open);
    assert_eq!(
        listed, all,
        "history lists every ceremony in order of request"
    );
}
