//! `quorate audit ...` on the command line.

use std::path::PathBuf;

use clap::Subcommand;
use quorate_types::{CeremonyId, KeyCeremonyId};

use super::WitnessArgs;
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
    /// Write a key group's history: its registration, every roster and
    /// key group change, and its approvers' backup notes, each with an
    /// inclusion proof.
    ExportKeyGroup {
        key_group: String,
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// Replay a transcript offline with the same engine the coordinator
    /// runs; exits non-zero on any discrepancy and names where it is. A key
    /// ceremony's transcript is replayed too: every signed message, proof
    /// and complaint, and the group key and verifying shares recomputed;
    /// and a key group's history: each change, and each backup note
    /// checked against the group as it stood.
    Replay {
        transcript: PathBuf,
        /// The log's verifier key (`name+id+key`) or a file holding it.
        #[arg(long)]
        log_key: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
    /// Save the coordinator's latest signed checkpoint.
    Checkpoint {
        #[arg(short = 'o', long)]
        output: PathBuf,
        /// Save the latest checkpoint its witnesses cosigned instead, with
        /// their cosignatures.
        #[arg(long)]
        cosigned: bool,
    },
    /// Check a receipt an agent kept (the coordinator's signed promise to
    /// record a statement) against the coordinator's record: the statement
    /// is there, or the receipt proves it was dropped.
    Receipt {
        /// A file holding the receipt note.
        receipt: PathBuf,
        /// The log's verifier key (`name+id+key`) or a file holding it.
        #[arg(long)]
        log_key: String,
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
        /// Witnesses whose cosignatures the new checkpoint must carry.
        #[command(flatten)]
        witnesses: WitnessArgs,
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
        AuditCommand::ExportKeyGroup { key_group, output } => {
            let name = quorate_types::KeyGroupName::new(&key_group)
                .map_err(|e| anyhow::anyhow!("key group {key_group:?}: {e}"))?;
            let mut clients = Clients::connect(target).await?;
            let history = super::export_key_group(&mut clients.audit, &name).await?;
            std::fs::write(&output, serde_json::to_vec_pretty(&history)?)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            println!(
                "wrote {} ({} entries)",
                output.display(),
                history.entries.len()
            );
            Ok(())
        }
        AuditCommand::Replay {
            transcript,
            log_key,
            json,
            ..
        } if super::is_key_group_history(&transcript)? => {
            let log = super::log_verifier(&log_key)?;
            let replayed = super::replay_history_file(&transcript, &log)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&replayed)?);
            } else {
                println!(
                    "key group {}: version {}, every entry in the log at size {}",
                    replayed.key_group, replayed.version, replayed.checkpoint_size
                );
                if replayed.changes_checked {
                    println!(
                        "  every key group change checked against the key ceremony that made it"
                    );
                } else {
                    println!(
                        "  {}: key group changes taken as recorded (export the history again \
                         to have them checked against their key ceremonies)",
                        replayed.format
                    );
                }
                match quorate_ceremonies::key::rebuild::registering_ceremony(
                    &replayed.registered_by,
                ) {
                    Some(id) if replayed.changes_checked => {
                        println!("  registered by key ceremony {id}, checked against it")
                    }
                    _ => println!(
                        "  registered by {}, taken as recorded",
                        replayed.registered_by
                    ),
                }
                for c in &replayed.identity_changes {
                    println!(
                        "  {}'s identity key replaced by an operator's roster change (version {}), \
                         taken as recorded: check it against the operators' records",
                        c.participant, c.version
                    );
                }
                if let Some(to) = &replayed.handed_over {
                    println!("  handed over to {to}, by a statement both groups signed");
                }
                if let Some(successor) = &replayed.retired {
                    println!(
                        "  retired by a statement the group signed{}",
                        successor
                            .as_ref()
                            .map(|s| format!("; its successor is {s}"))
                            .unwrap_or_default()
                    );
                }
                for b in &replayed.backups {
                    println!(
                        "  {} backed up its share (version {}) with {} custodians, any {} restore it: commitments {}, signed by {}",
                        b.participant,
                        b.version,
                        b.custodians,
                        b.threshold,
                        b.commitments_sha256,
                        b.participant
                    );
                }
            }
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
            witnesses,
        } if super::is_key_transcript(&transcript)? => {
            let log = super::log_verifier(&log_key)?;
            let witnesses = witnesses.load()?;
            let replayed = super::replay_key_file(&transcript, &log)?;
            let cosigned = match &witnesses {
                Some(w) => Some(w.check(&super::key_transcript_checkpoint(&transcript)?)?),
                None => None,
            };
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
                if let Some(cosigned) = &cosigned {
                    println!("  {}", cosigned_by(cosigned));
                }
            }
            Ok(())
        }
        AuditCommand::Replay {
            transcript,
            log_key,
            json,
            witnesses,
        } => {
            let log = super::log_verifier(&log_key)?;
            let witnesses = witnesses.load()?;
            let report = super::replay_file(&transcript, &log)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            if let Some(first) = report.first_finding() {
                anyhow::bail!(
                    "the replay found {} discrepancies; the first is at {first}",
                    report.findings.len()
                );
            }
            if let Some(w) = witnesses {
                let checkpoint = super::load_transcript(&transcript)?.checkpoint;
                let cosigned = w.check(&checkpoint)?;
                if !json {
                    println!("{}", cosigned_by(&cosigned));
                }
            }
            Ok(())
        }
        AuditCommand::Checkpoint { output, cosigned } => {
            let mut clients = Clients::connect(target).await?;
            let (latest, witnessed) = super::checkpoints(&mut clients.audit).await?;
            let note = if !cosigned {
                latest
            } else if witnessed.is_empty() {
                anyhow::bail!(
                    "the coordinator has no cosigned checkpoint: it has no [[witness]], or none \
                     has cosigned yet"
                );
            } else {
                witnessed
            };
            std::fs::write(&output, &note)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            println!("wrote {}", output.display());
            Ok(())
        }
        AuditCommand::Receipt { receipt, log_key } => {
            let log = super::log_verifier(&log_key)?;
            let note = std::fs::read_to_string(&receipt)
                .map_err(|e| anyhow::anyhow!("cannot read receipt {}: {e}", receipt.display()))?;
            let promised = log
                .verify_receipt(&note)
                .map_err(|e| anyhow::anyhow!("{}: {e}", receipt.display()))?;
            let mut clients = Clients::connect(target).await?;
            match super::receipted_entry(&mut clients.audit, &promised).await? {
                Some(index) => {
                    println!(
                        "kept: the statement receipted for ceremony {} is entry {index} of the record",
                        promised.ceremony
                    );
                    Ok(())
                }
                None => anyhow::bail!(
                    "DROPPED: the coordinator receipted a statement for ceremony {} at {} ms, and \
                     its record does not hold it; the receipt, signed with its log key, proves it",
                    promised.ceremony,
                    promised.at_unix_ms
                ),
            }
        }
        AuditCommand::VerifyLog {
            old,
            new,
            log_key,
            witnesses,
        } => {
            let log = super::log_verifier(&log_key)?;
            let witnesses = witnesses.load()?;
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
            if let Some(w) = witnesses {
                println!("{}", cosigned_by(&w.check(&read(&new)?)?));
            }
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

/// `"witnessed: cosigned by a (at T), b (at T)"`.
fn cosigned_by(cosignatures: &[quorate_tlog::Cosignature]) -> String {
    let names: Vec<String> = cosignatures
        .iter()
        .map(|c| format!("{} (at {})", c.witness, c.time))
        .collect();
    format!(
        "witnessed: the checkpoint is cosigned by {}",
        names.join(", ")
    )
}
