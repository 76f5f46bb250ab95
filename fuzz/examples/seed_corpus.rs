//! Writes the seed corpus of every target into `fuzz/corpus/<target>/`
//! (files named by their content's SHA-256, so running it again adds
//! nothing twice): the frozen record vectors, and inputs that pass every
//! check of their target, made with the targets' fixed keys.
//!
//! `cargo run -p quorate-fuzz --example seed_corpus`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use frost_ed25519 as frost;
use prost::Message as _;
use quorate_ceremonies::Entry;
use quorate_ceremonies::replay::Transcript;
use quorate_formats::sshsig::Namespace;
use quorate_fuzz::{fixed, join};
use quorate_tlog::{Checkpoint, MemoryTree, Receipt, add_cosignatures, prove_consistency};
use quorate_types::{KeyGroupFile, KeyGroupName, ParticipantId, Policy, Roster, RosterEntry};
use quorate_wire as proto;
use rand_core::OsRng;
use sha2::Digest as _;

type Seeds = BTreeMap<&'static str, Vec<Vec<u8>>>;
type Error = Box<dyn std::error::Error>;
/// A frozen transcript's file bytes, and the transcript.
type Frozen = (Vec<u8>, Transcript);

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = Seeds::new();
    let transcripts = frozen_transcripts(&root.join("../ceremonies/tests/vectors/v1"))?;
    record(&mut seeds, &transcripts);
    tlog(&mut seeds, &transcripts)?;
    formats(&mut seeds)?;
    let group = frost_group()?;
    frost_packages(&mut seeds, &group)?;
    wire(&mut seeds, &group, &transcripts)?;
    sealed(&mut seeds)?;
    signed(&mut seeds, &transcripts);
    engine(&mut seeds)?;
    for target in quorate_fuzz::TARGETS {
        let dir = root.join("corpus").join(target.name);
        std::fs::create_dir_all(&dir)?;
        let inputs = seeds.remove(target.name).unwrap_or_default();
        if inputs.is_empty() {
            return Err(format!("no seeds for target {}", target.name).into());
        }
        for input in inputs {
            (target.run)(&input);
            let name = hex::encode(sha2::Sha256::digest(&input));
            std::fs::write(dir.join(name), &input)?;
        }
    }
    if let Some(name) = seeds.keys().next() {
        return Err(format!("seeds for {name}, which is no target").into());
    }
    Ok(())
}

/// The frozen transcripts, with their file bytes.
fn frozen_transcripts(dir: &Path) -> Result<Vec<Frozen>, Error> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".transcript.json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p)?;
            let transcript = serde_json::from_slice(&bytes)?;
            Ok((bytes, transcript))
        })
        .collect()
}

fn entries(t: &Transcript) -> Vec<&[u8]> {
    t.entries.iter().map(|e| e.entry.as_bytes()).collect()
}

/// alice's statement in `t`, if she made one.
fn alices_statement(t: &Transcript) -> Option<Vec<u8>> {
    t.entries.iter().find_map(|e| {
        let (_, s) = Entry::statement_in(e.entry.as_bytes())?;
        (s.statement.participant.as_str() == "alice").then(|| s.to_bytes())
    })
}

fn record(seeds: &mut Seeds, transcripts: &[Frozen]) {
    for (bytes, t) in transcripts {
        let list = entries(t);
        for entry in &list {
            seeds.entry("entry").or_default().push(entry.to_vec());
        }
        seeds.entry("transcript").or_default().push(bytes.clone());
        seeds.entry("replay_entries").or_default().push(join(&list));
        if let Some(ours) = alices_statement(t) {
            let mut pieces = vec![ours.as_slice()];
            pieces.extend(&list);
            seeds
                .entry("statement_lookup")
                .or_default()
                .push(join(&pieces));
        }
    }
}

fn tlog(seeds: &mut Seeds, transcripts: &[Frozen]) -> Result<(), Error> {
    let log = fixed::log_key();
    let witness = fixed::witness_key();
    let notes = seeds.entry("note").or_default();
    for (_, t) in transcripts.iter().take(3) {
        notes.push(t.checkpoint.clone().into_bytes());
    }
    let mut tree = MemoryTree::new();
    for i in 0..7u64 {
        tree.append(&i.to_le_bytes());
    }
    let checkpoint = Checkpoint {
        origin: fixed::LOG_ORIGIN.into(),
        size: tree.size(),
        root: tree.root(),
    };
    let note = log.sign_checkpoint(&checkpoint)?;
    let cosigned = add_cosignatures(&note, &[witness.cosign(&checkpoint, 1_800_000_000)?])?;
    let receipt =
        Receipt::for_statement(fixed::LOG_ORIGIN, "release-1.0.0", b"{}", 1_800_000_000_000);
    notes.extend([
        note.clone().into_bytes(),
        cosigned.clone().into_bytes(),
        log.sign_receipt(&receipt)?.into_bytes(),
        checkpoint.body().into_bytes(),
        log.verifier_key().into_bytes(),
        witness.verifier_key().into_bytes(),
    ]);
    let proof = prove_consistency(3, 7, &tree)?;
    let lines: Vec<String> = proof
        .hashes
        .iter()
        .map(|h| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, h.0))
        .collect();
    seeds.entry("witness_request").or_default().extend([
        format!("old 0\n\n{note}").into_bytes(),
        format!("old 3\n{}\n\n{cosigned}", lines.join("\n")).into_bytes(),
    ]);
    let mut proof_input = vec![6, 2, 3, 17];
    proof_input.extend(2u64.to_le_bytes());
    proof_input.extend(7u64.to_le_bytes());
    proof_input.extend(tree.root().0);
    seeds
        .entry("proof")
        .or_default()
        .extend([proof_input, vec![0, 0, 0], vec![63, 40, 12, 255]]);
    Ok(())
}

fn formats(seeds: &mut Seeds) -> Result<(), Error> {
    use quorate_formats::{dsse, git_tag, minisign, sshsig};
    let key = fixed::signer_public();
    let artifact = b"abc  app.tar.gz\n".as_slice();
    let pair = |signature: &[u8]| join(&[artifact, signature]);
    // Each seed passes every check of its format, so that the fuzzer
    // starts from the deepest path.
    let policy = fixed::trust_policy();
    let passes = |what: &str, outcome: Result<_, quorate_formats::trust::Failure>| {
        outcome
            .map(|_| ())
            .map_err(|f| format!("the {what} seed does not verify: {f}"))
    };
    let raw = fixed::sign(artifact);
    passes(
        "raw",
        quorate_formats::raw::verify(&policy, fixed::ARTIFACT, artifact, &raw),
    )?;
    seeds.entry("verify_raw").or_default().push(pair(&raw));

    let namespace = Namespace::new(sshsig::DEFAULT_NAMESPACE)?;
    let digest: [u8; 64] = sha2::Sha512::digest(artifact).into();
    let signature = fixed::sign(&sshsig::signed_data(&namespace, &digest));
    let armored = sshsig::armor(&key, &namespace, &signature)?;
    passes(
        "sshsig",
        sshsig::verify(&policy, fixed::ARTIFACT, &digest, &armored),
    )?;
    seeds
        .entry("verify_sshsig")
        .or_default()
        .push(pair(armored.as_bytes()));

    let prehash = minisign::blake2b512(artifact);
    let mut file = minisign::SignatureFile {
        untrusted_comment: "signature from quorate".into(),
        key_id: minisign::key_id(&key),
        signature: fixed::sign(&prehash),
        trusted_comment: minisign::default_trusted_comment(1_800_000_000, fixed::ARTIFACT),
        global_signature: [0; 64],
    };
    file.global_signature = fixed::sign(&file.global_message());
    passes(
        "minisign",
        minisign::verify(&policy, fixed::ARTIFACT, &prehash, &file.write()),
    )?;
    seeds
        .entry("verify_minisign")
        .or_default()
        .push(pair(file.write().as_bytes()));

    let sha256: [u8; 32] = sha2::Sha256::digest(artifact).into();
    let statement = dsse::InTotoStatement::new(
        vec![dsse::Subject {
            name: fixed::ARTIFACT.into(),
            sha256,
        }],
        None,
        None,
    )?;
    let pae = dsse::pae(dsse::PAYLOAD_TYPE, &statement.to_json());
    let envelope = dsse::Envelope::from_pae(&pae, &key, &fixed::sign(&pae))?;
    let artifacts = [(fixed::ARTIFACT.to_string(), sha256)];
    passes(
        "dsse",
        dsse::verify(&policy, &artifacts, envelope.to_json().as_bytes()),
    )?;
    seeds
        .entry("verify_dsse")
        .or_default()
        .push(pair(envelope.to_json().as_bytes()));

    let tag = git_tag::TagObject::new(
        &"a".repeat(40),
        "commit",
        "v1.0",
        "Release Bot <releases@example.com> 1800000000 +0000",
        "Release 1.0\n",
    )?;
    let signed = tag.signed(&key, &fixed::sign(&tag.signed_data()))?;
    passes(
        "git-tag",
        git_tag::verify(&policy, "v1.0", signed.as_bytes()),
    )?;
    seeds
        .entry("verify_git_tag")
        .or_default()
        .push(signed.into_bytes());

    let pem = quorate_formats::pem::ed25519_public_key_pem(&key);
    let policy = format!(
        "[[key_group]]\nname = \"release\"\npublic_key = \"\"\"{pem}\"\"\"\nformats = [\"raw\", \"sshsig\"]\nartifacts = [\"app-*.tar.gz\"]\n"
    );
    let link = hand_over_link(&key)?;
    seeds.entry("trust_policy").or_default().extend([
        policy.clone().into_bytes(),
        join(&[policy.as_bytes(), link.as_bytes()]),
    ]);
    Ok(())
}

/// A link from the trusted key to the key of seed 8, signed by both.
fn hand_over_link(old: &[u8; 32]) -> Result<String, Error> {
    use ed25519_dalek::Signer as _;
    let new = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
    let statement = quorate_types::handover::HandOver {
        old_key_group: "release".into(),
        old_key: *old,
        new_key_group: "release-2".into(),
        new_key: new.verifying_key().to_bytes(),
        new_threshold: 4,
        new_roster_sha256: "00".repeat(32),
        new_policy_sha256: "11".repeat(32),
        at_unix_ms: 1_800_000_000_000,
        compromised: false,
        reason: "rotation".into(),
    }
    .to_bytes();
    let link = quorate_types::handover::Link {
        statement: String::from_utf8(statement.clone())?,
        old_signature: fixed::sign(&statement),
        new_signature: new.sign(&statement).to_bytes(),
    };
    Ok(serde_json::to_string(&link)?)
}

/// A 2-of-3 group's dealt shares and its registered file.
struct Group {
    shares: BTreeMap<frost::Identifier, frost::keys::SecretShare>,
    public: frost::keys::PublicKeyPackage,
    file: KeyGroupFile,
}

fn frost_group() -> Result<Group, Error> {
    let roster = Roster {
        participants: ["alice", "bob", "carol"]
            .iter()
            .map(|id| {
                Ok(RosterEntry {
                    id: ParticipantId::new(*id)?,
                    name: id.to_string(),
                    role: "engineering".into(),
                    coordinator: None,
                    identity: None,
                })
            })
            .collect::<Result<_, Error>>()?,
    };
    let ids: Vec<frost::Identifier> = roster.ids().map(|p| p.identifier()).collect();
    let (shares, public) =
        frost::keys::generate_with_dealer(3, 2, frost::keys::IdentifierList::Custom(&ids), OsRng)?;
    let file = KeyGroupFile::new(
        KeyGroupName::new("release")?,
        2,
        &public,
        roster,
        Policy::default(),
    )?;
    Ok(Group {
        shares,
        public,
        file,
    })
}

fn frost_packages(seeds: &mut Seeds, group: &Group) -> Result<(), Error> {
    let keys: Vec<frost::keys::KeyPackage> = group
        .shares
        .values()
        .take(2)
        .map(|s| frost::keys::KeyPackage::try_from(s.clone()))
        .collect::<Result<_, _>>()?;
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for key in &keys {
        let (n, c) = frost::round1::commit(key.signing_share(), &mut OsRng);
        nonces.insert(*key.identifier(), n);
        commitments.insert(*key.identifier(), c);
    }
    let package = frost::SigningPackage::new(commitments.clone(), b"abc  app.tar.gz\n");
    let share = frost::round2::sign(&package, &nonces[keys[0].identifier()], &keys[0])?;
    let (_, round1) = frost::keys::dkg::part1(keys[0].identifier().to_owned(), 3, 2, OsRng)?;
    let (secret2, round1_b) = frost::keys::dkg::part1(*keys[1].identifier(), 3, 2, OsRng)?;
    let third = group.shares.keys().nth(2).copied().ok_or("a third share")?;
    let (_, round1_c) = frost::keys::dkg::part1(third, 3, 2, OsRng)?;
    let received = BTreeMap::from([(*keys[0].identifier(), round1), (third, round1_c)]);
    let (_, round2) = frost::keys::dkg::part2(secret2, &received)?;
    let tagged = |kind: u8, bytes: Vec<u8>| {
        let mut input = vec![kind];
        input.extend(bytes);
        input
    };
    let list = seeds.entry("frost_packages").or_default();
    list.push(tagged(0, commitments[keys[0].identifier()].serialize()?));
    list.push(tagged(1, share.serialize()));
    list.push(tagged(2, package.serialize()?));
    list.push(tagged(3, round1_b.serialize()?));
    if let Some(p) = round2.values().next() {
        list.push(tagged(4, p.serialize()?));
    }
    list.push(tagged(5, group.public.serialize()?));
    Ok(())
}

fn wire(seeds: &mut Seeds, group: &Group, transcripts: &[Frozen]) -> Result<(), Error> {
    let tagged = |kind: u8, bytes: Vec<u8>| {
        let mut input = vec![kind];
        input.extend(bytes);
        input
    };
    let list = seeds.entry("proto").or_default();
    let key_group = proto::KeyGroup::from(&group.file);
    list.push(tagged(0, key_group.encode_to_vec()));
    list.push(tagged(
        1,
        proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message: b"abc  app.tar.gz\n".to_vec(),
            label: "SHA256SUMS".into(),
            follow_ups: vec![proto::FollowUp {
                rule: Some(proto::follow_up::Rule::SignatureThen(
                    b"trusted comment".to_vec(),
                )),
            }],
            request_id: "r-1".into(),
            ..Default::default()
        }
        .encode_to_vec(),
    ));
    let message = b"abc  app.tar.gz\n".to_vec();
    let status = proto::CeremonyStatus {
        id: "release-1.0.0".into(),
        key_group: "release".into(),
        message_sha256: sha2::Sha256::digest(&message).to_vec(),
        message,
        requester: "release-manager".into(),
        ..Default::default()
    };
    list.push(tagged(2, status.encode_to_vec()));
    list.push(tagged(
        3,
        proto::Work {
            ceremony: Some(status),
            commitments_wanted: true,
            signing_package: Vec::new(),
        }
        .encode_to_vec(),
    ));
    list.push(tagged(
        4,
        proto::ChangeRosterRequest {
            name: "release".into(),
            roster: key_group.roster.clone(),
        }
        .encode_to_vec(),
    ));
    if let Some(ours) = transcripts.iter().find_map(|(_, t)| alices_statement(t)) {
        list.push(tagged(
            5,
            proto::ApproveRequest {
                ceremony: "release-1.0.0".into(),
                statement: ours,
                commitments: Vec::new(),
            }
            .encode_to_vec(),
        ));
    }
    list.push(tagged(
        6,
        proto::PostKeyMessagesRequest {
            ceremony: "key-1".into(),
            messages: vec![b"{}".to_vec()],
        }
        .encode_to_vec(),
    ));
    // The evidence for alice's statement in a frozen transcript.
    for (_, t) in transcripts {
        let Some(at) = t.entries.iter().position(|e| {
            Entry::statement_in(e.entry.as_bytes())
                .is_some_and(|(_, s)| s.statement.participant.as_str() == "alice")
        }) else {
            continue;
        };
        let reply = proto::StatementEvidenceReply {
            note: t.checkpoint.clone(),
            consistency: Vec::new(),
            entries: t
                .entries
                .iter()
                .map(|e| proto::LogEntry {
                    index: e.index,
                    entry: e.entry.clone().into_bytes(),
                })
                .collect(),
            inclusion: t.entries[at].proof.iter().map(|h| h.0.to_vec()).collect(),
            entry_proofs: Vec::new(),
            ..Default::default()
        };
        list.push(tagged(7, reply.encode_to_vec()));
        break;
    }
    Ok(())
}

fn sealed(seeds: &mut Seeds) -> Result<(), Error> {
    use quorate_secrets::sealed::{KdfParams, SecretKind, save};
    let dir = tempfile::tempdir()?;
    let passphrase = quorate_secrets::Passphrase::new(zeroize::Zeroizing::new(
        fixed::SEALED_PASSPHRASE.to_string(),
    ));
    let params = KdfParams {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };
    for (i, kind) in [
        SecretKind::KeyShare,
        SecretKind::IdentityKey,
        SecretKind::WitnessKey,
        SecretKind::SharePiece,
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.path().join(i.to_string());
        save(
            &path,
            kind,
            &ParticipantId::new("alice")?,
            b"{\"secret\":1}",
            &passphrase,
            &params,
        )?;
        seeds
            .entry("sealed_file")
            .or_default()
            .push(std::fs::read(&path)?);
    }
    Ok(())
}

fn signed(seeds: &mut Seeds, transcripts: &[Frozen]) {
    let list = seeds.entry("signed_statements").or_default();
    if let Some(ours) = transcripts.iter().find_map(|(_, t)| alices_statement(t)) {
        list.push(ours);
    }
    if let Ok(link) = hand_over_link(&fixed::signer_public()) {
        if let Ok(l) = quorate_types::handover::Link::from_json(&link) {
            list.push(l.statement.clone().into_bytes());
        }
        list.push(link.into_bytes());
    }
    if let (Ok(requester), Ok(request_id), Ok(key_group)) = (
        ParticipantId::new("release-manager"),
        quorate_types::RequestId::new("r-1"),
        KeyGroupName::new("release"),
    ) {
        let key = quorate_secrets::IdentityKey::generate(requester, &mut OsRng);
        let request = quorate_types::RequestStatement {
            key_group,
            requester: "release-manager".into(),
            request_id,
            label: "SHA256SUMS".into(),
            message_sha256: quorate_types::Sha256Digest::of(b"abc  app.tar.gz\n"),
            break_glass: None,
            context_sha256: None,
            follow_ups: Vec::new(),
            at_unix_ms: 1_800_000_000_000,
        };
        list.push(request.sign(&key).to_bytes());
    }
    if let Ok(name) = KeyGroupName::new("release") {
        let retirement = quorate_types::retirement::Retirement {
            key_group: name,
            group_key: hex::encode(fixed::signer_public()),
            successor: None,
            at_unix_ms: 1_800_000_000_000,
            reason: "rotated".into(),
        };
        list.push(retirement.to_bytes());
    }
}

/// Event sequences that reach every ending (see the engine target for how
/// bytes are read), each checked to end as it should.
fn engine(seeds: &mut Seeds) -> Result<(), Error> {
    use quorate_ceremonies::State;
    use quorate_fuzz::targets::engine::run;
    let cases: [(&[u8], State); 7] = [
        // alice, carol and erin approve, then send their shares.
        (&[0, 1, 0, 0, 0, 2, 0, 4, 3, 0, 3, 2, 3, 4], State::Signed),
        // Under a security veto, dave rejects.
        (&[1, 2, 0, 0, 0, 2, 1, 3], State::Rejected),
        // Break-glass: three approve and sign; then the auditor's review.
        (
            &[0x80, 3, 0, 0, 0, 2, 0, 4, 3, 0, 3, 2, 3, 4],
            State::AwaitingReview,
        ),
        (
            &[0x80, 3, 0, 0, 0, 2, 0, 4, 3, 0, 3, 2, 3, 4, 6, 0],
            State::Signed,
        ),
        // 200 hours pass: the approval deadline with them.
        (&[0, 4, 0, 0, 0x84, 200], State::Expired),
        (&[0, 5, 0, 0, 5, 0], State::Cancelled),
        // A forged approval, fresh commitments and a share for another
        // attempt before the real ones.
        (
            &[0, 6, 7, 1, 0, 0, 0, 2, 0, 4, 2, 0, 3, 1, 3, 0, 3, 2, 3, 4],
            State::CollectingCommitments,
        ),
    ];
    for (input, expected) in cases {
        let ended = run(input);
        if ended != Some(expected) {
            return Err(format!("engine seed {input:?} ended {ended:?}, not {expected:?}").into());
        }
        seeds.entry("engine").or_default().push(input.to_vec());
    }
    Ok(())
}
