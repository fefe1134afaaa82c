//! SQL of the funeral service: one function per query, portable across SQLite and PostgreSQL
//! (placeholders `$n`, TEXT and BIGINT only). Functions take a connection so that they run
//! inside the caller's transaction.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};
use time::Date;

use crate::domain::case::CaseState;
use crate::domain::plot::Holding;

/// `YYYY-MM-DD`.
pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn parse_date(s: &str) -> Result<Date, ServiceError> {
    let bad = || ServiceError::Internal(anyhow::anyhow!("stored date is malformed"));
    let mut parts = s.splitn(3, '-').map(|p| p.parse::<i32>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    Date::from_calendar_date(y, month, u8::try_from(d).map_err(|_| bad())?).map_err(|_| bad())
}

/// A death case row.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: String,
    pub person_index: String,
    pub id_sealed: String,
    pub name_sealed: String,
    pub region: String,
    pub ethnicity: String,
    pub issuer: String,
    pub certificate_number: String,
    pub date_of_death: String,
    pub place_of_death: String,
    pub cause_class: String,
    pub state: CaseState,
    pub cremation_certificate: Option<String>,
    pub final_place: Option<String>,
}

const CASE_COLUMNS: &str = "id, person_index, id_sealed, name_sealed, region, ethnicity, issuer, certificate_number, \
    date_of_death, place_of_death, cause_class, state, cremation_certificate, final_place";

fn case_from_row(row: &sqlx::any::AnyRow) -> Result<CaseRow, ServiceError> {
    let state: String = row.try_get("state")?;
    Ok(CaseRow {
        id: row.try_get("id")?,
        person_index: row.try_get("person_index")?,
        id_sealed: row.try_get("id_sealed")?,
        name_sealed: row.try_get("name_sealed")?,
        region: row.try_get("region")?,
        ethnicity: row.try_get("ethnicity")?,
        issuer: row.try_get("issuer")?,
        certificate_number: row.try_get("certificate_number")?,
        date_of_death: row.try_get("date_of_death")?,
        place_of_death: row.try_get("place_of_death")?,
        cause_class: row.try_get("cause_class")?,
        state: CaseState::parse(&state)
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("unknown case state")))?,
        cremation_certificate: row.try_get("cremation_certificate")?,
        final_place: row.try_get("final_place")?,
    })
}

pub async fn case_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<CaseRow>, ServiceError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM death_cases WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(case_from_row).transpose()
}

pub async fn case_by_person(
    conn: &mut AnyConnection,
    person_index: &str,
) -> Result<Option<CaseRow>, ServiceError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM death_cases WHERE person_index = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person_index)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(case_from_row).transpose()
}

/// Inserts a case; `false` when the person already has one (unique blind index).
pub async fn insert_case(
    conn: &mut AnyConnection,
    c: &CaseRow,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
        "INSERT INTO death_cases (id, person_index, id_sealed, name_sealed, region, ethnicity, issuer, certificate_number,
            date_of_death, place_of_death, cause_class, state, cremation_certificate, final_place, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13, $13)
         ON CONFLICT (person_index) DO NOTHING",
    )
    .bind(&c.id)
    .bind(&c.person_index)
    .bind(&c.id_sealed)
    .bind(&c.name_sealed)
    .bind(&c.region)
    .bind(&c.ethnicity)
    .bind(&c.issuer)
    .bind(&c.certificate_number)
    .bind(&c.date_of_death)
    .bind(&c.place_of_death)
    .bind(&c.cause_class)
    .bind(c.state.as_str())
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Moves a case from `from` to `to`; 0 rows means someone else moved it first (ABORTED).
pub async fn transition(
    conn: &mut AnyConnection,
    id: &str,
    from: CaseState,
    to: CaseState,
) -> Result<(), ServiceError> {
    let n = sqlx::query(
        "UPDATE death_cases SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4",
    )
    .bind(to.as_str())
    .bind(kit::now_ms())
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(ServiceError::Aborted(
            "the case changed concurrently, retry".into(),
        ))
    }
}

pub async fn set_final_place(
    conn: &mut AnyConnection,
    id: &str,
    place: &str,
) -> Result<(), ServiceError> {
    sqlx::query("UPDATE death_cases SET final_place = $1 WHERE id = $2")
        .bind(place)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

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

pub struct CustodyRow {
    pub kind: String,
    pub location: String,
    pub date: String,
}

pub async fn insert_custody(
    conn: &mut AnyConnection,
    case_id: &str,
    c: &CustodyRow,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO custody_events (id, case_id, kind, location, event_date, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(case_id)
        .bind(&c.kind)
        .bind(&c.location)
        .bind(&c.date)
        .bind(kit::now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn custody_of(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Vec<CustodyRow>, ServiceError> {
    let rows = sqlx::query(
        "SELECT kind, location, event_date FROM custody_events WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CustodyRow {
                kind: r.try_get("kind")?,
                location: r.try_get("location")?,
                date: r.try_get("event_date")?,
            })
        })
        .collect()
}

/// A recorded waiver decision.
pub struct WaiverRow {
    pub waived: bool,
    pub grounds: Vec<String>,
    pub source: String,
    pub benefit_kinds_seen: Vec<String>,
    pub checked_at_ms: i64,
}

pub async fn waiver_of(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Option<WaiverRow>, ServiceError> {
    let row = sqlx::query("SELECT waived, grounds, source, benefit_kinds_seen, checked_at_ms FROM fee_waivers WHERE case_id = $1")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let split = |s: String| {
        s.split('\n')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    Ok(Some(WaiverRow {
        waived: r.try_get::<i64, _>("waived")? == 1,
        grounds: split(r.try_get("grounds")?),
        source: r.try_get("source")?,
        benefit_kinds_seen: split(r.try_get("benefit_kinds_seen")?),
        checked_at_ms: r.try_get("checked_at_ms")?,
    }))
}

/// Records a decision unless one exists; the first decision stands.
pub async fn insert_waiver(
    conn: &mut AnyConnection,
    case_id: &str,
    w: &WaiverRow,
    decided_by: &str,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO fee_waivers (case_id, waived, grounds, source, benefit_kinds_seen, checked_at_ms, decided_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(case_id)
    .bind(i64::from(w.waived))
    .bind(w.grounds.join("\n"))
    .bind(&w.source)
    .bind(w.benefit_kinds_seen.iter().map(|k| k.replace('\n', " ")).collect::<Vec<_>>().join("\n"))
    .bind(w.checked_at_ms)
    .bind(decided_by)
    .execute(&mut *conn)
    .await?;
    Ok(())
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

pub struct CemeteryRow {
    pub id: String,
    pub display_name: String,
    pub region: String,
    pub kind: String,
}

pub async fn insert_cemetery(
    conn: &mut AnyConnection,
    c: &CemeteryRow,
) -> Result<(), ServiceError> {
    sqlx::query("INSERT INTO cemeteries (id, display_name, region, kind) VALUES ($1, $2, $3, $4)")
        .bind(&c.id)
        .bind(&c.display_name)
        .bind(&c.region)
        .bind(&c.kind)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn cemetery(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<CemeteryRow>, ServiceError> {
    let row = sqlx::query("SELECT id, display_name, region, kind FROM cemeteries WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(CemeteryRow {
            id: r.try_get("id")?,
            display_name: r.try_get("display_name")?,
            region: r.try_get("region")?,
            kind: r.try_get("kind")?,
        })
    })
    .transpose()
}

pub struct PlotRow {
    pub plot_number: String,
    pub state: String,
    pub area_dm2: i32,
    pub person_index: String,
    pub person_sealed: String,
    pub start_date: String,
    pub end_date: String,
    pub beside_plot: String,
}

impl PlotRow {
    pub fn holding(&self) -> Holding {
        if self.state == "reserved" {
            Holding::ReservedForSpouse {
                spouse: self.person_index.clone(),
            }
        } else {
            Holding::Leased {
                occupant: self.person_index.clone(),
            }
        }
    }
}

pub async fn plot(
    conn: &mut AnyConnection,
    cemetery_id: &str,
    number: &str,
) -> Result<Option<PlotRow>, ServiceError> {
    let row = sqlx::query(
        "SELECT plot_number, state, area_dm2, person_index, person_sealed, start_date, end_date, beside_plot
         FROM plots WHERE cemetery_id = $1 AND plot_number = $2",
    )
    .bind(cemetery_id)
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(PlotRow {
            plot_number: r.try_get("plot_number")?,
            state: r.try_get("state")?,
            area_dm2: i32::try_from(r.try_get::<i64, _>("area_dm2")?).unwrap_or(i32::MAX),
            person_index: r.try_get("person_index")?,
            person_sealed: r.try_get("person_sealed")?,
            start_date: r.try_get("start_date")?,
            end_date: r.try_get("end_date")?,
            beside_plot: r.try_get("beside_plot")?,
        })
    })
    .transpose()
}

pub async fn has_reservation_beside(
    conn: &mut AnyConnection,
    cemetery_id: &str,
    beside: &str,
) -> Result<bool, ServiceError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM plots WHERE cemetery_id = $1 AND beside_plot = $2 AND state = 'reserved'")
        .bind(cemetery_id)
        .bind(beside)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Writes a plot: a new lease or reservation, or a spouse's reservation turning into her lease.
pub async fn upsert_plot(
    conn: &mut AnyConnection,
    cemetery_id: &str,
    p: &PlotRow,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO plots (cemetery_id, plot_number, state, area_dm2, person_index, person_sealed, start_date, end_date, beside_plot)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (cemetery_id, plot_number) DO UPDATE SET state = $3, area_dm2 = $4, start_date = $7, end_date = $8",
    )
    .bind(cemetery_id)
    .bind(&p.plot_number)
    .bind(&p.state)
    .bind(i64::from(p.area_dm2))
    .bind(&p.person_index)
    .bind(&p.person_sealed)
    .bind(&p.start_date)
    .bind(&p.end_date)
    .bind(&p.beside_plot)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn dates_round_trip_through_their_text_form() {
        for d in [
            date!(2026 - 03 - 02),
            date!(1900 - 12 - 31),
            date!(2024 - 02 - 29),
        ] {
            assert_eq!(parse_date(&date_text(d)).expect("parses"), d);
        }
        assert!(parse_date("2026-02-30").is_err());
    }
}
