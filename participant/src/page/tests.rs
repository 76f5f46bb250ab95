//! Unit tests of the parent module.

use super::*;

fn config(listen: &str, cert: Option<&str>, key: Option<&str>) -> Result<PageConfig, String> {
    Ok(PageConfig {
        listen: listen.parse().map_err(|e| format!("{e}"))?,
        cert: cert.map(PathBuf::from),
        key: key.map(PathBuf::from),
    })
}

#[test]
fn plain_http_only_on_loopback() -> Result<(), String> {
    config("127.0.0.1:7480", None, None)?.check()?;
    config("[::1]:7480", None, None)?.check()?;
    config("0.0.0.0:7480", Some("c.pem"), Some("k.pem"))?.check()?;
    let wide = config("0.0.0.0:7480", None, None)?.check();
    assert_eq!(
        wide,
        Err(
            "page.listen 0.0.0.0:7480 is not a loopback address: the approver's page serves \
             plain HTTP only on loopback; set page.cert and page.key to serve HTTPS"
                .into()
        )
    );
    let half = config("127.0.0.1:7480", Some("c.pem"), None)?.check();
    assert_eq!(
        half,
        Err("page.cert and page.key go together: set both, or neither".into())
    );
    Ok(())
}

#[test]
fn a_page_table_in_agent_toml() -> Result<(), toml::de::Error> {
    let base = "id = \"alice\"\ncoordinator = \"https://127.0.0.1:1\"\nkey_share = \"s\"\n\
                identity_key = \"i\"\nkey_group = \"g\"\nstate_dir = \"d\"\n";
    let config: crate::AgentConfig = toml::from_str(base)?;
    assert_eq!(config.page, None);
    let config: crate::AgentConfig =
        toml::from_str(&format!("{base}[page]\nlisten = \"127.0.0.1:7480\"\n"))?;
    assert_eq!(
        config.page.map(|p| p.listen.to_string()),
        Some("127.0.0.1:7480".to_string())
    );
    let err = toml::from_str::<crate::AgentConfig>(&format!(
        "{base}[page]\nlisten = \"127.0.0.1:7480\"\nport = 3\n"
    ))
    .err()
    .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("unknown field `port`")),
        "{err:?}"
    );
    Ok(())
}
