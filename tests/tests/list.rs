//! Ceremonies.List pages: oldest first, every ceremony once, and a clear
//! refusal of a page token or size it cannot serve.

use quorate::local::REQUESTER;
use quorate_e2e::{MANIFEST, deploy, request};
use quorate_wire as proto;
use tonic::Code;

async fn page(
    d: &quorate::local::LocalDeployment,
    page_size: u32,
    page_token: &str,
) -> Result<proto::ListCeremoniesReply, tonic::Status> {
    d.clients(REQUESTER)
        .await
        .unwrap()
        .ceremonies
        .list(proto::ListCeremoniesRequest {
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

fn ids(reply: &proto::ListCeremoniesReply) -> Vec<String> {
    reply.ceremonies.iter().map(|c| c.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_list_every_ceremony_once_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = deploy(dir.path()).await;
    let mut requested = Vec::new();
    for n in 0..7 {
        requested.push(request(&d, &format!("{MANIFEST}# {n}\n")).await);
    }

    let whole = page(&d, 0, "").await.unwrap();
    assert!(whole.next_page_token.is_empty());
    let all = ids(&whole);
    let mut sorted = requested.clone();
    sorted.sort();
    let mut listed = all.clone();
    listed.sort();
    assert_eq!(listed, sorted);
    let created: Vec<i64> = whole
        .ceremonies
        .iter()
        .map(|c| c.created_at_unix_ms)
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");

    let mut paged = Vec::new();
    let mut token = String::new();
    let mut sizes = Vec::new();
    loop {
        let reply = page(&d, 3, &token).await.unwrap();
        sizes.push(reply.ceremonies.len());
        paged.extend(ids(&reply));
        if reply.next_page_token.is_empty() {
            break;
        }
        token = reply.next_page_token;
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(paged, all);

    // A page that ends exactly at the last ceremony says there is no more.
    let reply = page(&d, 7, "").await.unwrap();
    assert_eq!(ids(&reply), all);
    assert!(reply.next_page_token.is_empty());

    let e = page(&d, 3, "not-a-token").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("not-a-token"), "{}", e.message());
    let e = page(&d, 1001, "").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("at most 1000"), "{}", e.message());
    d.stop().await.unwrap();
}
