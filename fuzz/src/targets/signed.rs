//! The signed statements of every kind, as the coordinator, agents and
//! auditors read them: approvals and rejections, requests, key messages,
//! backup notes, hand-overs (and their links) and retirements. Each that
//! reads survives a round trip; the prefixed ones are canonical.

use quorate_types::SignedRequest;
use quorate_types::backup_note::SignedBackupNote;
use quorate_types::handover::{HandOver, Link};
use quorate_types::key_ceremony::SignedKeyMessage;
use quorate_types::retirement::Retirement;
use quorate_types::statement::SignedStatement;

macro_rules! round_trip {
    ($type:ty, $data:expr) => {
        if let Ok(value) = <$type>::from_bytes($data) {
            assert_eq!(
                <$type>::from_bytes(&value.to_bytes()).ok(),
                Some(value),
                "a {} does not survive a round trip",
                stringify!($type)
            );
        }
    };
}

pub fn statements(data: &[u8]) {
    if let Ok(s) = SignedStatement::from_bytes(data) {
        let _ = s.statement.signed_bytes();
    }
    round_trip!(SignedStatement, data);
    round_trip!(SignedRequest, data);
    round_trip!(SignedKeyMessage, data);
    round_trip!(SignedBackupNote, data);
    for canonical in [
        HandOver::from_bytes(data).map(|h| h.to_bytes()),
        Retirement::from_bytes(data).map(|r| r.to_bytes()),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(
            canonical, data,
            "a prefixed statement that is not canonical"
        );
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(link) = Link::from_json(text)
    {
        let _ = link.check();
    }
}
