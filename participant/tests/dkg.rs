//! Agents' DKG against the engine that judges it, in one process: the
//! messages go from each agent's `Dkg` to the engine's `KeyCeremony` and
//! back as the coordinator would relay them, so that every rule of both
//! sides is exercised without a network (tests/tests/dkg.rs runs the same
//! over gRPC and TLS).

use std::collections::BTreeMap;

use frost_ed25519::keys::dkg::{round1, round2};
use frost_ed25519::keys::{KeyPackage, PublicKeyPackage, SigningShare};
use quorate_ceremonies::Timestamp;
use quorate_ceremonies::key::{KeyCeremony, KeyDecision, KeyEvent, KeyFault, KeyPhase};
use quorate_participant::dkg::{Dkg, DkgError, Next};
use quorate_participant::join::Side;
use quorate_participant::repair::Repairing;
use quorate_secrets::IdentityKey;
use quorate_types::key_ceremony::{KeyMessage, KeyProposal, KeyStep, SignedKeyMessage};
use quorate_types::{KeyCeremonyId, KeyGroupName, ParticipantId, Policy, Roster, RosterEntry};
use rand_core::OsRng;

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

struct Party {
    identity: IdentityKey,
    dkg: Option<Side>,
    share: Option<(KeyPackage, PublicKeyPackage)>,
}

struct Run {
    key: KeyCeremony,
    parties: BTreeMap<ParticipantId, Party>,
    at: i64,
}

fn id(name: &str) -> ParticipantId {
    ParticipantId::new(name).unwrap()
}

impl Run {
    fn new(threshold: u16) -> Self {
        let mut parties = BTreeMap::new();
        let mut entries = Vec::new();
        for name in NAMES {
            let identity = IdentityKey::generate(id(name), &mut OsRng);
            entries.push(RosterEntry {
                id: id(name),
                name: name.to_string(),
                role: "engineering".into(),
                coordinator: None,
                identity: Some(identity.public()),
            });
            parties.insert(
                id(name),
                Party {
                    identity,
                    dkg: None,
                    share: None,
                },
            );
        }
        let proposal = KeyProposal {
            key_group: KeyGroupName::new("release").unwrap(),
            threshold,
            roster: Roster {
                participants: entries,
            },
            policy: Policy::default(),
            refresh: None,
            repair: None,
        };
        let key = KeyCeremony::propose(
            KeyCeremonyId::new("key-1").unwrap(),
            proposal,
            Timestamp(1),
            "operator".into(),
        )
        .unwrap();
        Self {
            key,
            parties,
            at: 2,
        }
    }

    fn post(&mut self, message: SignedKeyMessage) -> Vec<KeyDecision> {
        self.at += 1;
        self.key
            .handle(KeyEvent::Message { message }, Timestamp(self.at))
            .unwrap()
    }

    /// Every agent joins; `tamper` may change each message before it is
    /// posted.
    fn join_all(&mut self, tamper: &mut dyn FnMut(&Party, SignedKeyMessage) -> SignedKeyMessage) {
        let names = self.key.proposal().parties();
        let from = self.key.proposal().changes().map(|(from, _)| from.clone());
        for name in names {
            if self.key.phase().is_finished() {
                return;
            }
            let party = self.parties.get_mut(&name).unwrap();
            let old = match (&from, &party.share) {
                (Some(group), Some((share, _))) => Some((share.clone(), group)),
                _ => None,
            };
            let proposal = self.key.proposal().clone();
            let ceremony = self.key.id().clone();
            let (dkg, join) = if proposal.repair.is_some() {
                let (r, join) =
                    Repairing::join(ceremony, proposal, &party.identity, old, &mut OsRng).unwrap();
                (Side::Repair(r), join)
            } else {
                let (d, join) =
                    Dkg::join(ceremony, proposal, &party.identity, old, &mut OsRng).unwrap();
                (Side::Dkg(d), join)
            };
            party.dkg = Some(dkg);
            let join = tamper(party, join);
            self.post(join);
        }
    }

    /// One pass over the agents: each reads what is relayed to it and
    /// posts what it sends.
    fn pass(&mut self, tamper: &mut dyn FnMut(&Party, SignedKeyMessage) -> SignedKeyMessage) {
        let names = self.key.proposal().parties();
        for name in names {
            if self.key.phase().is_finished() {
                return;
            }
            let relayed: Vec<SignedKeyMessage> = self
                .key
                .messages_for(Some(&name))
                .into_iter()
                .cloned()
                .collect();
            let phase = self.key.phase();
            let party = self.parties.get_mut(&name).unwrap();
            let next = party
                .dkg
                .as_mut()
                .unwrap()
                .advance(phase, &relayed, &party.identity, &mut OsRng)
                .unwrap();
            let out = match next {
                Next::Send(messages) => messages,
                Next::Wait => Vec::new(),
                Next::Share {
                    key_package,
                    public_key_package,
                    confirm,
                } => {
                    party.share = Some((key_package, public_key_package));
                    vec![confirm]
                }
            };
            let out: Vec<_> = out.into_iter().map(|m| tamper(party, m)).collect();
            for message in out {
                self.post(message);
            }
        }
    }

    fn run(&mut self, tamper: &mut dyn FnMut(&Party, SignedKeyMessage) -> SignedKeyMessage) {
        self.join_all(tamper);
        for _ in 0..4 {
            self.pass(tamper);
        }
    }
}

impl Run {
    /// A refresh of the group this run registered, removing `removed`.
    fn refresh(&mut self, removed: &[&str]) {
        let from = self.key.registered().unwrap().clone();
        let removed: Vec<_> = removed.iter().map(|r| id(r)).collect();
        let proposal = KeyProposal {
            roster: Roster {
                participants: from
                    .roster
                    .participants
                    .iter()
                    .filter(|p| !removed.contains(&p.id))
                    .cloned()
                    .collect(),
            },
            refresh: Some(quorate_types::key_ceremony::Refresh {
                from: from.clone(),
                version: 0,
                removed,
            }),
            ..self.key.proposal().clone()
        };
        self.key = KeyCeremony::propose(
            KeyCeremonyId::new("key-2").unwrap(),
            proposal,
            Timestamp(self.at),
            "operator".into(),
        )
        .unwrap();
    }
}

impl Run {
    /// A repair (or, for someone new, an enrolment) of `participant`'s
    /// share by `helpers`, from the group this run registered.
    fn repair(&mut self, participant: &str, helpers: &[&str]) -> Result<(), String> {
        let from = self.key.registered().unwrap().clone();
        self.parties
            .entry(id(participant))
            .or_insert_with(|| Party {
                identity: IdentityKey::generate(id(participant), &mut OsRng),
                dkg: None,
                share: None,
            });
        let party = self.parties.get_mut(&id(participant)).unwrap();
        // The share is lost.
        party.share = None;
        let entry = RosterEntry {
            id: id(participant),
            name: participant.into(),
            role: "release".into(),
            coordinator: None,
            identity: Some(party.identity.public()),
        };
        let mut roster = from.roster.clone();
        match roster.participants.iter_mut().find(|e| e.id == entry.id) {
            Some(e) => *e = entry.clone(),
            None => roster.participants.push(entry.clone()),
        }
        let proposal = KeyProposal {
            roster,
            refresh: None,
            repair: Some(quorate_types::key_ceremony::Repair {
                from,
                version: 0,
                participant: entry,
                helpers: helpers.iter().map(|h| id(h)).collect(),
            }),
            ..self.key.proposal().clone()
        };
        self.key = KeyCeremony::propose(
            KeyCeremonyId::new("key-3").unwrap(),
            proposal,
            Timestamp(self.at),
            "operator".into(),
        )
        .map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[test]
fn a_lost_share_is_repaired_by_three_helpers_and_signs() {
    let mut run = Run::new(3);
    run.run(&mut untouched);
    let package = run.key.registered().unwrap().public_key_package().unwrap();
    let lost = run.parties[&id("bob")].share.as_ref().unwrap().0.clone();
    run.repair("bob", &["alice", "carol", "dave"]).unwrap();
    run.run(&mut untouched);
    assert_eq!(
        run.key.phase(),
        KeyPhase::Registered,
        "{:?}",
        run.key.failure()
    );
    let (repaired, public) = run.parties[&id("bob")].share.clone().unwrap();
    // The very share bob lost, under the same group.
    assert_eq!(repaired.signing_share(), lost.signing_share());
    assert_eq!(public, package);
    let erin = run.parties[&id("erin")].share.as_ref().unwrap().0.clone();
    let alice = run.parties[&id("alice")].share.as_ref().unwrap().0.clone();
    let signature = sign(&[&repaired, &erin, &alice], &package, b"m").unwrap();
    package.verifying_key().verify(b"m", &signature).unwrap();
}

#[test]
fn a_new_participant_is_enrolled_under_the_same_key_and_signs() {
    let mut run = Run::new(3);
    run.run(&mut untouched);
    let before = run.key.registered().unwrap().public_key_package().unwrap();
    run.repair("frank", &["alice", "carol", "erin"]).unwrap();
    assert!(run.key.proposal().repair.as_ref().unwrap().is_enrolment());
    run.run(&mut untouched);
    assert_eq!(
        run.key.phase(),
        KeyPhase::Registered,
        "{:?}",
        run.key.failure()
    );
    let group = run.key.registered().unwrap().clone();
    assert_eq!(group.roster.len(), 6);
    assert_eq!(group.threshold, 3);
    let package = group.public_key_package().unwrap();
    assert_eq!(package.verifying_key(), before.verifying_key());
    assert_eq!(package.verifying_shares().len(), 6);
    let frank = run.parties[&id("frank")].share.clone().unwrap().0;
    let dave = run.parties[&id("dave")].share.as_ref().unwrap().0.clone();
    let bob = run.parties[&id("bob")].share.as_ref().unwrap().0.clone();
    let signature = sign(&[&frank, &dave, &bob], &package, b"m").unwrap();
    before.verifying_key().verify(b"m", &signature).unwrap();
}

#[test]
fn a_repair_with_a_bad_piece_ends_in_an_abort_naming_nobody() {
    let mut run = Run::new(3);
    run.run(&mut untouched);
    run.repair("bob", &["alice", "carol", "dave"]).unwrap();
    // carol seals bob a sigma that is not hers.
    let mut tamper = |party: &Party, m: SignedKeyMessage| match &m.message.step {
        KeyStep::Round2 { to, .. } if m.message.participant == id("carol") && to == &id("bob") => {
            let KeyStep::Round2 {
                enc, ciphertext, ..
            } = &m.message.step
            else {
                unreachable!()
            };
            let mut ciphertext = ciphertext.clone();
            ciphertext[0] ^= 1;
            resigned(
                party,
                KeyStep::Round2 {
                    to: to.clone(),
                    enc: enc.clone(),
                    ciphertext,
                },
                &m,
            )
        }
        _ => m,
    };
    run.run(&mut tamper);
    assert_eq!(run.key.phase(), KeyPhase::Failed);
    let (culprit, fault) = run.key.failure().unwrap();
    assert_eq!(culprit, &None);
    assert!(
        matches!(fault, KeyFault::Aborted { by, .. } if by == &id("bob")),
        "{fault:?}"
    );
}

#[test]
fn a_repair_needs_threshold_helpers_other_than_the_participant() {
    let mut run = Run::new(3);
    run.run(&mut untouched);
    let mut refused = |helpers: &[&str]| run.repair("bob", helpers).unwrap_err();
    assert!(refused(&["alice", "carol"]).contains("at least the threshold"));
    assert!(refused(&["alice", "carol", "bob"]).contains("their own share"));
    assert!(refused(&["alice", "carol", "carol"]).contains("twice"));
    assert!(refused(&["alice", "carol", "zed"]).contains("holds no share"));
    run.repair("bob", &["alice", "carol", "erin"]).unwrap();
}

/// Signs `message` with these key packages under `package`.
fn sign(
    signers: &[&KeyPackage],
    package: &PublicKeyPackage,
    message: &[u8],
) -> Result<frost_ed25519::Signature, frost_ed25519::Error> {
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for kp in signers {
        let (n, c) = frost_ed25519::round1::commit(kp.signing_share(), &mut OsRng);
        nonces.insert(*kp.identifier(), n);
        commitments.insert(*kp.identifier(), c);
    }
    let signing = frost_ed25519::SigningPackage::new(commitments, message);
    let mut shares = BTreeMap::new();
    for kp in signers {
        let share = frost_ed25519::round2::sign(&signing, &nonces[kp.identifier()], kp)?;
        shares.insert(*kp.identifier(), share);
    }
    frost_ed25519::aggregate(&signing, &shares, package)
}

#[test]
fn a_refresh_removing_bob_keeps_the_key_and_leaves_his_share_useless() {
    let mut run = Run::new(3);
    run.run(&mut untouched);
    let before = run.key.registered().unwrap().public_key_package().unwrap();
    let old: BTreeMap<_, _> = run
        .parties
        .iter()
        .map(|(p, party)| (p.clone(), party.share.as_ref().unwrap().0.clone()))
        .collect();

    run.refresh(&["bob"]);
    run.run(&mut untouched);
    assert_eq!(run.key.phase(), KeyPhase::Registered);
    let after = run.key.registered().unwrap().clone();
    let package = after.public_key_package().unwrap();
    assert_eq!(package.verifying_key(), before.verifying_key());
    assert_eq!(
        after.group_key,
        run.key.proposal().refresh.as_ref().unwrap().from.group_key
    );
    assert!(
        !package
            .verifying_shares()
            .contains_key(&id("bob").identifier())
    );
    assert_eq!(package.verifying_shares().len(), 4);
    let new = |p: &str| run.parties[&id(p)].share.as_ref().unwrap().0.clone();
    for p in ["alice", "carol", "dave", "erin"] {
        assert_ne!(
            new(p).signing_share(),
            old[&id(p)].signing_share(),
            "{p}'s share is new"
        );
    }

    // The new shares sign under the same group key.
    let message = b"SHA256SUMS";
    let signature = sign(
        &[&new("alice"), &new("carol"), &new("erin")],
        &package,
        message,
    )
    .unwrap();
    before.verifying_key().verify(message, &signature).unwrap();
    // Old and new shares do not mix: bob's old share with two new ones
    // makes neither the group secret nor a signature.
    let mixed = [new("alice"), new("carol"), old[&id("bob")].clone()];
    let secret = frost_ed25519::keys::reconstruct(&mixed).unwrap();
    assert_ne!(
        frost_ed25519::VerifyingKey::from(&secret),
        *before.verifying_key()
    );
    let with_bob = PublicKeyPackage::new(
        package
            .verifying_shares()
            .iter()
            .map(|(i, v)| (*i, *v))
            .chain(std::iter::once((
                id("bob").identifier(),
                before.verifying_shares()[&id("bob").identifier()],
            )))
            .collect(),
        *before.verifying_key(),
        before.min_signers(),
    );
    assert!(sign(&mixed.iter().collect::<Vec<_>>(), &with_bob, message).is_err());
    // Any three new shares of the four who stay make the group secret.
    let fresh = [new("alice"), new("carol"), new("dave")];
    assert_eq!(
        frost_ed25519::VerifyingKey::from(&frost_ed25519::keys::reconstruct(&fresh).unwrap()),
        *before.verifying_key()
    );
}

#[test]
fn a_refresh_cannot_change_the_threshold_or_drop_anyone_silently() {
    let mut run = Run::new(3);
    run.run(&mut untouched);
    let from = run.key.registered().unwrap().clone();
    let base = KeyProposal {
        roster: from.roster.clone(),
        refresh: Some(quorate_types::key_ceremony::Refresh {
            from: from.clone(),
            version: 0,
            removed: Vec::new(),
        }),
        ..run.key.proposal().clone()
    };
    let refused = |proposal: KeyProposal| {
        KeyCeremony::propose(
            KeyCeremonyId::new("key-9").unwrap(),
            proposal,
            Timestamp(9),
            "op".into(),
        )
        .err()
        .unwrap()
        .to_string()
    };
    let lower = KeyProposal {
        threshold: 2,
        ..base.clone()
    };
    assert!(refused(lower).contains("cannot change a group key's threshold"));
    let mut silent = base.clone();
    silent.roster.participants.retain(|p| p.id != id("bob"));
    assert!(refused(silent).contains("without the removed participants"));
    // Removing t holders at once would leave t old shares that still make
    // the key among themselves.
    let mut small = Run::new(2);
    small.run(&mut untouched);
    let two_of_five = small.key.registered().unwrap().clone();
    let gone = [id("bob"), id("carol")];
    let mut two = KeyProposal {
        roster: two_of_five.roster.clone(),
        refresh: Some(quorate_types::key_ceremony::Refresh {
            from: two_of_five,
            version: 0,
            removed: gone.to_vec(),
        }),
        ..small.key.proposal().clone()
    };
    two.roster.participants.retain(|p| !gone.contains(&p.id));
    assert!(refused(two).contains("needs a new key group"));
    let mut policy = base.clone();
    policy.policy.prevent_self_approval = !policy.policy.prevent_self_approval;
    assert!(refused(policy).contains("keeps the policy"));
    assert!(
        KeyCeremony::propose(
            KeyCeremonyId::new("key-9").unwrap(),
            base,
            Timestamp(9),
            "op".into()
        )
        .is_ok()
    );
}

fn untouched(_: &Party, m: SignedKeyMessage) -> SignedKeyMessage {
    m
}

fn resigned(party: &Party, step: KeyStep, of: &SignedKeyMessage) -> SignedKeyMessage {
    KeyMessage {
        ceremony: of.message.ceremony.clone(),
        participant: of.message.participant.clone(),
        step,
    }
    .sign(&party.identity)
}

#[test]
fn five_agents_make_a_three_of_five_group_that_signs() {
    let mut run = Run::new(3);
    run.run(&mut untouched);
    assert_eq!(run.key.phase(), KeyPhase::Registered);
    let registered = run.key.registered().unwrap().clone();
    let package = registered.public_key_package().unwrap();
    for party in run.parties.values() {
        let (key_package, public) = party.share.as_ref().unwrap();
        assert_eq!(public, &package);
        assert_eq!(key_package.verifying_key(), package.verifying_key());
    }
    // Three of the new shares sign; the signature is plain Ed25519.
    let message = b"SHA256SUMS";
    let signers: Vec<_> = run.parties.values().take(3).collect();
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for p in &signers {
        let (kp, _) = p.share.as_ref().unwrap();
        let (n, c) = frost_ed25519::round1::commit(kp.signing_share(), &mut OsRng);
        nonces.insert(*kp.identifier(), n);
        commitments.insert(*kp.identifier(), c);
    }
    let signing = frost_ed25519::SigningPackage::new(commitments, message);
    let mut shares = BTreeMap::new();
    for p in &signers {
        let (kp, _) = p.share.as_ref().unwrap();
        let share = frost_ed25519::round2::sign(&signing, &nonces[kp.identifier()], kp).unwrap();
        shares.insert(*kp.identifier(), share);
    }
    let signature = frost_ed25519::aggregate(&signing, &shares, &package).unwrap();
    let group = ed25519_dalek::VerifyingKey::from_bytes(
        &package
            .verifying_key()
            .serialize()
            .unwrap()
            .try_into()
            .unwrap(),
    )
    .unwrap();
    let signature = ed25519_dalek::Signature::from_slice(&signature.serialize().unwrap()).unwrap();
    group.verify_strict(message, &signature).unwrap();
}

#[test]
fn a_bad_proof_of_knowledge_names_its_sender() {
    let mut run = Run::new(3);
    let mut first_proof = None;
    run.join_all(&mut |party, join| {
        let KeyStep::Join {
            proposal_sha256,
            round1: bytes,
            encryption_key,
        } = &join.message.step
        else {
            unreachable!()
        };
        let package = round1::Package::deserialize(bytes).unwrap();
        // bob sends alice's proof with his own commitment.
        let Some(proof) = first_proof else {
            first_proof = Some(*package.proof_of_knowledge());
            return join;
        };
        let forged = round1::Package::new(package.commitment().clone(), proof);
        resigned(
            party,
            KeyStep::Join {
                proposal_sha256: *proposal_sha256,
                round1: forged.serialize().unwrap(),
                encryption_key: encryption_key.clone(),
            },
            &join,
        )
    });
    assert_eq!(run.key.phase(), KeyPhase::Failed);
    assert_eq!(
        run.key.failure(),
        Some(&(Some(id("bob")), KeyFault::BadProofOfKnowledge))
    );
}

#[test]
fn a_bad_round2_share_is_shown_by_its_recipients_complaint() {
    let mut run = Run::new(3);
    let victim_key = |run: &Run| match &run
        .key
        .messages_for(None)
        .into_iter()
        .find(|m| {
            m.message.participant == id("carol") && matches!(m.message.step, KeyStep::Join { .. })
        })
        .unwrap()
        .message
        .step
    {
        KeyStep::Join { encryption_key, .. } => encryption_key.clone(),
        _ => unreachable!(),
    };
    run.join_all(&mut untouched);
    let carol_key = victim_key(&run);
    // dave seals carol a share that is not on his polynomial.
    let mut tamper = |party: &Party, m: SignedKeyMessage| match &m.message.step {
        KeyStep::Round2 { to, .. } if m.message.participant == id("dave") && to == &id("carol") => {
            let wrong = round2::Package::new(SigningShare::deserialize(&[7; 32]).unwrap());
            let binding = quorate_ceremonies::key::dkg::round2_binding("key-1", "dave", "carol");
            let sealed = quorate_envelope::seal(
                &carol_key,
                &binding,
                &wrong.serialize().unwrap(),
                &mut OsRng,
            )
            .unwrap();
            resigned(
                party,
                KeyStep::Round2 {
                    to: to.clone(),
                    enc: sealed.enc,
                    ciphertext: sealed.ciphertext,
                },
                &m,
            )
        }
        _ => m,
    };
    for _ in 0..4 {
        run.pass(&mut tamper);
    }
    assert_eq!(run.key.phase(), KeyPhase::Failed);
    assert_eq!(
        run.key.failure(),
        Some(&(Some(id("dave")), KeyFault::BadRound2Share))
    );
}

/// erin announces a session key the test holds, so her agent cannot open
/// the honest packages sealed to it and complains; the test then reveals
/// that key (or, with `reveal` false, a key she never announced).
fn erin_complains(reveal: bool) -> Option<(Option<ParticipantId>, KeyFault)> {
    let mut run = Run::new(3);
    let held = quorate_envelope::SessionKey::generate(&mut OsRng);
    let other = quorate_envelope::SessionKey::generate(&mut OsRng);
    let mut tamper = |party: &Party, m: SignedKeyMessage| {
        if m.message.participant != id("erin") {
            return m;
        }
        match &m.message.step {
            KeyStep::Join {
                proposal_sha256,
                round1,
                ..
            } => resigned(
                party,
                KeyStep::Join {
                    proposal_sha256: *proposal_sha256,
                    round1: round1.clone(),
                    encryption_key: held.public().to_vec(),
                },
                &m,
            ),
            KeyStep::Complain { accused, .. } => resigned(
                party,
                KeyStep::Complain {
                    accused: accused.clone(),
                    session_key: if reveal { &held } else { &other }.reveal().to_vec(),
                },
                &m,
            ),
            _ => m,
        }
    };
    run.run(&mut tamper);
    assert_eq!(run.key.phase(), KeyPhase::Failed);
    run.key.failure().cloned()
}

#[test]
fn a_false_complaint_names_the_complainer() {
    assert_eq!(
        erin_complains(true),
        Some((Some(id("erin")), KeyFault::FalseComplaint))
    );
    assert_eq!(
        erin_complains(false),
        Some((Some(id("erin")), KeyFault::RevealedWrongKey))
    );
}

#[test]
fn an_agent_refuses_a_message_its_sender_did_not_sign() {
    let mut run = Run::new(3);
    run.join_all(&mut untouched);
    let mut relayed: Vec<SignedKeyMessage> = run
        .key
        .messages_for(Some(&id("alice")))
        .into_iter()
        .cloned()
        .collect();
    // The coordinator swaps bob's session key for its own.
    if let KeyStep::Join { encryption_key, .. } = &mut relayed[1].message.step {
        encryption_key[0] ^= 1;
    }
    let alice = run.parties.get_mut(&id("alice")).unwrap();
    let err = alice
        .dkg
        .as_mut()
        .unwrap()
        .advance(KeyPhase::Exchanging, &relayed, &alice.identity, &mut OsRng)
        .err()
        .unwrap();
    assert!(
        matches!(err, DkgError::Forged { ref participant } if participant == &relayed[1].message.participant),
        "{err}"
    );
}

#[test]
fn the_engine_refuses_what_nobody_can_be_blamed_for() {
    let mut run = Run::new(3);
    let alice = &run.parties[&id("alice")];
    let (_, join) = Dkg::join(
        run.key.id().clone(),
        run.key.proposal().clone(),
        &alice.identity,
        None,
        &mut OsRng,
    )
    .unwrap();
    // Signed by nobody it claims: refused, nothing recorded.
    let mut forged = join.clone();
    forged.message.participant = id("bob");
    let at = Timestamp(5);
    assert!(
        run.key
            .handle(KeyEvent::Message { message: forged }, at)
            .is_err()
    );
    // Out of turn: a confirm while joining.
    let early = resigned(
        alice,
        KeyStep::Confirm {
            public_key_package: vec![1],
        },
        &join,
    );
    assert!(
        run.key
            .handle(KeyEvent::Message { message: early }, at)
            .is_err()
    );
    assert_eq!(run.key.version(), 0);
    run.key
        .handle(
            KeyEvent::Message {
                message: join.clone(),
            },
            at,
        )
        .unwrap();
    let again = run.key.handle(KeyEvent::Message { message: join }, at);
    assert!(again.is_err());
    assert_eq!(run.key.version(), 1);
    assert_eq!(run.key.phase(), KeyPhase::Joining);
}

#[test]
fn a_bad_refresh_share_is_shown_by_a_complaint_naming_its_sender() {
    let mut run = Run::new(3);
    run.run(&mut untouched);
    run.refresh(&[]);
    run.join_all(&mut untouched);
    let carol_key = run
        .key
        .messages_for(None)
        .into_iter()
        .find_map(|m| match &m.message.step {
            KeyStep::Join { encryption_key, .. } if m.message.participant == id("carol") => {
                Some(encryption_key.clone())
            }
            _ => None,
        })
        .unwrap();
    let mut tamper = |party: &Party, m: SignedKeyMessage| match &m.message.step {
        KeyStep::Round2 { to, .. } if m.message.participant == id("dave") && to == &id("carol") => {
            let wrong = round2::Package::new(SigningShare::deserialize(&[9; 32]).unwrap());
            let binding = quorate_ceremonies::key::dkg::round2_binding("key-2", "dave", "carol");
            let sealed = quorate_envelope::seal(
                &carol_key,
                &binding,
                &wrong.serialize().unwrap(),
                &mut OsRng,
            )
            .unwrap();
            resigned(
                party,
                KeyStep::Round2 {
                    to: to.clone(),
                    enc: sealed.enc,
                    ciphertext: sealed.ciphertext,
                },
                &m,
            )
        }
        _ => m,
    };
    for _ in 0..4 {
        run.pass(&mut tamper);
    }
    assert_eq!(
        run.key.failure(),
        Some(&(Some(id("dave")), KeyFault::BadRound2Share))
    );
}

#[test]
fn joins_stay_hidden_until_everyone_joined_and_must_answer_one_proposal() {
    let mut run = Run::new(3);
    let alice = &run.parties[&id("alice")];
    let (mut dkg, join) = Dkg::join(
        run.key.id().clone(),
        run.key.proposal().clone(),
        &alice.identity,
        None,
        &mut OsRng,
    )
    .unwrap();
    run.post(join);
    let bob = &run.parties[&id("bob")];
    let (_, bob_join) = Dkg::join(
        run.key.id().clone(),
        run.key.proposal().clone(),
        &bob.identity,
        None,
        &mut OsRng,
    )
    .unwrap();
    run.post(bob_join.clone());
    // While joining, alice sees her own join only: nobody can choose a
    // commitment after seeing the others'.
    let seen = run.key.messages_for(Some(&id("alice")));
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].message.participant, id("alice"));
    // bob's join, re-signed by bob for a proposal other than alice's
    // approver saw, is refused by alice's agent.
    let KeyStep::Join {
        round1,
        encryption_key,
        ..
    } = &bob_join.message.step
    else {
        unreachable!()
    };
    let other = resigned(
        &run.parties[&id("bob")],
        KeyStep::Join {
            proposal_sha256: quorate_types::Sha256Digest([7; 32]),
            round1: round1.clone(),
            encryption_key: encryption_key.clone(),
        },
        &bob_join,
    );
    let alice = &run.parties[&id("alice")];
    let err = dkg
        .advance(KeyPhase::Exchanging, &[other], &alice.identity, &mut OsRng)
        .err()
        .unwrap();
    assert!(
        matches!(err, DkgError::OtherProposal(ref p) if p == &id("bob")),
        "{err}"
    );
}

#[test]
fn at_its_deadline_a_key_ceremony_fails_naming_whom_it_waited_for() {
    let mut run = Run::new(3);
    let mut joined = 0;
    run.join_all(&mut |_, m| {
        joined += 1;
        m
    });
    assert_eq!(joined, 5);
    // Everyone joined; only alice and bob send their round-2 packages.
    let names: Vec<ParticipantId> = vec![id("alice"), id("bob")];
    for name in names {
        let relayed: Vec<SignedKeyMessage> = run
            .key
            .messages_for(Some(&name))
            .into_iter()
            .cloned()
            .collect();
        let phase = run.key.phase();
        let party = run.parties.get_mut(&name).unwrap();
        if let Next::Send(out) = party
            .dkg
            .as_mut()
            .unwrap()
            .advance(phase, &relayed, &party.identity, &mut OsRng)
            .unwrap()
        {
            for m in out {
                run.post(m);
            }
        }
    }
    let early = run
        .key
        .handle(KeyEvent::DeadlinePassed, Timestamp(run.at + 1));
    assert!(early.is_err(), "a deadline before it is due");
    let deadline = run.key.deadline();
    run.key.handle(KeyEvent::DeadlinePassed, deadline).unwrap();
    assert_eq!(
        run.key.failure(),
        Some(&(
            None,
            KeyFault::TimedOut {
                missing: vec![id("carol"), id("dave"), id("erin")]
            }
        ))
    );
}
