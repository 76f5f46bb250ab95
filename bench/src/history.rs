//! A coordinator over a long history: a store holding `ended` ceremonies
//! (requested, then cancelled) and `open` ones, written straight into the
//! store; then a coordinator started on it in a process of its own (this
//! binary, run as `serve-coordinator`). It measures the start to the first
//! served call, the resident set, a `List` of open ceremonies and a
//! `/metrics` scrape: what the issue asks to be bounded by what is open.

use std::path::Path;
use std::time::{Duration, Instant};

use quorate::client::{Clients, Target};
use quorate::local::{OPERATOR, REQUESTER};
use quorate_ceremonies::{Action, Entry, Event, Outcome, Request, Timestamp};
use quorate_coordinator::store::{CeremonyStore, RedbStore};
use quorate_types::CeremonyId;
use quorate_wire as proto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cluster::KEY_GROUP;
use crate::memory::{deal_three_of_five, rss_kib, spawn};

/// Entries per append while the history is written.
const CHUNK: usize = 20_000;
/// Ceremonies left open in the history.
pub const OPEN: usize = 100;

pub struct History {
    pub ended: usize,
    /// Writing the history straight into the store.
    pub written_in: Duration,
    /// From starting the process to its first served call (a `List`).
    pub first_call: Duration,
    /// Resident set once started (KiB).
    pub rss_kib: u64,
    /// A `List` of the open ceremonies.
    pub list: Duration,
    /// A `/metrics` scrape.
    pub metrics: Duration,
}

pub async fn measure(dir: &Path, ended: usize) -> anyhow::Result<History> {
    let data = dir.join("coordinator");
    let started = Instant::now();
    write_history(&data, ended).await?;
    let written_in = started.elapsed();

    let config = dir.join("coordinator.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\n\
             insecure_plaintext = true\ndata_dir = {data:?}\n\
             [[party]]\nname = {REQUESTER:?}\nroles = [\"requester\"]\n\
             [[party]]\nname = {OPERATOR:?}\nroles = [\"operator\"]\n",
        ),
    )?;
    let spawned = Instant::now();
    let (mut child, addr, metrics_addr) = spawn(&config).await?;
    let pid = child.0.id();
    let mut requester = Clients::connect(&Target {
        url: format!("http://{addr}"),
        identity: REQUESTER.into(),
        tls: None,
    })
    .await?;
    let open = |page_size| proto::ListCeremoniesRequest {
        state: proto::CeremonyState::CollectingApprovals.into(),
        page_size,
        ..Default::default()
    };
    let listed = requester.ceremonies.list(open(1)).await?.into_inner();
    let first_call = spawned.elapsed();
    if listed.ceremonies.len() != 1 {
        anyhow::bail!("the coordinator lists no open ceremony");
    }
    let rss_kib = rss_kib(pid, "VmRSS")?;

    let at = Instant::now();
    let listed = requester
        .ceremonies
        .list(open(OPEN as u32))
        .await?
        .into_inner();
    let list = at.elapsed();
    if listed.ceremonies.len() != OPEN {
        anyhow::bail!(
            "the coordinator lists {} open ceremonies, not {OPEN}",
            listed.ceremonies.len()
        );
    }
    let at = Instant::now();
    let text = scrape(&metrics_addr).await?;
    let metrics = at.elapsed();
    let counted =
        format!("quorate_ceremonies{{state=\"cancelled\",key_group=\"{KEY_GROUP}\"}} {ended}");
    if !text.contains(&counted) {
        anyhow::bail!("/metrics does not count the {ended} ended ceremonies:\n{text}");
    }
    child.stop();
    Ok(History {
        ended,
        written_in,
        first_call,
        rss_kib,
        list,
        metrics,
    })
}

/// Writes a registered 3-of-5 key group, `ended` cancelled ceremonies and
/// [`OPEN`] open ones into the store in `data`.
async fn write_history(data: &Path, ended: usize) -> anyhow::Result<()> {
    let dealt = deal_three_of_five()?;
    let store = RedbStore::open(data)?;
    // A coordinator makes its log key at its first start, with its record
    // empty; this store is written before any start, so it gets one here.
    quorate_coordinator::log_key::load_or_create(
        data,
        &quorate_coordinator::config::default_origin(),
        0,
    )?;
    // Now, so that no open ceremony's deadline has passed at the start.
    let t0 = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )? - (ended + OPEN) as i64;
    store
        .append(vec![Entry::KeyGroupRegistered {
            at: Timestamp(t0),
            by: OPERATOR.into(),
            key_group: dealt.group.clone(),
        }])
        .await?;
    let request = |n: usize| Request {
        id: CeremonyId::new(format!("{n:016x}")).unwrap_or_else(|_| unreachable!("hex ids")),
        key_group: dealt.group.name.clone(),
        requester: REQUESTER.into(),
        label: "SHA256SUMS".into(),
        message: format!("{n:064x}  quorate-{n}.tar.gz\n").into_bytes(),
        created_at: Timestamp(t0 + n as i64),
        break_glass: None,
        context: Vec::new(),
        key_group_version: 0,
        rules: quorate_ceremonies::RULES,
        follow_ups: Vec::new(),
        signed: None,
    };
    let mut chunk = Vec::with_capacity(CHUNK);
    for n in 0..ended + OPEN {
        let request = request(n);
        let (id, at) = (request.id.clone(), request.created_at);
        chunk.push(Entry::CeremonyRequested { at, request });
        if n < ended {
            let (by, reason) = (REQUESTER.to_string(), "superseded".to_string());
            chunk.push(Entry::CeremonyEvent {
                at,
                ceremony: id,
                seq: 0,
                event: Event::Cancelled {
                    by: by.clone(),
                    reason: reason.clone(),
                },
                decisions: vec![Action::Close(Outcome::Cancelled { by, reason })],
            });
        }
        if chunk.len() >= CHUNK {
            store.append(std::mem::take(&mut chunk)).await?;
        }
    }
    if !chunk.is_empty() {
        store.append(chunk).await?;
    }
    Ok(())
}

/// GET /metrics over plain HTTP/1.1.
async fn scrape(addr: &str) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .await?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await?;
    if !text.starts_with("HTTP/1.1 200") {
        anyhow::bail!("/metrics answered: {text}");
    }
    Ok(text)
}
