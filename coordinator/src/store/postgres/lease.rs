//! The sequencing lease: the one row of `quorate_lease`, naming the
//! replica that may append, its epoch and when it ends, all by the
//! database's clock. Taking it over bumps the epoch; every append checks
//! it under the row's lock ([`check_held`]).

use std::time::Duration;

use tokio_postgres::{Client, Transaction};

use super::PgError;

/// A replica's hold on the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// Grows with every change of holder: the fencing token.
    pub epoch: i64,
    /// When it ends, in milliseconds since the Unix epoch, by the
    /// database's clock.
    pub expires_at_ms: i64,
}

fn millis(ttl: Duration) -> f64 {
    ttl.as_secs_f64() * 1000.0
}

fn lease_of(row: &tokio_postgres::Row) -> Lease {
    Lease {
        epoch: row.get(0),
        expires_at_ms: row.get(1),
    }
}

const RETURNING: &str = "RETURNING epoch, (extract(epoch FROM expires_at) * 1000)::bigint";

pub(super) async fn acquire(
    client: &Client,
    replica: &str,
    address: &str,
    ttl: Duration,
) -> Result<Option<Lease>, PgError> {
    let row = client
        .query_opt(
            &format!(
                "INSERT INTO quorate_lease AS l (id, holder, epoch, expires_at, address)
                 VALUES (1, $1, 1, clock_timestamp() + $2 * interval '1 millisecond', $3)
                 ON CONFLICT (id) DO UPDATE SET
                   holder = $1,
                   address = $3,
                   epoch = CASE WHEN l.holder = $1 AND l.expires_at > clock_timestamp()
                                THEN l.epoch ELSE l.epoch + 1 END,
                   expires_at = clock_timestamp() + $2 * interval '1 millisecond'
                 WHERE l.holder = $1 OR l.expires_at <= clock_timestamp()
                 {RETURNING}"
            ),
            &[&replica, &millis(ttl), &address],
        )
        .await?;
    Ok(row.as_ref().map(lease_of))
}

fn lost(replica: &str, lease: Lease, why: impl Into<String>) -> PgError {
    PgError::LeaseLost {
        replica: replica.to_string(),
        epoch: lease.epoch,
        why: why.into(),
    }
}

pub(super) async fn renew(
    client: &Client,
    replica: &str,
    lease: Lease,
    ttl: Duration,
) -> Result<Lease, PgError> {
    let row = client
        .query_opt(
            &format!(
                "UPDATE quorate_lease
                 SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
                 WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > clock_timestamp()
                 {RETURNING}"
            ),
            &[&replica, &lease.epoch, &millis(ttl)],
        )
        .await?;
    row.as_ref()
        .map(lease_of)
        .ok_or_else(|| lost(replica, lease, "it ended, or another replica took it"))
}

pub(super) async fn release(client: &Client, replica: &str, lease: Lease) -> Result<(), PgError> {
    client
        .execute(
            "UPDATE quorate_lease SET expires_at = clock_timestamp()
             WHERE id = 1 AND holder = $1 AND epoch = $2",
            &[&replica, &lease.epoch],
        )
        .await?;
    Ok(())
}

/// Who holds the lease now, by the database's clock: its holder and epoch,
/// and how many milliseconds it has left (`None` if nobody does).
pub(super) async fn holder(client: &Client) -> Result<Option<Holder>, PgError> {
    let row = client
        .query_opt(
            "SELECT holder, epoch,
                    (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint,
                    address
             FROM quorate_lease WHERE id = 1",
            &[],
        )
        .await?;
    Ok(row
        .map(|row| Holder {
            replica: row.get(0),
            epoch: row.get(1),
            left_ms: row.get(2),
            address: row.get(3),
        })
        .filter(|h| h.left_ms > 0))
}

/// The replica that holds the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub replica: String,
    pub epoch: i64,
    /// Milliseconds until it ends unless renewed.
    pub left_ms: i64,
    /// Where it serves, as it advertised when it took the lease (empty if
    /// it did not say).
    pub address: String,
}

/// Within an append's transaction: locks the lease row (a takeover waits
/// for this transaction) and refuses unless `replica` holds `lease`,
/// unexpired.
pub(super) async fn check_held(
    txn: &Transaction<'_>,
    replica: &str,
    lease: Lease,
) -> Result<(), PgError> {
    let row = txn
        .query_opt(
            "SELECT holder, epoch, expires_at > clock_timestamp()
             FROM quorate_lease WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?;
    let Some(row) = row else {
        return Err(lost(replica, lease, "nobody has taken the lease"));
    };
    let (holder, epoch, live): (String, i64, bool) = (row.get(0), row.get(1), row.get(2));
    if holder != replica || epoch != lease.epoch {
        return Err(lost(
            replica,
            lease,
            format!("replica {holder} holds it now, at epoch {epoch}"),
        ));
    }
    if !live {
        return Err(lost(replica, lease, "it ended without being renewed"));
    }
    Ok(())
}
