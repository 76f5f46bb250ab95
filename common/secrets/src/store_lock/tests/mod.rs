//! Unit tests of the parent module.

use super::*;

#[test]
fn a_held_lock_is_waited_for_until_it_is_released() {
    let mut calls = 0;
    let opened: Result<u32, String> = open(|| {
        calls += 1;
        if calls < 4 {
            Err("IO error: could not acquire lock on \"db\": WouldBlock".into())
        } else {
            Ok(7)
        }
    });
    assert_eq!(opened, Ok(7));
    assert_eq!(calls, 4);
}

#[test]
fn other_errors_are_not_retried() {
    let mut calls = 0;
    let opened: Result<u32, String> = open(|| {
        calls += 1;
        Err("permission denied".into())
    });
    assert_eq!(opened, Err("permission denied".into()));
    assert_eq!(calls, 1);
}

#[test]
fn a_lock_never_released_is_refused_after_the_wait() {
    let mut calls = 0;
    let opened: Result<u32, String> = open(|| {
        calls += 1;
        Err("could not acquire lock".into())
    });
    assert_eq!(opened, Err("could not acquire lock".into()));
    // Tried again and again until the patience ran out, then refused.
    assert!(calls > 10, "{calls} calls");
}
