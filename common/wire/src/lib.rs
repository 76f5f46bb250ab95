//! The wire: the generated gRPC code for `proto/quorate.proto`, the
//! conversions between its messages and the domain types of
//! `quorate-types` (parsing a message checks it and names the field that
//! is wrong), the client-side TLS and identity plumbing, and the alert
//! webhooks' POST.

mod generated {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("quorate.v1");
}

pub use generated::*;

/// The encoded descriptors of `quorate.proto`, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("quorate_descriptor");

pub mod client;
pub mod convert;
pub mod coordinators;
pub mod tls;
pub mod webhook;
