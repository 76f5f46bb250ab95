use quorate_ceremonies::reason::DropReason;
use quorate_ceremonies::{Action, Entry, Event, Timestamp};
use quorate_types::{CeremonyId, ParticipantId};

use super::alerts_of;

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

fn event(
    event: Event,
    decisions: Vec<Action>,
) -> std::result::Result<Entry, Box<dyn std::error::Error>> {
    Ok(Entry::CeremonyEvent {
        at: Timestamp(1_800_000_000_000),
        ceremony: CeremonyId::new("release-1.0.0")?,
        seq: 4,
        event,
        decisions,
    })
}

#[test]
fn an_invalid_share_is_alerted_and_a_missed_deadline_is_not() -> Result {
    let share = frost_ed25519::round2::SignatureShare::deserialize(&[1; 32])?;
    let bob = ParticipantId::new("bob")?;
    let invalid = event(
        Event::ShareSubmitted {
            participant: bob.clone(),
            attempt: 1,
            share,
        },
        vec![Action::DropSigner {
            participant: bob.clone(),
            reason: DropReason::InvalidShare { attempt: 1 },
        }],
    )?;
    let alerts = alerts_of(&invalid);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["alert"], "invalid_share");
    assert_eq!(alerts[0]["participant"], "bob");
    assert_eq!(alerts[0]["ceremony"], "release-1.0.0");

    let missed = event(
        Event::DeadlinePassed,
        vec![Action::DropSigner {
            participant: bob,
            reason: DropReason::MissedSigningDeadline {
                attempt: 1,
                deadline_ms: 60_000,
            },
        }],
    )?;
    assert!(alerts_of(&missed).is_empty());
    Ok(())
}
