//! The approver's page in a real browser: Debian's Chromium, headless,
//! against a local deployment on loopback whose agents serve their pages.
//! An approver logs in with the agent's link, finds the pending ceremony,
//! reads its artifacts, approves it, and sees it signed; a security
//! approver rejects one with a reason, which ends it; forms without the
//! session's CSRF token, and callers without a session, change nothing.
//!
//! With `QUORATE_SCREENSHOTS=<dir>`, the tests save the screenshots the
//! README shows.

use std::time::Duration;

use quorate::local::{LocalDeployment, Options};
use quorate_e2e::browser::Browser;
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

async fn screenshot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    if let Ok(dir) = std::env::var("QUORATE_SCREENSHOTS") {
        browser
            .screenshot(&std::path::Path::new(&dir).join(name))
            .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approver_reads_and_approves_on_the_page_and_the_ceremony_signs() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut d = deploy_pages(dir.path()).await?;
    // Two others approve from their terminals' agents; alice decides on
    // her page, and hers is the third approval.
    for who in ["carol", "erin"] {
        d.set_auto_approve(&pid(who), true).await?;
    }
    let browser = Browser::start().await?;
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

    browser
        .click(&format!("a[href=\"/ceremonies/{id}\"]"))
        .await?;
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

    // Approve asks first; nothing is decided until it is confirmed.
    browser.click("#approve").await?;
    assert!(
        browser
            .url()
            .await?
            .ends_with(&format!("/ceremonies/{id}/approve"))
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejection_with_a_reason_ends_a_vetoed_ceremony() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = deploy_pages(dir.path()).await?;
    let id = request(&d, MANIFEST).await;
    let browser = Browser::start().await?;
    browser.goto(&d.page_login(&pid("carol"))?).await?;
    browser
        .wait_for_text("#pending", &id, Duration::from_secs(15))
        .await?;
    browser
        .click(&format!("a[href=\"/ceremonies/{id}\"]"))
        .await?;
    browser.click("#reject").await?;
    let form = browser.url().await?;
    assert!(
        form.ends_with(&format!("/ceremonies/{id}/reject")),
        "{form}"
    );
    // Without a reason the browser does not send the form.
    browser.click("#confirm").await?;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forms_without_the_sessions_csrf_token_decide_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = deploy_pages(dir.path()).await?;
    let id = request(&d, MANIFEST).await;
    let browser = Browser::start().await?;
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
