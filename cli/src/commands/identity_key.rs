//! `quorate identity-key`: a requester's identity key, which signs its
//! requests for key groups whose policy lists requester_keys.

use std::path::PathBuf;

use quorate_secrets::IdentityKey;
use quorate_secrets::passphrase::{self, PassphraseError};
use quorate_types::ParticipantId;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a new identity key, sealed with a passphrase (from
    /// QUORATE_PASSPHRASE, or asked twice on the terminal), and print its
    /// public half for the policy's requester_keys.
    New {
        /// Your name as the coordinator knows you: your client
        /// certificate's common name.
        #[arg(long)]
        name: String,
        /// Where to write it (readable only by you).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public half of an identity key (asks its passphrase).
    Show { key: PathBuf },
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::New { name, out } => {
            let name = ParticipantId::new(&name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            if out.exists() {
                anyhow::bail!("{} exists; choose another --out", out.display());
            }
            let passphrase = match passphrase::from_env()? {
                Some(p) => p,
                None => passphrase::ask_new(&format!("new passphrase for {}: ", out.display()))
                    .map_err(|e| match e {
                        PassphraseError::NoTerminal(why) => anyhow::anyhow!(
                            "the key is sealed with a passphrase: run on a terminal to choose \
                             one, or set {} ({why})",
                            passphrase::PASSPHRASE_ENV
                        ),
                        other => other.into(),
                    })?,
            };
            let key = IdentityKey::generate(name, &mut rand_core::OsRng);
            key.save(
                &out,
                &passphrase,
                &quorate_secrets::sealed::KdfParams::default(),
            )?;
            eprintln!(
                "identity key of {} written to {}; its public half, for the policy's \
                 requester_keys:",
                key.participant(),
                out.display()
            );
            println!("{}", key.public());
            Ok(())
        }
        Command::Show { key } => {
            let key = quorate::request::open_key(&key)?;
            println!("{}", key.public());
            Ok(())
        }
    }
}
