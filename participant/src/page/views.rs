//! The approver's page, as HTML: the list of what waits for a decision,
//! one ceremony with everything `quorate-participant show` prints, and the
//! confirmation steps of approving and rejecting. Pure functions of what
//! the agent reports; `page` serves them.

use maud::{Markup, html};
use quorate_formats::git_tag::check_context;
use quorate_formats::sshsig::describe_signed_data;
use quorate_types::policy::Policy;
use quorate_web::layout::page;
use quorate_wire as proto;

/// The page's name in every title.
pub const SITE: &str = "quorate approver";

/// Where the live updates come from.
pub const EVENTS: &str = "/events";

/// What every view needs besides the ceremony: whose page it is, the key
/// group's policy (for what the quorum still lacks) and the time.
pub struct Context<'a> {
    pub participant: &'a str,
    pub policy: &'a Policy,
    pub now_unix_ms: i64,
    /// The event stream's address, for a page that follows the agent,
    /// with the agent's fingerprint taken before the page's state was
    /// read: a change after that is sent when the stream opens, never
    /// missed.
    pub live: Option<String>,
}

/// The event stream's address for a page rendered at fingerprint `since`.
pub fn live(since: u64) -> String {
    format!("{EVENTS}?since={since}")
}

/// Approvals the quorum needs in all, and per role `(role, have, need)`.
fn quorum(status: &proto::CeremonyStatus, policy: &Policy) -> (u32, Vec<(String, u32, u32)>) {
    let (approvals, required) = match (&policy.emergency, status.break_glass) {
        (Some(e), true) => (e.approvals, &e.required),
        _ => (policy.approvals, &policy.required),
    };
    let needed = approvals.map_or(status.threshold, u32::from);
    let roles = required
        .iter()
        .map(|(role, need)| {
            let have = status.approvals_by_role.get(role).copied().unwrap_or(0);
            (role.clone(), have, u32::from(*need))
        })
        .collect();
    (needed, roles)
}

/// "4 min 10 s left", "expired" or "" when the ceremony has no deadline.
pub fn time_left(status: &proto::CeremonyStatus, now_unix_ms: i64) -> String {
    if status.next_deadline_unix_ms == 0 {
        return String::new();
    }
    let left = status.next_deadline_unix_ms.saturating_sub(now_unix_ms) / 1000;
    match left {
        ..=0 => "deadline passed".into(),
        1..60 => format!("{left} s left"),
        60..3600 => format!("{} min {} s left", left / 60, left % 60),
        _ => format!("{} h {} min left", left / 3600, (left % 3600) / 60),
    }
}

fn ceremony_path(id: &str) -> String {
    format!("/ceremonies/{id}")
}

/// What the approvals so far cover, and what is missing.
fn quorum_view(status: &proto::CeremonyStatus, policy: &Policy) -> Markup {
    let (needed, roles) = quorum(status, policy);
    let have = status.approvals.len();
    html! {
        span { (have) " of " (needed) " approvals" }
        @for (role, have, need) in &roles {
            br;
            span {
                (role) ": " (have) " of " (need)
                @if have >= need { " (met)" } @else { " (missing " (need - have) ")" }
            }
        }
    }
}

fn break_glass_flag(status: &proto::CeremonyStatus) -> Markup {
    html! {
        @if status.break_glass {
            span.flag.break-glass { "BREAK-GLASS" }
            " " (status.justification)
        }
    }
}

/// A key ceremony the coordinator has open for this participant.
pub struct KeyItem {
    pub id: String,
    pub key_group: String,
    pub kind: String,
    pub summary: String,
}

fn key_ceremonies(keys: &Result<Vec<KeyItem>, String>) -> Markup {
    html! {
        h2 { "Key ceremonies" }
        @match keys {
            Err(e) => p.notice { "Could not ask the coordinator for key ceremonies: " (e) },
            Ok(keys) if keys.is_empty() => p #no-key-ceremonies { "No key ceremony is open." },
            Ok(keys) => table #key-ceremonies {
                caption.visually-hidden { "Open key ceremonies" }
                thead { tr {
                    th scope="col" { "Key ceremony" }
                    th scope="col" { "Key group" }
                    th scope="col" { "What" }
                    th scope="col" { "Where it stands" }
                } }
                tbody {
                    @for k in keys {
                        tr {
                            td { a href=(format!("/key-ceremonies/{}", k.id)) { (k.id) } }
                            td { (k.key_group) }
                            td { (k.kind) }
                            td { (k.summary) }
                        }
                    }
                }
            },
        }
    }
}

/// A key ceremony's proposal, and how to take part.
pub fn key_ceremony(id: &str, described: &str, summary: &str) -> Markup {
    let body = html! {
        p { "Where it stands: " (summary) }
        pre #proposal { (described) }
        p { "Taking part runs the key generation in its own process, which holds the new "
            "share's secrets until it is sealed. To agree, run on this machine: " }
        pre { "quorate-participant join " (id) }
    };
    page(SITE, &format!("Key ceremony {id}"), None, body)
}

/// The pending list.
pub fn list(
    reviews: &[proto::Review],
    keys: &Result<Vec<KeyItem>, String>,
    cx: &Context<'_>,
) -> Markup {
    let body = html! {
        p { "Signed in as the agent of " strong { (cx.participant) } ". "
            "Each request below waits for your decision; open one to read what it signs." }
        @if reviews.is_empty() {
            p #nothing-pending { "Nothing waits for your decision." }
        } @else {
            table #pending {
                caption.visually-hidden { "Ceremonies waiting for your decision" }
                thead { tr {
                    th scope="col" { "Ceremony" }
                    th scope="col" { "Requested by" }
                    th scope="col" { "Key group" }
                    th scope="col" { "Approvals" }
                    th scope="col" { "Time left" }
                    th scope="col" { "Break-glass" }
                } }
                tbody {
                    @for review in reviews {
                        @let status = review.ceremony.clone().unwrap_or_default();
                        tr data-ceremony=(status.id) {
                            td {
                                a href=(ceremony_path(&status.id)) { (status.id) }
                                @if !status.label.is_empty() { br; (status.label) }
                                @if review.record_problem {
                                    br; span.flag.problem { "RECORD PROBLEM" }
                                }
                            }
                            td { (status.requester) }
                            td { (status.key_group) }
                            td { (quorum_view(&status, cx.policy)) }
                            td { (time_left(&status, cx.now_unix_ms)) }
                            td { (break_glass_flag(&status)) }
                        }
                    }
                }
            }
        }
        (key_ceremonies(keys))
    };
    page(SITE, "Waiting for your decision", cx.live.as_deref(), body)
}

/// The message, as `show` prints it: an SSH signature's signed data, text,
/// or its size when binary.
fn message_view(status: &proto::CeremonyStatus) -> Markup {
    html! {
        @if let Some(sshsig) = describe_signed_data(&status.message) {
            p { "SSHSIG signed data: " (sshsig) }
        } @else {
            @match std::str::from_utf8(&status.message) {
                Ok(text) => {
                    p { (status.message.len()) " bytes of text:" }
                    pre #message { (text) }
                }
                Err(_) => p { (status.message.len()) " bytes of binary data" },
            }
        }
    }
}

/// Everything about one ceremony; with `csrf`, the buttons to decide.
pub fn ceremony(review: &proto::Review, cx: &Context<'_>, notice: Option<&str>) -> Markup {
    let status = review.ceremony.clone().unwrap_or_default();
    let state = proto::convert::state_name(status.state());
    let tag = check_context(&status.message, &status.context)
        .ok()
        .flatten();
    let body = html! {
        @if let Some(notice) = notice {
            p.ok role="status" { (notice) }
        }
        @if status.break_glass {
            p.problem {
                span.flag.break-glass { "BREAK-GLASS" }
                " This ceremony runs under the emergency policy and will be reviewed afterwards. "
                "Justification: " strong { (status.justification) }
            }
        }
        @if review.record_problem {
            p.problem role="alert" { "RECORD PROBLEM: " (review.record) }
        }
        @for refusal in &review.refusals {
            p.problem { "Refused by this agent: " (refusal) }
        }
        dl {
            dt { "Ceremony" } dd { code { (status.id) } }
            dt { "Key group" } dd { (status.key_group) " (threshold " (status.threshold) ")" }
            dt { "Requested by" } dd #requester { (status.requester) }
            @if !status.label.is_empty() { dt { "Label" } dd { (status.label) } }
            dt { "State" } dd #state { (state) ": " (status.summary) }
            dt { "Approvals" } dd { (quorum_view(&status, cx.policy)) }
            dt { "Time left" } dd { (time_left(&status, cx.now_unix_ms)) }
            dt { "Your decision" } dd #decision { (review.decision) }
            @if !review.record.is_empty() && !review.record_problem {
                dt { "Record" } dd { (review.record) }
            }
        }
        @if review.decision == "pending" && crate::agent::is_open(&status) {
            p {
                a.button href=(format!("{}/approve", ceremony_path(&status.id))) #approve { "Approve…" }
                " "
                a.button href=(format!("{}/reject", ceremony_path(&status.id))) #reject { "Reject…" }
            }
        }
        h2 { "Artifacts" }
        ul #artifacts {
            @for artifact in &review.artifacts { li { code { (artifact) } } }
        }
        @if !review.batch.is_empty() {
            h2 { "Batch: " (review.batch.len()) " messages, each signed under this one approval" }
            ol #batch {
                @for message in &review.batch { li { (message) } }
            }
        }
        h2 { "Message" }
        p { "SHA-256: " code #digest { (hex::encode(&status.message_sha256)) } }
        @if let Some(tag) = &tag {
            p { "The git tag object (its SHA-512 is what the message signs; checked by this agent):" }
            pre #tag { (tag.text()) }
        }
        (message_view(&status))
        @if !status.approvals.is_empty() || !status.rejections.is_empty() {
            h2 { "Decisions so far" }
            ul {
                @for a in &status.approvals { li { (a.participant) " (" (a.role) ") approved" } }
                @for r in &status.rejections {
                    li { (r.participant) " (" (r.role) ") rejected: " (r.reason) }
                }
            }
        }
    };
    page(
        SITE,
        &format!("Ceremony {}", status.id),
        cx.live.as_deref(),
        body,
    )
}

fn summary(review: &proto::Review, cx: &Context<'_>) -> Markup {
    let status = review.ceremony.clone().unwrap_or_default();
    html! {
        (break_glass_flag(&status))
        dl {
            dt { "Ceremony" } dd { a href=(ceremony_path(&status.id)) { code { (status.id) } } }
            dt { "Requested by" } dd { (status.requester) }
            dt { "Key group" } dd { (status.key_group) }
            dt { "Time left" } dd { (time_left(&status, cx.now_unix_ms)) }
            dt { "Message SHA-256" } dd { code { (hex::encode(&status.message_sha256)) } }
        }
        h2 { "Artifacts" }
        ul { @for artifact in &review.artifacts { li { code { (artifact) } } } }
        @if !review.batch.is_empty() {
            h2 { "Batch" }
            ol { @for message in &review.batch { li { (message) } } }
        }
    }
}

/// The confirmation before an approval.
pub fn confirm_approve(review: &proto::Review, cx: &Context<'_>, csrf: &str) -> Markup {
    let id = review.ceremony.as_ref().map_or("", |c| c.id.as_str());
    let body = html! {
        p { "Your agent will sign your approval with your identity key, and take part in "
            "signing exactly what is shown below." }
        (summary(review, cx))
        form method="post" action=(format!("{}/approve", ceremony_path(id))) {
            input type="hidden" name="csrf" value=(csrf);
            button.approve type="submit" #confirm { "Approve and sign" }
            " "
            a href=(ceremony_path(id)) { "Cancel" }
        }
    };
    page(SITE, &format!("Approve ceremony {id}?"), None, body)
}

/// The rejection form: a reason is required.
pub fn confirm_reject(
    review: &proto::Review,
    cx: &Context<'_>,
    csrf: &str,
    problem: Option<&str>,
) -> Markup {
    let id = review.ceremony.as_ref().map_or("", |c| c.id.as_str());
    let body = html! {
        @if let Some(problem) = problem {
            p.problem role="alert" #form-problem { (problem) }
        }
        p { "Your agent will sign your rejection and its reason with your identity key. "
            "A rejection from a veto role ends the ceremony." }
        (summary(review, cx))
        form method="post" action=(format!("{}/reject", ceremony_path(id))) {
            input type="hidden" name="csrf" value=(csrf);
            label for="reason" { "Reason (required; recorded and shown to everyone)" }
            textarea #reason name="reason" required maxlength="1024" {}
            p {
                button.reject type="submit" #confirm { "Reject" }
                " "
                a href=(ceremony_path(id)) { "Cancel" }
            }
        }
    };
    page(SITE, &format!("Reject ceremony {id}?"), None, body)
}

/// A page that only says something: an error, or where to log in.
pub fn message(title: &str, text: &str) -> Markup {
    page(SITE, title, None, html! { p #message { (text) } })
}
