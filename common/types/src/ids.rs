//! Newtypes for the names that cross process boundaries.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A name that is not acceptable as an identifier, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {why}")]
pub struct IdError {
    pub kind: &'static str,
    pub value: String,
    pub why: &'static str,
}

fn check(kind: &'static str, value: &str) -> Result<(), IdError> {
    let fail = |why| {
        Err(IdError {
            kind,
            value: value.chars().take(80).collect(),
            why,
        })
    };
    if value.is_empty() {
        return fail("it is empty");
    }
    if value.len() > 64 {
        return fail("it is longer than 64 bytes");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return fail("only ASCII letters, digits, '-', '_' and '.' are allowed");
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check($kind, &value)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// A participant of a key group, as named in its roster.
    ParticipantId,
    "participant id"
);
name_type!(
    /// A ceremony, as named by the coordinator when it was requested.
    CeremonyId,
    "ceremony id"
);
name_type!(
    /// A key ceremony (a DKG, refresh, repair or enrolment), as named by
    /// the coordinator when it was proposed.
    KeyCeremonyId,
    "key ceremony id"
);
name_type!(
    /// A key group registered with the coordinator.
    KeyGroupName,
    "key group name"
);
name_type!(
    /// A requester's own name for one request, so that a retry of it
    /// (after a lost reply) finds the ceremony it made instead of making
    /// another.
    RequestId,
    "request id"
);

impl CeremonyId {
    /// The id of the ceremony `requester` asks for under `request`: the
    /// same for every retry, another for every requester.
    pub fn of_request(requester: &str, request: &RequestId) -> CeremonyId {
        let digest =
            crate::sha256(format!("quorate-request/v1\n{requester}\n{}", request.0).as_bytes());
        // 16 hex digits are a valid id.
        CeremonyId(hex::encode(&digest[..8]))
    }
}

impl ParticipantId {
    /// The FROST identifier of this participant: a hash of its id, so that
    /// dealer key generation and a later DKG agree on it without a table.
    pub fn identifier(&self) -> frost_ed25519::Identifier {
        // `derive` fails only for an empty input (hash to zero is negligible),
        // and ids are never empty.
        frost_ed25519::Identifier::derive(self.0.as_bytes())
            .unwrap_or_else(|_| unreachable!("participant ids are non-empty"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_names() {
        assert!(ParticipantId::new("alice").is_ok());
        assert!(ParticipantId::new("").is_err());
        assert!(ParticipantId::new("a b").is_err());
        assert!(ParticipantId::new("x".repeat(65)).is_err());
        let err = KeyGroupName::new("../etc").unwrap_err();
        assert!(err.to_string().contains("key group name"));
    }

    #[test]
    fn a_request_id_names_one_ceremony_per_requester() {
        let r = RequestId::new("b6f1c0de").unwrap();
        let id = CeremonyId::of_request("release-manager", &r);
        assert_eq!(id, CeremonyId::of_request("release-manager", &r));
        assert_ne!(id, CeremonyId::of_request("release-deputy", &r));
        assert_ne!(
            id,
            CeremonyId::of_request("release-manager", &RequestId::new("b6f1c0df").unwrap())
        );
        assert!(CeremonyId::new(id.as_str()).is_ok());
        assert_eq!(id.as_str().len(), 16);
    }

    #[test]
    fn identifiers_differ_per_participant() {
        let a = ParticipantId::new("alice").unwrap().identifier();
        let b = ParticipantId::new("bob").unwrap().identifier();
        assert_ne!(a, b);
        assert_eq!(a, ParticipantId::new("alice").unwrap().identifier());
    }
}
