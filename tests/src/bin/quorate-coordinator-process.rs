//! The real `quorate-coordinator` command line (`quorate_coordinator::cli`),
//! built into this package so that its tests can run the coordinator as a
//! separate process and kill it.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    quorate_coordinator::cli::main().await
}
