//! The approver's page in real browsers, Debian's Chromium and Firefox ESR,
//! headless, against a local deployment on loopback whose agents serve
//! their pages. Every test runs in each browser (`<test>::chromium`,
//! `<test>::firefox`).
//! An approver logs in with the agent's link, finds the pending ceremony,
//! reads its artifacts, approves it, and sees it signed; a security
//! approver rejects one with a reason, which ends it; forms without the
//! session's CSRF token, and callers without a session, change nothing.
//!
//! With `QUORATE_SCREENSHOTS=<dir>`, the Chromium runs save the
//! screenshots the README shows.

use std::time::Duration;

use quorate::local::{LocalDeployment, Options};
use quorate_e2e::browser::{Browser, Certificates, Kind};
use quorate_e2e::*;
use quorate_wire::CeremonyState;

async fn deploy_pages(dir: &std::path::Path) -> anyhow::Result<LocalDeployment> {
    let policy = quorate_types::Policy::from_toml("veto_roles = [\"security\"]\n")?;
    Ok(deploy_with(
        dir,
        Options {
            policy,
            pages: true,
            ..Default::default()
        },
    )
    .await)
}

/// Opens `login` and waits for ceremony `id` in the pending list; its
/// text.
async fn sees_pending(browser: &Browser, login: &str, id: &str) -> anyhow::Result<String> {
    browser.goto(login).await?;
    browser
        .wait_for_text("#pending", id, Duration::from_secs(15))
        .await
}

/// Follows the link to ceremony `id`'s page.
async fn open_ceremony(browser: &Browser, id: &str) -> anyhow::Result<()> {
    browser
        .click(&format!("a[href=\"/ceremonies/{id}\"]"))
        .await
}

/// Each test, once in Chromium and once in Firefox.
macro_rules! in_each_browser {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use super::Kind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn chromium() -> anyhow::Result<()> {
                super::$test(Kind::Chromium).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn firefox() -> anyhow::Result<()> {
                super::$test(Kind::Firefox).await
            }
        }
    )*};
}

in_each_browser!(
    an_approver_reads_and_approves_on_the_page_and_the_ceremony_signs,
    a_rejection_with_a_reason_ends_a_vetoed_ceremony,
    forms_without_the_sessions_csrf_token_decide_nothing,
    the_coordinator_page_shows_a_signed_ceremonys_timeline_to_an_auditor,
    a_deployment_stops_while_its_pages_are_open,
    an_agent_serves_its_page_over_https_with_its_certificate,
);

async fn screenshot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    if let Ok(dir) = std::env::var("QUORATE_SCREENSHOTS")
        && browser.kind() == Kind::Chromium
    {
        browser
            .screenshot(&std::path::Path::new(&dir).join(name))
            .await?;
    }
    Ok(())
}

async fn an_approver_reads_and_approves_on_the_page_and_the_ceremony_signs(
    kind: Kind,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut d = deploy_pages(dir.path()).await?;
    // Two others approve from their terminals' agents; alice decides on
    // her page, and hers is the third approval.
    for who in ["carol", "erin"] {
        d.set_auto_approve(&pid(who), true).await?;
    }
    let browser = Browser::start(kind).await?;
    let login = d.page_login(&pid("alice"))?;
    browser.goto(&login).await?;
    // The login link leaves the address bar for the list.
    let base = login.split("/login").next().unwrap_or_default().to_string();
    assert_eq!(browser.url().await?, format!("{base}/"));
    assert_eq!(
        browser.text("#nothing-pending").await?,
        "Nothing waits for your decision."
    );
    assert_eq!(
        browser.text("#no-key-ceremonies").await?,
        "No key ceremony is open."
    );

    let id = request(&d, MANIFEST).await;
    // The list updates by itself (server-sent events) to show it.
    let row = browser
        .wait_for_text("#pending", &id, Duration::from_secs(15))
        .await?;
    assert!(row.contains("release-manager"), "{row}");
    assert!(row.contains("release"), "{row}");
    screenshot(&browser, "approver-list.png").await?;

    open_ceremony(&browser, &id).await?;
    let artifacts = browser.text("#artifacts").await?;
    assert!(artifacts.contains("quorate-1.0.0.tar.gz"), "{artifacts}");
    assert!(artifacts.contains("quorate-1.0.0.zip"), "{artifacts}");
    assert_eq!(browser.text("#requester").await?, "release-manager");
    assert_eq!(browser.text("#decision").await?, "pending");
    let digest = browser.text("#digest").await?;
    assert_eq!(
        digest,
        quorate_types::Sha256Digest::of(MANIFEST.as_bytes()).to_string()
    );
    screenshot(&browser, "approver-ceremony.png").await?;

    // Every control has a label; Approve asks first (reached with the
    // keyboard alone), and nothing is decided until it is confirmed.
    let unlabelled = browser
        .run_async(
            "arguments[0](Array.from(document.querySelectorAll(
               'input:not([type=hidden]), select, textarea'))
               .filter(e => e.labels.length === 0).map(e => e.outerHTML))",
        )
        .await?;
    assert_eq!(unlabelled, serde_json::json!([]));
    browser.press_enter("#approve").await?;
    browser
        .wait_for_url(
            &format!("/ceremonies/{id}/approve"),
            Duration::from_secs(10),
        )
        .await?;
    assert!(
        status(&d, &id)
            .await
            .approvals
            .iter()
            .all(|a| a.participant != "alice")
    );
    browser.click("#confirm").await?;
    browser
        .wait_for_text("main", "You approved.", Duration::from_secs(10))
        .await?;
    let s = d.wait_finished(&id, T).await?;
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    assert!(s.approvals.iter().any(|a| a.participant == "alice"));
    verify(&d, &s);
    // The page follows the ceremony to its end.
    browser
        .wait_for_text("#state", "signed", Duration::from_secs(15))
        .await?;
    browser.stop().await?;
    d.stop().await?;
    Ok(())
}

async fn a_rejection_with_a_reason_ends_a_vetoed_ceremony(kind: Kind) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = deploy_pages(dir.path()).await?;
    let id = request(&d, MANIFEST).await;
    let browser = Browser::start(kind).await?;
    sees_pending(&browser, &d.page_login(&pid("carol"))?, &id).await?;
    open_ceremony(&browser, &id).await?;
    browser.click("#reject").await?;
    let form = browser.url().await?;
    assert!(
        form.ends_with(&format!("/ceremonies/{id}/reject")),
        "{form}"
    );
    // Without a reason the browser does not send the form: the field says
    // what is missing, and no answer of the agent's is on the page.
    browser.click("#confirm").await?;
    let missing = browser
        .run_async("arguments[0](document.querySelector('#reason').validity.valueMissing)")
        .await?;
    assert_eq!(missing, true);
    assert_eq!(browser.count("#form-problem").await?, 0);
    assert_eq!(browser.url().await?, form);
    assert!(status(&d, &id).await.rejections.is_empty());
    // Nor does the agent take a blank one from a form that skips the check.
    let blank = browser
        .run_async(
            "const done = arguments[0];
             const csrf = document.querySelector('input[name=csrf]').value;
             fetch(location.pathname, { method: 'POST',
               headers: { 'content-type': 'application/x-www-form-urlencoded' },
               body: 'csrf=' + csrf + '&reason=%20%20' })
               .then(r => r.text().then(t => done([r.status, t])));",
        )
        .await?;
    assert_eq!(blank[0], 422, "{blank}");
    assert!(
        blank[1]
            .as_str()
            .unwrap_or_default()
            .contains("Nothing was sent: reason: give a reason of 1 to 1024 bytes."),
        "{blank}"
    );
    assert!(status(&d, &id).await.rejections.is_empty());
    browser
        .type_into("#reason", "the zip is not from our build")
        .await?;
    screenshot(&browser, "approver-reject.png").await?;
    browser.click("#confirm").await?;
    browser
        .wait_for_text("main", "You rejected.", Duration::from_secs(10))
        .await?;
    let s = d.wait_finished(&id, T).await?;
    assert_eq!(s.state(), CeremonyState::Rejected, "{}", s.summary);
    let reasons: Vec<_> = s
        .rejections
        .iter()
        .map(|r| (r.participant.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(reasons, vec![("carol", "the zip is not from our build")]);
    browser.stop().await?;
    d.stop().await?;
    Ok(())
}

async fn forms_without_the_sessions_csrf_token_decide_nothing(kind: Kind) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = deploy_pages(dir.path()).await?;
    let id = request(&d, MANIFEST).await;
    let browser = Browser::start(kind).await?;
    let login = d.page_login(&pid("alice"))?;
    let base = login.split("/login").next().unwrap_or_default().to_string();

    // A wrong login link opens no session.
    browser.goto(&format!("{base}/login?token=00")).await?;
    assert_eq!(browser.text("h1").await?, "Not a valid login link");
    browser.goto(&format!("{base}/ceremonies/{id}")).await?;
    assert_eq!(browser.text("h1").await?, "Log in first");

    browser.goto(&login).await?;
    browser.goto(&format!("{base}/ceremonies/{id}")).await?;
    assert_eq!(browser.text("#decision").await?, "pending");
    // Posts from the page's own origin, with the session's cookie, but a
    // forged token, no token, or no cookie.
    let post = |body: &str, credentials: &str| {
        format!(
            "const done = arguments[0];
             fetch('/ceremonies/{id}/approve', {{ method: 'POST', credentials: '{credentials}',
               headers: {{ 'content-type': 'application/x-www-form-urlencoded' }}, body: '{body}' }})
               .then(r => r.text().then(t => done([r.status, t])))
               .catch(e => done([0, String(e)]));"
        )
    };
    for (body, credentials, code, says) in [
        ("csrf=forged", "same-origin", 403, "no valid CSRF token"),
        ("", "same-origin", 403, "no valid CSRF token"),
        ("csrf=forged", "omit", 401, "Log in first"),
    ] {
        let answer = browser.run_async(&post(body, credentials)).await?;
        assert_eq!(answer[0], code, "{body} ({credentials}): {answer}");
        let text = answer[1].as_str().unwrap_or_default();
        assert!(text.contains(says), "{body} ({credentials}): {text}");
    }
    // Nothing was decided, here or at the coordinator.
    browser.goto(&format!("{base}/ceremonies/{id}")).await?;
    assert_eq!(browser.text("#decision").await?, "pending");
    let s = status(&d, &id).await;
    assert!(
        s.approvals.is_empty() && s.rejections.is_empty(),
        "{}",
        s.summary
    );
    assert_eq!(s.state(), CeremonyState::CollectingApprovals);
    browser.stop().await?;
    d.stop().await?;
    Ok(())
}

/// A browser holding `who`'s client certificate (or none), trusting the
/// deployment's CA.
async fn browser_of(kind: Kind, d: &LocalDeployment, who: Option<&str>) -> anyhow::Result<Browser> {
    let ca = d.pki.ca_cert();
    let client = who.map(|who| d.pki.client(who)).transpose()?;
    Browser::start_with(
        kind,
        Some(Certificates {
            ca: &ca,
            client: client.as_ref().map(|c| (c.cert.as_path(), c.key.as_path())),
        }),
    )
    .await
}

async fn the_coordinator_page_shows_a_signed_ceremonys_timeline_to_an_auditor(
    kind: Kind,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut d = deploy_pages(dir.path()).await?;
    for who in ["alice", "carol", "erin"] {
        d.set_auto_approve(&pid(who), true).await?;
    }
    let id = request(&d, MANIFEST).await;
    let s = d.wait_finished(&id, T).await?;
    assert_eq!(s.state(), CeremonyState::Signed, "{}", s.summary);
    let page = d
        .page_url()
        .ok_or_else(|| anyhow::anyhow!("no coordinator page"))?;

    let browser = browser_of(kind, &d, Some(quorate::local::AUDITOR)).await?;
    browser.goto(&page).await?;
    assert_eq!(browser.text("#caller").await?, "auditor");
    let listed = browser.text("#ceremonies").await?;
    assert!(
        listed.contains(&id) && listed.contains("signed"),
        "{listed}"
    );
    assert!(
        browser
            .text("#checkpoint")
            .await?
            .starts_with("quorate.localhost/log")
    );
    screenshot(&browser, "coordinator-list.png").await?;
    // Filters: by state.
    browser.goto(&format!("{page}?state=rejected")).await?;
    assert_eq!(
        browser.text("#no-ceremonies").await?,
        "No ceremony matches."
    );
    browser
        .goto(&format!("{page}?state=signed&key_group=release"))
        .await?;
    assert!(browser.text("#ceremonies").await?.contains(&id));

    open_ceremony(&browser, &id).await?;
    let timeline = browser.text("#timeline").await?;
    for step in [
        "requested a signature from key group release",
        "approved (a signed statement)",
        "signing attempt 1 formed",
        "sent its signature share for attempt 1",
        "closed: signed",
    ] {
        assert!(
            timeline.contains(step),
            "no {step:?} in the timeline:\n{timeline}"
        );
    }
    assert_eq!(browser.text("#signature").await?, hex::encode(&s.signature));
    let signers = browser.text("#signers").await?;
    let mut signers: Vec<&str> = signers.split(", ").collect();
    signers.sort();
    assert_eq!(signers, ["alice", "carol", "erin"]);
    screenshot(&browser, "coordinator-ceremony.png").await?;

    // The downloads: the raw signature is the ceremony's, and the
    // transcript holds every entry of the ceremony with its proof.
    let fetch = |path: String| {
        format!(
            "const done = arguments[0];
             fetch('{path}').then(r => r.arrayBuffer().then(b =>
               done([r.status, Array.from(new Uint8Array(b))])));"
        )
    };
    let raw = browser
        .run_async(&fetch(format!("/ceremonies/{id}/signature/raw")))
        .await?;
    let bytes: Vec<u8> = serde_json::from_value(raw[1].clone())?;
    assert_eq!((raw[0].as_u64(), bytes), (Some(200), s.signature.clone()));
    let got = browser
        .run_async(&fetch(format!("/ceremonies/{id}/transcript")))
        .await?;
    assert_eq!(got[0].as_u64(), Some(200));
    let bytes: Vec<u8> = serde_json::from_value(got[1].clone())?;
    let transcript: quorate_ceremonies::replay::Transcript = serde_json::from_slice(&bytes)?;
    assert_eq!(transcript.ceremony.as_str(), id);
    assert!(transcript.entries.iter().all(|e| !e.proof.is_empty()));
    let mut audit = d.clients(quorate::local::AUDITOR).await?.audit;
    let listed = quorate::audit::export(&mut audit, &quorate_types::CeremonyId::new(&id)?).await?;
    let indexes = |t: &quorate_ceremonies::replay::Transcript| -> Vec<u64> {
        t.entries.iter().map(|e| e.index).collect()
    };
    assert_eq!(indexes(&transcript), indexes(&listed));
    browser.stop().await?;

    // A browser with no client certificate sees nothing but why.
    let stranger = browser_of(kind, &d, None).await?;
    stranger.goto(&format!("{page}ceremonies/{id}")).await?;
    assert_eq!(stranger.text("h1").await?, "A client certificate is needed");
    assert_eq!(stranger.count("#timeline").await?, 0);
    stranger.stop().await?;
    d.stop().await?;
    Ok(())
}

async fn a_deployment_stops_while_its_pages_are_open(kind: Kind) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = deploy_pages(dir.path()).await?;
    let id = request(&d, MANIFEST).await;
    // An approver's page following a ceremony (an open event stream), and
    // the coordinator's page in another browser (a kept-alive connection).
    let approver = Browser::start(kind).await?;
    sees_pending(&approver, &d.page_login(&pid("alice"))?, &id).await?;
    let auditor = browser_of(kind, &d, Some(quorate::local::AUDITOR)).await?;
    let page = d
        .page_url()
        .ok_or_else(|| anyhow::anyhow!("no coordinator page"))?;
    auditor.goto(&page).await?;
    assert!(auditor.text("#ceremonies").await?.contains(&id));
    // Both stop within their drain time, with the browsers still there.
    tokio::time::timeout(Duration::from_secs(20), d.stop())
        .await
        .map_err(|_| anyhow::anyhow!("the deployment did not stop with its pages open"))??;
    approver.stop().await?;
    auditor.stop().await?;
    Ok(())
}

async fn an_agent_serves_its_page_over_https_with_its_certificate(
    kind: Kind,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut d = deploy_pages(dir.path()).await?;
    let alice = pid("alice");
    let (cert, key) = d.pki.server_named("alice-page")?;
    d.stop_agent(&alice).await;
    if let Some(config) = d.agent_configs.get_mut(&alice) {
        config.page = Some(quorate_participant::page::PageConfig {
            listen: "127.0.0.1:0".parse()?,
            cert: Some(cert),
            key: Some(key),
        });
    }
    d.start_agent(&alice).await?;
    let login = d.page_login(&alice)?;
    assert!(login.starts_with("https://127.0.0.1:"), "{login}");
    let id = request(&d, MANIFEST).await;
    // The browser trusts the deployment's CA, and holds no certificate.
    let ca = d.pki.ca_cert();
    let browser = Browser::start_with(
        kind,
        Some(Certificates {
            ca: &ca,
            client: None,
        }),
    )
    .await?;
    sees_pending(&browser, &login, &id).await?;
    open_ceremony(&browser, &id).await?;
    assert_eq!(browser.text("#decision").await?, "pending");
    browser.stop().await?;
    d.stop().await?;
    Ok(())
}

/// An HTTP/1 GET on loopback with `cookie`; the response, body unread.
async fn get_with(
    url: &str,
    cookie: Option<&str>,
) -> anyhow::Result<hyper::Response<hyper::body::Incoming>> {
    use http_body_util::Empty;
    use hyper::body::Bytes;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let mut request = hyper::Request::get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    Ok(client.request(request.body(Empty::new())?).await?)
}

/// A change between the page's rendering and its event stream's opening
/// is not missed: the page names the state it showed (`since`), and the
/// stream sends `changed` at once when the agent has moved on since.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_before_the_event_stream_opens_is_sent_when_it_opens() -> anyhow::Result<()> {
    use http_body_util::BodyExt;
    let dir = tempfile::tempdir()?;
    let d = deploy_pages(dir.path()).await?;
    let id = request(&d, MANIFEST).await;
    let login = d.page_login(&pid("alice"))?;
    let base = login.split("/login").next().unwrap_or_default().to_string();
    let logged_in = get_with(&login, None).await?;
    let cookie = logged_in
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
        .to_string();
    // The page, as it was rendered.
    let page = get_with(&format!("{base}/ceremonies/{id}"), Some(&cookie)).await?;
    let html = String::from_utf8(page.into_body().collect().await?.to_bytes().to_vec())?;
    let live = html
        .split("data-live=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("the page follows nothing: {html}"))?
        .replace("&amp;", "&");
    assert!(live.starts_with("/events?since="), "{live}");
    // The agent moves on before the stream opens.
    d.approve(&pid("alice"), &id, T).await?;
    let stream = get_with(&format!("{base}{live}"), Some(&cookie)).await?;
    assert_eq!(stream.status(), 200);
    let mut body = stream.into_body();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("event: changed") {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .map_err(|_| anyhow::anyhow!("no change was sent: {seen:?}"))?;
        let Some(frame) = frame else {
            anyhow::bail!("the stream ended: {seen:?}");
        };
        if let Ok(data) = frame?.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    d.stop().await?;
    Ok(())
}
