//! `quorate sign`: asks for a signature: builds what the ceremony signs for
//! each format, starts the ceremony, and with --wait writes the signature.

use std::path::PathBuf;
use std::time::Duration;

use quorate::client::{Clients, Target, status_error};
use quorate::formats::SignatureFormat;
use quorate_formats::sshsig::{self, Namespace};
use quorate_types::limits::LimitError;
use quorate_wire as proto;

use super::*;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["message", "artifact", "git_tag"])))]
pub struct Args {
    #[arg(long)]
    pub key_group: String,
    /// The message to sign as is (raw format).
    #[arg(long)]
    pub message: Option<PathBuf>,
    /// The artifact to sign through its SHA-512 (sshsig format), or
    /// through its SHA-256 in an in-toto statement (dsse format; repeat
    /// for several artifacts).
    #[arg(long)]
    pub artifact: Vec<PathBuf>,
    /// raw with --message, sshsig (or dsse, minisign) with --artifact, git-tag with --git-tag.
    #[arg(long, value_enum)]
    pub format: Option<SignatureFormat>,
    /// The SSHSIG namespace (what `ssh-keygen -Y verify -n` checks).
    #[arg(long, requires = "artifact", default_value = sshsig::DEFAULT_NAMESPACE)]
    pub namespace: Namespace,
    /// dsse: the statement's predicate, a JSON object.
    #[arg(long, requires = "artifact")]
    pub predicate: Option<PathBuf>,
    /// dsse: the statement's predicate type (default
    /// https://slsa.dev/provenance/v1 with --predicate, else
    /// https://quorate.dev/release-approval/v1).
    #[arg(long, requires = "artifact")]
    pub predicate_type: Option<String>,
    /// minisign: the trusted comment, signed with the signature (one
    /// line; default minisign's own, "timestamp:<now>\tfile:<name>\thashed").
    #[arg(long, requires = "artifact")]
    pub trusted_comment: Option<String>,
    /// Sign an annotated tag of this name in --repo; created as
    /// refs/tags/NAME once signed (needs --wait, or run `quorate
    /// signature ID --format git-tag --repo PATH` later).
    #[arg(long, requires = "repo")]
    pub git_tag: Option<String>,
    /// The git repository the tag goes into.
    #[arg(long, requires = "git_tag")]
    pub repo: Option<PathBuf>,
    /// The commit the tag points at.
    #[arg(long, requires = "git_tag", default_value = "HEAD")]
    pub commit: String,
    /// The tag's message (default: the tag's name).
    #[arg(long, requires = "git_tag")]
    pub tag_message: Option<String>,
    /// The tagger, "Name <email>" (default: the repository's user.name
    /// and user.email, as `git tag` uses).
    #[arg(long, requires = "git_tag")]
    pub tagger: Option<String>,
    /// Wait until the ceremony is finished.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: how long to wait, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// With --wait: write the signature here (raw 64 bytes, the SSH
    /// signature file, the DSSE envelope, the signed tag object, or the
    /// minisign signature file, by default ARTIFACT.minisig).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Run under the key group's emergency policy. Flagged everywhere,
    /// alerted, and awaiting an auditor's review once signed.
    #[arg(long, requires = "justification")]
    pub break_glass: bool,
    /// Why break-glass is needed (mandatory with --break-glass).
    #[arg(long)]
    pub justification: Option<String>,
    /// Your own name for this request (default: a random one). The same
    /// request with the same id returns the ceremony it made, never a
    /// second one: use it to retry a request whose answer was lost.
    #[arg(long)]
    pub request_id: Option<String>,
    /// Your identity key (from `quorate identity-key new`), to sign the
    /// request with: key groups whose policy lists requester_keys take
    /// only signed requests. Its passphrase comes from QUORATE_PASSPHRASE,
    /// or is asked on the terminal.
    #[arg(long, env = "QUORATE_IDENTITY_KEY")]
    pub identity_key: Option<PathBuf>,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args {
        key_group,
        message,
        artifact,
        format,
        namespace,
        predicate,
        predicate_type,
        trusted_comment,
        git_tag,
        repo,
        commit,
        tag_message,
        tagger,
        wait,
        timeout,
        output,
        break_glass,
        justification,
        request_id,
        identity_key,
    } = args;
    let identity_key = identity_key
        .map(|path| quorate::request::open_key(&path))
        .transpose()?;
    let justification = justification.unwrap_or_default();
    match quorate_types::limits::check_justification(break_glass, &justification) {
        Err(LimitError::NoJustification) => {
            anyhow::bail!("--break-glass needs --justification \"why this cannot wait\"")
        }
        Err(LimitError::UnwantedJustification) => {
            anyhow::bail!("--justification goes with --break-glass")
        }
        Err(e) => anyhow::bail!("--{e}"),
        Ok(_) => {}
    }
    if (predicate.is_some() || predicate_type.is_some()) && format != Some(SignatureFormat::Dsse) {
        anyhow::bail!("--predicate and --predicate-type go with --format dsse");
    }
    if trusted_comment.is_some() && format != Some(SignatureFormat::Minisign) {
        anyhow::bail!("--trusted-comment goes with --format minisign");
    }
    let mut context = Vec::new();
    let mut follow_ups = Vec::new();
    let mut output = output;
    let (bytes, label, format) = match (message, artifact.as_slice(), git_tag, format) {
        (Some(message), [], None, None | Some(SignatureFormat::Raw)) => {
            let (bytes, label) = raw_request(&message)?;
            (bytes, label, SignatureFormat::Raw)
        }
        // sshsig: the artifact's SHA-512 inside the SSHSIG signed data.
        (None, [artifact], None, None | Some(SignatureFormat::Sshsig)) => {
            let (bytes, label) = quorate::formats::sshsig_request(artifact, &namespace)?;
            (bytes, label, SignatureFormat::Sshsig)
        }
        (None, [_, _, ..], None, None | Some(SignatureFormat::Sshsig)) => anyhow::bail!(
            "an SSH signature covers one artifact: give one --artifact, or use --format dsse to sign several in one statement"
        ),
        (None, artifacts @ [_, ..], None, Some(SignatureFormat::Dsse)) => {
            let (bytes, label) =
                quorate::formats::dsse::request(artifacts, predicate_type, predicate.as_deref())?;
            (bytes, label, SignatureFormat::Dsse)
        }
        // minisign: the artifact's BLAKE2b-512, then the global
        // signature over that signature and the trusted comment.
        (None, [artifact], None, Some(SignatureFormat::Minisign)) => {
            let (bytes, label, batch) =
                quorate::formats::minisign::request(artifact, trusted_comment.as_deref())?;
            follow_ups = batch;
            if wait {
                output.get_or_insert_with(|| quorate::formats::minisign::default_output(artifact));
            }
            (bytes, label, SignatureFormat::Minisign)
        }
        (None, _, None, Some(SignatureFormat::Minisign)) => {
            anyhow::bail!("a minisign signature covers one artifact: give one --artifact")
        }
        (None, [], Some(name), None | Some(SignatureFormat::GitTag)) => {
            let repo = repo.as_deref().ok_or_else(|| {
                anyhow::anyhow!("--git-tag needs --repo PATH (the git repository)")
            })?;
            let tag = quorate::formats::git_tag::prepare(
                repo,
                &name,
                &commit,
                tag_message.as_deref(),
                tagger.as_deref(),
            )?;
            let (bytes, label, text) = quorate::formats::git_tag::request(&tag);
            context = text;
            (bytes, label, SignatureFormat::GitTag)
        }
        (Some(_), _, _, _) => anyhow::bail!(
            "--format sshsig, dsse and minisign sign artifacts: give --artifact FILE, not --message"
        ),
        (None, [], Some(_), _) => {
            anyhow::bail!(
                "--git-tag makes a signed git tag: leave out --format or use --format git-tag"
            )
        }
        (None, _, Some(_), _) => {
            anyhow::bail!("--git-tag signs a commit, not --artifact files: give one or the other")
        }
        _ => anyhow::bail!(
            "--artifact is signed through its digest: use --format sshsig, dsse or minisign (or sign a small message with --message, or a git tag with --git-tag)"
        ),
    };
    let mut clients = Clients::connect(target).await?;
    // The group key wraps the signature (and checks it first).
    let key = quorate::formats::group_key(&mut clients, &key_group).await?;
    let mut request = proto::CreateCeremonyRequest {
        key_group,
        message: bytes,
        label,
        break_glass,
        justification,
        context,
        follow_ups: follow_ups.iter().map(Into::into).collect(),
        request_id: request_id.unwrap_or_default(),
        signed_request: Vec::new(),
    };
    if let Some(key) = &identity_key {
        quorate::request::sign(&mut request, key, quorate::request::now_unix_ms())?;
    }
    let status = quorate::client::create_ceremony(target, request).await?;
    println!("{}", status.id);
    if !wait {
        if format == SignatureFormat::GitTag {
            eprintln!(
                "once signed, create the tag with `quorate signature {} --format git-tag --repo {}`",
                status.id,
                repo.as_deref()
                    .unwrap_or(std::path::Path::new("."))
                    .display()
            );
        }
        return Ok(());
    }
    let finished = tokio::time::timeout(Duration::from_secs(timeout), async {
        let mut stream = clients
            .ceremonies
            .watch(proto::GetCeremonyRequest {
                id: status.id.clone(),
            })
            .await
            .map_err(status_error)?
            .into_inner();
        let mut last = status.clone();
        while let Some(s) = stream.message().await.map_err(status_error)? {
            eprintln!("{}: {}", s.id, s.summary);
            last = s;
        }
        anyhow::Ok(last)
    })
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "ceremony {} is not finished after {timeout}s; check `quorate status {}`",
            status.id,
            status.id
        )
    })??;
    if !is_signed(&finished) {
        anyhow::bail!("ceremony {} ended: {}", finished.id, finished.summary);
    }
    write_signature(&finished, &key, format, output.as_deref(), repo.as_deref())
}

/// A small message to sign as is, and its label (the file name).
fn raw_request(message: &std::path::Path) -> anyhow::Result<(Vec<u8>, String)> {
    let bytes = std::fs::read(message)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", message.display()))?;
    if let Err(e) = quorate_types::limits::check_message(&bytes) {
        anyhow::bail!(
            "{}: {e}, or sign it with --format sshsig --artifact FILE",
            message.display()
        );
    }
    let label = message
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((bytes, label))
}
