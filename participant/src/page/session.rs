//! Who may use the approver's page: whoever opens the login link the agent
//! makes at each start (`quorate-participant page-url` prints it; the
//! token is in `<state_dir>/page.token`, mode 0600). The link opens a
//! session: a random id in an `HttpOnly`, `SameSite=Strict` cookie, and a
//! random CSRF token that every form must carry back. Both live in memory
//! only, so a restart of the agent ends every session.

use std::collections::VecDeque;
use std::sync::Mutex;

use rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Sessions open at once; opening one more closes the oldest.
pub const MAX_SESSIONS: usize = 16;

/// An open session.
#[derive(Clone)]
pub struct Session {
    id: Zeroizing<String>,
    csrf: Zeroizing<String>,
}

impl Session {
    /// The token forms must carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether `presented` is this session's CSRF token.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        self.csrf.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// The session cookie's value.
    pub fn cookie_value(&self) -> &str {
        &self.id
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session(..)")
    }
}

/// The login token and the open sessions.
pub struct Sessions {
    login: Zeroizing<String>,
    open: Mutex<VecDeque<Session>>,
}

fn random_hex() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    Zeroizing::new(hex::encode(bytes.as_ref()))
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

impl Sessions {
    /// A fresh login token and no sessions.
    pub fn new() -> Self {
        Self {
            login: random_hex(),
            open: Mutex::new(VecDeque::new()),
        }
    }

    /// The login token, for the link.
    pub fn login_token(&self) -> &str {
        &self.login
    }

    /// A new session, if `token` is the login token.
    pub fn log_in(&self, token: &str) -> Option<Session> {
        if !bool::from(self.login.as_bytes().ct_eq(token.as_bytes())) {
            return None;
        }
        let session = Session {
            id: random_hex(),
            csrf: random_hex(),
        };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= MAX_SESSIONS {
            open.pop_front();
        }
        open.push_back(session.clone());
        Some(session)
    }

    /// The session whose cookie value is `id`.
    pub fn find(&self, id: &str) -> Option<Session> {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.iter()
            .find(|s| bool::from(s.id.as_bytes().ct_eq(id.as_bytes())))
            .cloned()
    }
}

#[cfg(test)]
mod tests;
