//! A plot's lease holder, its transfers, and the further deceased of a family plot.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

/// Records the lease holder (sealed).
pub async fn set_holder(
    conn: &mut AnyConnection,
    cemetery_id: &str,
    plot_number: &str,
    holder_sealed: &str,
    holder_name_sealed: &str,
) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE plots SET holder_sealed = $1, holder_name_sealed = $2
         WHERE cemetery_id = $3 AND plot_number = $4",
    )
    .bind(holder_sealed)
    .bind(holder_name_sealed)
    .bind(cemetery_id)
    .bind(plot_number)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One transfer of a lease (holders sealed).
pub struct TransferRow {
    pub from_sealed: String,
    pub from_name_sealed: String,
    pub to_sealed: String,
    pub to_name_sealed: String,
    /// Proto name of the relationship to the occupant.
    pub relationship: String,
    pub transferred_on: String,
    pub reason: String,
}

pub async fn insert_transfer(
    conn: &mut AnyConnection,
    cemetery_id: &str,
    plot_number: &str,
    t: &TransferRow,
    recorded_by: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO plot_transfers (id, cemetery_id, plot_number, from_sealed, from_name_sealed,
            to_sealed, to_name_sealed, relationship, transferred_on, reason, recorded_by, recorded_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(cemetery_id)
    .bind(plot_number)
    .bind(&t.from_sealed)
    .bind(&t.from_name_sealed)
    .bind(&t.to_sealed)
    .bind(&t.to_name_sealed)
    .bind(&t.relationship)
    .bind(&t.transferred_on)
    .bind(&t.reason)
    .bind(recorded_by)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Transfers of a lease, oldest first.
pub async fn transfers_of(
    conn: &mut AnyConnection,
    cemetery_id: &str,
    plot_number: &str,
) -> Result<Vec<TransferRow>, ServiceError> {
    let rows = sqlx::query(
        "SELECT from_sealed, from_name_sealed, to_sealed, to_name_sealed, relationship,
            transferred_on, reason
         FROM plot_transfers WHERE cemetery_id = $1 AND plot_number = $2 ORDER BY id",
    )
    .bind(cemetery_id)
    .bind(plot_number)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TransferRow {
                from_sealed: r.try_get("from_sealed")?,
                from_name_sealed: r.try_get("from_name_sealed")?,
                to_sealed: r.try_get("to_sealed")?,
                to_name_sealed: r.try_get("to_name_sealed")?,
                relationship: r.try_get("relationship")?,
                transferred_on: r.try_get("transferred_on")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}

/// Places a further deceased in a family plot.
pub async fn insert_occupant(
    conn: &mut AnyConnection,
    cemetery_id: &str,
    plot_number: &str,
    person_index: &str,
    person_sealed: &str,
    joined_on: &str,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO plot_occupants (cemetery_id, plot_number, person_index, person_sealed, joined_on)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(cemetery_id)
    .bind(plot_number)
    .bind(person_index)
    .bind(person_sealed)
    .bind(joined_on)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The further deceased of a family plot (sealed numbers), in the order they joined.
pub async fn occupants_of(
    conn: &mut AnyConnection,
    cemetery_id: &str,
    plot_number: &str,
) -> Result<Vec<String>, ServiceError> {
    let rows = sqlx::query(
        "SELECT person_sealed FROM plot_occupants WHERE cemetery_id = $1 AND plot_number = $2
         ORDER BY joined_on, person_index",
    )
    .bind(cemetery_id)
    .bind(plot_number)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get("person_sealed")?))
        .collect()
}
