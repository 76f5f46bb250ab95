//! P5: an auditor's offline replay. Transcripts exported from a real run
//! are replayed from their JSON text, on every core, as `quorate audit
//! replay` does one at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use quorate_ceremonies::replay::{Replayer, Transcript};
use quorate_tlog::LogVerifier;

pub struct Replays {
    pub transcripts: usize,
    pub threads: usize,
    pub elapsed: Duration,
}

impl Replays {
    pub fn per_sec(&self) -> f64 {
        self.transcripts as f64 / self.elapsed.as_secs_f64()
    }
}

/// Parses and replays `total` transcripts, cycling through `texts`, on
/// `threads` threads. Every replay must pass.
pub fn replays(
    texts: &[String],
    log_key: &str,
    total: usize,
    threads: usize,
) -> anyhow::Result<Replays> {
    anyhow::ensure!(!texts.is_empty(), "no transcripts to replay");
    let log = LogVerifier::parse(log_key)?;
    // One replayer for all threads, as an auditor checking a batch would
    // use: it verifies each checkpoint and key group once.
    let replayer = Replayer::new(&log);
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            return anyhow::Ok(());
                        }
                        let text = &texts[i % texts.len()];
                        let transcript: Transcript = serde_json::from_str(text)?;
                        let report = replayer.replay(&transcript);
                        if let Some(finding) = report.first_finding() {
                            anyhow::bail!(
                                "the replay of {} found {}: {}",
                                transcript.ceremony,
                                finding.field,
                                finding.problem
                            );
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a replay thread panicked"))??;
        }
        anyhow::Ok(())
    })?;
    Ok(Replays {
        transcripts: total,
        threads,
        elapsed: started.elapsed(),
    })
}
