//! `quorate status`: shows where a ceremony stands.

use std::time::Duration;

use quorate::client::{Clients, Target};
use quorate_wire as proto;

use super::*;

#[derive(clap::Args)]
pub struct Args {
    pub ceremony: String,
}

pub async fn run(args: Args, target: &Target) -> anyhow::Result<()> {
    let Args { ceremony } = args;
    let s = fetch(&mut Clients::connect(target).await?, ceremony).await?;
    print!("{}", describe(&s));
    Ok(())
}

pub(super) fn describe(s: &proto::CeremonyStatus) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if s.break_glass {
        let _ = writeln!(out, "*** BREAK-GLASS ceremony: {} ***", s.justification);
    }
    let _ = writeln!(
        out,
        "ceremony {} ({}) for key group {}",
        s.id, s.label, s.key_group
    );
    let _ = writeln!(out, "state:     {}: {}", state_name(s), s.summary);
    let _ = writeln!(out, "requester: {}", s.requester);
    let _ = writeln!(out, "message:   SHA-256 {}", hex::encode(&s.message_sha256));
    let by_role: Vec<String> = s
        .approvals_by_role
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "approvals: {} (threshold {}){}",
        s.approvals.len(),
        s.threshold,
        if by_role.is_empty() {
            String::new()
        } else {
            format!("; by role: {}", by_role.join(", "))
        }
    );
    for a in &s.approvals {
        let _ = writeln!(out, "  approved by {} ({})", a.participant, a.role);
    }
    for r in &s.rejections {
        let _ = writeln!(
            out,
            "  rejected by {} ({}): {}",
            r.participant, r.role, r.reason
        );
    }
    for d in &s.dropped {
        let _ = writeln!(out, "  dropped {}: {}", d.participant, d.reason);
    }
    if !s.signing_set.is_empty() {
        let _ = writeln!(
            out,
            "signing attempt {}: {}",
            s.attempt,
            s.signing_set.join(", ")
        );
    }
    if s.next_deadline_unix_ms > 0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let left = Duration::from_millis((s.next_deadline_unix_ms - now).max(0) as u64);
        let _ = writeln!(
            out,
            "time left: {}s until the next deadline",
            left.as_secs()
        );
    }
    if !s.reviewed_by.is_empty() {
        let _ = writeln!(out, "reviewed by {}: {}", s.reviewed_by, s.review_notes);
    }
    if !s.signature.is_empty() {
        let _ = writeln!(out, "signature: {}", hex::encode(&s.signature));
    }
    out
}
