//! Rotation to a new group key, as a consumer follows it: the release
//! group (real agents) signs a hand-over statement to a new 4-of-7 group
//! through an ordinary ceremony, the new group cosigns it, `quorate
//! handover link` checks both, openssl verifies the statement under the
//! old key, and `quorate verify` with a trust policy on the old key
//! accepts a signature by the new key through the link, and refuses one
//! by a key outside the chain. Then the old group signs its retirement,
//! an operator records it, and the coordinator refuses its new ceremonies,
//! also after a restart; the group's history replays with it.
//!
//! The new group's 7 agents are not run here: its cosignature is made
//! with its dealt shares in this process (two FROST rounds, the same
//! math), since what is under test is the hand-over and the chain.

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
    // The new group: 4 of 7, registered with the coordinator.
    let new = quorate::keygen::deal(
        KeyGroupName::new("release-2").unwrap(),
        &seven(),
        4,
        Policy::default(),
    )
    .unwrap();
    d.clients(quorate::local::OPERATOR)
        .await
        .unwrap()
        .key_groups
        .register(quorate_wire::RegisterKeyGroupRequest {
            key_group: Some(quorate_wire::KeyGroup::from(&new.group)),
        })
        .await
        .unwrap();
    let new_public = new.group.public_key_package().unwrap();

    // The statement, then the old group's ceremony over it.
    let p = |name: &str| dir.path().join(name).display().to_string();
    let statement = p("handover.statement");
    let prepared = quorate(
        &d,
        &[
            "handover",
            "prepare",
            "--from",
            "release",
            "--to",
            "release-2",
            "--reason",
            "yearly rotation",
            "-o",
            &statement,
        ],
    )
    .await;
    assert!(prepared.status.success(), "{}", said(&prepared));
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
    // The new group cosigns.
    let bytes = std::fs::read(&statement).unwrap();
    let new_sig = p("new.sig");
    std::fs::write(&new_sig, frost_sign(&new.shares, &new_public, 4, &bytes)).unwrap();

    // openssl checks the statement under the old key.
    let old_pem = p("release.pub.pem");
    let out = quorate(&d, &["pubkey", "--key-group", "release", "-o", &old_pem]).await;
    assert!(out.status.success(), "{}", said(&out));
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
    let args = |old: &str, new: &str| {
        vec![
            "handover".to_string(),
            "link".into(),
            "--statement".into(),
            statement.clone(),
            "--old-signature".into(),
            old.into(),
            "--new-signature".into(),
            new.into(),
            "-o".into(),
            link.clone(),
        ]
    };
    let swapped: Vec<String> = args(&new_sig, &old_sig);
    let out = quorate_offline(&swapped.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(
        said(&out).contains("not signed by the old key"),
        "{}",
        said(&out)
    );
    let good = args(&old_sig, &new_sig);
    let out = quorate_offline(&good.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("release hands over to release-2"),
        "{}",
        said(&out)
    );

    // A consumer trusting only the old key.
    let policy = p("trust.toml");
    std::fs::write(
        &policy,
        format!(
            "[[key_group]]\nname = \"release\"\npublic_key = \"\"\"{}\"\"\"\nformats = [\"raw\"]\n",
            std::fs::read_to_string(&old_pem).unwrap()
        ),
    )
    .unwrap();
    let artifact = p("SHA256SUMS");
    std::fs::write(&artifact, "abc  app-2.0.tar.gz\n").unwrap();
    let by_new = p("by-new.sig");
    std::fs::write(
        &by_new,
        frost_sign(&new.shares, &new_public, 4, b"abc  app-2.0.tar.gz\n"),
    )
    .unwrap();
    let verify = |signature: &str, links: &[&str]| {
        let mut args = vec![
            "verify",
            "--policy",
            &policy,
            "--format",
            "raw",
            "--artifact",
            &artifact,
            "--signature",
            signature,
        ];
        for l in links {
            args.extend(["--handover", l]);
        }
        quorate_offline(&args)
    };
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
    let out = quorate_offline(&[
        "verify",
        "--policy",
        &updated,
        "--format",
        "raw",
        "--artifact",
        &artifact,
        "--signature",
        &by_new,
    ]);
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
    let as_operator = |d: &LocalDeployment, args: &[&str]| {
        let files = d.tls_files(quorate::local::OPERATOR).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(["--coordinator", &d.url()])
            .args(args)
            .env("QUORATE_TLS_CA", &files.ca)
            .env("QUORATE_TLS_CERT", &files.cert)
            .env("QUORATE_TLS_KEY", &files.key)
            .output()
            .unwrap()
    };
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
    let mut d = d;
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
