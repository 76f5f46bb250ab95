//! `agent.toml`.

use std::path::{Path, PathBuf};

use quorate_types::ParticipantId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// This participant's id in the roster.
    pub id: ParticipantId,
    /// The coordinator's gRPC address, e.g. `https://coordinator.internal:7400`,
    /// or the addresses of its replicas as a list, tried in turn
    /// ([`quorate_wire::coordinators`]).
    pub coordinator: quorate_wire::coordinators::Coordinators,
    /// `[tls]`: the deployment's CA and this agent's client certificate
    /// (common name = this participant's id) and key. Required for an
    /// `https://` coordinator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<quorate_wire::tls::TlsFiles>,
    /// The key-share file written by `quorate keygen`, sealed with this
    /// participant's passphrase; mode 0600.
    pub key_share: PathBuf,
    /// This participant's identity key file (`<id>.identity.json` from
    /// `quorate keygen`), which signs its approvals and rejections. Sealed
    /// with the same passphrase; mode 0600. Its public half must be this
    /// participant's identity in `key_group`.
    pub identity_key: PathBuf,
    /// The passphrase that opens `key_share` and `identity_key`. Never read
    /// from the configuration file: `quorate-participant run` gets it from
    /// `--passphrase-fd`, `QUORATE_PASSPHRASE` or a prompt, and in-process
    /// callers set it here. The agent takes it out when it has opened the
    /// files.
    #[serde(skip)]
    pub passphrase: Option<quorate_secrets::Passphrase>,
    /// The key group's public file (`group.json` from `quorate keygen`): the
    /// roster and policy this agent enforces itself before it signs.
    pub key_group: PathBuf,
    /// Where the agent keeps its journal; created if missing.
    pub state_dir: PathBuf,
    /// The control socket the approver's commands use
    /// (default: `<state_dir>/agent.sock`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<PathBuf>,
    /// Approve every request without asking (for an automated CI
    /// participant). Off unless set.
    #[serde(default)]
    pub auto_approve: bool,
    /// The coordinator log's C2SP verifier key
    /// (`<name>+<key id>+<base64 key>`). When set, the agent checks that
    /// the coordinator's signed record holds its statements unaltered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_key: Option<String>,
    /// Witnesses' verifier keys (`<name>+<key id>+<base64(0x04 ‖ key)>`).
    /// When set, the agent releases a signature share only once its own
    /// approval is in a checkpoint cosigned by `witness_quorum` of them, so
    /// that no signature exists whose approvals the witnessed history lacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<String>,
    /// How many of `witnesses` must have cosigned (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_quorum: Option<usize>,
    /// A command run when the agent finds the coordinator's record wrong
    /// (a dropped or altered statement, a forked log), given the finding
    /// as JSON on stdin, e.g. `["/usr/local/bin/page-security"]`. The agent
    /// raises this alarm itself: a lying coordinator cannot carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_command: Option<Vec<String>>,
    /// An `http://` URL the same finding is POSTed to, as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_webhook: Option<String>,
    /// For an `https://` `alert_webhook`: the CA file (PEM) its server's
    /// certificate must chain to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_webhook_ca: Option<PathBuf>,
    /// Also be a witness of the coordinator's record: answer C2SP
    /// tlog-witness `POST /add-checkpoint` on this address, cosigning only
    /// checkpoints that extend the last one cosigned. The witness key
    /// (sealed with the agent's passphrase) and its state are kept under
    /// `<state_dir>/witness`; `quorate-participant
    /// witness-key` prints its verifier key for the key group's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_listen: Option<std::net::SocketAddr>,
    /// `[network]`: keepalives and the call deadline towards the
    /// coordinator ([`quorate_wire::tls::Network`]; defaults 10 s, 10 s
    /// and 30 s).
    #[serde(default)]
    pub network: quorate_wire::tls::Network,
    /// `[page]`: the approver's web page ([`crate::page::PageConfig`]);
    /// none unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<crate::page::PageConfig>,
}

impl AgentConfig {
    /// A channel to the coordinator replica that takes writes (else the
    /// first of its addresses that answers), with the interceptor that
    /// names this participant: for the DKG's messages and backup notes.
    pub async fn channel(
        &self,
    ) -> anyhow::Result<(tonic::transport::Channel, quorate_wire::client::Identify)> {
        let channel =
            quorate_wire::tls::channel_writer(&self.coordinator, self.tls.as_ref(), &self.network)
                .await
                .map_err(anyhow::Error::msg)?;
        let identify =
            quorate_wire::client::Identify::new(self.id.as_str()).map_err(anyhow::Error::msg)?;
        Ok((channel, identify))
    }

    /// Where the agent keeps its witness key and state.
    pub fn witness_dir(&self) -> PathBuf {
        self.state_dir.join("witness")
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not valid: {e}", path.display()))
    }

    /// Takes the passphrase out, so that it lives no longer than the
    /// opening of the key files.
    pub fn take_passphrase(&mut self) -> anyhow::Result<quorate_secrets::Passphrase> {
        self.passphrase.take().ok_or_else(|| {
            anyhow::anyhow!(
                "no passphrase to open {} with: `quorate-participant run` reads it from \
                 --passphrase-fd N, {} or the terminal",
                self.key_share.display(),
                quorate_secrets::passphrase::PASSPHRASE_ENV
            )
        })
    }

    pub fn socket_path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| self.state_dir.join("agent.sock"))
    }
}
