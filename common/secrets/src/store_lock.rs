//! Opening an embedded store that a store closed a moment ago in this
//! process may still hold locked.
//!
//! sled 0.34 finishes its last writes on threads of its own after the last
//! handle is dropped, and holds the directory's lock until they end: a
//! coordinator or agent restarted in the same process (tests, the local
//! deployment) could find its own store locked. [`open`] waits briefly for
//! that lock; a store another process holds is still refused, after the
//! wait, with sled's error.

use std::time::{Duration, Instant};

/// How long a lock may take to be released.
const PATIENCE: Duration = Duration::from_secs(3);
const PAUSE: Duration = Duration::from_millis(20);

/// Calls `open` until it succeeds, fails for another reason than a held
/// lock, or [`PATIENCE`] runs out.
pub fn open<T, E: std::fmt::Display>(mut open: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match open() {
            Err(e) if is_held(&e) && Instant::now() < deadline => std::thread::sleep(PAUSE),
            other => return other,
        }
    }
}

/// sled's error for a directory locked by another handle.
fn is_held(e: &impl std::fmt::Display) -> bool {
    e.to_string().contains("could not acquire lock")
}

#[cfg(test)]
mod tests;
