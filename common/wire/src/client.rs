//! Client-side plumbing shared by the agents and the CLI.

use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// Names the caller on every request (see the coordinator's `auth` module).
#[derive(Clone)]
pub struct Identify(AsciiMetadataValue);

pub const IDENTITY_HEADER: &str = "x-quorate-identity";

impl Identify {
    pub fn new(identity: &str) -> Result<Self, String> {
        identity
            .parse()
            .map(Self)
            .map_err(|_| format!("identity {identity:?} is not ASCII"))
    }
}

impl Interceptor for Identify {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(IDENTITY_HEADER, self.0.clone());
        Ok(request)
    }
}
