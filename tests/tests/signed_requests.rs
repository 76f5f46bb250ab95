//! Signed requests: with requester keys in the key group's policy, a
//! request stands only on its requester's identity-key signature. The
//! coordinator refuses any other, with a status saying why and nothing
//! recorded; a request signed by its requester signs and replays.
//! (Agents that refuse a request the coordinator forged are in
//! `agent_policy.rs`.)

use quorate::audit;
use quorate::local::{DEPUTY, LocalDeployment, Options, REQUESTER};
use quorate_e2e::*;
use quorate_wire as proto;
use tonic::Code;

async fn deploy_signed(dir: &std::path::Path) -> LocalDeployment {
    let options = Options {
        signed_requests: true,
        ..Options::default()
    };
    deploy_with(dir, options).await
}

fn manifest_request() -> proto::CreateCeremonyRequest {
    proto::CreateCeremonyRequest {
        key_group: "release".into(),
        message: MANIFEST.as_bytes().to_vec(),
        label: "SHA256SUMS".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_signed_by_its_requester_signs_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy_signed(dir.path()).await;
    let id = request(&d, MANIFEST).await;
    for who in ["alice", "carol", "erin"] {
        d.approve(&pid(who), &id, T).await.unwrap();
    }
    let s = wait_for(&d, &id, "signed", |s| !s.signature.is_empty()).await;
    let signed = quorate_types::SignedRequest::from_bytes(&s.signed_request).unwrap();
    assert_eq!(signed.request.requester, REQUESTER);
    // The auditor's replay checks the signature against the policy.
    let mut auditor = d.clients(quorate::local::AUDITOR).await.unwrap();
    let id = quorate_types::CeremonyId::new(&id).unwrap();
    let transcript = audit::export(&mut auditor.audit, &id).await.unwrap();
    let path = dir.path().join("ceremony.transcript");
    audit::save_transcript(&transcript, &path).unwrap();
    let log = audit::log_verifier(&d.log_verifier_key).unwrap();
    let report = audit::replay_file(&path, &log).unwrap();
    assert!(report.passed, "{report}");
    d.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_coordinator_refuses_a_request_its_requester_did_not_sign() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy_signed(dir.path()).await;
    let mut clients = d.clients(REQUESTER).await.unwrap();
    let refused = |code: Code, says: &'static str| {
        move |r: Result<tonic::Response<proto::CeremonyStatus>, tonic::Status>| {
            let e = r.unwrap_err();
            assert_eq!(e.code(), code, "{e:?}");
            assert!(e.message().contains(says), "{}", e.message());
        }
    };
    // Unsigned.
    refused(Code::PermissionDenied, "this one is unsigned")(
        clients.ceremonies.create(manifest_request()).await,
    );
    // Signed by the deputy, sent by the release manager.
    let mut borrowed = manifest_request();
    d.sign_request(DEPUTY, &mut borrowed).unwrap();
    refused(
        Code::PermissionDenied,
        "signed as release-deputy's, but it is release-manager's",
    )(clients.ceremonies.create(borrowed).await);
    // Signed over another message.
    let mut altered = manifest_request();
    d.sign_request(REQUESTER, &mut altered).unwrap();
    altered.message = b"deadbeef  evil.tar.gz\n".to_vec();
    refused(Code::PermissionDenied, "message is not the ceremony's")(
        clients.ceremonies.create(altered).await,
    );
    // Signed under another request id than the one sent.
    let mut other_id = manifest_request();
    d.sign_request(REQUESTER, &mut other_id).unwrap();
    other_id.request_id = "another".into();
    refused(Code::InvalidArgument, "is not the signed request's")(
        clients.ceremonies.create(other_id).await,
    );
    // Not a signed request at all.
    let mut garbage = manifest_request();
    garbage.signed_request = b"{\"request\":1}".to_vec();
    refused(
        Code::InvalidArgument,
        "signed_request: not a signed request",
    )(clients.ceremonies.create(garbage).await);
    // Nothing was recorded.
    let list = clients
        .ceremonies
        .list(proto::ListCeremoniesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(list.ceremonies.is_empty(), "{:?}", list.ceremonies);
    // The same request signed goes through, once: sent again (a retry),
    // it names the same ceremony.
    let mut good = manifest_request();
    d.sign_request(REQUESTER, &mut good).unwrap();
    let first = clients.ceremonies.create(good.clone()).await.unwrap();
    let again = clients.ceremonies.create(good).await.unwrap();
    assert_eq!(first.get_ref().id, again.get_ref().id);
    d.stop().await.unwrap();
}
