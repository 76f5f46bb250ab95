//! `quorate audit ...` on the command line.

use std::path::PathBuf;

use clap::Subcommand;
use quorate_types::{CeremonyId, KeyCeremonyId};

use crate::client::{Clients, Target};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Write a ceremony's self-contained transcript: its entries, an
    /// inclusion proof of each, and the signed checkpoint they are proved
    /// against.
    Export {
        ceremony: String,
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// Write a key ceremony's transcript (`key-...`): its proposal, every
    /// event and the registration of the group it made, each with an
    /// inclusion proof.
    ExportKey {
        ceremony: String,
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// Replay a transcript offline with the same engine the coordinator
    /// runs; exits non-zero on any discrepancy and names where it is. A key
    /// ceremony's transcript is replayed too: every signed message, proof
    /// and complaint, and the group key and verifying shares recomputed.
    Replay {
        transcript: PathBuf,
        /// The log's verifier key (`name+id+key`) or a file holding it.
        #[arg(long)]
        log_key: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Save the coordinator's latest signed checkpoint.
    Checkpoint {
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// Check, with a consistency proof from the coordinator, that the log
    /// at the new checkpoint extends the log at the old one.
    VerifyLog {
        #[arg(long)]
        old: PathBuf,
        #[arg(long)]
        new: PathBuf,
        /// The log's verifier key (`name+id+key`) or a file holding it.
        #[arg(long)]
        log_key: String,
    },
}

pub async fn run(command: AuditCommand, target: &Target) -> anyhow::Result<()> {
    match command {
        AuditCommand::Export { ceremony, output } => {
            let id = CeremonyId::new(&ceremony)
                .map_err(|e| anyhow::anyhow!("ceremony {ceremony:?}: {e}"))?;
            let mut clients = Clients::connect(target).await?;
            let transcript = super::export(&mut clients.audit, &id).await?;
            super::save_transcript(&transcript, &output)?;
            println!(
                "wrote {} ({} entries)",
                output.display(),
                transcript.entries.len()
            );
            Ok(())
        }
        AuditCommand::ExportKey { ceremony, output } => {
            let id = KeyCeremonyId::new(&ceremony)
                .map_err(|e| anyhow::anyhow!("key ceremony {ceremony:?}: {e}"))?;
            let mut clients = Clients::connect(target).await?;
            let transcript = super::export_key(&mut clients.audit, &id).await?;
            std::fs::write(&output, serde_json::to_vec_pretty(&transcript)?)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            println!(
                "wrote {} ({} entries)",
                output.display(),
                transcript.entries.len()
            );
            Ok(())
        }
        AuditCommand::Replay {
            transcript,
            log_key,
            json,
        } if super::is_key_transcript(&transcript)? => {
            let log = super::log_verifier(&log_key)?;
            let replayed = super::replay_key_file(&transcript, &log)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&replayed)?);
            } else {
                println!(
                    "key ceremony {} of key group {} (proposed by {}): {}",
                    replayed.ceremony, replayed.key_group, replayed.proposed_by, replayed.outcome
                );
                println!("  joined: {}", join(&replayed.joined));
                println!("  confirmed: {}", join(&replayed.confirmed));
                if let Some(key) = &replayed.group_key {
                    println!(
                        "  group key {key}, {} of {} verifying shares, recomputed from the commitments",
                        replayed.threshold, replayed.verifying_shares
                    );
                }
                if let Some(failure) = &replayed.failure {
                    println!("  failed: {failure}");
                }
                println!(
                    "  every entry is in the log at size {}",
                    replayed.checkpoint_size
                );
            }
            Ok(())
        }
        AuditCommand::Replay {
            transcript,
            log_key,
            json,
        } => {
            let log = super::log_verifier(&log_key)?;
            let report = super::replay_file(&transcript, &log)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            match report.first_finding() {
                None => Ok(()),
                Some(first) => anyhow::bail!(
                    "the replay found {} discrepancies; the first is at {first}",
                    report.findings.len()
                ),
            }
        }
        AuditCommand::Checkpoint { output } => {
            let mut clients = Clients::connect(target).await?;
            let note = super::checkpoint(&mut clients.audit).await?;
            std::fs::write(&output, &note)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            println!("wrote {}", output.display());
            Ok(())
        }
        AuditCommand::VerifyLog { old, new, log_key } => {
            let log = super::log_verifier(&log_key)?;
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("cannot read checkpoint {}: {e}", p.display()))
            };
            let mut clients = Clients::connect(target).await?;
            let ok =
                super::verify_log(&mut clients.audit, &log, &read(&old)?, &read(&new)?).await?;
            println!(
                "consistent: the log at size {} extends the log at size {} ({})",
                ok.new.size, ok.old.size, ok.new.origin
            );
            Ok(())
        }
    }
}

fn join(ids: &[quorate_types::ParticipantId]) -> String {
    ids.iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
