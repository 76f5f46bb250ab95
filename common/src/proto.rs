//! The generated gRPC code for `proto/quorate.proto` and the conversions
//! between its messages and the domain types of this crate.

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("quorate.v1");

pub mod client;
pub mod convert;
