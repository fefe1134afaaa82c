//! Cremation: furnace quota, bookings, certificates and their sequence; eco-burials.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

pub async fn set_cremation_certificate(
    conn: &mut AnyConnection,
    id: &str,
    number: &str,
    cremated_on: &str,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO cremation_certificates (number, case_id, cremated_on) VALUES ($1, $2, $3)",
    )
    .bind(number)
    .bind(id)
    .bind(cremated_on)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE death_cases SET cremation_certificate = $1 WHERE id = $2")
        .bind(number)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn cremated_on(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Option<String>, ServiceError> {
    let row = sqlx::query("SELECT cremated_on FROM cremation_certificates WHERE case_id = $1")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("cremated_on")).transpose()?)
}

/// Takes one furnace of `(day, slot)`; `false` when the slot is full. The conditional UPDATE
/// is the quota: concurrent bookings cannot both take the last furnace.
pub async fn take_furnace(
    conn: &mut AnyConnection,
    day: &str,
    slot: i32,
    capacity: i32,
) -> Result<bool, ServiceError> {
    sqlx::query("INSERT INTO cremation_slots (day, slot, capacity, booked) VALUES ($1, $2, $3, 0) ON CONFLICT (day, slot) DO NOTHING")
        .bind(day)
        .bind(i64::from(slot))
        .bind(i64::from(capacity))
        .execute(&mut *conn)
        .await?;
    let n = sqlx::query("UPDATE cremation_slots SET booked = booked + 1 WHERE day = $1 AND slot = $2 AND booked < capacity")
        .bind(day)
        .bind(i64::from(slot))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn insert_booking(
    conn: &mut AnyConnection,
    case_id: &str,
    day: &str,
    slot: i32,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO cremation_bookings (case_id, day, slot) VALUES ($1, $2, $3)")
        .bind(case_id)
        .bind(day)
        .bind(i64::from(slot))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Cancels a booking (the body is buried instead) and frees its furnace.
pub async fn release_booking(conn: &mut AnyConnection, case_id: &str) -> Result<(), ServiceError> {
    let row = sqlx::query("SELECT day, slot FROM cremation_bookings WHERE case_id = $1")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(r) = row {
        let day: String = r.try_get("day")?;
        let slot: i64 = r.try_get("slot")?;
        sqlx::query("UPDATE cremation_slots SET booked = booked - 1 WHERE day = $1 AND slot = $2 AND booked > 0")
            .bind(&day)
            .bind(slot)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM cremation_bookings WHERE case_id = $1")
            .bind(case_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Next value of a named counter (certificate sequences): unique under concurrency.
pub async fn next_sequence(conn: &mut AnyConnection, name: &str) -> Result<i64, ServiceError> {
    sqlx::query("INSERT INTO counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("value")?)
}

pub async fn insert_eco_burial(
    conn: &mut AnyConnection,
    case_id: &str,
    kind: &str,
    place: &str,
    date: &str,
    reward_fen: i64,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO eco_burials (case_id, kind, place, burial_date, reward_fen) VALUES ($1, $2, $3, $4, $5)")
        .bind(case_id)
        .bind(kind)
        .bind(place)
        .bind(date)
        .bind(reward_fen)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
