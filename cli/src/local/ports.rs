//! Loopback ports for servers that are started, stopped and started again
//! on the same address, or bound by another process than the one that
//! chose the port.
//!
//! A port picked by binding port 0 comes from the kernel's ephemeral
//! range, the same range outgoing connections take their local ports
//! from: while the server is down (or not yet up), a client's connection
//! can take the port and the server's bind fails with "Address already in
//! use". Ports below that range are only ever taken by an explicit bind.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use rand_core::{OsRng, RngCore};

/// The lowest port picked; below are the well-known and registered
/// services a developer's machine may run.
const FLOOR: u16 = 10_000;
/// How many random ports are tried before falling back to port 0.
const TRIES: usize = 64;
/// Where Linux says its ephemeral range starts.
const EPHEMERAL_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";

/// A loopback address no socket holds now, below the ephemeral range (or,
/// where that range leaves no room, one from it).
pub fn unused_loopback() -> std::io::Result<SocketAddr> {
    let ceiling = ephemeral_start().unwrap_or(32_768);
    if ceiling > FLOOR {
        let span = u32::from(ceiling - FLOOR);
        for _ in 0..TRIES {
            // `span` fits a u16, so the sum does too.
            let port = FLOOR + u16::try_from(OsRng.next_u32() % span).unwrap_or(0);
            if let Ok(bound) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
                return bound.local_addr();
            }
        }
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()
}

fn ephemeral_start() -> Option<u16> {
    std::fs::read_to_string(EPHEMERAL_RANGE)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_free_ports_below_the_ephemeral_range() -> std::io::Result<()> {
        let ceiling = ephemeral_start().unwrap_or(32_768);
        for _ in 0..16 {
            let addr = unused_loopback()?;
            assert!(addr.ip().is_loopback());
            if ceiling > FLOOR {
                assert!((FLOOR..ceiling).contains(&addr.port()), "{addr}");
            }
            // Free: it binds.
            TcpListener::bind(addr)?;
        }
        Ok(())
    }
}
