//! Generates the gRPC code from `proto/quorate.proto` with protox, so a fresh
//! machine needs nothing but cargo.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(feature = "proto")]
    {
        let proto_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto");
        let file = format!("{proto_dir}/quorate.proto");
        println!("cargo:rerun-if-changed={file}");
        let fds = protox::compile([&file], [proto_dir])?;
        tonic_prost_build::configure().compile_fds(fds)?;
    }
    Ok(())
}
