//! What the parties keep on disk, and how: sealed secret files (Argon2id +
//! XChaCha20-Poly1305 under a passphrase), the key-share and identity-key
//! files, the public key-group file, and passphrases read from a terminal,
//! a file descriptor or the environment. Secrets are zeroized and never
//! printed. [`sled_export`] reads the stores of earlier releases, which
//! kept their state in sled, through a tool built apart.

pub mod identity;
pub mod keyfile;
pub mod passphrase;
pub mod sealed;
pub mod sled_export;

pub use identity::IdentityKey;
pub use keyfile::{GroupFileIo, KeyFileError, KeyShareFile};
pub use passphrase::Passphrase;
