//! The coordinator's addresses as a client knows them: one, or the
//! replicas of a coordinator over PostgreSQL. A client connects to the
//! first that answers and, when that one goes away, tries the others in
//! turn ([`crate::tls::channel_any`]).
//!
//! In `agent.toml`, `coordinator` is an address or a list of them:
//! `coordinator = "https://c1.internal:7400"` or
//! `coordinator = ["https://c1.internal:7400", "https://c2.internal:7400"]`.
//! On the command line, addresses are separated by commas.
//!
//! Every replica serves reads, feeds and watches; only the one holding
//! the sequencing lease takes writes. The others refuse a write with
//! `UNAVAILABLE` and the writer's address in [`WRITER`]: a client sends
//! its writes there if it is one of its addresses ([`Coordinators::position`]).

use serde::{Deserialize, Serialize};

/// The metadata key of a write refused by a replica that follows the
/// record (`UNAVAILABLE`): the address of the replica that takes writes,
/// as it advertised it.
pub const WRITER: &str = "quorate-writer";

/// The name, in the gRPC health service, that the replica taking writes
/// reports serving (the others: not serving).
pub const WRITER_SERVICE: &str = "quorate.Writer";

/// The replica a refusal says takes writes, if it names one.
pub fn writer_of(status: &tonic::Status) -> Option<&str> {
    if status.code() != tonic::Code::Unavailable {
        return None;
    }
    status.metadata().get(WRITER)?.to_str().ok()
}

/// One or more addresses of the coordinator, in the order to try them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinators(Vec<String>);

impl Coordinators {
    /// Addresses separated by commas (blanks around each are dropped).
    pub fn parse(list: &str) -> Result<Self, String> {
        Self::new(list.split(',').map(|a| a.trim().to_string()).collect())
    }

    pub fn new(addresses: Vec<String>) -> Result<Self, String> {
        if addresses.is_empty() || addresses.iter().any(String::is_empty) {
            return Err(format!(
                "coordinator addresses {addresses:?}: give one or more, none empty"
            ));
        }
        Ok(Self(addresses))
    }

    pub fn addresses(&self) -> &[String] {
        &self.0
    }

    /// Which of these addresses is `address` (a trailing `/` aside): a
    /// client goes only to addresses it was given, whatever a replica
    /// names.
    pub fn position(&self, address: &str) -> Option<usize> {
        let bare = |a: &str| a.trim_end_matches('/').to_ascii_lowercase();
        self.0.iter().position(|a| bare(a) == bare(address))
    }
}

impl From<String> for Coordinators {
    fn from(address: String) -> Self {
        Self(vec![address])
    }
}

impl From<&str> for Coordinators {
    fn from(address: &str) -> Self {
        Self(vec![address.to_string()])
    }
}

impl std::fmt::Display for Coordinators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Serialize for Coordinators {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => OneOrMany::One(one.clone()),
            many => OneOrMany::Many(many.to_vec()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Coordinators {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let addresses = match OneOrMany::deserialize(d)? {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        };
        Self::new(addresses).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Config {
        coordinator: Coordinators,
    }

    #[test]
    fn one_address_or_a_list_and_back() -> Result<(), Box<dyn std::error::Error>> {
        let one: Config = toml::from_str("coordinator = \"https://c1:7400\"")?;
        assert_eq!(one.coordinator.addresses(), ["https://c1:7400"]);
        assert_eq!(
            toml::to_string(&one)?.trim(),
            "coordinator = \"https://c1:7400\""
        );
        let two: Config =
            toml::from_str("coordinator = [\"https://c1:7400\", \"https://c2:7400\"]")?;
        assert_eq!(two.coordinator.addresses().len(), 2);
        assert_eq!(toml::from_str::<Config>(&toml::to_string(&two)?)?, two);
        assert_eq!(
            Coordinators::parse(" https://c1:7400 ,https://c2:7400")?,
            two.coordinator
        );
        Ok(())
    }

    #[test]
    fn an_empty_list_or_address_is_refused() {
        for bad in [
            "coordinator = []",
            "coordinator = [\"\"]",
            "coordinator = \"\"",
        ] {
            let e = toml::from_str::<Config>(bad).err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|e| e.contains("none empty")),
                "{bad}: {e:?}"
            );
        }
        assert!(Coordinators::parse("https://c1:7400,").is_err());
    }
}
