//! The witness gate: an agent configured with witnesses releases a
//! signature share only once its own approval is in a checkpoint that a
//! quorum of them cosigned. Every signer checks its own approval, so no
//! signature exists whose approvals are missing from the one history the
//! witnesses saw: a coordinator cannot get a signature while showing the
//! approvals to the signers alone.
//!
//! Nothing here does I/O; `agent/witnessed.rs` fetches the evidence.

use quorate_tlog::{WitnessVerifier, verify_cosignatures};

use crate::AgentConfig;
use crate::record_check::RecordProblem;
use crate::record_check::fetch::Checked;

/// The witnesses an agent trusts and how many must cosign.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    verifiers: Vec<WitnessVerifier>,
    quorum: usize,
}

impl WitnessPolicy {
    /// From `witnesses` and `witness_quorum`; None when no witness is set.
    pub fn from_config(config: &AgentConfig) -> anyhow::Result<Option<Self>> {
        if config.witnesses.is_empty() {
            if config.witness_quorum.is_some() {
                anyhow::bail!("witness_quorum is set but witnesses lists no witness key");
            }
            return Ok(None);
        }
        let verifiers = config
            .witnesses
            .iter()
            .map(|vkey| {
                WitnessVerifier::parse(vkey.trim()).map_err(|e| anyhow::anyhow!("witnesses: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let quorum = config.witness_quorum.unwrap_or(verifiers.len());
        if quorum == 0 || quorum > verifiers.len() {
            anyhow::bail!(
                "witness_quorum {quorum}: give between 1 and the {} witnesses listed",
                verifiers.len()
            );
        }
        Ok(Some(WitnessPolicy { verifiers, quorum }))
    }

    /// The witnesses whose valid cosignatures `note` carries, if they are a
    /// quorum; else why not.
    pub fn cosigned_by(&self, note: &str) -> Result<Vec<String>, String> {
        let found = verify_cosignatures(note, &self.verifiers).map_err(|e| e.to_string())?;
        if found.len() < self.quorum {
            return Err(format!(
                "the checkpoint carries {} of the {} witness cosignatures required",
                found.len(),
                self.quorum
            ));
        }
        Ok(found.into_iter().map(|c| c.witness).collect())
    }
}

/// What the witnessed evidence shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Our statement is entry `index` of a tree of `size` entries whose
    /// checkpoint `by` cosigned.
    Witnessed {
        index: u64,
        size: u64,
        by: Vec<String>,
    },
    /// Not yet: the statement is not in the cosigned tree, or too few
    /// witnesses have cosigned it. Worth asking again.
    NotYet(String),
    /// The record holds something it must not (an altered statement, a bad
    /// proof or checkpoint): never sign on it.
    Problem(RecordProblem),
}

/// Judges the record check made against the cosigned checkpoint `note`.
pub fn judge(policy: &WitnessPolicy, checked: &Checked, note: &str) -> Judgement {
    match &checked.outcome {
        Ok((index, size)) => match policy.cosigned_by(note) {
            Ok(by) => Judgement::Witnessed {
                index: *index,
                size: *size,
                by,
            },
            Err(why) => Judgement::NotYet(why),
        },
        Err(RecordProblem::MissingStatement) => Judgement::NotYet(
            "the approval is not yet in a checkpoint the witnesses cosigned".into(),
        ),
        Err(problem) => Judgement::Problem(problem.clone()),
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
        let both = WitnessPolicy::from_config(&config(&[&w1, &w2], None))
            .unwrap()
            .unwrap();
        let one = WitnessPolicy::from_config(&config(&[&w1, &w2], Some(1)))
            .unwrap()
            .unwrap();
        assert_eq!(both.cosigned_by(&cosigned(&[&w1, &w2])).unwrap().len(), 2);
        let err = both.cosigned_by(&cosigned(&[&w1, &stranger])).unwrap_err();
        assert!(err.contains("1 of the 2"), "{err}");
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
    fn a_missing_statement_is_worth_waiting_for_and_an_altered_one_is_not() {
        let w1 = WitnessKey::from_seed("w1.test", &[2; 32]).unwrap();
        let policy = WitnessPolicy::from_config(&config(&[&w1], None))
            .unwrap()
            .unwrap();
        let checked = |outcome| Checked {
            good_note: None,
            outcome,
            ended: false,
        };
        let note = cosigned(&[&w1]);
        assert!(matches!(
            judge(
                &policy,
                &checked(Err(RecordProblem::MissingStatement)),
                &note
            ),
            Judgement::NotYet(_)
        ));
        assert_eq!(
            judge(
                &policy,
                &checked(Err(RecordProblem::AlteredStatement { index: 4 })),
                &note
            ),
            Judgement::Problem(RecordProblem::AlteredStatement { index: 4 })
        );
        assert_eq!(
            judge(&policy, &checked(Ok((2, 3))), &note),
            Judgement::Witnessed {
                index: 2,
                size: 3,
                by: vec!["w1.test".into()]
            }
        );
        assert!(matches!(
            judge(&policy, &checked(Ok((2, 3))), &cosigned(&[])),
            Judgement::NotYet(_)
        ));
    }

    #[test]
    fn bad_configurations_say_what_is_wrong() {
        let w1 = WitnessKey::from_seed("w1.test", &[2; 32]).unwrap();
        assert!(
            WitnessPolicy::from_config(&config(&[], None))
                .unwrap()
                .is_none()
        );
        let err = WitnessPolicy::from_config(&config(&[], Some(1))).unwrap_err();
        assert!(err.to_string().contains("lists no witness key"), "{err}");
        let err = WitnessPolicy::from_config(&config(&[&w1], Some(2))).unwrap_err();
        assert!(err.to_string().contains("between 1 and the 1"), "{err}");
        let mut bad = config(&[&w1], None);
        bad.witnesses = vec!["nonsense".into()];
        let err = WitnessPolicy::from_config(&bad).unwrap_err();
        assert!(err.to_string().contains("witnesses:"), "{err}");
    }
}
