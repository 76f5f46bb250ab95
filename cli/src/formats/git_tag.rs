//! `quorate sign --git-tag NAME --repo PATH`: the tag object is built here
//! from the repository (`git rev-parse`, `git var`), the ceremony signs the
//! SSHSIG signed data over its SHA-512 with the tag object as context, and
//! the signed tag is written with `git mktag` and `git update-ref`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use quorate_formats::git_tag::TagObject;
use quorate_wire as proto;

/// Runs `git -C repo args` with `stdin`, returning its trimmed stdout, or an
/// error naming the command and what git said.
pub fn git(repo: &Path, args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<String> {
    let out = run_git(repo, args, stdin)?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// `git -C repo args`'s stdout, byte for byte.
pub fn git_bytes(repo: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    run_git(repo, args, None)
}

fn run_git(repo: &Path, args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<Vec<u8>> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run git ({e}); install git"))?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(bytes)
            .map_err(|e| anyhow::anyhow!("cannot write to git {}: {e}", args.join(" ")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| anyhow::anyhow!("git {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        anyhow::bail!(
            "git {} in {} failed: {}",
            args.join(" "),
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// The unsigned tag object `name` on `commit` (default HEAD) of `repo`. The
/// tagger is `tagger` ("Name <email>", stamped now in UTC) or the
/// repository's committer identity (`git var GIT_COMMITTER_IDENT`: its
/// user.name and user.email), as `git tag` does; the message defaults to
/// the tag's name.
pub fn prepare(
    repo: &Path,
    name: &str,
    commit: &str,
    message: Option<&str>,
    tagger: Option<&str>,
) -> anyhow::Result<TagObject> {
    let refname = format!("refs/tags/{name}");
    git(repo, &["check-ref-format", &refname], None).map_err(|_| {
        anyhow::anyhow!("--git-tag {name:?} is not a valid tag name (see `git check-ref-format`)")
    })?;
    if git(repo, &["rev-parse", "--verify", "--quiet", &refname], None).is_ok() {
        anyhow::bail!(
            "tag {name} already exists in {}; delete it (`git tag -d {name}`) or choose another name",
            repo.display()
        );
    }
    let object = git(
        repo,
        &["rev-parse", "--verify", &format!("{commit}^{{commit}}")],
        None,
    )
    .map_err(|e| anyhow::anyhow!("--commit {commit}: not a commit of the repository ({e})"))?;
    let tagger = match tagger {
        Some(who) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!("{} {now} +0000", who.trim())
        }
        None => git(repo, &["var", "GIT_COMMITTER_IDENT"], None).map_err(|e| {
            anyhow::anyhow!(
                "no tagger identity ({e}); set user.name and user.email in the repository, or give --tagger \"Name <email>\""
            )
        })?,
    };
    Ok(TagObject::new(
        &object,
        "commit",
        name,
        &tagger,
        message.unwrap_or(name),
    )?)
}

/// The ceremony's message, label (`git-tag:<name>`) and context (the tag
/// object) for `tag`.
pub fn request(tag: &TagObject) -> (Vec<u8>, String, Vec<u8>) {
    let mut label = format!("git-tag:{}", tag.name());
    super::truncate_label(&mut label);
    (tag.signed_data(), label, tag.text().into_bytes())
}

/// Writes the signed tag of signed ceremony `s` into `repo` and points
/// `refs/tags/<name>` at it (refusing to move an existing tag). Returns the
/// tag's name, its object id and the signed tag object.
pub fn write(
    repo: &Path,
    s: &proto::CeremonyStatus,
    key: &[u8; 32],
) -> anyhow::Result<(String, String, String)> {
    let tag = match quorate_formats::git_tag::check_context(&s.message, &s.context) {
        Ok(Some(tag)) => tag,
        Ok(None) => anyhow::bail!(
            "ceremony {} did not sign a git tag (it was not requested with `quorate sign --git-tag NAME --repo PATH`)",
            s.id
        ),
        Err(e) => anyhow::bail!("ceremony {}: {e}", s.id),
    };
    let signature = super::checked_signature(s, key)?;
    let signed = tag.signed(key, &signature)?;
    let id = git(repo, &["mktag"], Some(signed.as_bytes()))?;
    let refname = format!("refs/tags/{}", tag.name());
    git(repo, &["update-ref", &refname, &id, ""], None).map_err(|e| {
        anyhow::anyhow!(
            "{e}\nthe signed tag object {id} is in the repository; if tag {} exists already, delete it (`git tag -d {}`) and run `quorate signature {} --format git-tag --repo {}` again",
            tag.name(),
            tag.name(),
            s.id,
            repo.display()
        )
    })?;
    Ok((tag.name().to_string(), id, signed))
}
