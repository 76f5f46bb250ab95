//! The agent's own alarm, raised when it finds the coordinator's record
//! wrong: the command in `alert_command`, given the finding as JSON on
//! stdin, and the same JSON POSTed to `alert_webhook`. The agent raises it
//! itself, from its own machine: a coordinator that lies cannot be trusted
//! to carry the alarm about itself.

use std::process::Stdio;
use std::time::Duration;

use quorate_types::{CeremonyId, ParticipantId};
use tokio::io::AsyncWriteExt;

use crate::AgentConfig;
use crate::record_check::RecordProblem;

/// How long the alert command may run, and the webhook may take.
const WITHIN: Duration = Duration::from_secs(30);

/// The JSON the command gets.
pub fn finding(
    participant: &ParticipantId,
    ceremony: &CeremonyId,
    problem: &RecordProblem,
) -> serde_json::Value {
    serde_json::json!({
        "alert": "coordinator_record_wrong",
        "participant": participant.as_str(),
        "ceremony": ceremony.as_str(),
        "problem": problem,
        "says": problem.to_string(),
    })
}

/// Raises `alert` through the agent's own alert command and webhook, in
/// the background; each logs (never fails) if it cannot.
pub fn raise(config: &AgentConfig, alert: serde_json::Value) {
    if let Some(url) = config.alert_webhook.clone() {
        let json = alert.to_string();
        let webhook = quorate_wire::webhook::Webhook::new(&url, config.alert_webhook_ca.as_deref());
        tokio::spawn(async move {
            let posted = match webhook {
                Ok(webhook) => webhook.post_json(json, WITHIN).await,
                Err(e) => Err(e),
            };
            match posted {
                Ok(()) => tracing::info!(%url, "alert posted"),
                Err(e) => tracing::error!(%url, error = %e, "the alert webhook failed"),
            }
        });
    }
    if let Some(command) = config.alert_command.clone() {
        tokio::spawn(async move { run(&command, &alert).await });
    }
}

/// Runs `command` with `alert` on stdin; logs (never fails) if it cannot.
async fn run(command: &[String], alert: &serde_json::Value) {
    let Some((program, args)) = command.split_first() else {
        return;
    };
    let run = async {
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that does not read its input still runs.
            let _ = stdin.write_all(alert.to_string().as_bytes()).await;
            let _ = stdin.shutdown().await;
        }
        child.wait().await
    };
    match tokio::time::timeout(WITHIN, run).await {
        Ok(Ok(status)) if status.success() => tracing::info!(?command, "alert raised"),
        Ok(Ok(status)) => tracing::error!(?command, %status, "the alert command failed"),
        Ok(Err(e)) => tracing::error!(?command, error = %e, "cannot run the alert command"),
        Err(_) => tracing::error!(?command, "the alert command did not finish in time"),
    }
}
