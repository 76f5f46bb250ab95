//! Key groups made by DKG among real agents over gRPC and mutual TLS: the
//! group signs what openssl verifies; a coordinator that keeps every byte
//! relayed to it cannot find a share in them; a participant with a bad
//! proof is named and the run ends cleanly, and a new run succeeds.

use std::process::Command;

use frost_ed25519::keys::dkg::round1;
use quorate::local::{LocalDeployment, OPERATOR, Options, sample_roster};
use quorate_ceremonies::key::history::KeyGroupHistory;
use quorate_e2e::*;
use quorate_formats::pem::ed25519_public_key_pem;
use quorate_participant::join::{Answer, Joined};
use quorate_secrets::IdentityKey;
use quorate_secrets::sealed::KdfParams;
use quorate_types::key_ceremony::{KeyMessage, KeyStep, SignedKeyMessage};
use quorate_types::{KeyCeremonyId, ParticipantId, Policy, Roster, RosterEntry};
use quorate_wire as proto;
use quorate_wire::client::Identify;
use quorate_wire::key_ceremonies_client::KeyCeremoniesClient;
use rand_core::OsRng;
use tonic::Code;

async fn deploy_dkg(dir: &std::path::Path) -> LocalDeployment {
    init_tracing();
    LocalDeployment::start_with(
        dir,
        "release",
        &sample_roster(None),
        3,
        Options {
            dkg: true,
            ..Options::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_made_by_dkg_signs_what_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy_dkg(dir.path()).await;
    // Registered by the key ceremony, not by an operator's upload.
    let entries = record_entries(&d).await;
    let by = entries.iter().find_map(|e| match e {
        quorate_ceremonies::Entry::KeyGroupRegistered { by, key_group, .. }
            if key_group.name.as_str() == "release" =>
        {
            Some(by.clone())
        }
        _ => None,
    });
    assert!(by.unwrap().starts_with("key ceremony key-"));
    // Each agent wrote the same group file, and its own sealed share.
    for id in d.agent_configs.keys() {
        let config = &d.agent_configs[id];
        let group: quorate_types::KeyGroupFile =
            serde_json::from_slice(&std::fs::read(&config.key_group).unwrap()).unwrap();
        assert_eq!(group, d.group);
        let share = key_package(&d, id.as_str());
        let sealed = std::fs::read_to_string(&config.key_share).unwrap();
        let secret = hex::encode(share.signing_share().serialize());
        assert!(
            !sealed.contains(&secret),
            "{id}'s share is not sealed at rest"
        );
    }

    let id = request(&d, MANIFEST).await;
    for who in ["bob", "dave", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);

    let key: [u8; 32] = hex::decode(&d.group.group_key).unwrap().try_into().unwrap();
    let pem = dir.path().join("group.pub.pem");
    std::fs::write(&pem, ed25519_public_key_pem(&key)).unwrap();
    std::fs::write(dir.path().join("SHA256SUMS"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("SHA256SUMS.sig"), &s.signature).unwrap();
    let out = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(&pem)
        .arg("-rawin")
        .arg("-in")
        .arg(dir.path().join("SHA256SUMS"))
        .arg("-sigfile")
        .arg(dir.path().join("SHA256SUMS.sig"))
        .output()
        .expect("the openssl binary is installed (see .ci/run)");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An auditor replays the key ceremony offline: every signed message,
    // proof and confirmation, and the group recomputed from the commitments.
    let before = key_ceremony(&d, None).await;
    let transcript = key_transcript(&d, &before.id).await;
    let replayed = replay_key(&d, &transcript).unwrap();
    assert_eq!(replayed.outcome, "registered");
    assert_eq!(
        replayed.group_key.as_deref(),
        Some(d.group.group_key.as_str())
    );
    assert_eq!((replayed.threshold, replayed.verifying_shares), (3, 5));
    assert_eq!(replayed.confirmed.len(), 5);
    // Without its registration, or with an event left out, it does not.
    let mut cut = transcript.clone();
    cut.entries.pop();
    let err = replay_key(&d, &cut).unwrap_err();
    assert!(err.why.contains("lacks the registration"), "{err}");
    let mut gap = transcript.clone();
    gap.entries.remove(3);
    assert!(replay_key(&d, &gap).is_err());
    let mut short = transcript.clone();
    short.entries.truncate(4);
    let err = replay_key(&d, &short).unwrap_err();
    assert!(err.why.contains("ends while the key ceremony is"), "{err}");

    // A restarted coordinator rebuilds the key ceremony from its record.
    let mut d = d;
    d.stop_coordinator().await.unwrap();
    d.start_coordinator().await.unwrap();
    let after = key_ceremony(&d, Some(&before.id)).await;
    assert_eq!(after.state(), proto::KeyCeremonyState::Registered);
    assert_eq!(
        (after.version, &after.joined, &after.confirmed),
        (before.version, &before.joined, &before.confirmed)
    );
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coordinator_keeping_every_relayed_byte_finds_no_share() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy_dkg(dir.path()).await;
    // Everything the coordinator was sent and kept (every record entry)
    // and every key message as a participant gets it.
    let mut seen: Vec<Vec<u8>> = raw_record(&d).await;
    let id = key_ceremony(&d, None).await.id;
    let as_alice = client_as(&d, "alice")
        .await
        .get(proto::GetKeyCeremonyRequest { id })
        .await
        .unwrap()
        .into_inner();
    assert!(!as_alice.messages.is_empty());
    seen.extend(as_alice.messages);
    assert!(
        seen.iter()
            .any(|m| m.windows(8).any(|w| w == b"\"round2\""))
    );

    // What a share would look like in them: a scalar whose multiple of the
    // base point is a verifying share, or the group key (the whole secret).
    let package = d.group.public_key_package().unwrap();
    let mut targets: Vec<[u8; 32]> = package
        .verifying_shares()
        .values()
        .map(|v| v.serialize().unwrap().try_into().unwrap())
        .collect();
    targets.push(
        package
            .verifying_key()
            .serialize()
            .unwrap()
            .try_into()
            .unwrap(),
    );

    // The search finds a share where there is one (the agent's own share
    // file's content, unsealed)...
    let share = key_package(&d, "alice");
    let control = [b"xx".to_vec(), share.serialize().unwrap()].concat();
    assert!(find_secret(&[control], &targets).is_some());
    // ...and the secret the shares make is a real one the search would see.
    let shares: Vec<_> = ["alice", "bob", "carol"]
        .iter()
        .map(|p| key_package(&d, p))
        .collect();
    let group_secret = frost_ed25519::keys::reconstruct(&shares).unwrap();
    assert!(find_secret(&[group_secret.serialize()], &targets).is_some());

    // In everything the coordinator kept, raw or hex-decoded, it finds none.
    assert_eq!(find_secret(&seen, &targets), None);
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_proof_is_named_the_run_ends_and_a_new_run_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let names = ["ann", "ben", "cat"];
    let (roster, configs) = new_agents(&d, &names);
    let mut operator = d.clients(OPERATOR).await.unwrap().key_ceremonies;
    let proposed =
        quorate::key_group::propose(&mut operator, "ops", 2, &roster, &Policy::default())
            .await
            .unwrap();
    let key_id = KeyCeremonyId::new(&proposed.id).unwrap();

    // ann's agent lists the proposal, as her approver reviews it.
    let listed = quorate_participant::join::pending_key_ceremonies(&configs[0])
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let (shown, summary) = &listed[0];
    assert_eq!(shown.ceremony, key_id);
    let text = shown.describe();
    assert!(text.contains("proposes key group ops"), "{text}");
    assert!(text.contains("threshold: 2 of 3"), "{text}");
    assert!(text.contains("cat"), "{text}");
    assert_eq!(summary, "0 of 3 joined");

    // ann and ben are honest agents.
    let honest: Vec<_> = configs[..2]
        .iter()
        .map(|c| tokio::spawn(join(c.clone(), key_id.clone())))
        .collect();

    // Both have joined before cat speaks.
    let deadline = tokio::time::Instant::now() + T;
    while key_ceremony(&d, Some(&proposed.id)).await.joined.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ann and ben did not join"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // cat signs a join whose proof of knowledge is not for its commitment.
    let cat = IdentityKey::load(
        &configs[2].identity_key,
        configs[2].passphrase.as_ref().unwrap(),
    )
    .unwrap();
    let (_, mine) = frost_ed25519::keys::dkg::part1(pid("cat").identifier(), 3, 2, OsRng).unwrap();
    let (_, other) = frost_ed25519::keys::dkg::part1(pid("cat").identifier(), 3, 2, OsRng).unwrap();
    let forged = round1::Package::new(mine.commitment().clone(), *other.proof_of_knowledge());
    let session = quorate_envelope::SessionKey::generate(&mut OsRng);
    let join_step = |round1: Vec<u8>| KeyStep::Join {
        proposal_sha256: roster_proposal_digest(&proposed),
        round1,
        encryption_key: session.public().to_vec(),
    };
    let mut as_cat = client_as(&d, "cat").await;

    // Nobody may post another's message, or a message of a ceremony whose
    // roster does not name them; neither changes anything.
    let by_cat_as_ann = signed(&key_id, "cat", join_step(mine.serialize().unwrap()), &cat);
    let mut as_ann = client_as(&d, "ann").await;
    let refused = as_ann
        .post(post(&key_id, &by_cat_as_ann))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let mut as_alice = client_as(&d, "alice").await;
    let refused = as_alice
        .post(post(&key_id, &by_cat_as_ann))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    let bad = signed(&key_id, "cat", join_step(forged.serialize().unwrap()), &cat);
    let status = as_cat.post(post(&key_id, &bad)).await.unwrap().into_inner();
    assert_eq!(status.state(), proto::KeyCeremonyState::Failed);
    assert_eq!(status.culprit, "cat");
    assert!(
        status.fault.contains("proof of knowledge"),
        "{}",
        status.fault
    );
    for joined in honest {
        let err = joined.await.unwrap().unwrap_err().to_string();
        assert!(err.contains("cat") && err.contains("proof"), "{err}");
    }
    // Nothing of it is registered, and no share is left on disk.
    let mut clients = d.clients(OPERATOR).await.unwrap();
    let missing = clients
        .key_groups
        .get(proto::GetKeyGroupRequest { name: "ops".into() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    for c in &configs {
        assert!(!c.key_share.exists() && !c.key_group.exists());
    }
    // The record names the culprit.
    let entries = record_entries(&d).await;
    assert!(entries.iter().any(|e| matches!(e,
        quorate_ceremonies::Entry::KeyCeremonyEvent { decisions, .. }
            if decisions.iter().any(|d| matches!(d,
                quorate_ceremonies::key::KeyDecision::Failed { culprit: Some(c), fault: quorate_ceremonies::key::KeyFault::BadProofOfKnowledge } if c.as_str() == "cat")))));

    // The failed run replays offline to the same verdict.
    let replayed = replay_key(&d, &key_transcript(&d, &proposed.id).await).unwrap();
    assert_eq!(replayed.outcome, "failed");
    assert!(replayed.failure.unwrap().starts_with("cat: "));
    assert_eq!(replayed.group_key, None);

    // The operator proposes again; this time everyone is honest.
    let again = quorate::key_group::propose(&mut operator, "ops", 2, &roster, &Policy::default())
        .await
        .unwrap();
    let again_id = KeyCeremonyId::new(&again.id).unwrap();
    let joins: Vec<_> = configs
        .iter()
        .map(|c| tokio::spawn(join(c.clone(), again_id.clone())))
        .collect();
    let group = quorate::key_group::follow(&mut operator, &again.id, |_| {})
        .await
        .unwrap();
    for j in joins {
        assert!(matches!(j.await.unwrap().unwrap(), Joined::Registered(g) if g == group));
    }
    assert_eq!(group.threshold, 2);
    d.stop().await.unwrap();
}

async fn key_transcript(
    d: &LocalDeployment,
    id: &str,
) -> quorate_ceremonies::key::transcript::KeyTranscript {
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    quorate::audit::export_key(&mut audit, &KeyCeremonyId::new(id).unwrap())
        .await
        .unwrap()
}

fn replay_key(
    d: &LocalDeployment,
    transcript: &quorate_ceremonies::key::transcript::KeyTranscript,
) -> Result<
    quorate_ceremonies::key::transcript::KeyReplayed,
    quorate_ceremonies::key::transcript::KeyReplayError,
> {
    let log = quorate_tlog::LogVerifier::parse(&d.log_verifier_key).unwrap();
    quorate_ceremonies::key::transcript::replay(transcript, &log)
}

async fn key_group_history(d: &LocalDeployment) -> KeyGroupHistory {
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    quorate::audit::export_key_group(&mut audit, &d.group.name)
        .await
        .unwrap()
}

fn replay_history(
    d: &LocalDeployment,
    history: &KeyGroupHistory,
) -> Result<
    quorate_ceremonies::key::history::HistoryReplayed,
    quorate_ceremonies::key::transcript::KeyReplayError,
> {
    let log = quorate_tlog::LogVerifier::parse(&d.log_verifier_key).unwrap();
    quorate_ceremonies::key::history::replay(history, &log)
}

fn entries_of(history: &KeyGroupHistory) -> Vec<quorate_ceremonies::Entry> {
    history
        .entries
        .iter()
        .map(|e| quorate_ceremonies::Entry::decode(e.entry.as_bytes()).unwrap())
        .collect()
}

/// `history` as whoever holds the coordinator's log key could rewrite it:
/// each entry changed (or dropped) by `change`, in a log of their own with
/// a checkpoint signed by that key.
fn forge(
    d: &LocalDeployment,
    history: &KeyGroupHistory,
    change: impl Fn(quorate_ceremonies::Entry) -> Option<quorate_ceremonies::Entry>,
) -> KeyGroupHistory {
    let log: Vec<Vec<u8>> = entries_of(history)
        .into_iter()
        .filter_map(change)
        .map(|e| e.encode())
        .collect();
    let mut tree = quorate_tlog::MemoryTree::new();
    for bytes in &log {
        tree.append(bytes);
    }
    let key = quorate_coordinator::log_key::load_or_create(
        &d.dir.join("coordinator"),
        &quorate_coordinator::config::default_origin(),
        1,
    )
    .unwrap();
    let checkpoint = key
        .sign_checkpoint(&quorate_tlog::Checkpoint {
            origin: quorate_coordinator::config::default_origin(),
            size: tree.size(),
            root: tree.root(),
        })
        .unwrap();
    KeyGroupHistory {
        checkpoint,
        entries: log
            .iter()
            .enumerate()
            .map(|(i, bytes)| quorate_ceremonies::replay::TranscriptEntry {
                index: i as u64,
                entry: String::from_utf8(bytes.clone()).unwrap(),
                proof: quorate_tlog::prove_inclusion(i as u64, tree.size(), &tree)
                    .unwrap()
                    .hashes,
            })
            .collect(),
        ..history.clone()
    }
}

/// New agents with fresh identity keys (no key group yet), in role ops,
/// and the roster that lists them.
fn new_agents(
    d: &LocalDeployment,
    names: &[&str],
) -> (Roster, Vec<quorate_participant::AgentConfig>) {
    let mut roster = Roster {
        participants: Vec::new(),
    };
    let mut configs = Vec::new();
    for name in names {
        let (config, identity) = d.new_agent(&pid(name)).unwrap();
        roster.participants.push(RosterEntry {
            id: pid(name),
            name: name.to_string(),
            role: "ops".into(),
            coordinator: None,
            identity: Some(identity),
        });
        configs.push(config);
    }
    (roster, configs)
}

async fn join(
    config: quorate_participant::AgentConfig,
    id: KeyCeremonyId,
) -> anyhow::Result<Joined> {
    quorate_participant::join::join(
        config,
        Some(id),
        &KdfParams::for_random_passphrase(),
        |_| Answer::Join,
    )
    .await
}

type KeyClient = KeyCeremoniesClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Identify>,
>;

async fn client_as(d: &LocalDeployment, id: &str) -> KeyClient {
    KeyCeremoniesClient::with_interceptor(channel_as(d, id).await, Identify::new(id).unwrap())
}

fn roster_proposal_digest(status: &proto::KeyCeremonyStatus) -> quorate_types::Sha256Digest {
    quorate_types::Sha256Digest::from_slice(&status.proposal_sha256).unwrap()
}

fn signed(id: &KeyCeremonyId, who: &str, step: KeyStep, key: &IdentityKey) -> SignedKeyMessage {
    KeyMessage {
        ceremony: id.clone(),
        participant: ParticipantId::new(who).unwrap(),
        step,
    }
    .sign(key)
}

fn post(id: &KeyCeremonyId, message: &SignedKeyMessage) -> proto::PostKeyMessagesRequest {
    proto::PostKeyMessagesRequest {
        ceremony: id.to_string(),
        messages: vec![message.to_bytes()],
    }
}

/// The deployment's key ceremony (`id`, or the only one), as its operator
/// reads it: every message.
async fn key_ceremony(d: &LocalDeployment, id: Option<&str>) -> proto::KeyCeremonyStatus {
    let id = match id {
        Some(id) => id.to_string(),
        None => record_entries(d)
            .await
            .into_iter()
            .find_map(|e| match e {
                quorate_ceremonies::Entry::KeyCeremonyProposed { ceremony, .. } => {
                    Some(ceremony.to_string())
                }
                _ => None,
            })
            .unwrap(),
    };
    d.clients(OPERATOR)
        .await
        .unwrap()
        .key_ceremonies
        .get(proto::GetKeyCeremonyRequest { id })
        .await
        .unwrap()
        .into_inner()
}

/// The first 32-byte window of `seen` (raw, or decoded from any run of hex
/// digits) that is a scalar whose multiple of the base point is one of
/// `targets`: a signing share or the group's secret.
fn find_secret(seen: &[Vec<u8>], targets: &[[u8; 32]]) -> Option<Vec<u8>> {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    let mut buffers: Vec<Vec<u8>> = seen.to_vec();
    for bytes in seen {
        for run in bytes.split(|b| !b.is_ascii_hexdigit()) {
            let even = &run[..run.len() / 2 * 2];
            for start in [0, 1] {
                if let Some(slice) = even.get(start..)
                    && let Ok(decoded) = hex::decode(&slice[..slice.len() / 2 * 2])
                {
                    buffers.push(decoded);
                }
            }
        }
    }
    for buffer in &buffers {
        for window in buffer.windows(32) {
            let bytes: [u8; 32] = window.try_into().unwrap();
            let Some(scalar) = Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes)) else {
                continue;
            };
            let point = EdwardsPoint::mul_base(&scalar).compress().to_bytes();
            if targets.contains(&point) {
                return Some(window.to_vec());
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_removing_bob_keeps_the_key_and_leaves_his_share_useless() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy_dkg(dir.path()).await;
    let group_key = d.group.group_key.clone();
    let before = d.group.public_key_package().unwrap();
    let bob_old = key_package(&d, "bob");

    let key_id = d.refresh(&[pid("bob")]).await.unwrap();
    assert_eq!(d.group.group_key, group_key);
    assert!(d.group.roster.get(&pid("bob")).is_none());
    assert_eq!(d.group.roster.len(), 4);
    for p in ["alice", "carol", "dave", "erin"] {
        let config = &d.agent_configs[&pid(p)];
        let group: quorate_types::KeyGroupFile =
            serde_json::from_slice(&std::fs::read(&config.key_group).unwrap()).unwrap();
        assert_eq!(group, d.group, "{p}'s group file");
    }

    // The new shares sign under the same group key.
    let id = request(&d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);
    // bob is no participant any more: the coordinator refuses him.
    let refused = raw_signer(&d, "bob")
        .await
        .approve(proto::ApproveRequest {
            ceremony: id.clone(),
            statement: approval(&d, "bob", &id),
            commitments: Vec::new(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused.code(),
            Code::Unauthenticated | Code::PermissionDenied
        ),
        "{refused:?}"
    );
    // bob's old share with two new ones makes neither the group secret nor
    // a signature under the group key.
    let mixed = [key_package(&d, "alice"), key_package(&d, "carol"), bob_old];
    let secret = frost_ed25519::keys::reconstruct(&mixed).unwrap();
    assert_ne!(
        frost_ed25519::VerifyingKey::from(&secret),
        *before.verifying_key()
    );
    assert!(frost_sign(&mixed, &before, MANIFEST.as_bytes()).is_err());

    // The refresh and the ceremony after it replay offline.
    let replayed = replay_key(&d, &key_transcript(&d, key_id.as_str()).await).unwrap();
    assert_eq!(replayed.outcome, "registered");
    assert_eq!(replayed.group_key.as_deref(), Some(group_key.as_str()));
    assert_eq!(replayed.verifying_shares, 4);
    let mut audit = d.clients(quorate::local::AUDITOR).await.unwrap().audit;
    let transcript =
        quorate::audit::export(&mut audit, &quorate_types::CeremonyId::new(&id).unwrap())
            .await
            .unwrap();
    let log = quorate_tlog::LogVerifier::parse(&d.log_verifier_key).unwrap();
    let report = quorate_ceremonies::replay::replay(&transcript, &log);
    assert!(report.first_finding().is_none(), "{report}");

    // A restarted coordinator serves the refreshed group.
    d.stop_coordinator().await.unwrap();
    d.start_coordinator().await.unwrap();
    let served = d
        .clients(OPERATOR)
        .await
        .unwrap()
        .key_groups
        .get(proto::GetKeyGroupRequest {
            name: "release".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(served.roster.len(), 4);
    assert_eq!(
        quorate_types::KeyGroupFile::try_from(&served)
            .unwrap()
            .group_key,
        group_key
    );
    d.stop().await.unwrap();
}

/// A FROST signature by these key packages, aggregated under `package`.
fn frost_sign(
    signers: &[frost_ed25519::keys::KeyPackage],
    package: &frost_ed25519::keys::PublicKeyPackage,
    message: &[u8],
) -> Result<frost_ed25519::Signature, frost_ed25519::Error> {
    let mut nonces = std::collections::BTreeMap::new();
    let mut commitments = std::collections::BTreeMap::new();
    for kp in signers {
        let (n, c) = frost_ed25519::round1::commit(kp.signing_share(), &mut OsRng);
        nonces.insert(*kp.identifier(), n);
        commitments.insert(*kp.identifier(), c);
    }
    let signing = frost_ed25519::SigningPackage::new(commitments, message);
    let mut shares = std::collections::BTreeMap::new();
    for kp in signers {
        shares.insert(
            *kp.identifier(),
            frost_ed25519::round2::sign(&signing, &nonces[kp.identifier()], kp)?,
        );
    }
    frost_ed25519::aggregate(&signing, &shares, package)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_share_is_repaired_and_a_new_participant_enrolled_and_both_sign() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy_dkg(dir.path()).await;
    let group_key = d.group.group_key.clone();
    let lost = key_package(&d, "bob");

    // bob's share is lost; alice, carol and dave rebuild it.
    let helpers = [pid("alice"), pid("carol"), pid("dave")];
    let repair = d.repair(&pid("bob"), &helpers).await.unwrap();
    assert_eq!(key_package(&d, "bob").signing_share(), lost.signing_share());
    assert_eq!(d.group.group_key, group_key);
    let id = request(&d, MANIFEST).await;
    for who in ["bob", "erin", "alice"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    verify(&d, &d.wait_finished(&id, T).await.unwrap());

    // frank joins the group under the same key; carol, dave and erin
    // make his share.
    let helpers = [pid("carol"), pid("dave"), pid("erin")];
    let enrol = d.enrol(&pid("frank"), "release", &helpers).await.unwrap();
    assert_eq!(d.group.group_key, group_key);
    assert_eq!((d.group.threshold, d.group.roster.len()), (3, 6));
    let frank = key_package(&d, "frank");
    let package = d.group.public_key_package().unwrap();
    assert_eq!(
        package.verifying_shares().get(frank.identifier()),
        Some(frank.verifying_share())
    );
    let id = request(&d, MANIFEST).await;
    for who in ["frank", "bob", "dave"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);
    assert!(s.approvals.iter().any(|a| a.participant == "frank"));

    // The group's history replays: its DKG, the repair and the
    // enrolment, each change as its key ceremony made it.
    let history = key_group_history(&d).await;
    let replayed = replay_history(&d, &history).unwrap();
    assert_eq!(replayed.version, 2);
    assert!(replayed.changes_checked);
    assert!(
        replayed.registered_by.starts_with("key ceremony "),
        "{replayed:?}"
    );
    assert!(replayed.identity_changes.is_empty());
    // Rewritten by the log key's holder but unchanged, it replays: what is
    // refused below is refused for what was changed.
    replay_history(&d, &forge(&d, &history, Some)).unwrap();
    let carried: std::collections::BTreeSet<String> = entries_of(&history)
        .iter()
        .filter_map(|e| match e {
            quorate_ceremonies::Entry::KeyCeremonyProposed { ceremony, .. } => {
                Some(ceremony.to_string())
            }
            _ => None,
        })
        .collect();
    assert!(carried.contains(repair.as_str()) && carried.contains(enrol.as_str()));
    assert_eq!(carried.len(), 3, "the DKG, the repair and the enrolment");
    // Whoever holds the log key cannot swap frank's identity key in the
    // enrolment's registration and sign a checkpoint over it...
    let forged = forge(&d, &history, |e| match e {
        quorate_ceremonies::Entry::KeyGroupChanged {
            at,
            by,
            version,
            mut key_group,
        } => {
            for p in &mut key_group.roster.participants {
                if p.id.as_str() == "frank" {
                    let theirs = IdentityKey::generate(pid("frank"), &mut OsRng);
                    p.identity = Some(theirs.public());
                }
            }
            Some(quorate_ceremonies::Entry::KeyGroupChanged {
                at,
                by,
                version,
                key_group,
            })
        }
        e => Some(e),
    });
    let err = replay_history(&d, &forged).unwrap_err();
    assert!(
        err.why.contains("not the one its participants computed"),
        "{err}"
    );
    // ...nor leave out the key ceremony that made a change.
    let without = forge(&d, &history, |e| match &e {
        quorate_ceremonies::Entry::KeyCeremonyProposed { ceremony, .. }
        | quorate_ceremonies::Entry::KeyCeremonyEvent { ceremony, .. }
            if ceremony.as_str() == enrol.as_str() =>
        {
            None
        }
        _ => Some(e),
    });
    let err = replay_history(&d, &without).unwrap_err();
    assert!(err.why.contains("holds no such key ceremony"), "{err}");
    // Nor pass the DKG's registration off as an operator's: the history
    // says who registered the group, and its DKG's entries come first.
    let relabelled = forge(&d, &history, |e| match e {
        quorate_ceremonies::Entry::KeyGroupRegistered { at, key_group, .. } => {
            Some(quorate_ceremonies::Entry::KeyGroupRegistered {
                at,
                by: "operator".into(),
                key_group,
            })
        }
        e => Some(e),
    });
    let err = replay_history(&d, &relabelled).unwrap_err();
    assert!(err.why.contains("registered or changed nothing"), "{err}");
    // With the DKG's entries dropped too, it replays, but says the group
    // was registered by an operator and taken as recorded.
    let dkg = replayed.registered_by.clone();
    let dealt = forge(&d, &relabelled, |e| match &e {
        quorate_ceremonies::Entry::KeyCeremonyProposed { ceremony, .. }
        | quorate_ceremonies::Entry::KeyCeremonyEvent { ceremony, .. }
            if format!("key ceremony {ceremony}") == dkg =>
        {
            None
        }
        _ => Some(e),
    });
    assert_eq!(
        replay_history(&d, &dealt).unwrap().registered_by,
        "operator"
    );

    // Both replay offline; the repair's record holds only sealed pieces.
    for key in [&repair, &enrol] {
        let transcript = key_transcript(&d, key.as_str()).await;
        let replayed = replay_key(&d, &transcript).unwrap();
        assert_eq!(replayed.outcome, "registered");
        assert_eq!(replayed.group_key.as_deref(), Some(group_key.as_str()));
        let seen: Vec<Vec<u8>> = transcript
            .entries
            .iter()
            .map(|e| e.entry.clone().into_bytes())
            .collect();
        let shares: Vec<[u8; 32]> = package
            .verifying_shares()
            .values()
            .map(|v| v.serialize().unwrap().try_into().unwrap())
            .collect();
        assert_eq!(find_secret(&seen, &shares), None);
    }
    d.stop().await.unwrap();
}

/// A participant that never joins does not stall the key group for ever:
/// at the policy's approval deadline the ceremony fails, naming whom it
/// waited for, and the others' agents stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_participant_times_the_ceremony_out_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let (roster, configs) = new_agents(&d, &["ann", "ben", "cat"]);
    let policy = Policy::from_toml("[deadlines]\napproval = \"1s\"\n").unwrap();
    let mut operator = d.clients(OPERATOR).await.unwrap().key_ceremonies;
    let proposed = quorate::key_group::propose(&mut operator, "ops", 2, &roster, &policy)
        .await
        .unwrap();
    let key_id = KeyCeremonyId::new(&proposed.id).unwrap();
    let honest: Vec<_> = configs[..2]
        .iter()
        .map(|c| tokio::spawn(join(c.clone(), key_id.clone())))
        .collect();
    let failed = quorate::key_group::follow(&mut operator, &proposed.id, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        failed.contains("deadline passed waiting for cat"),
        "{failed}"
    );
    for joined in honest {
        let err = joined.await.unwrap().unwrap_err().to_string();
        assert!(err.contains("waiting for cat"), "{err}");
    }
    let replayed = replay_key(&d, &key_transcript(&d, key_id.as_str()).await).unwrap();
    assert_eq!(replayed.outcome, "failed");
    d.stop().await.unwrap();
}
