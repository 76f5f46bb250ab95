//! The agent's own check of the signing set's approvals
//! (`quorate_participant::approvals`): only statements signed by the roster's
//! identity keys, approving exactly what this approver approved, count;
//! and the whole check of a signing package's signing set.

use frost_ed25519::SigningPackage;
use frost_ed25519::keys::{IdentifierList, KeyPackage};
use quorate_ceremonies::KeyGroup;
use quorate_participant::approvals::{ApprovalSet, Expected, check_signing_package};
use quorate_secrets::IdentityKey;
use quorate_types::Policy;
use quorate_types::batch::FollowUp;
use quorate_types::{
    CeremonyId, Decision, KeyGroupName, ParticipantId, Roster, RosterEntry, Sha256Digest, Statement,
};
use rand_core::OsRng;

fn pid(s: &str) -> ParticipantId {
    ParticipantId::new(s).unwrap()
}

struct Fixture {
    roster: Roster,
    keys: Vec<IdentityKey>,
    ceremony: CeremonyId,
    group: KeyGroupName,
    digest: Sha256Digest,
}

impl Fixture {
    /// alice and bob with identity keys; carol listed without one.
    fn new() -> Self {
        let keys: Vec<IdentityKey> = ["alice", "bob", "carol"]
            .into_iter()
            .map(|p| IdentityKey::generate(pid(p), &mut OsRng))
            .collect();
        let participants = keys
            .iter()
            .map(|k| RosterEntry {
                id: k.participant().clone(),
                name: k.participant().to_string(),
                role: "engineering".into(),
                coordinator: None,
                identity: (k.participant().as_str() != "carol").then(|| k.public()),
            })
            .collect();
        Self {
            roster: Roster { participants },
            keys,
            ceremony: CeremonyId::new("c1").unwrap(),
            group: KeyGroupName::new("release").unwrap(),
            digest: Sha256Digest::of(b"SHA256SUMS"),
        }
    }

    fn expected(&self, break_glass: bool) -> Expected<'_> {
        Expected {
            ceremony: &self.ceremony,
            key_group: &self.group,
            message_sha256: &self.digest,
            follow_ups: &[],
            break_glass,
        }
    }

    fn key(&self, who: &str) -> &IdentityKey {
        self.keys
            .iter()
            .find(|k| k.participant().as_str() == who)
            .unwrap()
    }

    /// `who`'s approval of the expected message, changed by `edit`, signed
    /// with `signer`'s key.
    fn statement(&self, who: &str, signer: &str, edit: impl FnOnce(&mut Statement)) -> Vec<u8> {
        let mut s = Statement {
            ceremony: self.ceremony.clone(),
            key_group: self.group.clone(),
            participant: pid(who),
            message_sha256: self.digest,
            break_glass: false,
            decision: Decision::Approve,
            at_unix_ms: 1_700_000_000_000,
            follow_ups: Vec::new(),
        };
        edit(&mut s);
        s.sign(self.key(signer)).to_bytes()
    }

    fn judge(&self, statements: &[Vec<u8>], break_glass: bool) -> ApprovalSet {
        ApprovalSet::collect(
            &self.roster,
            &self.expected(break_glass),
            statements.iter().map(Vec::as_slice),
        )
    }
}

fn why_not(set: &ApprovalSet, signer: &str) -> String {
    let e = set.require(&[pid(signer)]).unwrap_err();
    assert_eq!(e.signer, pid(signer));
    e.why
}

#[test]
fn good_statements_count() {
    let f = Fixture::new();
    let set = f.judge(
        &[
            f.statement("alice", "alice", |_| {}),
            f.statement("bob", "bob", |_| {}),
        ],
        false,
    );
    assert_eq!(set.approved(), vec![pid("alice"), pid("bob")]);
    set.require(&[pid("alice"), pid("bob")]).unwrap();
}

#[test]
fn a_forged_statement_does_not_count() {
    let f = Fixture::new();
    let set = f.judge(&[f.statement("bob", "alice", |_| {})], false);
    assert!(set.approved().is_empty());
    assert!(why_not(&set, "bob").contains("signature does not verify"));
}

#[test]
fn an_approval_of_another_message_does_not_count() {
    let f = Fixture::new();
    let other = f.statement("bob", "bob", |s| {
        s.message_sha256 = Sha256Digest::of(b"other")
    });
    let set = f.judge(&[other], false);
    assert!(why_not(&set, "bob").contains("another message"));
}

#[test]
fn an_approval_of_another_batch_does_not_count() {
    let f = Fixture::new();
    // Same message, but with a follow-up (a minisign trusted comment) this
    // approver never saw.
    let other = f.statement("bob", "bob", |s| {
        s.follow_ups = vec![FollowUp::SignatureThen {
            suffix: b"trusted comment: other".to_vec(),
        }]
    });
    let set = f.judge(&[other], false);
    assert!(why_not(&set, "bob").contains("another batch"));
}

#[test]
fn an_approval_of_another_ceremony_or_key_group_does_not_count() {
    let f = Fixture::new();
    let other_ceremony = f.statement("bob", "bob", |s| {
        s.ceremony = CeremonyId::new("c2").unwrap()
    });
    let set = f.judge(&[other_ceremony], false);
    assert!(why_not(&set, "bob").contains("ceremony c2"));

    let other_group = f.statement("bob", "bob", |s| {
        s.key_group = KeyGroupName::new("nightly").unwrap()
    });
    let set = f.judge(&[other_group], false);
    assert!(why_not(&set, "bob").contains("key group nightly"));
}

#[test]
fn a_rejection_does_not_count() {
    let f = Fixture::new();
    let reject = f.statement("bob", "bob", |s| {
        s.decision = Decision::Reject {
            reason: "no".into(),
        }
    });
    let set = f.judge(&[reject], false);
    assert!(why_not(&set, "bob").contains("rejects"));
}

#[test]
fn break_glass_must_be_acknowledged_by_every_statement() {
    let f = Fixture::new();
    let plain = f.statement("alice", "alice", |_| {});
    let acknowledged = f.statement("bob", "bob", |s| s.break_glass = true);
    // Under break-glass, only statements that saw it count.
    let set = f.judge(&[plain.clone(), acknowledged.clone()], true);
    assert_eq!(set.approved(), vec![pid("bob")]);
    assert!(
        why_not(&set, "alice")
            .contains("break-glass ceremony, but the statement does not acknowledge it")
    );
    // And a break-glass statement is no approval of an ordinary ceremony.
    let set = f.judge(&[plain, acknowledged], false);
    assert_eq!(set.approved(), vec![pid("alice")]);
    assert!(why_not(&set, "bob").contains("break-glass"));
}

#[test]
fn a_signer_without_a_statement_or_roster_key_is_named() {
    let f = Fixture::new();
    let set = f.judge(
        &[
            f.statement("alice", "alice", |_| {}),
            f.statement("carol", "carol", |_| {}),
            b"not json".to_vec(),
        ],
        false,
    );
    assert!(why_not(&set, "bob").contains("no statement"));
    assert!(why_not(&set, "carol").contains("no identity key"));
    let e = set.require(&[pid("alice"), pid("bob")]).unwrap_err();
    assert_eq!(e.signer, pid("bob"));
    assert!(
        e.to_string()
            .contains("signer bob has no valid signed approval")
    );
}

#[test]
fn a_statement_by_someone_outside_the_roster_does_not_count() {
    let f = Fixture::new();
    let mallory = IdentityKey::generate(pid("mallory"), &mut OsRng);
    let statement = Statement {
        ceremony: f.ceremony.clone(),
        key_group: f.group.clone(),
        participant: pid("mallory"),
        message_sha256: f.digest,
        break_glass: false,
        decision: Decision::Approve,
        at_unix_ms: 0,
        follow_ups: Vec::new(),
    }
    .sign(&mallory)
    .to_bytes();
    let set = f.judge(&[statement], false);
    assert!(why_not(&set, "mallory").contains("not in the roster"));
}

impl Fixture {
    /// The key group of the roster (t = 2) under `policy`, and a signing
    /// package for alice and bob.
    fn signing(&self, policy: Policy) -> (KeyGroup, SigningPackage) {
        let ids: Vec<_> = self.roster.ids().map(|p| p.identifier()).collect();
        let (shares, public_key_package) =
            frost_ed25519::keys::generate_with_dealer(3, 2, IdentifierList::Custom(&ids), OsRng)
                .unwrap();
        let commitments = ["alice", "bob"]
            .into_iter()
            .map(|p| {
                let id = pid(p).identifier();
                let key = KeyPackage::try_from(shares[&id].clone()).unwrap();
                (
                    id,
                    frost_ed25519::round1::commit(key.signing_share(), &mut OsRng).1,
                )
            })
            .collect();
        let group = KeyGroup {
            name: self.group.clone(),
            threshold: 2,
            public_key_package,
            roster: self.roster.clone(),
            policy,
            version: 0,
        };
        (group, SigningPackage::new(commitments, b"SHA256SUMS"))
    }

    fn check_package(
        &self,
        policy: Policy,
        statements: &[Vec<u8>],
        break_glass: bool,
    ) -> Result<(), String> {
        let (group, package) = self.signing(policy);
        check_signing_package(
            &group,
            "requester",
            &package,
            &self.expected(break_glass),
            statements.iter().map(Vec::as_slice),
        )
    }
}

fn with_emergency() -> Policy {
    toml::from_str(
        r#"
        [emergency]
        declarers = ["engineering"]
        reviewers = ["engineering"]
        approvals = 2
        "#,
    )
    .unwrap()
}

#[test]
fn a_signing_set_with_every_approval_signed_is_accepted() {
    let f = Fixture::new();
    let good = [
        f.statement("alice", "alice", |_| {}),
        f.statement("bob", "bob", |_| {}),
    ];
    f.check_package(Policy::default(), &good, false).unwrap();
}

#[test]
fn a_signing_set_with_a_forged_approval_is_refused_naming_the_signer() {
    let f = Fixture::new();
    let forged = [
        f.statement("alice", "alice", |_| {}),
        f.statement("bob", "alice", |_| {}),
    ];
    let e = f
        .check_package(Policy::default(), &forged, false)
        .unwrap_err();
    assert!(e.contains("signer bob"), "{e}");
    assert!(e.contains("signature does not verify"), "{e}");
}

#[test]
fn emergency_rules_apply_only_when_every_statement_saw_break_glass() {
    let f = Fixture::new();
    let acknowledged = [
        f.statement("alice", "alice", |s| s.break_glass = true),
        f.statement("bob", "bob", |s| s.break_glass = true),
    ];
    f.check_package(with_emergency(), &acknowledged, true)
        .unwrap();
    let e = f
        .check_package(Policy::default(), &acknowledged, true)
        .unwrap_err();
    assert!(e.contains("no emergency policy"), "{e}");

    let one_did_not = [
        f.statement("alice", "alice", |s| s.break_glass = true),
        f.statement("bob", "bob", |_| {}),
    ];
    let e = f
        .check_package(with_emergency(), &one_did_not, true)
        .unwrap_err();
    assert!(e.contains("signer bob"), "{e}");
    assert!(
        e.contains("break-glass ceremony, but the statement does not acknowledge it"),
        "{e}"
    );
}
