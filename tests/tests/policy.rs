//! Quorum policy end to end: deadlines, re-forming, break-glass with its
//! alert and review, and the coordinator's monitoring endpoints.

use std::time::Duration;

use quorate::local::{DEPUTY, LocalDeployment, Options, REQUESTER, sample_roster};
use quorate_e2e::*;
use quorate_participant::signer::Nonces;
use quorate_types::Policy;
use quorate_wire::{self as proto, CeremonyState};
use rand_core::OsRng;
use tonic::Code;

async fn deploy_with(dir: &std::path::Path, policy: &str, alerts: Options) -> LocalDeployment {
    let options = Options {
        policy: Policy::from_toml(policy).unwrap(),
        ..alerts
    };
    LocalDeployment::start_with(dir, "release", &sample_roster(None), 3, options)
        .await
        .unwrap()
}

/// `GET /metrics` over HTTPS.
async fn metrics(d: &LocalDeployment) -> String {
    let addr = d.metrics_addr().expect("local deployments serve metrics");
    let response = https_get(d, addr, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// Approves as `who` with real commitments over raw gRPC, and then never
/// signs: a participant that goes silent after approving.
async fn approve_and_go_silent(d: &LocalDeployment, who: &str, id: &str) {
    let key = key_package(d, who);
    let nonces = Nonces::generate(&key, &mut OsRng);
    raw_signer(d, who)
        .await
        .approve(proto::ApproveRequest {
            ceremony: id.into(),
            statement: approval(d, who, id),
            commitments: nonces.commitments().serialize().unwrap(),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signer_that_never_answers_round_two_is_dropped_and_others_sign() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = deploy_with(
        dir.path(),
        "[deadlines]\nsigning = \"1s\"\n",
        Options::default(),
    )
    .await;
    d.stop_agent(&pid("erin")).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    d.approve(&pid("carol"), &id, T).await.unwrap();
    approve_and_go_silent(&d, "erin", &id).await;

    let s = wait_for(&d, &id, "erin dropped", |s| !s.dropped.is_empty()).await;
    assert_eq!(s.dropped[0].participant, "erin");
    assert!(
        s.dropped[0]
            .reason
            .contains("no signature share within the signing deadline of 1s"),
        "{}",
        s.dropped[0].reason
    );
    assert_ne!(s.state(), CeremonyState::Signed);

    // Bob's approval re-forms the signing set without Erin.
    d.approve(&pid("bob"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    verify(&d, &s);
    assert_eq!(s.attempt, 2, "{}", s.summary);
    let text = metrics(&d).await;
    assert!(
        text.contains("quorate_timeouts_total{deadline=\"signing\"} 1"),
        "{text}"
    );
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_approval_deadline_expires_a_ceremony() {
    let dir = tempfile::tempdir().unwrap();
    let policy = "[deadlines]\napproval = \"1s\"\nsigning = \"1s\"\noverall = \"1h\"\n";
    let d = deploy_with(dir.path(), policy, Options::default()).await;
    let id = request(&d, MANIFEST).await;
    d.approve(&pid("alice"), &id, T).await.unwrap();
    let s = d.wait_finished(&id, T).await.unwrap();
    assert_eq!(s.state(), CeremonyState::Expired);
    assert!(
        s.summary.contains("approval deadline of 1s passed"),
        "{}",
        s.summary
    );
    assert!(
        s.summary.contains("2 more approvals from anyone"),
        "{}",
        s.summary
    );

    // Too late for Bob.
    let err = raw_signer(&d, "bob")
        .await
        .reject(proto::RejectRequest {
            ceremony: id.clone(),
            statement: signed(
                &d,
                "bob",
                &id,
                MANIFEST.as_bytes(),
                quorate_types::Decision::Reject {
                    reason: "late".into(),
                },
            ),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("expired"), "{}", err.message());
    d.stop().await.unwrap();
}

const BREAK_GLASS_POLICY: &str = r#"
requesters = ["release-manager"]
[required]
engineering = 1
security = 1
release = 1
[emergency]
declarers = ["release-manager"]
reviewers = ["auditor"]
required = { security = 1 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn break_glass_alerts_signs_and_waits_for_review() {
    let dir = tempfile::tempdir().unwrap();
    let alert_file = dir.path().join("alert.json");
    let hook = vec![
        "sh".into(),
        "-c".into(),
        format!("cat > {}", alert_file.display()),
    ];
    let (webhook, mut posted, receiver) = webhook_receiver().await;
    let alerts = Options {
        alert_command: Some(hook),
        alert_webhook: Some(webhook),
        ..Default::default()
    };
    let d = deploy_with(dir.path(), BREAK_GLASS_POLICY, alerts).await;
    let create = |who: &'static str, break_glass: bool, justification: &'static str| {
        let d = &d;
        async move {
            d.clients(who)
                .await
                .unwrap()
                .ceremonies
                .create(proto::CreateCeremonyRequest {
                    key_group: "release".into(),
                    message: MANIFEST.as_bytes().to_vec(),
                    label: "SHA256SUMS".into(),
                    break_glass,
                    justification: justification.into(),
                    ..Default::default()
                })
                .await
        }
    };
    let err = create(REQUESTER, true, "  ").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("justification"), "{}", err.message());
    let err = create(DEPUTY, true, "trust me").await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("may not declare break-glass"),
        "{}",
        err.message()
    );
    let err = create(DEPUTY, false, "").await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let s = create(REQUESTER, true, "CVE-2026-4242 is exploited; hotfix now")
        .await
        .unwrap()
        .into_inner();
    let id = s.id.clone();
    assert!(s.break_glass);
    assert!(s.summary.starts_with("BREAK-GLASS"), "{}", s.summary);

    // The operator's alert hook got the ceremony as JSON.
    let alert = tokio::time::timeout(T, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&alert_file)
                && text.ends_with('}')
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert!(
        alert.contains("\"alert\":\"break_glass_declared\""),
        "{alert}"
    );
    assert!(alert.contains("CVE-2026-4242"), "{alert}");
    assert!(alert.contains(&id), "{alert}");
    let posted = tokio::time::timeout(T, posted.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        posted, alert,
        "the webhook gets the same JSON as the command"
    );

    // Approvers see the flag and the justification.
    d.wait_pending(&pid("alice"), &id, T).await.unwrap();
    let review = d
        .control(&pid("alice"))
        .await
        .unwrap()
        .show(proto::ShowRequest {
            ceremony: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let shown = quorate_participant::control::describe(&review);
    assert!(shown.contains("BREAK-GLASS"), "{shown}");
    assert!(shown.contains("CVE-2026-4242"), "{shown}");

    // The emergency policy relaxes the role rules (no release approver),
    // never the threshold.
    for who in ["alice", "bob", "carol"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = wait_for(&d, &id, "signed", |s| !s.signature.is_empty()).await;
    assert_eq!(s.state(), CeremonyState::AwaitingReview);
    assert!(
        s.summary.contains("awaiting an auditor's review"),
        "{}",
        s.summary
    );
    let key: [u8; 32] = hex::decode(&d.group.group_key).unwrap().try_into().unwrap();
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .unwrap()
        .verify_strict(
            &s.message,
            &ed25519_dalek::Signature::from_slice(&s.signature).unwrap(),
        )
        .unwrap();

    let list = |who: &'static str| {
        let d = &d;
        async move {
            d.clients(who)
                .await
                .unwrap()
                .ceremonies
                .list(proto::ListCeremoniesRequest {
                    unreviewed: true,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .ceremonies
        }
    };
    let unreviewed = list("auditor").await;
    assert_eq!(unreviewed.len(), 1);
    assert_eq!(unreviewed[0].id, id);

    let review = |who: &'static str, notes: &'static str| {
        let d = &d;
        let id = id.clone();
        async move {
            d.clients(who)
                .await
                .unwrap()
                .ceremonies
                .review(proto::ReviewCeremonyRequest {
                    id,
                    notes: notes.into(),
                })
                .await
        }
    };
    let err = review("alice", "looks fine").await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = review("auditor", " ").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let s = review("auditor", "hotfix matched the advisory; keys rotated")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.state(), CeremonyState::Signed);
    assert_eq!(s.reviewed_by, "auditor");
    assert!(list("auditor").await.is_empty());
    let err = review("auditor", "again").await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let text = metrics(&d).await;
    assert!(
        text.contains("quorate_break_glass_total{key_group=\"release\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("quorate_ceremonies{state=\"signed\",key_group=\"release\"} 1"),
        "{text}"
    );
    d.stop().await.unwrap();
    receiver.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_and_reflection_answer() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    // Health and reflection need TLS but no client certificate.
    let channel = anonymous_channel(&d).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in [
        "quorate.v1.Signer",
        "quorate.v1.Ceremonies",
        "quorate.v1.KeyGroups",
    ] {
        let reply = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reply.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service}"
        );
    }

    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("unexpected reflection reply {reply:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for service in [
        "quorate.v1.Signer",
        "quorate.v1.Ceremonies",
        "quorate.v1.KeyGroups",
        "grpc.health.v1.Health",
    ] {
        assert!(names.contains(&service), "{names:?}");
    }
    d.stop().await.unwrap();
}
