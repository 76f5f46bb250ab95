//! `quorate`: the release manager's and auditor's command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use quorate::client::{Clients, Target, status_error};
use quorate::formats::{PubkeyFormat, SignatureFormat};
use quorate_formats::pem::ed25519_public_key_pem;
use quorate_formats::sshsig::{self, Namespace};
use quorate_secrets::GroupFileIo;
use quorate_types::KeyGroupFile;
use quorate_types::limits::LimitError;
use quorate_types::{KeyGroupName, Policy, Roster};
use quorate_wire::tls::TlsFiles;
use quorate_wire::{self as proto, CeremonyState};

#[derive(Parser)]
#[command(
    name = "quorate",
    version,
    about = "Threshold signing ceremonies for software releases"
)]
struct Cli {
    /// The coordinator's gRPC address.
    #[arg(
        long,
        global = true,
        env = "QUORATE_COORDINATOR",
        default_value = "https://127.0.0.1:7400"
    )]
    coordinator: String,
    /// The deployment's CA certificate (PEM), to check the coordinator.
    #[arg(long, global = true, env = "QUORATE_TLS_CA")]
    tls_ca: Option<PathBuf>,
    /// Your client certificate (PEM); its common name is who you are.
    #[arg(long, global = true, env = "QUORATE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// Your client certificate's key (PEM).
    #[arg(long, global = true, env = "QUORATE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Who you are, for a development coordinator serving plaintext only;
    /// over TLS your client certificate says who you are.
    #[arg(
        long,
        global = true,
        env = "QUORATE_IDENTITY",
        default_value = "release-manager"
    )]
    identity: String,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run; boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run a whole local deployment and a ceremony, with nothing configured.
    Quickstart {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Deal a new key group: one share file per roster entry and group.json.
    ///
    /// Each participant's share and identity-key files are sealed with a
    /// passphrase: asked per participant on the terminal, or, when
    /// QUORATE_PASSPHRASE is set, that one for all of them.
    Keygen {
        #[arg(long)]
        roster: PathBuf,
        #[arg(long)]
        threshold: u16,
        #[arg(long)]
        key_group: String,
        #[arg(long)]
        out: PathBuf,
        /// The key group's policy (TOML); without it, any t approvals sign.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Register a key group (group.json from keygen) with the coordinator.
    Register {
        #[arg(long)]
        group: PathBuf,
    },
    /// Change a registered key group's roster (names, roles, identity
    /// keys; the share holders stay). The coordinator records the change;
    /// ceremonies requested afterwards are judged by the new roster.
    ///
    /// The roster file is TOML like keygen's; a participant listed without
    /// an identity key keeps the one registered.
    ChangeRoster {
        #[arg(long)]
        key_group: String,
        #[arg(long)]
        roster: PathBuf,
        /// Where to write the changed group.json, for the agents.
        #[arg(long)]
        out: PathBuf,
    },
    /// Ask for a signature over a small message (e.g. a SHA256SUMS manifest);
    /// with --format sshsig, an SSH signature over an artifact of any size;
    /// with --format dsse, a DSSE envelope of an in-toto statement naming
    /// artifacts; with --format minisign, a minisign signature file over an
    /// artifact; with --git-tag, a signed annotated git tag.
    #[command(group(clap::ArgGroup::new("input").required(true).args(["message", "artifact", "git_tag"])))]
    Sign {
        #[arg(long)]
        key_group: String,
        /// The message to sign as is (raw format).
        #[arg(long)]
        message: Option<PathBuf>,
        /// The artifact to sign through its SHA-512 (sshsig format), or
        /// through its SHA-256 in an in-toto statement (dsse format; repeat
        /// for several artifacts).
        #[arg(long)]
        artifact: Vec<PathBuf>,
        /// raw with --message, sshsig (or dsse, minisign) with --artifact, git-tag with --git-tag.
        #[arg(long, value_enum)]
        format: Option<SignatureFormat>,
        /// The SSHSIG namespace (what `ssh-keygen -Y verify -n` checks).
        #[arg(long, requires = "artifact", default_value = sshsig::DEFAULT_NAMESPACE)]
        namespace: Namespace,
        /// dsse: the statement's predicate, a JSON object.
        #[arg(long, requires = "artifact")]
        predicate: Option<PathBuf>,
        /// dsse: the statement's predicate type (default
        /// https://slsa.dev/provenance/v1 with --predicate, else
        /// https://quorate.dev/release-approval/v1).
        #[arg(long, requires = "artifact")]
        predicate_type: Option<String>,
        /// minisign: the trusted comment, signed with the signature (one
        /// line; default minisign's own, "timestamp:<now>\tfile:<name>\thashed").
        #[arg(long, requires = "artifact")]
        trusted_comment: Option<String>,
        /// Sign an annotated tag of this name in --repo; created as
        /// refs/tags/NAME once signed (needs --wait, or run `quorate
        /// signature ID --format git-tag --repo PATH` later).
        #[arg(long, requires = "repo")]
        git_tag: Option<String>,
        /// The git repository the tag goes into.
        #[arg(long, requires = "git_tag")]
        repo: Option<PathBuf>,
        /// The commit the tag points at.
        #[arg(long, requires = "git_tag", default_value = "HEAD")]
        commit: String,
        /// The tag's message (default: the tag's name).
        #[arg(long, requires = "git_tag")]
        tag_message: Option<String>,
        /// The tagger, "Name <email>" (default: the repository's user.name
        /// and user.email, as `git tag` uses).
        #[arg(long, requires = "git_tag")]
        tagger: Option<String>,
        /// Wait until the ceremony is finished.
        #[arg(long)]
        wait: bool,
        /// With --wait: how long to wait, in seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
        /// With --wait: write the signature here (raw 64 bytes, the SSH
        /// signature file, the DSSE envelope, the signed tag object, or the
        /// minisign signature file, by default ARTIFACT.minisig).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Run under the key group's emergency policy. Flagged everywhere,
        /// alerted, and awaiting an auditor's review once signed.
        #[arg(long, requires = "justification")]
        break_glass: bool,
        /// Why break-glass is needed (mandatory with --break-glass).
        #[arg(long)]
        justification: Option<String>,
    },
    /// List ceremonies.
    Ceremonies {
        /// Only ceremonies in this state (e.g. signed, expired, collecting-approvals).
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        key_group: Option<String>,
        /// Only break-glass ceremonies.
        #[arg(long)]
        break_glass: bool,
        /// Only signed break-glass ceremonies awaiting review.
        #[arg(long)]
        unreviewed: bool,
    },
    /// Call off a ceremony you requested.
    Cancel {
        ceremony: String,
        #[arg(long)]
        reason: String,
    },
    /// Record the post-incident review of a signed break-glass ceremony.
    Review {
        ceremony: String,
        #[arg(long)]
        notes: String,
    },
    /// Show where a ceremony stands.
    Status { ceremony: String },
    /// Write a signed ceremony's signature: the raw 64-byte Ed25519
    /// signature, or the file of its format (SSH signature, DSSE envelope,
    /// git tag, minisign signature).
    Signature {
        ceremony: String,
        /// Where to write it (optional for git-tag: the tag goes into --repo).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "raw")]
        format: SignatureFormat,
        /// git-tag: the repository to write the signed tag into.
        #[arg(long)]
        repo: Option<PathBuf>,
    },
    /// Check a signature as a consumer would, against a trust policy: is
    /// it there, valid, by a key group trusted for it, over this artifact?
    /// Exits 0 only if every check passes.
    Verify(quorate::verify::VerifyArgs),
    /// Auditors: export transcripts, replay them offline, check the log.
    Audit {
        #[command(subcommand)]
        command: quorate::audit::AuditCommand,
    },
    /// Write a key group's public key: PEM SubjectPublicKeyInfo (openssl),
    /// an OpenSSH `ssh-ed25519` line and an allowed_signers line, or a
    /// minisign public key file.
    Pubkey {
        #[arg(long)]
        key_group: String,
        /// Where to write the key; without it, print it.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "pem")]
        format: PubkeyFormat,
        /// Who signs as this key in allowed_signers (e.g. releases@example.com);
        /// also the comment of the ssh line.
        #[arg(long)]
        principal: Option<String>,
        /// Write an allowed_signers file trusting the key for --principal in
        /// --namespace, for `ssh-keygen -Y verify -f FILE`.
        #[arg(long, requires = "principal")]
        allowed_signers: Option<PathBuf>,
        /// The namespace the allowed_signers line allows.
        #[arg(long, requires = "allowed_signers", default_value = sshsig::DEFAULT_NAMESPACE)]
        namespace: Namespace,
    },
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QUORATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let target = cli.target()?;
    match cli.command {
        Command::Quickstart { dir } => quorate::quickstart::run(&dir).await,
        Command::Audit { command } => quorate::audit::run(command, &target).await,
        Command::Keygen {
            roster,
            threshold,
            key_group,
            out,
            policy,
        } => {
            let roster = read_roster(&roster)?;
            let policy = match policy {
                None => Policy::default(),
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                    Policy::from_toml(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                }
            };
            let passphrases = quorate::keygen::passphrases(&roster)?;
            let dealt =
                quorate::keygen::deal(KeyGroupName::new(key_group)?, &roster, threshold, policy)?;
            let paths = quorate::keygen::write(
                &dealt,
                &out,
                &passphrases,
                &quorate_secrets::sealed::KdfParams::default(),
            )?;
            for p in paths {
                println!("wrote {}", p.share.display());
                if let Some(identity) = p.identity {
                    println!("wrote {}", identity.display());
                }
            }
            println!("wrote {}", out.join("group.json").display());
            println!("group key: {}", dealt.group.group_key);
            Ok(())
        }
        Command::Register { group } => {
            let file = KeyGroupFile::load(&group)?;
            let mut clients = Clients::connect(&target).await?;
            let reply = clients
                .key_groups
                .register(proto::RegisterKeyGroupRequest {
                    key_group: Some(proto::KeyGroup::from(&file)),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            println!(
                "registered key group {} ({} of {})",
                reply.name,
                reply.threshold,
                reply.roster.len()
            );
            Ok(())
        }
        Command::ChangeRoster {
            key_group,
            roster,
            out,
        } => {
            let mut roster = read_roster(&roster)?;
            let mut clients = Clients::connect(&target).await?;
            let current = clients
                .key_groups
                .get(proto::GetKeyGroupRequest {
                    name: key_group.clone(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let registered = proto::convert::roster(&current.roster)?;
            for entry in &mut roster.participants {
                if entry.identity.is_none() {
                    entry.identity = registered.get(&entry.id).and_then(|r| r.identity);
                }
            }
            let reply = clients
                .key_groups
                .change_roster(proto::ChangeRosterRequest {
                    name: key_group,
                    roster: proto::KeyGroup::from_roster(&roster),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            KeyGroupFile::try_from(&reply)?.save(&out)?;
            println!(
                "key group {} now has roster version {}: {} (written to {}; give it to every agent)",
                reply.name,
                reply.roster_version,
                reply
                    .roster
                    .iter()
                    .map(|p| format!("{} ({})", p.id, p.role))
                    .collect::<Vec<_>>()
                    .join(", "),
                out.display()
            );
            Ok(())
        }
        Command::Sign {
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
        } => {
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
            if (predicate.is_some() || predicate_type.is_some())
                && format != Some(SignatureFormat::Dsse)
            {
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
                    let (bytes, label) = quorate::formats::dsse::request(
                        artifacts,
                        predicate_type,
                        predicate.as_deref(),
                    )?;
                    (bytes, label, SignatureFormat::Dsse)
                }
                // minisign: the artifact's BLAKE2b-512, then the global
                // signature over that signature and the trusted comment.
                (None, [artifact], None, Some(SignatureFormat::Minisign)) => {
                    let (bytes, label, batch) =
                        quorate::formats::minisign::request(artifact, trusted_comment.as_deref())?;
                    follow_ups = batch;
                    if wait {
                        output.get_or_insert_with(|| {
                            quorate::formats::minisign::default_output(artifact)
                        });
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
                    anyhow::bail!(
                        "--git-tag signs a commit, not --artifact files: give one or the other"
                    )
                }
                _ => anyhow::bail!(
                    "--artifact is signed through its digest: use --format sshsig, dsse or minisign (or sign a small message with --message, or a git tag with --git-tag)"
                ),
            };
            let mut clients = Clients::connect(&target).await?;
            // The group key wraps the signature (and checks it first).
            let key = quorate::formats::group_key(&mut clients, &key_group).await?;
            let status = clients
                .ceremonies
                .create(proto::CreateCeremonyRequest {
                    key_group,
                    message: bytes,
                    label,
                    break_glass,
                    justification,
                    context,
                    follow_ups: follow_ups.iter().map(Into::into).collect(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
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
        Command::Ceremonies {
            state,
            key_group,
            break_glass,
            unreviewed,
        } => {
            let state = match state {
                None => proto::CeremonyState::Unspecified,
                Some(name) => proto::convert::parse_state(&name).map_err(anyhow::Error::msg)?,
            };
            let mut clients = Clients::connect(&target).await?;
            let mut page_token = String::new();
            let mut any = false;
            loop {
                let page = clients
                    .ceremonies
                    .list(proto::ListCeremoniesRequest {
                        state: state.into(),
                        key_group: key_group.clone().unwrap_or_default(),
                        break_glass,
                        unreviewed,
                        page_size: 0,
                        page_token,
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                for c in page.ceremonies {
                    any = true;
                    println!(
                        "{}  {:<11} {:<24} {}{}  {}",
                        c.id,
                        c.key_group,
                        state_name(&c),
                        if c.break_glass { "BREAK-GLASS " } else { "" },
                        c.label,
                        c.summary
                    );
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            if !any {
                println!("no ceremonies match");
            }
            Ok(())
        }
        Command::Cancel { ceremony, reason } => {
            let mut clients = Clients::connect(&target).await?;
            let s = clients
                .ceremonies
                .cancel(proto::CancelCeremonyRequest {
                    id: ceremony,
                    reason,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            println!("{}: {}", s.id, s.summary);
            Ok(())
        }
        Command::Review { ceremony, notes } => {
            let mut clients = Clients::connect(&target).await?;
            let s = clients
                .ceremonies
                .review(proto::ReviewCeremonyRequest {
                    id: ceremony,
                    notes,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            println!("{}: {}", s.id, s.summary);
            Ok(())
        }
        Command::Status { ceremony } => {
            let s = fetch(&mut Clients::connect(&target).await?, ceremony).await?;
            print!("{}", describe(&s));
            Ok(())
        }
        Command::Signature {
            ceremony,
            output,
            format,
            repo,
        } => {
            let mut clients = Clients::connect(&target).await?;
            let s = fetch(&mut clients, ceremony).await?;
            if !is_signed(&s) {
                anyhow::bail!("ceremony {} is not signed: {}", s.id, s.summary);
            }
            if output.is_none() && format != SignatureFormat::GitTag {
                anyhow::bail!("give -o FILE: where to write the signature");
            }
            let key = quorate::formats::group_key(&mut clients, &s.key_group).await?;
            write_signature(&s, &key, format, output.as_deref(), repo.as_deref())
        }
        Command::Verify(args) => {
            let code = quorate::verify::run(&args)?;
            std::process::exit(code);
        }
        Command::Pubkey {
            key_group,
            output,
            format,
            principal,
            allowed_signers,
            namespace,
        } => {
            let mut clients = Clients::connect(&target).await?;
            let key = quorate::formats::group_key(&mut clients, &key_group).await?;
            let text = match format {
                PubkeyFormat::Pem => ed25519_public_key_pem(&key),
                PubkeyFormat::Ssh => {
                    let comment = principal
                        .clone()
                        .unwrap_or_else(|| format!("quorate-{key_group}"));
                    format!("{}\n", sshsig::public_key_line(&key, &comment)?)
                }
                PubkeyFormat::Minisign => quorate_formats::minisign::public_key_file(&key),
            };
            if let (Some(path), Some(principal)) = (&allowed_signers, &principal) {
                let line = sshsig::allowed_signers_line(principal, &namespace, &key)?;
                quorate::formats::write(path, line)?;
                eprintln!("wrote {}", path.display());
            }
            match output {
                Some(output) => {
                    quorate::formats::write(&output, text)?;
                    println!("wrote {}", output.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}

impl Cli {
    fn target(&self) -> anyhow::Result<Target> {
        let tls = match (&self.tls_ca, &self.tls_cert, &self.tls_key) {
            (Some(ca), Some(cert), Some(key)) => Some(TlsFiles {
                ca: ca.clone(),
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None, None) => None,
            _ => anyhow::bail!(
                "give all of --tls-ca, --tls-cert and --tls-key (or QUORATE_TLS_CA/CERT/KEY), or none"
            ),
        };
        Ok(Target {
            url: self.coordinator.clone(),
            identity: self.identity.clone(),
            tls,
        })
    }
}

/// Writes signed ceremony `s`'s signature in `format` to `output`; a git
/// tag goes into `repo` (and, with `output`, the signed tag object there).
fn write_signature(
    s: &proto::CeremonyStatus,
    key: &[u8; 32],
    format: SignatureFormat,
    output: Option<&std::path::Path>,
    repo: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use quorate::formats;
    let contents = match format {
        SignatureFormat::Raw => s.signature.clone(),
        SignatureFormat::Sshsig => formats::sshsig_armor(s, key)?.into_bytes(),
        SignatureFormat::Dsse => formats::dsse::envelope(s, key)?.into_bytes(),
        SignatureFormat::Minisign => formats::minisign::signature_file(s, key)?.into_bytes(),
        SignatureFormat::GitTag => {
            let repo = repo.ok_or_else(|| {
                anyhow::anyhow!(
                    "--format git-tag writes the tag into a repository: give --repo PATH"
                )
            })?;
            let (name, id, signed) = formats::git_tag::write(repo, s, key)?;
            println!("created tag {name} ({id}) in {}", repo.display());
            signed.into_bytes()
        }
    };
    if let Some(output) = output {
        formats::write(output, contents)?;
        eprintln!("wrote {}", output.display());
    }
    Ok(())
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

async fn fetch(clients: &mut Clients, id: String) -> anyhow::Result<proto::CeremonyStatus> {
    Ok(clients
        .ceremonies
        .get(proto::GetCeremonyRequest { id })
        .await
        .map_err(status_error)?
        .into_inner())
}

fn state_name(s: &proto::CeremonyStatus) -> String {
    proto::convert::state_name(s.state())
}

fn describe(s: &proto::CeremonyStatus) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if s.break_glass {
        let _ = writeln!(out, "*** BREAK-GLASS ceremony: {} ***", s.justification);
    }
    let _ = writeln!(
        out,
        "ceremony {} ({}) for key group {}",
        s.id, s.label, s.key_group
    );
    let _ = writeln!(out, "state:     {}: {}", state_name(s), s.summary);
    let _ = writeln!(out, "requester: {}", s.requester);
    let _ = writeln!(out, "message:   SHA-256 {}", hex::encode(&s.message_sha256));
    let by_role: Vec<String> = s
        .approvals_by_role
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "approvals: {} (threshold {}){}",
        s.approvals.len(),
        s.threshold,
        if by_role.is_empty() {
            String::new()
        } else {
            format!("; by role: {}", by_role.join(", "))
        }
    );
    for a in &s.approvals {
        let _ = writeln!(out, "  approved by {} ({})", a.participant, a.role);
    }
    for r in &s.rejections {
        let _ = writeln!(
            out,
            "  rejected by {} ({}): {}",
            r.participant, r.role, r.reason
        );
    }
    for d in &s.dropped {
        let _ = writeln!(out, "  dropped {}: {}", d.participant, d.reason);
    }
    if !s.signing_set.is_empty() {
        let _ = writeln!(
            out,
            "signing attempt {}: {}",
            s.attempt,
            s.signing_set.join(", ")
        );
    }
    if s.next_deadline_unix_ms > 0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let left = Duration::from_millis((s.next_deadline_unix_ms - now).max(0) as u64);
        let _ = writeln!(
            out,
            "time left: {}s until the next deadline",
            left.as_secs()
        );
    }
    if !s.reviewed_by.is_empty() {
        let _ = writeln!(out, "reviewed by {}: {}", s.reviewed_by, s.review_notes);
    }
    if !s.signature.is_empty() {
        let _ = writeln!(out, "signature: {}", hex::encode(&s.signature));
    }
    out
}

/// Signed, including a break-glass signature that still awaits its review.
fn is_signed(s: &proto::CeremonyStatus) -> bool {
    matches!(
        s.state(),
        CeremonyState::Signed | CeremonyState::AwaitingReview
    ) && s.signature.len() == 64
}

/// Reads and checks a roster file, naming the file in any error.
fn read_roster(path: &std::path::Path) -> anyhow::Result<Roster> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read roster {}: {e}", path.display()))?;
    Roster::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
