//! The release manager's and auditor's side of quorate: key generation, the
//! client commands, and the local quickstart deployment.

pub mod audit;
pub mod client;
pub mod formats;
pub mod key_group;
pub mod keygen;
pub mod local;
pub mod pki;
pub mod quickstart;
pub mod request;
pub mod verify;
