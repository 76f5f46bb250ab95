//! Signed git tags end to end: `quorate sign --git-tag` runs a ceremony over
//! loopback TLS in which approvers see the tag, the tag lands in the
//! repository, and the real `git verify-tag` (gpg.format=ssh, which runs
//! ssh-keygen) accepts it and rejects a tampered copy.

mod support;

use std::time::Duration;

use quorate::local::{LocalDeployment, REQUESTER, sample_roster};
use quorate_types::ParticipantId;
use quorate_wire as proto;
use support::{
    git, git_ok, quorate, quorate_offline, quorate_ok, quorum_signs, repo_with_a_commit, said, text,
};

const T: Duration = Duration::from_secs(30);
const PRINCIPAL: &str = "releases@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signed_tag_verifies_with_git_verify_tag_and_a_tampered_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let s = |name: &str| dir.path().join(name).display().to_string();
    let repo = dir.path().join("repo");
    let head = repo_with_a_commit(&repo);
    let d = LocalDeployment::start(dir.path(), "release", &sample_roster(None), 3)
        .await
        .unwrap();

    let out = quorate_ok(
        &d,
        &[
            "sign",
            "--key-group",
            "release",
            "--git-tag",
            "v1.0",
            "--repo",
            &s("repo"),
            "--tag-message",
            "Release 1.0\n\nFixes everything.",
        ],
    )
    .await;
    let id = text(&out.stdout).trim().to_string();
    assert!(
        text(&out.stderr).contains("--format git-tag --repo"),
        "{}",
        said(&out)
    );

    // The approver sees the tag object, checked by the agent against the
    // digest it signs.
    let review = support::review(&d, "alice", &id).await;
    assert_eq!(
        review.artifacts[0],
        format!("git tag v1.0 on commit {head}")
    );
    assert!(
        review.artifacts[1].starts_with("tagger Release Bot <releases@example.com> "),
        "{:?}",
        review.artifacts
    );
    assert_eq!(
        review.artifacts[2..],
        [
            "message | Release 1.0",
            "message | ",
            "message | Fixes everything."
        ]
    );
    assert_eq!(review.ceremony.as_ref().unwrap().label, "git-tag:v1.0");
    let shown = quorate_participant::control::describe(&review);
    assert!(
        shown.contains(&format!(
            "  | object {head}\n  | type commit\n  | tag v1.0\n"
        )),
        "{shown}"
    );
    quorum_signs(&d, &id).await;
    let out = quorate_ok(
        &d,
        &[
            "signature",
            &id,
            "--format",
            "git-tag",
            "--repo",
            &s("repo"),
            "-o",
            &s("v1.0.tag"),
        ],
    )
    .await;
    assert!(
        text(&out.stdout).starts_with("created tag v1.0 ("),
        "{}",
        said(&out)
    );
    // Once made, the tag is not moved.
    let out = quorate(
        &d,
        &[
            "signature",
            &id,
            "--format",
            "git-tag",
            "--repo",
            &s("repo"),
        ],
    )
    .await;
    assert!(
        !out.status.success() && said(&out).contains("git tag -d v1.0"),
        "{}",
        said(&out)
    );

    quorate_ok(
        &d,
        &[
            "pubkey",
            "--key-group",
            "release",
            "--format",
            "ssh",
            "--principal",
            PRINCIPAL,
            "--allowed-signers",
            &s("allowed_signers"),
            "--namespace",
            "git",
            "-o",
            &s("release.pub"),
        ],
    )
    .await;
    let signers = format!("gpg.ssh.allowedSignersFile={}", s("allowed_signers"));
    let verify_tag = |tag: &str| {
        git(
            &repo,
            &["-c", "gpg.format=ssh", "-c", &signers, "verify-tag", tag],
        )
    };
    let out = verify_tag("v1.0");
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains(&format!("Good \"git\" signature for {PRINCIPAL}")),
        "{}",
        said(&out)
    );
    assert_eq!(git_ok(&repo, &["rev-parse", "v1.0^{commit}"]), head);

    // A tampered copy of the signed tag: same signature, other message.
    let signed = git_ok(&repo, &["cat-file", "tag", "v1.0"]) + "\n";
    assert_eq!(signed, std::fs::read_to_string(s("v1.0.tag")).unwrap());
    let tampered = signed.replace("Fixes everything.", "Adds a backdoor.");
    let mut mktag = std::process::Command::new("git")
        .args(["-C", &s("repo"), "mktag"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    mktag
        .stdin
        .take()
        .unwrap()
        .write_all(tampered.as_bytes())
        .unwrap();
    let evil = text(&mktag.wait_with_output().unwrap().stdout)
        .trim()
        .to_string();
    git_ok(&repo, &["update-ref", "refs/tags/v1.0-evil", &evil]);
    let out = verify_tag("v1.0-evil");
    assert!(
        !out.status.success(),
        "tampered tag accepted: {}",
        said(&out)
    );

    // The gate: the good tag passes; the tampered one fails to match.
    let key = std::fs::read_to_string(s("release.pub")).unwrap();
    std::fs::write(
        s("trust.toml"),
        format!("[[key_group]]\nname = \"release\"\npublic_key = \"{}\"\nformats = [\"git-tag\"]\nartifacts = [\"v*\"]\n", key.trim()),
    )
    .unwrap();
    let gate = |tag: &str| {
        quorate_offline(&[
            "verify",
            "--policy",
            &s("trust.toml"),
            "--format",
            "git-tag",
            "--repo",
            &s("repo"),
            "--tag",
            tag,
        ])
    };
    let out = gate("v1.0");
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(text(&out.stdout), "verified: signed by key group release\n");
    let out = gate("v1.0-evil");
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(text(&out.stdout).contains("check \"artifact matches what was signed\" failed: the signature is not over tag v1.0-evil"), "{}", said(&out));

    // Both in a manifest, checked together.
    let entries = serde_json::json!([
        {"repo": "repo", "tag": "v1.0", "format": "git-tag"},
        {"repo": "repo", "tag": "v1.0-evil", "format": "git-tag"},
    ]);
    std::fs::write(s("release.json"), entries.to_string()).unwrap();
    let out = quorate_offline(&[
        "verify",
        "--policy",
        &s("trust.toml"),
        "--manifest",
        &s("release.json"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(
            "ok      tag v1.0: signed by key group release
FAILED  tag v1.0-evil: "
        ) && stdout.ends_with(
            "1 verified, 1 failed
"
        ),
        "{stdout}"
    );

    // An unsigned tag, and a missing one.
    git_ok(&repo, &["tag", "-a", "v0.9", "-m", "unsigned"]);
    let out = gate("v0.9");
    assert!(
        text(&out.stdout)
            .contains("check \"signature present\" failed: tag v0.9 carries no SSH signature"),
        "{}",
        said(&out)
    );
    let out = gate("v404");
    assert!(
        text(&out.stdout).contains("check \"signature present\" failed: there is no tag v404"),
        "{}",
        said(&out)
    );

    // What a release manager can get wrong.
    let repo = s("repo");
    for (wrong, says) in [
        (&["--git-tag", "v1.0"][..], "tag v1.0 already exists"),
        (&["--git-tag", "bad..name"][..], "not a valid tag name"),
        (
            &["--git-tag", "v2", "--commit", "nope"][..],
            "--commit nope: not a commit",
        ),
    ] {
        let sign = ["sign", "--key-group", "release", "--repo", &repo];
        let out = quorate(&d, &[&sign[..], wrong].concat()).await;
        assert!(said(&out).contains(says), "{}", said(&out));
    }
    let out = quorate(&d, &["sign", "--key-group", "release", "--git-tag", "v2"]).await;
    assert!(said(&out).contains("--repo"), "{}", said(&out));
    let out = quorate(&d, &["signature", &id, "--format", "git-tag"]).await;
    assert!(said(&out).contains("give --repo PATH"), "{}", said(&out));

    // A context that does not hash to the signed digest: the agent refuses
    // to show or approve it, and still lets its approver reject it.
    let tag = quorate_formats::git_tag::TagObject::new(
        &head,
        "commit",
        "v3",
        "Mallory <m@example.com> 1700000000 +0000",
        "Release 3",
    )
    .unwrap();
    let lie = tag.text().replace("Release 3", "Harmless docs fix");
    let mut clients = d.clients(REQUESTER).await.unwrap();
    let bad = clients
        .ceremonies
        .create(proto::CreateCeremonyRequest {
            key_group: "release".into(),
            message: tag.signed_data(),
            label: "git-tag:v3".into(),
            context: lie.into_bytes(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let alice = ParticipantId::new("alice").unwrap();
    d.wait_pending(&alice, &bad.id, T).await.unwrap();
    let mut control = d.control(&alice).await.unwrap();
    let err = control
        .show(proto::ShowRequest {
            ceremony: bad.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::DataLoss, "{err:?}");
    assert!(
        err.message().contains("does not hash to the SHA-512"),
        "{err:?}"
    );
    let err = control
        .approve(proto::DecideRequest {
            ceremony: bad.id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::DataLoss, "{err:?}");
    let pending = control
        .pending(proto::PendingRequest {})
        .await
        .unwrap()
        .into_inner();
    let listed = pending
        .reviews
        .iter()
        .find(|r| r.ceremony.as_ref().is_some_and(|c| c.id == bad.id))
        .unwrap();
    assert!(
        listed.artifacts[0].starts_with("*** REFUSED: "),
        "{:?}",
        listed.artifacts
    );
    control
        .reject(proto::DecideRequest {
            ceremony: bad.id.clone(),
            reason: "tag text does not match".into(),
        })
        .await
        .unwrap();
    d.stop().await.unwrap();
}
