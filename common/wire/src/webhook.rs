//! Alert webhooks: one JSON document POSTed to an `http://` URL. The
//! coordinator posts its break-glass alerts; an agent posts its findings
//! about the coordinator's record, on its own, so that a coordinator that
//! lies cannot hold back the alarm about itself.

use std::time::Duration;

use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Whether `url` is one [`post_json`] can post to: `http://host[:port]/...`.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(format!(
            "{url:?}: give an http://host[:port]/path URL (only http:// is supported for now)"
        ));
    }
    Ok(())
}

/// POSTs `json` to `url` as `application/json`; Ok once it answers 2xx
/// within `within`, else why not.
pub async fn post_json(url: &str, json: String, within: Duration) -> Result<(), String> {
    check_url(url)?;
    let request = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(bytes::Bytes::from(json)))
        .map_err(|e| format!("{url:?} is not a valid request target: {e}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    match tokio::time::timeout(within, client.request(request)).await {
        Ok(Ok(response)) if response.status().is_success() => Ok(()),
        Ok(Ok(response)) => Err(format!("{url} answered {}", response.status())),
        Ok(Err(e)) => Err(format!("{url}: {e}")),
        Err(_) => Err(format!("{url} did not answer within {within:?}")),
    }
}

#[cfg(test)]
mod tests;
