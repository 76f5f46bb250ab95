//! `quorate signature`: writes a signed ceremony's signature in its format.

use std::path::PathBuf;

use quorate::client::{Clients, Target};
use quorate::formats::SignatureFormat;
use quorate_wire as proto;

use super::*;

#[derive(clap::Args)]
pub struct Args {
    pub ceremony: String,
    /// Where to write it (optional for git-tag: the tag goes into --repo).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "raw")]
    pub format: SignatureFormat,
    /// git-tag: the repository to write the signed tag into.
    #[arg(long)]
    pub repo: Option<PathBuf>,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args {
        ceremony,
        output,
        format,
        repo,
    } = args;
    let mut clients = Clients::connect(target).await?;
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

/// Writes signed ceremony `s`'s signature in `format` to `output`; a git
/// tag goes into `repo` (and, with `output`, the signed tag object there).
pub(super) fn write_signature(
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
