//! The generated gRPC code for `proto/quorate.proto` and the conversions
//! between its messages and the domain types of this crate.

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("quorate.v1");

/// The encoded descriptors of `quorate.proto`, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("quorate_descriptor");

pub mod client;
pub mod convert;
pub mod tls;
