//! The frame of every page: the document, its title and heading, the
//! stylesheet, and (for pages that follow a live state) the script that
//! reloads the main part when the server's event stream says so.

use axum::http::header;
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};

/// Where [`STYLE`] is served.
pub const STYLE_PATH: &str = "/static/page.css";
/// Where [`LIVE`] is served.
pub const LIVE_PATH: &str = "/static/live.js";

/// The stylesheet: dark text on white (contrast over 7:1), a visible focus
/// ring, and colours that never carry meaning alone (every flag is also
/// written out).
pub const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 16px/1.5 system-ui, sans-serif; color: #111; background: #fff; margin: 0; }
header { background: #1b1f24; color: #fff; padding: .6rem 1.2rem; }
header a { color: #fff; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
a { color: #0b4fa8; }
:focus-visible { outline: 3px solid #0b4fa8; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #ccc; padding: .35rem .5rem; }
th { background: #f0f2f4; }
code, pre { font-family: ui-monospace, monospace; font-size: .92em; overflow-wrap: anywhere; }
pre { background: #f5f6f7; padding: .6rem; white-space: pre-wrap; }
.flag { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-weight: 600; }
.break-glass { background: #8a1010; color: #fff; }
.problem { background: #fdecea; color: #611a15; border: 2px solid #8a1010; padding: .5rem; }
.ok { background: #e8f5e9; color: #14401a; border: 1px solid #2e6b34; padding: .5rem; }
.notice { background: #fff8e1; color: #3d2f00; border: 1px solid #8a6d00; padding: .5rem; }
button, .button { font: inherit; padding: .45rem 1rem; border: 2px solid #1b1f24; border-radius: 4px;
  background: #fff; color: #111; cursor: pointer; text-decoration: none; display: inline-block; }
button.approve { background: #14532d; border-color: #14532d; color: #fff; }
button.reject { background: #8a1010; border-color: #8a1010; color: #fff; }
label { display: block; font-weight: 600; margin: .8rem 0 .3rem; }
textarea, input, select { font: inherit; padding: .4rem; border: 1px solid #555; max-width: 100%; }
textarea { width: 100%; min-height: 5rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: flex-end; }
form.filters label { margin: 0 0 .3rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
"#;

/// The live script: on each event from the stream named by `data-live`,
/// fetches the page again and swaps in its main part. Only the latest
/// fetch's answer is used: events come close together while a ceremony
/// signs, and their answers may arrive out of order. A page with a form
/// the approver is filling in is not live.
pub const LIVE: &str = r#"(function () {
  var url = document.body.getAttribute('data-live');
  if (!url || !window.EventSource) return;
  var source = new EventSource(url);
  var asked = 0;
  source.addEventListener('changed', function () {
    var mine = ++asked;
    fetch(location.href, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null || mine !== asked) return;
        var next = new DOMParser().parseFromString(text, 'text/html').querySelector('main');
        var main = document.querySelector('main');
        if (next && main) { main.innerHTML = next.innerHTML; }
        var status = document.getElementById('live-status');
        if (status) { status.textContent = 'Updated at ' + new Date().toLocaleTimeString(); }
      });
  });
})();
"#;

/// A whole page: `title` (also the first heading), `site` (the header's
/// name, linking home), and `body`. With `live`, the event stream whose
/// events reload the main part.
pub fn page(site: &str, title: &str, live: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (site) }
                link rel="stylesheet" href=(STYLE_PATH);
                @if live.is_some() {
                    script src=(LIVE_PATH) defer {}
                }
            }
            body data-live=[live] {
                header { a href="/" { (site) } }
                main {
                    h1 { (title) }
                    (body)
                }
                @if live.is_some() {
                    p id="live-status" class="visually-hidden" aria-live="polite" {}
                }
            }
        }
    }
}

/// The stylesheet, as served.
pub async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

/// The live script, as served.
pub async fn live() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        LIVE,
    )
}
