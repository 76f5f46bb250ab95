//! The witness gate: an agent configured with witnesses releases a
//! signature share only once its own approval is in a checkpoint that a
//! quorum of them cosigned. Every signer checks its own approval, so no
//! signature exists whose approvals are missing from the one history the
//! witnesses saw: a coordinator cannot get a signature while showing the
//! approvals to the signers alone. (When the witnesses are the agents
//! themselves, that holds only with a quorum above n - t; see
//! [`quorate_types::Witnesses::quorum`].)
//!
//! This is the witnesses' part of [`crate::release_check`]; nothing here
//! does I/O.

use quorate_tlog::{WitnessVerifier, verify_cosignatures};

use crate::AgentConfig;

/// The witnesses an agent requires: those its key group's policy names,
/// and those its own configuration adds, each list with its quorum.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone)]
struct Requirement {
    /// Where the list comes from, for messages.
    source: &'static str,
    verifiers: Vec<WitnessVerifier>,
    quorum: usize,
}

impl Requirement {
    fn parse(source: &'static str, keys: &[String], quorum: usize) -> anyhow::Result<Self> {
        let verifiers = keys
            .iter()
            .map(|vkey| {
                WitnessVerifier::parse(vkey.trim()).map_err(|e| anyhow::anyhow!("{source}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if quorum == 0 || quorum > verifiers.len() {
            anyhow::bail!(
                "{source}: a quorum of {quorum}: give between 1 and the {} witnesses listed",
                verifiers.len()
            );
        }
        Ok(Requirement {
            source,
            verifiers,
            quorum,
        })
    }
}

impl WitnessPolicy {
    /// From the key group's `policy` witnesses and the agent's own
    /// `witnesses` and `witness_quorum`; None when neither names any.
    pub fn for_agent(
        config: &AgentConfig,
        policy: Option<&quorate_types::Witnesses>,
    ) -> anyhow::Result<Option<Self>> {
        let mut requirements = Vec::new();
        if let Some(w) = policy {
            requirements.push(Requirement::parse(
                "the key group's policy [witnesses]",
                &w.keys,
                usize::from(w.quorum),
            )?);
        }
        if config.witnesses.is_empty() {
            if config.witness_quorum.is_some() {
                anyhow::bail!("witness_quorum is set but witnesses lists no witness key");
            }
        } else {
            requirements.push(Requirement::parse(
                "witnesses",
                &config.witnesses,
                config.witness_quorum.unwrap_or(config.witnesses.len()),
            )?);
        }
        Ok((!requirements.is_empty()).then_some(WitnessPolicy { requirements }))
    }

    /// The witnesses whose valid cosignatures `note` carries, if they meet
    /// every quorum required; else why not.
    pub fn cosigned_by(&self, note: &str) -> Result<Vec<String>, String> {
        let mut by = Vec::new();
        for r in &self.requirements {
            let found = verify_cosignatures(note, &r.verifiers).map_err(|e| e.to_string())?;
            if found.len() < r.quorum {
                return Err(format!(
                    "the checkpoint carries {} of the {} cosignatures {} requires",
                    found.len(),
                    r.quorum,
                    r.source
                ));
            }
            for c in found {
                if !by.contains(&c.witness) {
                    by.push(c.witness);
                }
            }
        }
        Ok(by)
    }
}

#[cfg(test)]
mod tests {
    use quorate_tlog::{Checkpoint, EMPTY_ROOT, LogKey, WitnessKey, add_cosignatures};

    use super::*;

    fn config(witnesses: &[&WitnessKey], quorum: Option<usize>) -> AgentConfig {
        let mut config: AgentConfig = toml::from_str(
            "id = \"alice\"\ncoordinator = \"https://127.0.0.1:1\"\nkey_share = \"s\"\n\
             identity_key = \"i\"\nkey_group = \"g\"\nstate_dir = \"d\"\n",
        )
        .unwrap();
        config.witnesses = witnesses.iter().map(|w| w.verifier_key()).collect();
        config.witness_quorum = quorum;
        config
    }

    fn from_config(config: &AgentConfig) -> anyhow::Result<Option<WitnessPolicy>> {
        WitnessPolicy::for_agent(config, None)
    }

    fn cosigned(by: &[&WitnessKey]) -> String {
        let log = LogKey::from_seed("log.test", &[1; 32]).unwrap();
        let checkpoint = Checkpoint {
            origin: "log.test".into(),
            size: 3,
            root: EMPTY_ROOT,
        };
        let note = log.sign_checkpoint(&checkpoint).unwrap();
        let lines: Vec<_> = by
            .iter()
            .map(|w| w.cosign(&checkpoint, 7).unwrap())
            .collect();
        add_cosignatures(&note, &lines).unwrap()
    }

    #[test]
    fn counts_only_valid_cosignatures_of_trusted_witnesses() {
        let w1 = WitnessKey::from_seed("w1.test", &[2; 32]).unwrap();
        let w2 = WitnessKey::from_seed("w2.test", &[3; 32]).unwrap();
        let stranger = WitnessKey::from_seed("w3.test", &[4; 32]).unwrap();
        let both = from_config(&config(&[&w1, &w2], None)).unwrap().unwrap();
        let one = from_config(&config(&[&w1, &w2], Some(1))).unwrap().unwrap();
        assert_eq!(both.cosigned_by(&cosigned(&[&w1, &w2])).unwrap().len(), 2);
        let err = both.cosigned_by(&cosigned(&[&w1, &stranger])).unwrap_err();
        assert!(
            err.contains("1 of the 2 cosignatures witnesses requires"),
            "{err}"
        );
        assert_eq!(
            one.cosigned_by(&cosigned(&[&stranger, &w2])).unwrap(),
            ["w2.test"]
        );
        // A forged line by a trusted witness is named, not counted.
        let good = cosigned(&[&w1, &w2]);
        let line = good.lines().last().unwrap();
        let forged = good.replace(line, &line.replace(&line[line.len() - 6..], "AAAAA="));
        let err = one.cosigned_by(&forged).unwrap_err();
        assert!(err.contains("w2.test+"), "{err}");
    }

    #[test]
    fn bad_configurations_say_what_is_wrong() {
        let w1 = WitnessKey::from_seed("w1.test", &[2; 32]).unwrap();
        assert!(from_config(&config(&[], None)).unwrap().is_none());
        let err = WitnessPolicy::for_agent(&config(&[], Some(1)), None).unwrap_err();
        assert!(err.to_string().contains("lists no witness key"), "{err}");
        let err = WitnessPolicy::for_agent(&config(&[&w1], Some(2)), None).unwrap_err();
        assert!(err.to_string().contains("between 1 and the 1"), "{err}");
        let mut bad = config(&[&w1], None);
        bad.witnesses = vec!["nonsense".into()];
        let err = WitnessPolicy::for_agent(&bad, None).unwrap_err();
        assert!(err.to_string().contains("witnesses:"), "{err}");
    }

    #[test]
    fn the_policy_and_the_agent_each_have_their_quorum() {
        let w1 = WitnessKey::from_seed("w1.test", &[2; 32]).unwrap();
        let w2 = WitnessKey::from_seed("w2.test", &[3; 32]).unwrap();
        let policy = quorate_types::Witnesses {
            keys: vec![w1.verifier_key(), w2.verifier_key()],
            quorum: 1,
        };
        let only_policy = WitnessPolicy::for_agent(&config(&[], None), Some(&policy))
            .unwrap()
            .unwrap();
        assert_eq!(
            only_policy.cosigned_by(&cosigned(&[&w2])).unwrap(),
            ["w2.test"]
        );
        // The agent adds w1 of its own: w2 alone no longer does.
        let stricter = WitnessPolicy::for_agent(&config(&[&w1], None), Some(&policy))
            .unwrap()
            .unwrap();
        let err = stricter.cosigned_by(&cosigned(&[&w2])).unwrap_err();
        assert!(err.contains("witnesses requires"), "{err}");
        assert_eq!(
            stricter.cosigned_by(&cosigned(&[&w1])).unwrap(),
            ["w1.test"]
        );
        let err = WitnessPolicy::for_agent(
            &config(&[], None),
            Some(&quorate_types::Witnesses {
                keys: vec!["bad".into()],
                quorum: 1,
            }),
        )
        .unwrap_err();
        assert!(err.to_string().contains("policy [witnesses]"), "{err}");
    }
}
