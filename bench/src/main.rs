//! Measures quorate against the cryptography it runs: in-process FROST as
//! the floor, then ceremonies end to end over mutual TLS with the durable
//! record, throughput, scale, the record's appends and proofs, offline
//! replay, and the coordinator's memory, each printed beside its baseline
//! and target.
//!
//! `cargo run --release -p quorate-bench` runs everything (a few minutes on
//! two cores); `--quick` runs each benchmark once, small, as CI does.

mod baseline;
mod chaos;
mod cluster;
mod follow_lag;
mod full_disk;
mod history;
mod keys;
mod load;
mod machine;
mod memory;
mod parties;
mod record;
mod replay;
mod replicas;
mod report;
mod run;
mod size;
mod stats;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "quorate-bench",
    about = "Benchmarks quorate against in-process FROST"
)]
struct Args {
    /// Every benchmark once, small: checks that each runs (CI).
    #[arg(long)]
    quick: bool,
    /// Also write the results as Markdown to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Entries in the log the inclusion proofs are timed in
    /// (default 1,000,000; 1,000 with --quick).
    #[arg(long)]
    proof_log_size: Option<u64>,
    /// Where the benchmarks' stores and keys go (default: a temporary
    /// directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a coordinator from a config file until stdin closes (the
    /// memory benchmark's child process).
    #[command(hide = true)]
    ServeCoordinator { config: PathBuf },
    /// Kills the coordinator, an agent or the requester process with
    /// SIGKILL through many ceremonies and checks that nothing is lost,
    /// reordered, duplicated or stuck; then fills the coordinator's disk
    /// (a small tmpfs, where the machine allows mounting one).
    Chaos {
        /// How many ceremonies, one kill each.
        #[arg(long, default_value_t = 20)]
        runs: u64,
        /// The seed of the kills' timing.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A PostgreSQL cluster's URL: run two coordinator replicas over
        /// a database of their own in it instead of the embedded store.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// The coordinator process of `chaos` (serves until killed or
    /// SIGTERM).
    #[command(hide = true)]
    ChaosCoordinator { config: PathBuf },
    /// Asks once for a chaos run's ceremony with a request id and prints
    /// its id (the chaos harness's requester processes).
    #[command(hide = true)]
    ChaosRequester {
        #[arg(long)]
        url: String,
        #[arg(long)]
        identity: String,
        #[arg(long)]
        ca: PathBuf,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        request_id: String,
        #[arg(long)]
        n: u64,
    },
    /// Runs an agent from its agent.toml (passphrase in
    /// QUORATE_PASSPHRASE) until SIGTERM (the CPU benchmark's children).
    #[command(hide = true)]
    ServeAgent { config: PathBuf },
    /// Runs only 3-of-5 ceremonies at one concurrency and prints the rate
    /// (for profiling P1/P2 under perf).
    #[command(hide = true)]
    Throughput {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 640)]
        total: usize,
    },
    /// Runs only the replay benchmark, on transcripts of 50 fresh 3-of-5
    /// ceremonies (for profiling P5).
    #[command(hide = true)]
    Replays {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// Runs only the durable-append benchmark (for profiling P4).
    #[command(hide = true)]
    Appends {
        #[arg(long, default_value_t = 256)]
        callers: usize,
        #[arg(long, default_value_t = 200)]
        per_caller: u64,
    },
    /// Durable appends/s through a replica over PostgreSQL with 1, 2 and
    /// 3 replicas (the others standbys), beside the embedded store: each
    /// run in a database of its own in the cluster at --postgres.
    Replicas {
        /// A PostgreSQL cluster's URL, e.g. what `tests/postgres start DIR`
        /// prints.
        #[arg(long)]
        postgres: String,
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        callers: Vec<usize>,
        #[arg(long, default_value_t = 100)]
        per_caller: u64,
    },
    /// How long after an append commits a follower replica has it: polling
    /// every 100 ms, against waking on LISTEN/NOTIFY too.
    FollowLag {
        /// A PostgreSQL cluster's URL, e.g. what `tests/postgres start DIR`
        /// prints.
        #[arg(long)]
        postgres: String,
        #[arg(long, default_value_t = 300)]
        appends: usize,
        /// Milliseconds between two appends.
        #[arg(long, default_value_t = 37)]
        every_ms: u64,
    },
    /// Runs only the long-history benchmark: start, memory, List and
    /// /metrics over a store of this many ended ceremonies.
    #[command(hide = true)]
    History {
        #[arg(long, default_value_t = 1_000_000)]
        ended: usize,
    },
    /// Runs only the key ceremonies' benchmark at one size.
    #[command(hide = true)]
    Keys {
        #[arg(long, default_value_t = 3)]
        t: u16,
        #[arg(long, default_value_t = 5)]
        n: u16,
    },
    /// Runs only the load test: this many ceremonies opened at once to
    /// this many agent streams on one coordinator process; fails on any
    /// error.
    Load {
        #[arg(long, default_value_t = 1000)]
        ceremonies: usize,
        #[arg(long, default_value_t = 1000)]
        streams: usize,
    },
    /// Runs only the inclusion-proof benchmark (for profiling P4).
    #[command(hide = true)]
    Proofs {
        #[arg(long, default_value_t = 1_000_000)]
        log_size: u64,
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| {
            rt.block_on(async {
                match args.command {
                    Some(Command::ServeCoordinator { ref config }) => memory::serve(config).await,
                    Some(Command::ServeAgent { ref config }) => parties::serve_agent(config).await,
                    Some(Command::ChaosRequester {
                        ref url,
                        ref identity,
                        ref ca,
                        ref cert,
                        ref key,
                        ref request_id,
                        n,
                    }) => {
                        let target = quorate::client::Target {
                            url: url.clone(),
                            identity: identity.clone(),
                            tls: Some(quorate_wire::tls::TlsFiles {
                                ca: ca.clone(),
                                cert: cert.clone(),
                                key: key.clone(),
                            }),
                        };
                        chaos::request_once(target, request_id.clone(), n).await
                    }
                    Some(Command::ChaosCoordinator { ref config }) => {
                        quorate_coordinator::cli::serve(config, false).await
                    }
                    Some(Command::Chaos {
                        runs,
                        seed,
                        ref postgres,
                    }) => {
                        let dir = tempfile::tempdir()?;
                        let exe = std::env::current_exe()?;
                        let found = chaos::run(
                            dir.path(),
                            runs,
                            seed,
                            &exe,
                            (&["chaos-coordinator"], &["serve-agent"]),
                            postgres.as_deref(),
                        )
                        .await?;
                        println!("{found}");
                        if !found.clean() {
                            anyhow::bail!("the chaos run found violations");
                        }
                        // The full disk is the embedded store's.
                        if postgres.is_none() {
                            let disk = tempfile::tempdir()?;
                            let full = full_disk::run(disk.path(), &exe).await?;
                            println!("{full}");
                            if let full_disk::FullDisk::Failed(_) = full {
                                anyhow::bail!("the coordinator mishandled a full disk");
                            }
                        }
                        Ok(())
                    }
                    Some(Command::Throughput { concurrency, total }) => {
                        run::throughput_only(concurrency, total).await
                    }
                    Some(Command::Replays { count }) => run::replays_only(count).await,
                    Some(Command::History { ended }) => {
                        let dir = tempfile::tempdir()?;
                        let found = history::measure(dir.path(), ended).await?;
                        let mut report = report::Report::default();
                        run::history_rows(&mut report, &found);
                        Ok(())
                    }
                    Some(Command::Appends {
                        callers,
                        per_caller,
                    }) => run::appends_only(callers, per_caller).await,
                    Some(Command::Keys { t, n }) => run::keys_only(t, n).await,
                    Some(Command::Replicas {
                        ref postgres,
                        ref callers,
                        per_caller,
                    }) => replicas::run(postgres, callers, per_caller).await,
                    Some(Command::FollowLag {
                        ref postgres,
                        appends,
                        every_ms,
                    }) => {
                        follow_lag::run(
                            postgres,
                            appends,
                            std::time::Duration::from_millis(every_ms),
                        )
                        .await
                    }
                    Some(Command::Load {
                        ceremonies,
                        streams,
                    }) => {
                        let dir = tempfile::tempdir()?;
                        let load = load::measure(dir.path(), ceremonies, streams).await?;
                        println!("{}", load.summary());
                        if load.errors > 0 {
                            anyhow::bail!("the load test had errors");
                        }
                        Ok(())
                    }
                    Some(Command::Proofs { log_size, count }) => {
                        run::proofs_only(log_size, count).await
                    }
                    None => run::all(run::Settings::from(&args)).await,
                }
            })
        });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quorate-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
