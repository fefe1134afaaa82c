//! Offices, slots and bookings.

use kit::store::Dialect;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::{Result, date_text, parse_date};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeRow {
    pub office_id: String,
    pub display_name: String,
    pub region_code: String,
}

/// Inserts an office; false when the id is taken.
pub async fn insert_office(
    conn: &mut AnyConnection,
    office: &OfficeRow,
    now_ms: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO offices (office_id, display_name, region_code, created_at_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT (office_id) DO NOTHING",
    )
    .bind(&office.office_id)
    .bind(&office.display_name)
    .bind(&office.region_code)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn get_office(conn: &mut AnyConnection, office_id: &str) -> Result<Option<OfficeRow>> {
    let row = sqlx::query(
        "SELECT office_id, display_name, region_code FROM offices WHERE office_id = $1",
    )
    .bind(office_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(OfficeRow {
            office_id: r.try_get("office_id")?,
            display_name: r.try_get("display_name")?,
            region_code: r.try_get("region_code")?,
        })
    })
    .transpose()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRow {
    pub slot: String,
    pub quota: i64,
    pub booked: i64,
}

pub async fn slots_of_day(
    conn: &mut AnyConnection,
    office_id: &str,
    date: Date,
) -> Result<Vec<SlotRow>> {
    let rows = sqlx::query("SELECT slot, quota, booked FROM slots WHERE office_id = $1 AND slot_date = $2 ORDER BY slot")
        .bind(office_id)
        .bind(date_text(date))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SlotRow {
                slot: r.try_get("slot")?,
                quota: r.try_get("quota")?,
                booked: r.try_get("booked")?,
            })
        })
        .collect()
}

/// Sets a slot's quota, creating the slot if needed. The update applies only while the new
/// quota covers the seats booked (checked by the row itself, so a booking racing the change
/// cannot slip under it); returns the seats booked when it does not.
pub async fn set_slot_quota(
    conn: &mut AnyConnection,
    office_id: &str,
    date: Date,
    slot: &str,
    quota: i64,
) -> Result<std::result::Result<(), i64>> {
    let n = sqlx::query(
        "INSERT INTO slots (office_id, slot_date, slot, quota, booked) VALUES ($1, $2, $3, $4, 0)
         ON CONFLICT (office_id, slot_date, slot) DO UPDATE SET quota = excluded.quota
         WHERE slots.booked <= excluded.quota",
    )
    .bind(office_id)
    .bind(date_text(date))
    .bind(slot)
    .bind(quota)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(Ok(()));
    }
    let booked: i64 = sqlx::query(
        "SELECT booked FROM slots WHERE office_id = $1 AND slot_date = $2 AND slot = $3",
    )
    .bind(office_id)
    .bind(date_text(date))
    .bind(slot)
    .fetch_one(&mut *conn)
    .await?
    .try_get("booked")?;
    Ok(Err(booked))
}

/// Takes one seat if one is free: the single conditional UPDATE that makes over-booking
/// impossible. On PostgreSQL a concurrent booker waits for the row lock and re-checks
/// `booked < quota` against the committed row; SQLite serialises writers.
pub async fn take_seat(
    conn: &mut AnyConnection,
    office_id: &str,
    date: Date,
    slot: &str,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE slots SET booked = booked + 1
         WHERE office_id = $1 AND slot_date = $2 AND slot = $3 AND booked < quota",
    )
    .bind(office_id)
    .bind(date_text(date))
    .bind(slot)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Free seats of a slot (`quota - booked`, never negative); `None` when the slot is not offered.
pub async fn free_seats(
    conn: &mut AnyConnection,
    office_id: &str,
    date: Date,
    slot: &str,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT quota, booked FROM slots WHERE office_id = $1 AND slot_date = $2 AND slot = $3",
    )
    .bind(office_id)
    .bind(date_text(date))
    .bind(slot)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let (quota, booked): (i64, i64) = (r.try_get("quota")?, r.try_get("booked")?);
        Ok((quota - booked).max(0))
    })
    .transpose()
}

/// Takes `count` seats at once if that many are free: the same conditional UPDATE as
/// [`take_seat`], checked by the row itself.
async fn take_seats_at_once(
    conn: &mut AnyConnection,
    office_id: &str,
    date: Date,
    slot: &str,
    count: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE slots SET booked = booked + $4
         WHERE office_id = $1 AND slot_date = $2 AND slot = $3 AND booked + $4 <= quota",
    )
    .bind(office_id)
    .bind(date_text(date))
    .bind(slot)
    .bind(count)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Takes up to `wanted` seats of a slot for a batch of bookings; returns how many it took, or
/// `None` when the slot is not offered. Every increment goes through a conditional UPDATE, so
/// the batch can never push `booked` past `quota` whatever other transactions do meanwhile:
/// all at once when they fit, else as many as the row says are free, else one by one.
pub async fn take_seats(
    conn: &mut AnyConnection,
    office_id: &str,
    date: Date,
    slot: &str,
    wanted: i64,
) -> Result<Option<i64>> {
    if wanted <= 0 {
        return Ok(Some(0));
    }
    if take_seats_at_once(conn, office_id, date, slot, wanted).await? {
        return Ok(Some(wanted));
    }
    let Some(free) = free_seats(conn, office_id, date, slot).await? else {
        return Ok(None);
    };
    let fit = free.min(wanted);
    if fit > 0 && take_seats_at_once(conn, office_id, date, slot, fit).await? {
        return Ok(Some(fit));
    }
    // Another transaction changed the row between the read and the update (PostgreSQL).
    let mut taken = 0;
    while taken < wanted && take_seat(conn, office_id, date, slot).await? {
        taken += 1;
    }
    Ok(Some(taken))
}

/// Seats a booking group wants in one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatWant<'a> {
    pub office_id: &'a str,
    pub date: Date,
    pub slot: &'a str,
    pub count: i64,
}

/// Takes the seats a booking group wants in several slots; returns, per want (same order), how
/// many seats were taken, or `None` when the slot is not offered.
///
/// One conditional UPDATE for all slots (`booked + count <= quota` checked by each row, so no
/// slot is ever pushed past its quota); a slot where the whole count does not fit goes through
/// [`take_seats`]. On PostgreSQL the rows are first locked in key order, the order every
/// booking transaction uses, so two replicas' groups cannot deadlock.
pub async fn take_seats_in_slots(
    conn: &mut AnyConnection,
    dialect: Dialect,
    wants: &[SeatWant<'_>],
) -> Result<Vec<Option<i64>>> {
    if wants.is_empty() {
        return Ok(Vec::new());
    }
    let values = super::keys::placeholders(1, wants.len(), 4);
    if dialect == Dialect::Postgres {
        let lock = format!(
            "SELECT office_id FROM slots WHERE (office_id, slot_date, slot) IN
             (SELECT column1, column2, column3 FROM (VALUES {values}) AS w)
             ORDER BY office_id, slot_date, slot FOR UPDATE"
        );
        bind_wants(sqlx::query(sqlx::AssertSqlSafe(lock)), wants)
            .fetch_all(&mut *conn)
            .await?;
    }
    let update = format!(
        "UPDATE slots SET booked = slots.booked + w.column4 FROM (VALUES {values}) AS w
         WHERE slots.office_id = w.column1 AND slots.slot_date = w.column2 AND slots.slot = w.column3
           AND slots.booked + w.column4 <= slots.quota
         RETURNING office_id, slot_date, slot"
    );
    let rows = bind_wants(sqlx::query(sqlx::AssertSqlSafe(update)), wants)
        .fetch_all(&mut *conn)
        .await?;
    let mut done = std::collections::HashSet::new();
    for r in &rows {
        let key: (String, String, String) = (
            r.try_get("office_id")?,
            r.try_get("slot_date")?,
            r.try_get("slot")?,
        );
        done.insert(key);
    }
    let mut taken = Vec::with_capacity(wants.len());
    for want in wants {
        let key = (
            want.office_id.to_owned(),
            date_text(want.date),
            want.slot.to_owned(),
        );
        taken.push(if done.contains(&key) {
            Some(want.count)
        } else {
            take_seats(conn, want.office_id, want.date, want.slot, want.count).await?
        });
    }
    Ok(taken)
}

fn bind_wants<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    wants: &[SeatWant<'_>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for want in wants {
        query = query
            .bind(want.office_id.to_owned())
            .bind(date_text(want.date))
            .bind(want.slot.to_owned())
            .bind(want.count);
    }
    query
}

/// Gives a seat back (a cancellation).
pub async fn release_seat(
    conn: &mut AnyConnection,
    office_id: &str,
    date: Date,
    slot: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE slots SET booked = booked - 1 WHERE office_id = $1 AND slot_date = $2 AND slot = $3 AND booked > 0",
    )
    .bind(office_id)
    .bind(date_text(date))
    .bind(slot)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn slot_exists(
    conn: &mut AnyConnection,
    office_id: &str,
    date: Date,
    slot: &str,
) -> Result<bool> {
    let row = sqlx::query(
        "SELECT quota FROM slots WHERE office_id = $1 AND slot_date = $2 AND slot = $3",
    )
    .bind(office_id)
    .bind(date_text(date))
    .bind(slot)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentRow {
    pub appointment_id: String,
    pub office_id: String,
    pub date: Date,
    pub slot: String,
    pub purpose: String,
    pub state: String,
    pub booked_by: String,
}

pub async fn get_appointment(
    conn: &mut AnyConnection,
    appointment_id: &str,
) -> Result<Option<AppointmentRow>> {
    let row = sqlx::query(
        "SELECT appointment_id, office_id, slot_date, slot, purpose, state, booked_by FROM appointments
         WHERE appointment_id = $1",
    )
    .bind(appointment_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(AppointmentRow {
            appointment_id: r.try_get("appointment_id")?,
            office_id: r.try_get("office_id")?,
            date: parse_date(&r.try_get::<String, _>("slot_date")?)?,
            slot: r.try_get("slot")?,
            purpose: r.try_get("purpose")?,
            state: r.try_get("state")?,
            booked_by: r.try_get("booked_by")?,
        })
    })
    .transpose()
}

/// Marks a booked appointment cancelled; false when it was not booked (already cancelled).
pub async fn cancel_appointment(
    conn: &mut AnyConnection,
    appointment_id: &str,
    now_ms: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE appointments SET state = 'cancelled', cancelled_at_ms = $1 WHERE appointment_id = $2 AND state = 'booked'",
    )
    .bind(now_ms)
    .bind(appointment_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}
