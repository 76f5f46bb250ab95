//! `quorate pubkey`: writes a key group's public key in a consumer's format.

use std::path::PathBuf;

use quorate::client::{Clients, Target};
use quorate::formats::PubkeyFormat;
use quorate_formats::pem::ed25519_public_key_pem;
use quorate_formats::sshsig::{self, Namespace};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub key_group: String,
    /// Where to write the key; without it, print it.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "pem")]
    pub format: PubkeyFormat,
    /// Who signs as this key in allowed_signers (e.g. releases@example.com);
    /// also the comment of the ssh line.
    #[arg(long)]
    pub principal: Option<String>,
    /// Write an allowed_signers file trusting the key for --principal in
    /// --namespace, for `ssh-keygen -Y verify -f FILE`.
    #[arg(long, requires = "principal")]
    pub allowed_signers: Option<PathBuf>,
    /// The namespace the allowed_signers line allows.
    #[arg(long, requires = "allowed_signers", default_value = sshsig::DEFAULT_NAMESPACE)]
    pub namespace: Namespace,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args {
        key_group,
        output,
        format,
        principal,
        allowed_signers,
        namespace,
    } = args;
    let mut clients = Clients::connect(target).await?;
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
