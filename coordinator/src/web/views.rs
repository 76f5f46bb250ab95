//! The auditor's and release manager's page, as HTML: the ceremonies
//! (filtered), the break-glass ceremonies awaiting review, the latest
//! checkpoint with its cosignatures, and one ceremony with its timeline
//! and downloads. Pure functions of what the services answered.

use maud::{Markup, html};
use quorate_web::layout::page;
use quorate_wire::{self as proto, CeremonyState};

use super::timeline::Step;

pub const SITE: &str = "quorate coordinator";

/// The states a list may be filtered by, as the filter names them.
const STATES: [CeremonyState; 9] = [
    CeremonyState::CollectingApprovals,
    CeremonyState::CollectingCommitments,
    CeremonyState::Signing,
    CeremonyState::Signed,
    CeremonyState::AwaitingReview,
    CeremonyState::Rejected,
    CeremonyState::Failed,
    CeremonyState::Cancelled,
    CeremonyState::Expired,
];

fn state_name(state: CeremonyState) -> String {
    proto::convert::state_name(state)
}

/// A time as UTC, to the second.
pub fn when(unix_ms: i64) -> String {
    // humantime writes years up to 9999 only.
    const LAST_MS: u64 = 253_402_300_799_999;
    let Some(ms) = u64::try_from(unix_ms).ok().filter(|ms| *ms <= LAST_MS) else {
        return format!("{unix_ms} ms after 1970");
    };
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn time_left(status: &proto::CeremonyStatus, now_unix_ms: i64) -> String {
    if status.next_deadline_unix_ms == 0 {
        return String::new();
    }
    let left = status.next_deadline_unix_ms.saturating_sub(now_unix_ms) / 1000;
    match left {
        ..=0 => "deadline passed".into(),
        1..60 => format!("{left} s"),
        60..3600 => format!("{} min", left / 60),
        _ => format!("{} h {} min", left / 3600, (left % 3600) / 60),
    }
}

fn by_role(status: &proto::CeremonyStatus) -> Markup {
    let sorted: std::collections::BTreeMap<_, _> = status.approvals_by_role.iter().collect();
    html! {
        @for (role, n) in sorted { (role) ": " (n) br; }
    }
}

fn ceremony_path(id: &str) -> String {
    format!("/ceremonies/{id}")
}

/// The list's filter, as the form and the query give it.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub key_group: String,
    #[serde(default)]
    pub break_glass: Option<String>,
    #[serde(default)]
    pub page: String,
}

fn filter_form(filter: &Filter) -> Markup {
    html! {
        form.filters method="get" action="/" #filter {
            div {
                label for="state" { "State" }
                select #state name="state" {
                    option value="" selected[filter.state.is_empty()] { "any" }
                    @for state in STATES {
                        @let name = state_name(state);
                        option value=(name) selected[filter.state == name] { (name) }
                    }
                }
            }
            div {
                label for="key_group" { "Key group" }
                input #key_group name="key_group" type="text" value=(filter.key_group);
            }
            div {
                label for="break_glass" {
                    input #break_glass name="break_glass" type="checkbox" value="on"
                        checked[filter.break_glass.is_some()];
                    " break-glass only"
                }
            }
            div { button type="submit" { "Filter" } }
        }
    }
}

/// What the list page shows.
pub struct Overview<'a> {
    pub caller: &'a str,
    pub filter: &'a Filter,
    pub ceremonies: Result<(Vec<proto::CeremonyStatus>, String), String>,
    pub awaiting_review: Result<Vec<proto::CeremonyStatus>, String>,
    pub checkpoint: Result<proto::CheckpointReply, String>,
    pub now_unix_ms: i64,
}

pub fn overview(o: &Overview<'_>) -> Markup {
    let body = html! {
        p { "Signed in with the client certificate of " strong #caller { (o.caller) } ". "
            "You see what the coordinator's access rules let you see." }
        h2 { "Break-glass ceremonies awaiting review" }
        @match &o.awaiting_review {
            Err(e) => p.notice { (e) },
            Ok(list) if list.is_empty() => p #no-reviews { "None." },
            Ok(list) => ul #awaiting-review {
                @for s in list {
                    li {
                        span.flag.break-glass { "BREAK-GLASS" } " "
                        a href=(ceremony_path(&s.id)) { (s.id) }
                        " (" (s.key_group) ", requested by " (s.requester) "): " (s.justification)
                    }
                }
            },
        }
        h2 { "Ceremonies" }
        (filter_form(o.filter))
        @match &o.ceremonies {
            Err(e) => p.problem { (e) },
            Ok((list, _)) if list.is_empty() => p #no-ceremonies { "No ceremony matches." },
            Ok((list, next)) => {
                table #ceremonies {
                    caption.visually-hidden { "Ceremonies, oldest first" }
                    thead { tr {
                        th scope="col" { "Ceremony" }
                        th scope="col" { "Key group" }
                        th scope="col" { "Requested by" }
                        th scope="col" { "State" }
                        th scope="col" { "Approvals by role" }
                        th scope="col" { "Signing now" }
                        th scope="col" { "Time left" }
                        th scope="col" { "Where it stands" }
                    } }
                    tbody {
                        @for s in list {
                            tr data-ceremony=(s.id) {
                                td {
                                    a href=(ceremony_path(&s.id)) { (s.id) }
                                    @if s.break_glass { br; span.flag.break-glass { "BREAK-GLASS" } }
                                }
                                td { (s.key_group) }
                                td { (s.requester) }
                                td { (state_name(s.state())) }
                                td { (by_role(s)) }
                                td { (s.signing_set.join(", ")) }
                                td { (time_left(s, o.now_unix_ms)) }
                                td { (s.summary) }
                            }
                        }
                    }
                }
                @if !next.is_empty() {
                    p { a #next href=(next_link(o.filter, next)) { "Next page" } }
                }
            }
        }
        h2 { "Latest checkpoint" }
        @match &o.checkpoint {
            Err(e) => p.notice { (e) },
            Ok(c) => {
                p { "Signed by the coordinator's log key:" }
                pre #checkpoint { (c.note) }
                @if c.cosigned_note.is_empty() {
                    p #cosigned { "No checkpoint has been cosigned by witnesses." }
                } @else {
                    p { "The latest checkpoint the witnesses cosigned, with their cosignatures:" }
                    pre #cosigned { (c.cosigned_note) }
                }
            }
        }
    };
    page(SITE, "Ceremonies", None, body)
}

fn next_link(filter: &Filter, token: &str) -> String {
    let query = [
        ("state", filter.state.as_str()),
        ("key_group", filter.key_group.as_str()),
        ("page", token),
        (
            "break_glass",
            if filter.break_glass.is_some() {
                "on"
            } else {
                ""
            },
        ),
    ];
    let given: Vec<_> = query.iter().filter(|(_, v)| !v.is_empty()).collect();
    format!(
        "/?{}",
        serde_urlencoded::to_string(given).unwrap_or_default()
    )
}

/// A signature file a signed ceremony offers.
pub struct Download {
    pub format: &'static str,
    pub what: &'static str,
}

/// One ceremony.
pub fn ceremony(
    s: &proto::CeremonyStatus,
    signers: &[String],
    timeline: &Result<Vec<(u64, Option<Step>)>, String>,
    downloads: &[Download],
    now_unix_ms: i64,
) -> Markup {
    let path = ceremony_path(&s.id);
    let body = html! {
        @if s.break_glass {
            p.problem {
                span.flag.break-glass { "BREAK-GLASS" }
                " Justification: " strong #justification { (s.justification) }
                @if !s.reviewed_by.is_empty() {
                    br; "Reviewed by " (s.reviewed_by) ": " (s.review_notes)
                }
            }
        }
        dl {
            dt { "Key group" } dd { (s.key_group) " (threshold " (s.threshold) ")" }
            dt { "Requested by" } dd { (s.requester) }
            dt { "Requested at" } dd { (when(s.created_at_unix_ms)) }
            @if !s.label.is_empty() { dt { "Label" } dd { (s.label) } }
            dt { "State" } dd #state { (state_name(s.state())) ": " (s.summary) }
            dt { "Approvals by role" } dd { (by_role(s)) }
            dt { "Signers (last attempt)" } dd #signers { (signers.join(", ")) }
            @if s.next_deadline_unix_ms != 0 { dt { "Time left" } dd { (time_left(s, now_unix_ms)) } }
            dt { "Message SHA-256" } dd { code { (hex::encode(&s.message_sha256)) } }
            @if !s.signature.is_empty() {
                dt { "Signature" } dd { code #signature { (hex::encode(&s.signature)) } }
            }
        }
        h2 { "Downloads" }
        ul #downloads {
            li { a href=(format!("{path}/transcript")) download { "Transcript" } ", for "
                code { "quorate audit replay" } }
            @for d in downloads {
                li { a href=(format!("{path}/signature/{}", d.format)) download { (d.what) } }
            }
        }
        h2 { "Timeline, from the record" }
        @match timeline {
            Err(e) => p.problem { (e) },
            Ok(steps) => table #timeline {
                caption.visually-hidden { "The ceremony's record entries, in order" }
                thead { tr {
                    th scope="col" { "Entry" }
                    th scope="col" { "When (UTC)" }
                    th scope="col" { "Who" }
                    th scope="col" { "What" }
                    th scope="col" { "The engine decided" }
                } }
                tbody {
                    @for (index, step) in steps {
                        @match step {
                            None => tr { td { (index) } td colspan="4" { "not a record entry this page reads" } },
                            Some(step) => tr {
                                td { (step.index) }
                                td { (when(step.at_unix_ms)) }
                                td { (step.who) }
                                td { (step.what) }
                                td { @for d in &step.decisions { (d) br; } }
                            },
                        }
                    }
                }
            },
        }
    };
    page(SITE, &format!("Ceremony {}", s.id), None, body)
}

/// A page that only says something.
pub fn message(title: &str, text: &str) -> Markup {
    page(SITE, title, None, html! { p #message { (text) } })
}
