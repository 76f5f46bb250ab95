//! Witnessing: as the record grows, asks each configured witness
//! ([c2sp.org/tlog-witness](https://c2sp.org/tlog-witness)) to cosign its
//! latest checkpoint, checks every cosignature it gets back, and keeps the
//! checkpoint with the cosignatures that checked out for `Audit.Checkpoint`.
//!
//! A witness that answers 409 has cosigned another size (after a restart
//! of this coordinator, say): the request is made again from that size.
//! A witness that is down or refuses is asked again 200 ms later; the
//! others' cosignatures are kept meanwhile.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use quorate_tlog::{
    Checkpoint, Cosignature, LogKey, WitnessVerifier, add_cosignatures, verify_cosignatures,
};
use quorate_witness::AddCheckpoint;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::hub::Hub;
use crate::store::CeremonyStore;

/// How long one witness has to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// How often the record is looked at when nothing wakes the task sooner.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How soon witnesses that did not cosign are asked again.
const RETRY_EVERY: Duration = Duration::from_millis(200);
/// A witness's reply is a few signature lines.
const MAX_REPLY: usize = 64 * 1024;

/// `[[witness]]` in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The witness's add-checkpoint URL, `http://host:port/add-checkpoint`.
    pub url: String,
    /// Its verifier key, `<name>+<key id>+<base64(0x04 ‖ key)>`.
    pub vkey: String,
}

/// The latest checkpoint with its witnesses' cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub size: u64,
    /// The log-signed note followed by the cosignature lines.
    pub note: String,
    /// The log-signed note alone, and the cosignatures, to merge later
    /// ones of the same tree into.
    log_note: String,
    lines: Vec<Cosignature>,
}

/// Shared between the task and `Audit.Checkpoint`.
#[derive(Debug, Default)]
pub struct Witnessed(Mutex<Option<Cosigned>>);

impl Witnessed {
    pub fn latest(&self) -> Option<Cosigned> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes `cosignatures` of the checkpoint `log_note` of `size`: they
    /// join those of the same tree already held (a witness's newer line
    /// replaces its older one), or replace a smaller tree's.
    fn offer(&self, size: u64, log_note: &str, cosignatures: Vec<Cosignature>) {
        let mut latest = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut lines = match latest.as_ref() {
            Some(l) if l.size > size => return,
            Some(l) if l.size == size && l.log_note == log_note => l.lines.clone(),
            _ => Vec::new(),
        };
        for c in cosignatures {
            lines.retain(|kept| kept.witness != c.witness);
            lines.push(c);
        }
        match add_cosignatures(log_note, &lines) {
            Ok(note) => {
                *latest = Some(Cosigned {
                    size,
                    note,
                    log_note: log_note.to_owned(),
                    lines,
                })
            }
            Err(e) => tracing::error!(error = %e, "cannot add cosignatures to the checkpoint"),
        }
    }
}

/// A configured witness, checked at start.
#[derive(Debug, Clone)]
pub struct Witness {
    url: Arc<str>,
    verifier: WitnessVerifier,
}

/// Checks the `[[witness]]` entries: http:// URLs and witness vkeys, each
/// witness once.
pub fn parse(configs: &[WitnessConfig]) -> anyhow::Result<Vec<Witness>> {
    let mut witnesses: Vec<Witness> = Vec::new();
    for c in configs {
        if !c.url.starts_with("http://") {
            anyhow::bail!(
                "[[witness]] url {:?}: only http:// URLs are supported for now (cosignatures \
                 are checked against the vkey, so the transport need not be trusted)",
                c.url
            );
        }
        c.url
            .parse::<http::Uri>()
            .map_err(|e| anyhow::anyhow!("[[witness]] url {:?}: {e}", c.url))?;
        let verifier = WitnessVerifier::parse(c.vkey.trim())
            .map_err(|e| anyhow::anyhow!("[[witness]] vkey: {e}"))?;
        if witnesses
            .iter()
            .any(|w| w.verifier.name() == verifier.name())
        {
            anyhow::bail!("[[witness]] {} is listed twice", verifier.name());
        }
        witnesses.push(Witness {
            url: c.url.as_str().into(),
            verifier,
        });
    }
    Ok(witnesses)
}

/// What one witness made of one request.
enum Answer {
    Cosigned(Cosignature),
    /// 409: it last cosigned this size.
    Conflict(u64),
    Failed(String),
}

/// Runs until the hub stops.
pub async fn run<S: CeremonyStore>(
    hub: Weak<Hub<S>>,
    log_key: Arc<LogKey>,
    witnesses: Vec<Witness>,
    witnessed: Arc<Witnessed>,
) {
    if witnesses.is_empty() {
        return;
    }
    let Some((mut changes, mut key_changes, mut stopping)) = hub.upgrade().map(|h| {
        (
            h.subscribe_changes(),
            h.subscribe_key_changes(),
            h.stopping(),
        )
    }) else {
        return;
    };
    let client: Client<HttpConnector, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    // The size each witness last cosigned, as far as this task knows.
    let mut known: Vec<Option<u64>> = vec![None; witnesses.len()];
    let mut done: Option<u64> = None;
    loop {
        if *stopping.borrow() {
            return;
        }
        let Some(hub) = hub.upgrade() else { return };
        let size = hub.store().size();
        if done != Some(size) {
            tokio::select! {
                all = round(&hub, &log_key, &witnesses, &mut known, &client, &witnessed, size) => {
                    done = all.then_some(size);
                }
                // The hub must not be kept alive past a stop.
                _ = stopping.changed() => return,
            }
        }
        drop(hub);
        tokio::select! {
            _ = changes.recv() => {}
            _ = key_changes.recv() => {}
            _ = tokio::time::sleep(if done == Some(size) { LOOK_EVERY } else { RETRY_EVERY }) => {}
            _ = stopping.changed() => {}
        }
    }
}

/// Asks every witness to cosign the checkpoint of `size`; true if all did.
async fn round<S: CeremonyStore>(
    hub: &Hub<S>,
    log_key: &LogKey,
    witnesses: &[Witness],
    known: &mut [Option<u64>],
    client: &Client<HttpConnector, Full<axum::body::Bytes>>,
    witnessed: &Witnessed,
    size: u64,
) -> bool {
    let store = hub.store();
    let note = match store
        .root(size)
        .map_err(|e| e.to_string())
        .and_then(|root| {
            let checkpoint = Checkpoint {
                origin: log_key.name().to_owned(),
                size,
                root,
            };
            log_key
                .sign_checkpoint(&checkpoint)
                .map_err(|e| e.to_string())
        }) {
        Ok(note) => note,
        Err(e) => {
            tracing::error!(error = %e, size, "cannot make a checkpoint for the witnesses");
            return false;
        }
    };
    let mut cosignatures = Vec::new();
    let mut ask: Vec<(usize, u64)> = known
        .iter()
        .enumerate()
        .map(|(i, k)| (i, k.filter(|&k| k <= size).unwrap_or(0)))
        .collect();
    // A 409 is answered once, from the size the witness names.
    for _attempt in 0..2 {
        let mut asking = JoinSet::new();
        // Witnesses that last cosigned the same size get the same proof,
        // asked of the database once.
        let mut proofs: std::collections::HashMap<u64, Vec<_>> = Default::default();
        for (i, old_size) in ask.drain(..) {
            let proof = match proofs.get(&old_size) {
                Some(hashes) => Ok(hashes.clone()),
                None => store
                    .prove_consistency_at_source(old_size, size)
                    .await
                    .map(|proof| proof.hashes),
            };
            let body = match proof {
                Ok(hashes) => {
                    proofs.insert(old_size, hashes.clone());
                    AddCheckpoint {
                        old_size,
                        proof: hashes,
                        checkpoint: note.clone(),
                    }
                    .to_body()
                }
                Err(e) => {
                    tracing::warn!(witness = witnesses[i].verifier.name(), old_size, size, error = %e, "no consistency proof for a witness");
                    continue;
                }
            };
            let (url, verifier, client) = (
                witnesses[i].url.clone(),
                witnesses[i].verifier.clone(),
                client.clone(),
            );
            let note = note.clone();
            asking.spawn(async move { (i, ask_one(&client, &url, &verifier, &note, body).await) });
        }
        while let Some(joined) = asking.join_next().await {
            let Ok((i, answer)) = joined else { continue };
            let name = witnesses[i].verifier.name();
            match answer {
                Answer::Cosigned(c) => {
                    known[i] = Some(size);
                    cosignatures.push(c);
                }
                Answer::Conflict(theirs) if theirs <= size => {
                    tracing::info!(
                        witness = name,
                        theirs,
                        size,
                        "witness last cosigned another size; asking from it"
                    );
                    known[i] = Some(theirs);
                    ask.push((i, theirs));
                }
                Answer::Conflict(theirs) => {
                    known[i] = Some(theirs);
                    tracing::error!(
                        witness = name,
                        theirs,
                        size,
                        "witness has cosigned a larger tree than this record holds: was the \
                         record restored from an old backup, or another coordinator run under \
                         this log key?"
                    );
                }
                Answer::Failed(why) => {
                    tracing::warn!(witness = name, %why, "witness did not cosign")
                }
            }
        }
        if ask.is_empty() {
            break;
        }
    }
    let all = cosignatures.len() == witnesses.len();
    if !cosignatures.is_empty() {
        witnessed.offer(size, &note, cosignatures);
        // The other replicas serve it too.
        if let Some(latest) = witnessed.latest() {
            store.share_cosigned(latest.size, &latest.note).await;
        }
    }
    all
}

async fn ask_one(
    client: &Client<HttpConnector, Full<axum::body::Bytes>>,
    url: &str,
    verifier: &WitnessVerifier,
    note: &str,
    body: String,
) -> Answer {
    let request = match http::Request::post(url).body(Full::new(axum::body::Bytes::from(body))) {
        Ok(r) => r,
        Err(e) => return Answer::Failed(format!("bad request: {e}")),
    };
    let response = match tokio::time::timeout(ANSWER_WITHIN, client.request(request)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Answer::Failed(format!("unreachable: {e}")),
        Err(_) => return Answer::Failed(format!("no answer within {ANSWER_WITHIN:?}")),
    };
    let status = response.status().as_u16();
    let body = match tokio::time::timeout(
        ANSWER_WITHIN,
        http_body_util::Limited::new(response.into_body(), MAX_REPLY).collect(),
    )
    .await
    {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(e)) => return Answer::Failed(format!("unreadable reply: {e}")),
        Err(_) => return Answer::Failed("reply not finished in time".into()),
    };
    let text = String::from_utf8_lossy(&body);
    match status {
        200 => {
            match verify_cosignatures(&format!("{note}{text}"), std::slice::from_ref(verifier)) {
                Ok(found) => match found.into_iter().next() {
                    Some(c) => Answer::Cosigned(c),
                    None => Answer::Failed("its reply holds no cosignature by its key".into()),
                },
                Err(e) => Answer::Failed(format!("its cosignature does not verify: {e}")),
            }
        }
        409 => match text.trim_end_matches('\n').parse::<u64>() {
            Ok(size) => Answer::Conflict(size),
            Err(_) => Answer::Failed(format!("409 without a size: {:?}", text.trim())),
        },
        _ => Answer::Failed(format!("HTTP {status}: {}", text.trim())),
    }
}
