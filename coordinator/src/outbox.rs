//! Alerts that arrive. Each alert is derived from one record entry: a
//! break-glass request, a ceremony that expired, a signer dropped for an
//! invalid share. So an alert is as durable as its entry, written with it
//! in the same append. Each sink (the alert command, the webhook) has a
//! cursor ([`cursor`]: `<data_dir>/alerts.<sink>.cursor`, or for replicas
//! over PostgreSQL a row there, shared): the index of the first entry
//! whose alerts it may not have had yet. A task per sink reads the record
//! from its cursor on, delivers each alert in record order, retrying it
//! (with backoff, up to a minute apart) until the sink takes it, and only
//! then moves the cursor on. A kill between the record write and delivery
//! loses nothing: the next start reads from the cursor again, so an alert
//! is delivered at least once.
//!
//! A sink seen for the first time starts at the end of the record: alerts
//! of entries made before it was configured are not sent.
//!
//! What the record cannot hold goes out once, at once ([`alert_now`]): a
//! write whose outcome is unknown, after which the coordinator stops
//! (`record_write_failed`); and a store that starts refusing writes (a full
//! disk: nothing written, the coordinator goes on and tries again at the
//! next write) with `record_write_refused`, then `record_writable_again`
//! once a write succeeds ([`watch_refusals`]).

use std::sync::{Arc, Weak};
use std::time::Duration;

use quorate_ceremonies::reason::DropReason;
use quorate_ceremonies::{Action, Entry, Event, Outcome};

use crate::hub::Hub;
use crate::store::CeremonyStore;

mod cursor;
pub use cursor::Cursors;

/// How long the alert command may run before it is killed (and retried).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the webhook has to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a sink that is caught up looks for new entries.
const POLL: Duration = Duration::from_millis(200);

/// How often a webhook may refuse one alert for what it is (a 4xx other
/// than 408 and 429) before it is given up, with an error in the log.
const MAX_REFUSALS: u32 = 3;

/// The longest wait between two tries of one alert.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where alerts go.
#[derive(Clone)]
pub enum Sink {
    /// Run with the alert's JSON on stdin; delivered when it exits 0.
    Command(Arc<Vec<String>>),
    /// POSTed as JSON; delivered on a 2xx answer.
    Webhook(Arc<quorate_wire::webhook::Webhook>),
}

impl Sink {
    fn name(&self) -> &'static str {
        match self {
            Sink::Command(_) => "command",
            Sink::Webhook(_) => "webhook",
        }
    }

    /// Delivers `json`; a failure says whether trying again can help (a
    /// webhook's 4xx other than 408 and 429 cannot).
    async fn deliver(&self, json: &str) -> Result<(), (bool, String)> {
        match self {
            Sink::Command(command) => run(command, json).await.map_err(|e| (true, e)),
            Sink::Webhook(webhook) => webhook
                .post_json_answered(json.to_string(), WEBHOOK_TIMEOUT)
                .await
                .map_err(|(status, why)| {
                    let permanent = status.is_some_and(|s| {
                        s.is_client_error()
                            && s != http::StatusCode::REQUEST_TIMEOUT
                            && s != http::StatusCode::TOO_MANY_REQUESTS
                    });
                    (!permanent, why)
                }),
        }
    }
}

/// The alerts of one record entry, as JSON documents.
pub fn alerts_of(entry: &Entry) -> Vec<serde_json::Value> {
    match entry {
        Entry::CeremonyRequested { request: r, .. } => match &r.break_glass {
            Some(justification) => vec![serde_json::json!({
                "alert": "break_glass_declared",
                "ceremony": r.id.to_string(),
                "key_group": r.key_group.to_string(),
                "requester": r.requester,
                "justification": justification,
                "label": r.label,
                "message_sha256": quorate_types::Sha256Digest::of(&r.message).to_string(),
                "created_at_unix_ms": r.created_at.unix_ms(),
            })],
            None => Vec::new(),
        },
        Entry::CeremonyEvent {
            at,
            ceremony,
            event,
            decisions,
            ..
        } => decisions
            .iter()
            .filter_map(|action| match action {
                Action::Close(Outcome::Expired { reason }) => Some(serde_json::json!({
                    "alert": "ceremony_expired",
                    "ceremony": ceremony.to_string(),
                    "why": reason.to_string(),
                    "at_unix_ms": at.unix_ms(),
                })),
                Action::DropSigner {
                    participant,
                    reason: reason @ DropReason::InvalidShare { .. },
                } if matches!(event, Event::ShareSubmitted { .. }) => Some(serde_json::json!({
                    "alert": "invalid_share",
                    "ceremony": ceremony.to_string(),
                    "participant": participant.to_string(),
                    "why": reason.to_string(),
                    "at_unix_ms": at.unix_ms(),
                })),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Sends `alert` to every sink once, now, each given at most
/// [`COMMAND_TIMEOUT`]: for what the record cannot hold (a write that
/// failed so that the coordinator stops). Logs what does not arrive.
pub async fn alert_now(sinks: &[Sink], alert: &serde_json::Value) {
    let json = alert.to_string();
    for sink in sinks {
        match tokio::time::timeout(COMMAND_TIMEOUT, sink.deliver(&json)).await {
            Ok(Ok(())) => {
                tracing::info!(sink = sink.name(), alert = %alert["alert"], "alert delivered")
            }
            Ok(Err((_, e))) => {
                tracing::error!(sink = sink.name(), error = %e, "alert not delivered")
            }
            Err(_) => tracing::error!(sink = sink.name(), "alert not delivered in time"),
        }
    }
}

/// Alerts, at once, each time the store starts refusing writes and each
/// time it takes them again; ends when the coordinator stops.
pub(crate) fn watch_refusals<S: CeremonyStore>(
    hub: &Arc<Hub<S>>,
    sinks: Vec<Sink>,
) -> tokio::task::JoinHandle<()> {
    let mut refusing = hub.store().refusing();
    let mut stopping = hub.stopping();
    // Episodes alerted: every one is, even if it began and ended while an
    // earlier alert was on its way.
    let (mut refused, mut writable) = {
        let r = refusing.borrow_and_update();
        (r.episodes, r.episodes - u64::from(r.now))
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = refusing.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = stopping.changed() => return,
            }
            let r = refusing.borrow_and_update().clone();
            if r.episodes > refused {
                let alert = serde_json::json!({
                    "alert": "record_write_refused",
                    "why": r.why,
                    "episodes": r.episodes - refused,
                });
                alert_now(&sinks, &alert).await;
                refused = r.episodes;
            }
            if !r.now && writable < r.episodes {
                alert_now(
                    &sinks,
                    &serde_json::json!({"alert": "record_writable_again"}),
                )
                .await;
                writable = r.episodes;
            }
        }
    })
}

/// Starts one delivery task per sink, each from its cursor in `cursors`
/// (made at the record's end for a new sink); they end when the
/// coordinator stops.
pub(crate) async fn start<S: CeremonyStore>(
    hub: &Arc<Hub<S>>,
    cursors: Arc<Cursors>,
    sinks: Vec<Sink>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for sink in sinks {
        let cursor = cursors.start(sink.name(), hub.store().size()).await?;
        tasks.push(tokio::spawn(deliver(
            Arc::downgrade(hub),
            sink,
            Arc::clone(&cursors),
            cursor,
        )));
    }
    Ok(tasks)
}

async fn deliver<S: CeremonyStore>(
    hub: Weak<Hub<S>>,
    sink: Sink,
    cursors: Arc<Cursors>,
    mut next: u64,
) {
    let Some(strong) = hub.upgrade() else { return };
    let mut stopping = strong.stopping();
    drop(strong);
    loop {
        let Some(strong) = hub.upgrade() else { return };
        let size = strong.store().size();
        let entry = (next < size).then(|| strong.store().entry(next));
        drop(strong);
        let Some(entry) = entry else {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => continue,
                _ = stopping.changed() => return,
            }
        };
        let alerts = match entry.map(|bytes| Entry::decode(&bytes)) {
            Ok(Ok(entry)) => alerts_of(&entry),
            Ok(Err(e)) => {
                tracing::error!(index = next, error = %e, "alert outbox: an entry does not decode; skipping it");
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(index = next, error = %e, "alert outbox: cannot read the entry; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stopping.changed() => return,
                }
            }
        };
        for alert in &alerts {
            let json = alert.to_string();
            let mut backoff = Duration::from_secs(1);
            let mut refusals = 0;
            loop {
                match sink.deliver(&json).await {
                    Ok(()) => {
                        tracing::info!(sink = sink.name(), index = next, alert = %alert["alert"], "alert delivered");
                        break;
                    }
                    // A webhook that refuses this alert for what it is
                    // must not hold back every later one.
                    Err((false, e)) if refusals + 1 >= MAX_REFUSALS => {
                        tracing::error!(sink = sink.name(), index = next, alert = %json, error = %e, "alert refused by its sink every time; given up");
                        break;
                    }
                    Err((retry, e)) => {
                        if !retry {
                            refusals += 1;
                        }
                        tracing::error!(sink = sink.name(), index = next, error = %e, "alert not delivered; trying again");
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopping.changed() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        next += 1;
        // Moved on disk once an entry's alerts are delivered; in between
        // (entries without alerts) only now and then, since reading them
        // again after a restart sends nothing.
        let saved = async {
            tokio::select! {
                saved = cursors.save(sink.name(), next) => saved,
                _ = stopping.changed() => Err(anyhow::anyhow!("stopping")),
            }
        };
        if (!alerts.is_empty() || next.is_multiple_of(1024))
            && let Err(e) = saved.await
        {
            tracing::error!(sink = sink.name(), error = %e, "alert outbox: cannot move the cursor; alerts may be sent again after a restart");
        }
    }
}

/// Runs `command` with `json` on stdin; Ok once it exits 0 within
/// [`COMMAND_TIMEOUT`], else it is killed.
async fn run(command: &[String], json: &str) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let Some((program, args)) = command.split_first() else {
        return Err("the alert command is empty".into());
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{program} could not start: {e}"))?;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(json.as_bytes())
                .await
                .map_err(|e| format!("{program}: cannot write its stdin: {e}"))?;
        }
        child.wait().await.map_err(|e| format!("{program}: {e}"))
    };
    match tokio::time::timeout(COMMAND_TIMEOUT, run).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("{program} exited with {status}")),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!(
            "{program} ran longer than {COMMAND_TIMEOUT:?}; killed"
        )),
    }
}

#[cfg(test)]
mod tests;
