//! Unit tests of the parent module.

use tokio_stream::StreamExt;

use super::*;

fn id(n: u8) -> CeremonyId {
    CeremonyId::new(format!("{n:016x}")).unwrap()
}

fn limits(per_requester: usize, total: usize, per_minute: u32, burst: u32) -> Limits {
    Limits {
        max_open_ceremonies: total,
        max_open_per_requester: per_requester,
        creations_per_minute: per_minute,
        creation_burst: burst,
        ..Limits::default()
    }
}

const T0: Timestamp = Timestamp(1_700_000_000_000);

#[test]
fn defaults_and_validation() {
    let parsed: Limits = toml::from_str("").unwrap();
    assert_eq!(parsed, Limits::default());
    let parsed: Limits = toml::from_str("creations_per_minute = 5").unwrap();
    assert_eq!(parsed.creations_per_minute, 5);
    assert_eq!(parsed.max_open_ceremonies, 1000);
    let err = toml::from_str::<Limits>("creation_burst = 0").unwrap_err();
    assert!(
        err.to_string()
            .contains("limits.creation_burst: must be at least 1"),
        "{err}"
    );
    let err = toml::from_str::<Limits>("max_open = 3").unwrap_err();
    assert!(
        err.to_string().contains("unknown field `max_open`"),
        "{err}"
    );
}

#[test]
fn reply_bytes_stay_under_what_clients_accept() -> Result<(), toml::de::Error> {
    let parsed: Limits = toml::from_str("reply_bytes = 4096")?;
    assert_eq!(parsed.reply_bytes, 4096);
    assert_eq!(Limits::default().reply_bytes, REPLY_BYTES);
    for bad in ["reply_bytes = 100", "reply_bytes = 4194304"] {
        let err = toml::from_str::<Limits>(bad).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e
                .contains("is not between 1024 and 3145728 (clients refuse replies over 4 MiB)")),
            "{bad}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn streams_and_call_time_are_bounded() -> Result<(), toml::de::Error> {
    let parsed: Limits = toml::from_str("streams_per_connection = 2\ncall_seconds = 5")?;
    assert_eq!(parsed.streams_per_connection, 2);
    assert_eq!(parsed.call_timeout(), Duration::from_secs(5));
    let d = Limits::default();
    assert_eq!(d.streams_per_connection, MAX_STREAMS_PER_CONNECTION);
    assert_eq!(d.call_timeout(), CALL_TIMEOUT);
    for (bad, why) in [
        (
            "streams_per_connection = 1",
            "limits.streams_per_connection: 1 is below 2",
        ),
        (
            "call_seconds = 0",
            "limits.call_seconds: 0 is not between 1 and 3600",
        ),
        (
            "call_seconds = 3601",
            "limits.call_seconds: 3601 is not between 1 and 3600",
        ),
    ] {
        let err = toml::from_str::<Limits>(bad).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains(why)),
            "{bad}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn a_limits_table_in_coordinator_toml() {
    let base = "listen = \"127.0.0.1:7400\"\ndata_dir = \"/var/lib/quorate\"\n";
    let config: crate::Config = toml::from_str(base).unwrap();
    assert_eq!(config.limits, Limits::default());
    let config: crate::Config =
        toml::from_str(&format!("{base}[limits]\nmax_open_per_requester = 5\n")).unwrap();
    assert_eq!(config.limits.max_open_per_requester, 5);
    assert_eq!(config.limits.max_open_ceremonies, 1000);
}

#[test]
fn burst_then_the_rate() {
    // 6 a minute: one token every 10 s, 3 at once.
    let mut gate = Gate::new(limits(100, 100, 6, 3));
    for n in 0..3 {
        gate.admit(&id(n), "rm", T0).unwrap();
    }
    let err = gate.admit(&id(3), "rm", T0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "requester rm is creating ceremonies faster than the 6 a minute \
         (after a burst of 3) allowed per identity (limits.creations_per_minute, \
         limits.creation_burst); try again in 10 s"
    );
    assert_eq!(gate.open(), 3, "a refusal counts nothing");
    // Another identity has its own bucket.
    gate.admit(&id(4), "other", T0).unwrap();
    // One token back after 10 s, not before.
    let err = gate.admit(&id(5), "rm", T0.after(Duration::from_millis(9_999)));
    assert!(
        matches!(
            err,
            Err(LimitError::TooFast {
                retry_after_s: 1,
                ..
            })
        ),
        "{err:?}"
    );
    gate.admit(&id(5), "rm", T0.after(Duration::from_secs(10)))
        .unwrap();
    assert!(
        gate.admit(&id(6), "rm", T0.after(Duration::from_secs(10)))
            .is_err()
    );
    // A long pause refills the bucket to the burst, no further.
    let later = T0.after(Duration::from_secs(3600));
    for n in 7..10 {
        gate.admit(&id(n), "rm", later).unwrap();
    }
    assert!(gate.admit(&id(10), "rm", later).is_err());
}

#[test]
fn caps_per_requester_and_in_total() {
    let mut gate = Gate::new(limits(2, 3, 1000, 1000));
    gate.admit(&id(1), "a", T0).unwrap();
    gate.admit(&id(2), "a", T0).unwrap();
    let err = gate.admit(&id(3), "a", T0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "requester a has 2 open ceremonies, the most allowed \
         (limits.max_open_per_requester); finish or cancel some first"
    );
    gate.admit(&id(3), "b", T0).unwrap();
    let err = gate.admit(&id(4), "c", T0).unwrap_err();
    assert_eq!(err, LimitError::TooManyOpen { open: 3 });
    assert_eq!(Status::from(err).code(), tonic::Code::ResourceExhausted);
    // A finished ceremony frees its slot; closing twice is harmless.
    gate.closed(&id(1));
    gate.closed(&id(1));
    assert_eq!((gate.open(), gate.open_of("a")), (2, 1));
    gate.admit(&id(4), "a", T0).unwrap();
    assert_eq!(gate.open_of("a"), 2);
}

#[test]
fn refused_by_a_cap_takes_no_token() {
    let mut gate = Gate::new(limits(1, 10, 1, 1));
    gate.admit(&id(1), "a", T0).unwrap();
    gate.closed(&id(1));
    // The bucket is empty: refused for the rate.
    assert!(matches!(
        gate.admit(&id(2), "a", T0),
        Err(LimitError::TooFast { .. })
    ));
    let mut gate = Gate::new(limits(1, 10, 1, 1));
    gate.opened(id(1), "a");
    assert!(matches!(
        gate.admit(&id(2), "a", T0),
        Err(LimitError::TooManyOpenFor { .. })
    ));
    gate.closed(&id(1));
    gate.admit(&id(2), "a", T0).unwrap();
}

#[test]
fn full_buckets_are_forgotten() {
    let mut gate = Gate::new(limits(10_000, 10_000, 60, 1));
    for n in 0..PRUNE_FLOOR {
        gate.admit(
            &CeremonyId::new(format!("{n:016x}")).unwrap(),
            &format!("id{n}"),
            T0,
        )
        .unwrap();
    }
    assert_eq!(gate.creations.full_at.len(), PRUNE_FLOOR);
    // A second later every bucket is full again.
    let later = T0.after(Duration::from_secs(1));
    gate.admit(&id(0xff), "late", later).unwrap();
    assert_eq!(gate.creations.full_at.len(), 1);
}

#[tokio::test]
async fn a_reader_that_keeps_up_gets_everything() {
    let (mut tx, mut rx) = bounded_stream::<u32>(2, Duration::from_secs(60), "numbers");
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(item) = rx.next().await {
            got.push(item.unwrap());
        }
        got
    });
    for n in 0..100 {
        tx.send(n).await.unwrap();
    }
    drop(tx);
    assert_eq!(reader.await.unwrap(), (0..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_reader_that_falls_behind_is_told_and_cut_off() {
    let (mut tx, mut rx) = bounded_stream::<u32>(2, Duration::ZERO, "numbers");
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert_eq!(tx.send(3).await, Err(Ended::TooSlow));
    assert_eq!(tx.send(4).await, Err(Ended::TooSlow));
    drop(tx);
    assert_eq!(rx.next().await.unwrap().unwrap(), 1);
    assert_eq!(rx.next().await.unwrap().unwrap(), 2);
    let status = rx.next().await.unwrap().unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "this stream fell 2 numbers behind and did not catch up within 0 s \
         (its buffer is bounded); resubscribe"
    );
    assert!(rx.next().await.is_none());
}

#[tokio::test]
async fn a_reader_that_leaves_ends_the_stream() {
    let (mut tx, rx) = bounded_stream::<u32>(2, Duration::ZERO, "numbers");
    drop(rx);
    assert_eq!(tx.send(1).await, Err(Ended::Gone));
}

#[test]
fn writes_are_rate_limited_per_caller() -> Result<(), LimitError> {
    // 60 a minute: one every second, 2 at once.
    let mut gate = Gate::new(Limits {
        writes_per_minute: 60,
        write_burst: 2,
        ..Limits::default()
    });
    gate.admit_write("alice", T0)?;
    gate.admit_write("alice", T0)?;
    let err = gate.admit_write("alice", T0).err();
    assert_eq!(
        err.map(|e| e.to_string()).unwrap_or_default(),
        "alice is making writing calls faster than the 60 a minute (after a burst of 2) \
         allowed per identity (limits.writes_per_minute, limits.write_burst); try again in 1 s"
    );
    // Another caller has a bucket of its own; alice's refills.
    gate.admit_write("bob", T0)?;
    gate.admit_write("alice", Timestamp(T0.unix_ms() + 1_000))?;
    // Creations keep their own bucket.
    gate.admit(&id(1), "alice", T0)?;
    Ok(())
}
