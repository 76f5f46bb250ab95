//! What a replay found, for people (`Display`) and for tools (serde JSON).

use std::fmt;

use quorate_types::CeremonyId;
use serde::Serialize;

use crate::{KeyGroup, Request, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub ceremony: CeremonyId,
    /// True when nothing was found wrong.
    pub passed: bool,
    pub checkpoint: Option<CheckpointSummary>,
    pub key_group: Option<GroupSummary>,
    pub request: Option<RequestSummary>,
    /// Each event as the engine replayed it.
    pub steps: Vec<Step>,
    /// Where the replayed ceremony ended.
    pub state: String,
    /// hex of the aggregate signature, if signed.
    pub signature: Option<String>,
    /// hex of the signatures of a batch's follow-up messages, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub follow_up_signatures: Vec<String>,
    pub review: Option<String>,
    /// Every discrepancy, the first one first.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointSummary {
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub signed_by: String,
    /// The witnesses the key group's policy names whose valid
    /// cosignatures the checkpoint carries (none when it names none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub witnessed_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    pub name: String,
    pub threshold: u16,
    pub participants: Vec<String>,
    pub group_key: String,
    pub registered: String,
    pub registered_by: String,
    /// Each recorded roster change up to the one the ceremony is judged by.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roster_changes: Vec<String>,
}

impl GroupSummary {
    pub(crate) fn new(group: &KeyGroup, at: Timestamp, by: &str) -> Self {
        Self {
            name: group.name.to_string(),
            threshold: group.threshold,
            participants: group
                .roster
                .participants
                .iter()
                .map(|p| format!("{} ({})", p.id, p.role))
                .collect(),
            group_key: hex::encode(group.group_key()),
            registered: time(at),
            registered_by: by.to_string(),
            roster_changes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSummary {
    pub requester: String,
    pub label: String,
    pub message_sha256: String,
    pub requested: String,
    pub break_glass: Option<String>,
    /// How each follow-up message of the batch is built, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<String>,
}

impl RequestSummary {
    pub(crate) fn new(request: &Request) -> Self {
        Self {
            requester: request.requester.clone(),
            label: request.label.clone(),
            message_sha256: quorate_types::Sha256Digest::of(&request.message).to_string(),
            requested: time(request.created_at),
            break_glass: request.break_glass.clone(),
            follow_ups: request.follow_ups.iter().map(|f| f.describe()).collect(),
        }
    }
}

/// One event as replayed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Position in the transcript.
    pub entry: usize,
    /// Position in the log.
    pub index: u64,
    pub at: String,
    /// What happened and what it led to, in words.
    pub what: String,
}

/// A discrepancy: which entry (position in the transcript), which field,
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub entry: Option<usize>,
    pub field: String,
    pub problem: String,
}

impl Report {
    pub(crate) fn new(ceremony: CeremonyId) -> Self {
        Self {
            ceremony,
            passed: true,
            checkpoint: None,
            key_group: None,
            request: None,
            steps: Vec::new(),
            state: "not replayed".into(),
            signature: None,
            follow_up_signatures: Vec::new(),
            review: None,
            findings: Vec::new(),
        }
    }

    pub(crate) fn finding(&mut self, entry: Option<usize>, field: &str, problem: String) {
        self.passed = false;
        self.findings.push(Finding {
            entry,
            field: field.to_string(),
            problem,
        });
    }

    /// The first discrepancy, if any.
    pub fn first_finding(&self) -> Option<&Finding> {
        self.findings.first()
    }
}

/// A timestamp as RFC 3339 UTC with milliseconds.
pub(crate) fn time(at: Timestamp) -> String {
    let Ok(ms) = u64::try_from(at.unix_ms()) else {
        return format!("{} ms before 1970", at.unix_ms());
    };
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry {
            Some(e) => write!(f, "entry {e}, {}: {}", self.field, self.problem),
            None => write!(f, "{}: {}", self.field, self.problem),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "PASSED" } else { "FAILED" };
        writeln!(f, "replay of ceremony {}: {verdict}", self.ceremony)?;
        if let Some(c) = &self.checkpoint {
            writeln!(
                f,
                "checkpoint: {} at size {}, root {}, signature by {} verified",
                c.origin, c.size, c.root, c.signed_by
            )?;
            if !c.witnessed_by.is_empty() {
                writeln!(
                    f,
                    "witnessed: cosigned by {}, as the key group's policy requires",
                    c.witnessed_by.join(", ")
                )?;
            }
        }
        if let Some(g) = &self.key_group {
            writeln!(
                f,
                "key group: {}, {}-of-{}, group key {}",
                g.name,
                g.threshold,
                g.participants.len(),
                g.group_key
            )?;
            writeln!(f, "  roster: {}", g.participants.join(", "))?;
            writeln!(f, "  registered {} by {}", g.registered, g.registered_by)?;
            for change in &g.roster_changes {
                writeln!(f, "  {change}")?;
            }
        }
        if let Some(r) = &self.request {
            writeln!(
                f,
                "request: {} by {} at {}",
                r.label, r.requester, r.requested
            )?;
            writeln!(f, "  message sha256 {}", r.message_sha256)?;
            for (i, rule) in r.follow_ups.iter().enumerate() {
                writeln!(f, "  then message {}: {rule}", i + 1)?;
            }
            if let Some(j) = &r.break_glass {
                writeln!(f, "  BREAK-GLASS, justification: {j}")?;
            }
        }
        if !self.steps.is_empty() {
            writeln!(f, "events:")?;
        }
        for s in &self.steps {
            writeln!(f, "  [{}] log #{} {}  {}", s.entry, s.index, s.at, s.what)?;
        }
        writeln!(f, "outcome: {}", self.state)?;
        if let Some(sig) = &self.signature {
            writeln!(f, "  signature {sig} verifies under the group key")?;
        }
        for (i, sig) in self.follow_up_signatures.iter().enumerate() {
            writeln!(
                f,
                "  signature of message {} {sig} verifies under the group key",
                i + 1
            )?;
        }
        if let Some(r) = &self.review {
            writeln!(f, "  {r}")?;
        }
        if self.findings.is_empty() {
            writeln!(
                f,
                "findings: none; every entry is in the checkpointed log and replays to the recorded decisions"
            )
        } else {
            writeln!(
                f,
                "findings ({}), first discrepancy first:",
                self.findings.len()
            )?;
            for finding in &self.findings {
                writeln!(f, "  {finding}")?;
            }
            Ok(())
        }
    }
}
