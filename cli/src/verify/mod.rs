//! `quorate verify`: the consumer's verification gate. Reads the files (and
//! the git tag), then runs the pure checks of `quorate_formats::trust`; one
//! signature, or a JSON manifest of many checked in parallel.

use std::path::{Path, PathBuf};

use quorate_formats::trust::{Check, Failure, Format, TrustPolicy, Verified};
use serde::Deserialize;

use crate::formats::SignatureFormat;

/// `quorate verify` arguments.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The trust policy (TOML): key groups' public keys and what each may sign.
    #[arg(long)]
    pub policy: PathBuf,
    /// The signature file (raw, sshsig, dsse, minisign); a git tag carries its own.
    #[arg(long, conflicts_with = "manifest")]
    pub signature: Option<PathBuf>,
    #[arg(long, value_enum, conflicts_with = "manifest")]
    pub format: Option<SignatureFormat>,
    /// The signed artifact (dsse: repeat for each artifact to check).
    #[arg(long, conflicts_with = "manifest")]
    pub artifact: Vec<PathBuf>,
    /// git-tag: the repository holding the tag.
    #[arg(long, requires = "tag", conflicts_with = "manifest")]
    pub repo: Option<PathBuf>,
    /// git-tag: the tag's name.
    #[arg(long, requires = "repo")]
    pub tag: Option<String>,
    /// A JSON list of entries to check in parallel:
    /// [{"artifact": "app.tar.gz", "signature": "app.tar.gz.sig", "format": "sshsig"},
    ///  {"repo": ".", "tag": "v1.0", "format": "git-tag"}]; relative paths
    /// are read from the manifest's directory.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// A hand-over link (`quorate handover link` writes one; repeat for a
    /// chain, in any order): a key the policy trusts hands over to a new
    /// key, which is then trusted for the same (and, after a compromise,
    /// the old key no longer is).
    #[arg(long = "handover")]
    pub hand_overs: Vec<PathBuf>,
}

/// One thing to verify.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub format: String,
    #[serde(default)]
    pub signature: Option<PathBuf>,
    #[serde(default)]
    pub artifact: Option<PathBuf>,
    #[serde(default)]
    pub repo: Option<PathBuf>,
    #[serde(default)]
    pub tag: Option<String>,
}

impl Entry {
    fn title(&self) -> String {
        match (&self.artifact, &self.tag) {
            (Some(a), _) => a.display().to_string(),
            (None, Some(t)) => format!("tag {t}"),
            (None, None) => "(no artifact)".into(),
        }
    }
}

/// Runs `quorate verify`; the process exit code (0 only if all verified).
pub fn run(args: &VerifyArgs) -> anyhow::Result<i32> {
    let policy = load_policy(&args.policy)?;
    let policy = follow_hand_overs(policy, &args.hand_overs)?;
    if let Some(manifest) = &args.manifest {
        return run_manifest(&policy, manifest);
    }
    let format = args.format.ok_or_else(|| {
        anyhow::anyhow!("give --format raw|sshsig|dsse|git-tag|minisign (or --manifest FILE.json)")
    })?;
    let format = to_format(format);
    match (format, args.artifact.as_slice(), &args.repo, &args.tag) {
        (Format::GitTag, [], Some(_), Some(_)) => {}
        (Format::GitTag, _, _, _) => {
            anyhow::bail!("--format git-tag checks a tag: give --repo PATH --tag NAME")
        }
        (Format::Dsse, [_, ..], None, None) => {}
        (_, [_], None, None) => {}
        (Format::Dsse, _, _, _) => {
            anyhow::bail!("--format dsse: give --artifact FILE (repeatable)")
        }
        _ => anyhow::bail!("--format {}: give one --artifact FILE", format.name()),
    }
    if format != Format::GitTag && args.signature.is_none() {
        anyhow::bail!("give --signature FILE: the signature to check");
    }
    let outcome = verify(
        &policy,
        format,
        args.signature.as_deref(),
        &args.artifact,
        args.repo.as_deref(),
        args.tag.as_deref(),
    );
    Ok(match outcome {
        Ok(v) => {
            println!("verified: signed by key group {}", v.key_group);
            0
        }
        Err(f) => {
            println!("NOT verified: {f}");
            1
        }
    })
}

fn to_format(f: SignatureFormat) -> Format {
    match f {
        SignatureFormat::Dsse => Format::Dsse,
        SignatureFormat::GitTag => Format::GitTag,
        SignatureFormat::Minisign => Format::Minisign,
        SignatureFormat::Raw => Format::Raw,
        SignatureFormat::Sshsig => Format::Sshsig,
    }
}

fn load_policy(path: &Path) -> anyhow::Result<TrustPolicy> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the trust policy {}: {e}", path.display()))?;
    TrustPolicy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `policy` extended along the hand-over links in `paths`.
pub fn follow_hand_overs(policy: TrustPolicy, paths: &[PathBuf]) -> anyhow::Result<TrustPolicy> {
    if paths.is_empty() {
        return Ok(policy);
    }
    policy
        .with_hand_overs(&read_links(paths)?)
        .map_err(anyhow::Error::msg)
}

/// The hand-over links in the files at `paths`.
pub fn read_links(paths: &[PathBuf]) -> anyhow::Result<Vec<quorate_formats::handover::Link>> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            quorate_formats::handover::Link::from_json(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        })
        .collect()
}

fn failure(check: Check, reason: impl Into<String>) -> Failure {
    Failure {
        check,
        reason: reason.into(),
    }
}

/// Reads a file the checks need: a missing one fails `check_if_missing`,
/// one that cannot be read otherwise fails "valid", with the error.
fn read(path: &Path, check_if_missing: Check) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        let check = if e.kind() == std::io::ErrorKind::NotFound {
            check_if_missing
        } else {
            Check::Valid
        };
        failure(check, format!("cannot read {}: {e}", path.display()))
    })
}

fn name_of(path: &Path) -> Result<String, Failure> {
    crate::formats::file_name(path).map_err(|e| failure(Check::Matches, e.to_string()))
}

/// Runs the gate on one signature.
pub fn verify(
    policy: &TrustPolicy,
    format: Format,
    signature: Option<&Path>,
    artifacts: &[PathBuf],
    repo: Option<&Path>,
    tag: Option<&str>,
) -> Result<Verified, Failure> {
    let artifact_missing = |p: &Path| {
        failure(
            Check::Matches,
            format!("the artifact {} is missing", p.display()),
        )
    };
    if format == Format::GitTag {
        let (Some(repo), Some(tag)) = (repo, tag) else {
            return Err(failure(
                Check::Present,
                "no --repo and --tag to read the tag from",
            ));
        };
        let refname = format!("refs/tags/{tag}");
        if crate::formats::git_tag::git(repo, &["rev-parse", "--verify", "--quiet", &refname], None)
            .is_err()
        {
            return Err(failure(
                Check::Present,
                format!("there is no tag {tag} in {}", repo.display()),
            ));
        }
        let object = crate::formats::git_tag::git_bytes(repo, &["cat-file", "tag", &refname])
            .map_err(|e| {
                failure(
                    Check::Present,
                    format!("{tag} is not an annotated tag ({e})"),
                )
            })?;
        return quorate_formats::git_tag::verify(policy, tag, &object);
    }
    let Some(signature) = signature else {
        return Err(failure(Check::Present, "no signature file given"));
    };
    let sig = read(signature, Check::Present)?;
    match format {
        Format::Raw | Format::Sshsig | Format::Minisign => {
            let [artifact] = artifacts else {
                return Err(failure(Check::Matches, "give exactly one artifact"));
            };
            let name = name_of(artifact)?;
            if !artifact.exists() {
                return Err(artifact_missing(artifact));
            }
            let text = String::from_utf8_lossy(&sig);
            match format {
                Format::Raw => {
                    let message = read(artifact, Check::Matches)?;
                    quorate_formats::raw::verify(policy, &name, &message, &sig)
                }
                Format::Minisign => {
                    let digest = crate::formats::digest_file::<blake2::Blake2b512>(artifact)
                        .map_err(|e| failure(Check::Matches, e.to_string()))?;
                    quorate_formats::minisign::verify(policy, &name, &digest.into(), &text)
                }
                _ => {
                    let digest = crate::formats::sha512_file(artifact)
                        .map_err(|e| failure(Check::Matches, e.to_string()))?;
                    quorate_formats::sshsig::verify(policy, &name, &digest, &text)
                }
            }
        }
        Format::Dsse => {
            let mut digests = Vec::new();
            for artifact in artifacts {
                if !artifact.exists() {
                    return Err(artifact_missing(artifact));
                }
                let digest = crate::formats::dsse::sha256_file(artifact)
                    .map_err(|e| failure(Check::Matches, e.to_string()))?;
                digests.push((name_of(artifact)?, digest));
            }
            quorate_formats::dsse::verify(policy, &digests, &sig)
        }
        Format::GitTag => Err(failure(
            Check::Present,
            "a git tag is read from --repo and --tag, not --signature",
        )),
    }
}

/// Checks every entry of the manifest in parallel and prints a summary.
fn run_manifest(policy: &TrustPolicy, manifest: &Path) -> anyhow::Result<i32> {
    let text = std::fs::read(manifest)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", manifest.display()))?;
    let entries: Vec<Entry> = serde_json::from_slice(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not a JSON list of {{\"artifact\", \"signature\", \"format\"}} (or {{\"repo\", \"tag\", \"format\": \"git-tag\"}}) entries: {e}",
            manifest.display()
        )
    })?;
    if entries.is_empty() {
        anyhow::bail!(
            "{}: the manifest lists nothing to verify",
            manifest.display()
        );
    }
    let base = manifest.parent().unwrap_or(Path::new("."));
    let results = verify_all(policy, base, &entries);
    let mut failed = 0;
    for (entry, result) in entries.iter().zip(&results) {
        match result {
            Ok(v) => println!(
                "ok      {}: signed by key group {}",
                entry.title(),
                v.key_group
            ),
            Err(f) => {
                failed += 1;
                println!("FAILED  {}: {f}", entry.title());
            }
        }
    }
    println!("{} verified, {failed} failed", results.len() - failed);
    Ok(if failed == 0 { 0 } else { 1 })
}

/// Verifies `entries` on a few threads at once, results in entry order.
pub fn verify_all(
    policy: &TrustPolicy,
    base: &Path,
    entries: &[Entry],
) -> Vec<Result<Verified, Failure>> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunk = entries.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|e| verify_entry(policy, base, e))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err(failure(Check::Valid, "the check panicked"))])
            })
            .collect()
    })
}

fn verify_entry(policy: &TrustPolicy, base: &Path, e: &Entry) -> Result<Verified, Failure> {
    let format: Format = e
        .format
        .parse()
        .map_err(|m: String| failure(Check::Valid, m))?;
    let at = |p: &PathBuf| base.join(p);
    let artifacts: Vec<PathBuf> = e.artifact.iter().map(at).collect();
    if format != Format::GitTag && (artifacts.is_empty() || e.signature.is_none()) {
        return Err(failure(
            Check::Present,
            "the entry needs \"artifact\" and \"signature\"",
        ));
    }
    verify(
        policy,
        format,
        e.signature.as_ref().map(at).as_deref(),
        &artifacts,
        e.repo.as_ref().map(at).as_deref(),
        e.tag.as_deref(),
    )
}
