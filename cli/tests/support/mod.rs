//! Helpers shared by the format tests: the `quorate` binary as the release
//! manager, and the consumer tools.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use quorate::local::LocalDeployment;

/// Runs `quorate args` as the release manager, off the async runtime (so
/// `--wait` can wait on agents running in this process).
pub async fn quorate(d: &LocalDeployment, args: &[&str]) -> Output {
    let url = d.url();
    let files = d.tls_files(quorate::local::REQUESTER).unwrap();
    let env = [
        ("QUORATE_TLS_CA", files.ca.display().to_string()),
        ("QUORATE_TLS_CERT", files.cert.display().to_string()),
        ("QUORATE_TLS_KEY", files.key.display().to_string()),
    ];
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(["--coordinator", &url])
            .args(&args)
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// As [`quorate`], which must succeed.
pub async fn quorate_ok(d: &LocalDeployment, args: &[&str]) -> Output {
    let out = quorate(d, args).await;
    assert!(out.status.success(), "{}", said(&out));
    out
}

/// Runs `quorate args` with no coordinator (e.g. `verify`).
pub fn quorate_offline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(args)
        .output()
        .unwrap()
}

/// alice, carol and erin approve `id` through their agents (a quorum of
/// the sample roster); returns once the ceremony is finished.
pub async fn quorum_signs(d: &LocalDeployment, id: &str) {
    let t = std::time::Duration::from_secs(30);
    for who in ["alice", "carol", "erin"] {
        d.approve(&quorate_types::ParticipantId::new(who).unwrap(), id, t)
            .await
            .unwrap();
    }
    d.wait_finished(id, t).await.unwrap();
}

/// What `who`'s agent shows its approver about ceremony `id`, once the
/// ceremony is pending there.
pub async fn review(d: &LocalDeployment, who: &str, id: &str) -> quorate_wire::Review {
    let who = quorate_types::ParticipantId::new(who).unwrap();
    d.wait_pending(&who, id, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    d.control(&who)
        .await
        .unwrap()
        .show(quorate_wire::ShowRequest {
            ceremony: id.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Both streams of `out`, for messages tools print on either.
pub fn said(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// `git -C repo args`; fails, never skips, without git.
pub fn git(repo: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git ({e}): install git (apt-get install git)"))
}

/// `git args` that must succeed; its trimmed stdout.
pub fn git_ok(repo: &Path, args: &[&str]) -> String {
    let out = git(repo, args);
    assert!(out.status.success(), "git {args:?}: {}", said(&out));
    text(&out.stdout).trim().to_string()
}

/// A repository with one commit and a committer identity.
pub fn repo_with_a_commit(repo: &Path) -> String {
    std::fs::create_dir_all(repo).unwrap();
    git_ok(repo, &["init", "-q", "-b", "main"]);
    git_ok(repo, &["config", "user.name", "Release Bot"]);
    git_ok(repo, &["config", "user.email", "releases@example.com"]);
    std::fs::write(repo.join("README"), "hello\n").unwrap();
    git_ok(repo, &["add", "README"]);
    git_ok(repo, &["commit", "-q", "-m", "first"]);
    git_ok(repo, &["rev-parse", "HEAD"])
}
