//! Unit tests of the parent module.

use super::*;

#[test]
fn only_the_login_token_opens_a_session() {
    let sessions = Sessions::new();
    assert!(sessions.log_in("").is_none());
    assert!(sessions.log_in(&"0".repeat(64)).is_none());
    let token = sessions.login_token().to_string();
    assert!(sessions.log_in(&token[..63]).is_none());
    let Some(session) = sessions.log_in(&token) else {
        panic!("the login token opened no session");
    };
    let found = sessions.find(session.cookie_value());
    assert!(found.is_some_and(|s| s.csrf() == session.csrf()));
    assert!(
        sessions.find(&token).is_none(),
        "the login token is no session"
    );
    assert!(session.csrf_matches(session.csrf()));
    assert!(!session.csrf_matches(""));
    assert!(!session.csrf_matches(session.cookie_value()));
}

#[test]
fn the_oldest_session_closes_past_the_cap() {
    let sessions = Sessions::new();
    let token = sessions.login_token().to_string();
    let opened: Vec<Session> = (0..=MAX_SESSIONS)
        .filter_map(|_| sessions.log_in(&token))
        .collect();
    assert_eq!(opened.len(), MAX_SESSIONS + 1);
    assert!(sessions.find(opened[0].cookie_value()).is_none());
    assert!(
        opened[1..]
            .iter()
            .all(|s| sessions.find(s.cookie_value()).is_some())
    );
}
