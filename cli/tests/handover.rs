//! Rotation to a new group key, as a consumer follows it: the release
//! group (3 of 5 real agents) signs a hand-over statement to a new 4-of-7
//! group, made by DKG among 7 more real agents on the same coordinator,
//! through an ordinary ceremony; the new group cosigns it through its own.
//! `quorate handover link` checks both, openssl verifies the statement
//! under the old key, and `quorate verify` with a trust policy on the old
//! key accepts a signature by the new key through the link, and refuses
//! one by a key outside the chain. Then the old group signs its
//! retirement, an operator records it, and the coordinator refuses its new
//! ceremonies, also after a restart; the group's history replays with it.

mod support;

use std::collections::BTreeMap;

use frost_ed25519 as frost;
use quorate::local::{LocalDeployment, sample_roster};
use quorate_types::{KeyGroupName, ParticipantId, Policy, Roster, RosterEntry};
use rand_core::OsRng;
use support::{quorate, quorate_offline, quorum_signs, said};

/// A FROST signature over `message` by the first `t` of `shares`.
fn frost_sign(
    shares: &[quorate_secrets::keyfile::KeyShareFile],
    public: &frost::keys::PublicKeyPackage,
    t: usize,
    message: &[u8],
) -> [u8; 64] {
    let keys: Vec<_> = shares[..t]
        .iter()
        .map(|s| s.key_package().unwrap())
        .collect();
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for key in &keys {
        let (n, c) = frost::round1::commit(key.signing_share(), &mut OsRng);
        nonces.insert(*key.identifier(), n);
        commitments.insert(*key.identifier(), c);
    }
    let package = frost::SigningPackage::new(commitments, message);
    let signature_shares: BTreeMap<_, _> = keys
        .iter()
        .map(|k| {
            let share = frost::round2::sign(&package, &nonces[k.identifier()], k).unwrap();
            (*k.identifier(), share)
        })
        .collect();
    frost::aggregate(&package, &signature_shares, public)
        .unwrap()
        .serialize()
        .unwrap()
        .try_into()
        .unwrap()
}

/// `quorate sign` of `file` by `key_group`, approved through the agents
/// of `approvers`; the raw signature, written to `out`.
async fn signed_by(
    d: &LocalDeployment,
    key_group: &str,
    file: &str,
    approvers: &[&str],
    out: &str,
) {
    let asked = quorate(d, &["sign", "--key-group", key_group, "--message", file]).await;
    assert!(asked.status.success(), "{}", said(&asked));
    let id = support::text(&asked.stdout).trim().to_string();
    let t = std::time::Duration::from_secs(60);
    for who in approvers {
        d.approve(&ParticipantId::new(*who).unwrap(), &id, t)
            .await
            .unwrap();
    }
    let status = d.wait_finished(&id, t).await.unwrap();
    assert_eq!(
        status.state(),
        quorate_wire::CeremonyState::Signed,
        "{status:?}"
    );
    let got = quorate(d, &["signature", &id, "-o", out]).await;
    assert!(got.status.success(), "{}", said(&got));
}

/// `quorate handover prepare` from release to release-2, into `out`.
async fn prepare(d: &LocalDeployment, reason: &str, compromised: bool, out: &str) {
    let mut args = vec![
        "handover",
        "prepare",
        "--from",
        "release",
        "--to",
        "release-2",
        "--reason",
        reason,
        "-o",
        out,
    ];
    if compromised {
        args.push("--compromised");
    }
    let prepared = quorate(d, &args).await;
    assert!(prepared.status.success(), "{}", said(&prepared));
    if compromised {
        assert!(
            said(&prepared).contains("--break-glass"),
            "{}",
            said(&prepared)
        );
    }
}

/// `quorate handover link` of `statement` with the two signatures.
fn link_file(statement: &str, old: &str, new: &str, out: &str) -> std::process::Output {
    quorate_offline(&[
        "handover",
        "link",
        "--statement",
        statement,
        "--old-signature",
        old,
        "--new-signature",
        new,
        "-o",
        out,
    ])
}

/// A consumer's trust policy on release's key alone, in `dir`; returns
/// it and the key's PEM file.
async fn trust_the_old_key(d: &LocalDeployment, dir: &std::path::Path) -> (String, String) {
    let pem = dir.join("release.pub.pem").display().to_string();
    let out = quorate(d, &["pubkey", "--key-group", "release", "-o", &pem]).await;
    assert!(out.status.success(), "{}", said(&out));
    let policy = dir.join("trust.toml").display().to_string();
    std::fs::write(
        &policy,
        format!(
            "[[key_group]]\nname = \"release\"\npublic_key = \"\"\"{}\"\"\"\nformats = [\"raw\"]\n",
            std::fs::read_to_string(&pem).unwrap()
        ),
    )
    .unwrap();
    (policy, pem)
}

/// `quorate verify` of a raw `signature` over `artifact` under `policy`,
/// following `links`.
fn verify_raw(
    policy: &str,
    artifact: &str,
    signature: &str,
    links: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "verify",
        "--policy",
        policy,
        "--format",
        "raw",
        "--artifact",
        artifact,
        "--signature",
        signature,
    ];
    for l in links {
        args.extend(["--handover", l]);
    }
    quorate_offline(&args)
}

/// Four of the new group's seven approvers.
const NEW_QUORUM: [&str; 4] = ["new-1", "new-3", "new-5", "new-7"];

fn seven() -> Roster {
    Roster {
        participants: (1..=7)
            .map(|i| RosterEntry {
                id: ParticipantId::new(format!("new-{i}")).unwrap(),
                name: format!("New approver {i}"),
                role: "engineering".into(),
                coordinator: None,
                identity: None,
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumers_follow_a_hand_over_from_the_old_key_to_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();
    // The new group: 4 of 7, made by DKG among seven new agents.
    let mut d = d;
    let new = d
        .add_key_group("release-2", &seven(), 4, &Policy::default())
        .await
        .unwrap();
    assert_eq!((new.threshold, new.roster.participants.len()), (4, 7));

    // The statement, then the old group's ceremony over it.
    let p = |name: &str| dir.path().join(name).display().to_string();
    let statement = p("handover.statement");
    prepare(&d, "yearly rotation", false, &statement).await;
    let out = quorate(
        &d,
        &["sign", "--key-group", "release", "--message", &statement],
    )
    .await;
    assert!(out.status.success(), "{}", said(&out));
    let id = support::text(&out.stdout).trim().to_string();
    quorum_signs(&d, &id).await;
    let old_sig = p("old.sig");
    let out = quorate(&d, &["signature", &id, "-o", &old_sig]).await;
    assert!(out.status.success(), "{}", said(&out));
    // The new group cosigns, through its own agents.
    let new_sig = p("new.sig");
    signed_by(&d, "release-2", &statement, &NEW_QUORUM, &new_sig).await;

    // openssl checks the statement under the old key.
    let (policy, old_pem) = trust_the_old_key(&d, dir.path()).await;
    let openssl = std::process::Command::new("openssl")
        .args([
            "pkeyutl", "-verify", "-pubin", "-inkey", &old_pem, "-rawin", "-in",
        ])
        .args([&statement, "-sigfile", &old_sig])
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(openssl.status.success(), "{}", said(&openssl));

    // The link: both signatures checked; swapped ones are refused.
    let link = p("handover.link");
    let out = link_file(&statement, &new_sig, &old_sig, &link);
    assert!(!out.status.success());
    assert!(
        said(&out).contains("not signed by the old key"),
        "{}",
        said(&out)
    );
    let out = link_file(&statement, &old_sig, &new_sig, &link);
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("release hands over to release-2"),
        "{}",
        said(&out)
    );

    // A consumer trusting only the old key.
    let artifact = p("SHA256SUMS");
    std::fs::write(&artifact, "abc  app-2.0.tar.gz\n").unwrap();
    let by_new = p("by-new.sig");
    signed_by(&d, "release-2", &artifact, &NEW_QUORUM, &by_new).await;
    let verify = |signature: &str, links: &[&str]| verify_raw(&policy, &artifact, signature, links);
    // Without the link the new key is a stranger; with it, trusted.
    assert!(!verify(&by_new, &[]).status.success());
    let out = verify(&by_new, &[&link]);
    assert!(out.status.success(), "{}", said(&out));
    // Or the consumer moves its policy along the link once.
    let updated = p("trust-updated.toml");
    let out = quorate_offline(&[
        "trust",
        "update",
        "--policy",
        &policy,
        "--handover",
        &link,
        "-o",
        &updated,
    ]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("release: now trusts the key of release-2"),
        "{}",
        said(&out)
    );
    let out = verify_raw(&updated, &artifact, &by_new, &[]);
    assert!(out.status.success(), "{}", said(&out));
    // A key outside the chain stays refused.
    let stranger = quorate::keygen::deal(
        KeyGroupName::new("elsewhere").unwrap(),
        &seven(),
        4,
        Policy::default(),
    )
    .unwrap();
    let by_stranger = p("by-stranger.sig");
    std::fs::write(
        &by_stranger,
        frost_sign(
            &stranger.shares,
            &stranger.group.public_key_package().unwrap(),
            4,
            b"abc  app-2.0.tar.gz\n",
        ),
    )
    .unwrap();
    let out = verify(&by_stranger, &[&link]);
    assert!(!out.status.success());
    assert!(
        said(&out).contains("no key group of the trust policy has"),
        "{}",
        said(&out)
    );

    // The old group retires: it signs its retirement, an operator records
    // it, and the coordinator takes no new ceremony of it, across a restart.
    let retire = p("retire.statement");
    let out = quorate(
        &d,
        &[
            "handover",
            "retirement",
            "--key-group",
            "release",
            "--successor",
            "release-2",
            "--reason",
            "rotated to release-2",
            "-o",
            &retire,
        ],
    )
    .await;
    assert!(out.status.success(), "{}", said(&out));
    let as_operator =
        |d: &LocalDeployment, args: &[&str]| quorate_as(d, quorate::local::OPERATOR, args);
    let retire_args = |signature: &str| {
        vec![
            "handover".to_string(),
            "retire".into(),
            "--key-group".into(),
            "release".into(),
            "--statement".into(),
            retire.clone(),
            "--signature".into(),
            signature.into(),
        ]
    };
    // The hand-over goes into the record, once.
    let out = as_operator(&d, &["handover", "record", "--link", &link]);
    assert!(out.status.success(), "{}", said(&out));
    let out = as_operator(&d, &["handover", "record", "--link", &link]);
    assert!(said(&out).contains("handed over already"), "{}", said(&out));
    // Not signed by the group for this statement: refused.
    let forged = retire_args(&old_sig);
    let out = as_operator(&d, &forged.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(
        said(&out).contains("not signed by key group release's key"),
        "{}",
        said(&out)
    );
    let out = quorate(
        &d,
        &["sign", "--key-group", "release", "--message", &retire],
    )
    .await;
    assert!(out.status.success(), "{}", said(&out));
    let id = support::text(&out.stdout).trim().to_string();
    quorum_signs(&d, &id).await;
    let retire_sig = p("retire.sig");
    let out = quorate(&d, &["signature", &id, "-o", &retire_sig]).await;
    assert!(out.status.success(), "{}", said(&out));
    // The release manager may not retire a group; the operator may.
    let good = retire_args(&retire_sig);
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let out = quorate(&d, &good).await;
    assert!(!out.status.success());
    let out = as_operator(&d, &good);
    assert!(out.status.success(), "{}", said(&out));
    for _ in 0..2 {
        let out = quorate(
            &d,
            &["sign", "--key-group", "release", "--message", &artifact],
        )
        .await;
        assert!(!out.status.success());
        assert!(
            said(&out).contains(
                "key group release is retired and takes no new ceremony: ask key group release-2"
            ),
            "{}",
            said(&out)
        );
        d.stop_coordinator().await.unwrap();
        d.start_coordinator().await.unwrap();
    }
    // The key group's history replays with its retirement.
    let mut auditor = d.clients(quorate::local::AUDITOR).await.unwrap();
    let history = quorate::audit::export_key_group(
        &mut auditor.audit,
        &KeyGroupName::new("release").unwrap(),
    )
    .await
    .unwrap();
    let path = dir.path().join("release.history");
    std::fs::write(&path, serde_json::to_vec(&history).unwrap()).unwrap();
    let log = quorate::audit::log_verifier(&d.log_verifier_key).unwrap();
    let replayed = quorate::audit::replay_history_file(&path, &log).unwrap();
    assert_eq!(
        replayed.retired,
        Some(Some(KeyGroupName::new("release-2").unwrap()))
    );
    assert_eq!(replayed.handed_over.as_deref(), Some("release-2"));
    d.stop().await.unwrap();
}

/// `quorate args` as `identity` (an operator or the auditor).
fn quorate_as(d: &LocalDeployment, identity: &str, args: &[&str]) -> std::process::Output {
    let files = d.tls_files(identity).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["--coordinator", &d.url(), "--identity", identity])
        .args(args)
        .env("QUORATE_TLS_CA", &files.ca)
        .env("QUORATE_TLS_CERT", &files.cert)
        .env("QUORATE_TLS_KEY", &files.key)
        .output()
        .unwrap()
}

/// A suspected compromise of the release group's key: the hand-over
/// statement says so, the coordinator takes the old group's ceremony over
/// it only under break-glass, which waits for the auditor's review; the
/// new group (DKG, real agents) cosigns as usual. A consumer who follows
/// the link trusts the new key and no longer the old one, whose
/// signatures it took before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_compromised_key_hands_over_under_break_glass_with_its_review() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::from_toml(
        "[emergency]\ndeclarers = [\"release-manager\"]\nreviewers = [\"auditor\"]\n",
    )
    .unwrap();
    let options = quorate::local::Options {
        policy,
        ..Default::default()
    };
    let mut d =
        LocalDeployment::start_with(dir.path(), "release", &sample_roster(None), 3, options)
            .await
            .unwrap();
    d.add_key_group("release-2", &seven(), 4, &Policy::default())
        .await
        .unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    // Something the old key signed before the compromise came to light.
    let artifact = p("SHA256SUMS");
    std::fs::write(&artifact, "abc  app-1.9.tar.gz\n").unwrap();
    let by_old = p("by-old.sig");
    signed_by(
        &d,
        "release",
        &artifact,
        &["alice", "carol", "erin"],
        &by_old,
    )
    .await;

    let statement = p("handover.statement");
    prepare(&d, "bob's and dave's laptops were stolen", true, &statement).await;
    // Under the normal rules the old group may not sign it.
    let out = quorate(
        &d,
        &["sign", "--key-group", "release", "--message", &statement],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        said(&out).contains("signs it only under break-glass"),
        "{}",
        said(&out)
    );
    // The new group cosigns under its own rules.
    let new_sig = p("new.sig");
    signed_by(&d, "release-2", &statement, &NEW_QUORUM, &new_sig).await;
    // Break-glass: signed, then waiting for its review.
    let out = quorate(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--message",
            &statement,
            "--break-glass",
            "--justification",
            "release key suspected compromised",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", said(&out));
    let id = support::text(&out.stdout).trim().to_string();
    let t = std::time::Duration::from_secs(60);
    for who in ["alice", "carol", "erin"] {
        d.approve(&ParticipantId::new(who).unwrap(), &id, t)
            .await
            .unwrap();
    }
    let status = d.wait_finished(&id, t).await.unwrap();
    assert_eq!(
        status.state(),
        quorate_wire::CeremonyState::AwaitingReview,
        "{status:?}"
    );
    let old_sig = p("old.sig");
    let out = quorate(&d, &["signature", &id, "-o", &old_sig]).await;
    assert!(out.status.success(), "{}", said(&out));
    let out = quorate_as(
        &d,
        quorate::local::AUDITOR,
        &[
            "review",
            &id,
            "--notes",
            "both laptops wiped; rotation confirmed by phone",
        ],
    );
    assert!(out.status.success(), "{}", said(&out));
    let out = quorate(&d, &["status", &id]).await;
    assert!(said(&out).contains("state:     signed"), "{}", said(&out));

    let link = p("handover.link");
    let out = link_file(&statement, &old_sig, &new_sig, &link);
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("release hands over to release-2 (the old key is withdrawn)"),
        "{}",
        said(&out)
    );
    let out = quorate_as(
        &d,
        quorate::local::OPERATOR,
        &["handover", "record", "--link", &link],
    );
    assert!(out.status.success(), "{}", said(&out));

    // The consumer trusted the old key, and its signature, until the link.
    let (policy, _) = trust_the_old_key(&d, dir.path()).await;
    let verify = |signature: &str, links: &[&str]| verify_raw(&policy, &artifact, signature, links);
    let by_new = p("by-new.sig");
    signed_by(&d, "release-2", &artifact, &NEW_QUORUM, &by_new).await;
    let out = verify(&by_old, &[]);
    assert!(out.status.success(), "{}", said(&out));
    let out = verify(&by_old, &[&link]);
    assert!(!out.status.success(), "the withdrawn key still verifies");
    assert!(
        said(&out).contains("no key group of the trust policy has"),
        "{}",
        said(&out)
    );
    let out = verify(&by_new, &[&link]);
    assert!(out.status.success(), "{}", said(&out));
    d.stop().await.unwrap();
}
