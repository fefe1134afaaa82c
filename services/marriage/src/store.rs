//! The registry's tables: one function per query, plain row types in and out. Every function
//! takes the connection it runs on, so writes join the caller's transaction (the one
//! `kit::idempotency::once` opened) and reads may run on a pooled connection.

use sqlx::{AnyConnection, Row};
use time::Date;
use time::macros::format_description;

use crate::domain::cooling_off::{ApplicationState, Deadlines, DivorceApplication};
use crate::domain::status::{Ending, MarriageState, MarriageView, PersonHistory};

pub type Result<T> = std::result::Result<T, sqlx::Error>;

/// Formats a calendar date as stored (`YYYY-MM-DD`, so text order is date order).
pub fn date_text(date: Date) -> String {
    date.to_string()
}

/// Parses a stored date; a malformed one is a corrupted row.
pub fn parse_date(text: &str) -> Result<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|e| sqlx::Error::Decode(format!("stored date {text:?}: {e}").into()))
}

fn opt_date(text: Option<String>) -> Result<Option<Date>> {
    text.as_deref().map(parse_date).transpose()
}

// ---------------------------------------------------------------- offices and slots

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

pub async fn insert_appointment(
    conn: &mut AnyConnection,
    a: &AppointmentRow,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO appointments (appointment_id, office_id, slot_date, slot, purpose, state, booked_by, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&a.appointment_id)
    .bind(&a.office_id)
    .bind(date_text(a.date))
    .bind(&a.slot)
    .bind(&a.purpose)
    .bind(&a.state)
    .bind(&a.booked_by)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
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

// ---------------------------------------------------------------- persons

/// Creates the person's row if new and locks it for the rest of the transaction (PostgreSQL:
/// the upsert takes the row lock; SQLite: the transaction holds the write lock). Lock persons
/// in a stable order (by index) to avoid deadlocks.
pub async fn lock_person(
    conn: &mut AnyConnection,
    index: &str,
    sealed: &str,
    name: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO persons (id_index, id_sealed, name, died_on, death_marriage, version) VALUES ($1, $2, $3, NULL, NULL, 1)
         ON CONFLICT (id_index) DO UPDATE SET version = persons.version + 1",
    )
    .bind(index)
    .bind(sealed)
    .bind(name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id_sealed: String,
    pub name: String,
    pub died_on: Option<Date>,
    pub death_marriage: Option<String>,
}

pub async fn get_person(conn: &mut AnyConnection, index: &str) -> Result<Option<PersonRow>> {
    let row = sqlx::query(
        "SELECT id_sealed, name, died_on, death_marriage FROM persons WHERE id_index = $1",
    )
    .bind(index)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(PersonRow {
            id_sealed: r.try_get("id_sealed")?,
            name: r.try_get("name")?,
            died_on: opt_date(r.try_get("died_on")?)?,
            death_marriage: r.try_get("death_marriage")?,
        })
    })
    .transpose()
}

pub async fn record_person_death(
    conn: &mut AnyConnection,
    index: &str,
    died_on: Date,
    death_marriage: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE persons SET died_on = $1, death_marriage = $2 WHERE id_index = $3 AND died_on IS NULL")
        .bind(date_text(died_on))
        .bind(death_marriage)
        .bind(index)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- marriages

/// One side of a marriage record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRow {
    pub index: String,
    pub sealed: String,
    pub name: String,
    /// "male" / "female".
    pub sex: String,
    pub birth: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarriageRow {
    pub certificate_number: String,
    pub office_id: String,
    pub registration_date: Date,
    pub registrar: String,
    pub state: MarriageState,
    pub ended_on: Option<Date>,
    pub deceased_index: Option<String>,
    pub a: PartyRow,
    pub b: PartyRow,
}

impl MarriageRow {
    /// The party with this index, and the other one.
    pub fn sides(&self, index: &str) -> Option<(&PartyRow, &PartyRow)> {
        if self.a.index == index {
            Some((&self.a, &self.b))
        } else if self.b.index == index {
            Some((&self.b, &self.a))
        } else {
            None
        }
    }

    /// The marriage as seen by the party with `index`.
    pub fn view_for(&self, index: &str) -> MarriageView {
        let spouse_name = self
            .sides(index)
            .map(|(_, other)| other.name.clone())
            .unwrap_or_default();
        let ended = self.ended_on.map(|on| {
            let ending = match self.state {
                MarriageState::Divorced => Ending::Divorce,
                MarriageState::JudiciallyDivorced => Ending::JudicialDivorce,
                MarriageState::Annulled => Ending::Annulment,
                MarriageState::EndedByDeath if self.deceased_index.as_deref() == Some(index) => {
                    Ending::OwnDeath
                }
                MarriageState::EndedByDeath | MarriageState::InEffect => Ending::DeathOfSpouse,
            };
            (ending, on)
        });
        MarriageView {
            certificate_number: self.certificate_number.clone(),
            registered_on: self.registration_date,
            spouse_name,
            ended,
        }
    }
}

const MARRIAGE_COLUMNS: &str =
    "certificate_number, office_id, registration_date, registrar, state, ended_on, deceased_index,
    a_index, a_sealed, a_name, a_sex, a_birth, b_index, b_sealed, b_name, b_sex, b_birth";

fn marriage_from_row(r: &sqlx::any::AnyRow) -> Result<MarriageRow> {
    let state: String = r.try_get("state")?;
    let party = |p: &str| -> Result<PartyRow> {
        Ok(PartyRow {
            index: r.try_get(format!("{p}_index").as_str())?,
            sealed: r.try_get(format!("{p}_sealed").as_str())?,
            name: r.try_get(format!("{p}_name").as_str())?,
            sex: r.try_get(format!("{p}_sex").as_str())?,
            birth: parse_date(&r.try_get::<String, _>(format!("{p}_birth").as_str())?)?,
        })
    };
    Ok(MarriageRow {
        certificate_number: r.try_get("certificate_number")?,
        office_id: r.try_get("office_id")?,
        registration_date: parse_date(&r.try_get::<String, _>("registration_date")?)?,
        registrar: r.try_get("registrar")?,
        state: MarriageState::from_code(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown marriage state {state:?}").into())
        })?,
        ended_on: opt_date(r.try_get("ended_on")?)?,
        deceased_index: r.try_get("deceased_index")?,
        a: party("a")?,
        b: party("b")?,
    })
}

pub async fn insert_marriage(conn: &mut AnyConnection, m: &MarriageRow, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO marriages (certificate_number, office_id, registration_date, registrar, state, ended_on, deceased_index,
            a_index, a_sealed, a_name, a_sex, a_birth, b_index, b_sealed, b_name, b_sex, b_birth, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&m.certificate_number)
    .bind(&m.office_id)
    .bind(date_text(m.registration_date))
    .bind(&m.registrar)
    .bind(m.state.code())
    .bind(&m.a.index)
    .bind(&m.a.sealed)
    .bind(&m.a.name)
    .bind(&m.a.sex)
    .bind(date_text(m.a.birth))
    .bind(&m.b.index)
    .bind(&m.b.sealed)
    .bind(&m.b.name)
    .bind(&m.b.sex)
    .bind(date_text(m.b.birth))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get_marriage(
    conn: &mut AnyConnection,
    certificate_number: &str,
) -> Result<Option<MarriageRow>> {
    let sql = format!("SELECT {MARRIAGE_COLUMNS} FROM marriages WHERE certificate_number = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(certificate_number)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(marriage_from_row).transpose()
}

/// Every marriage the person with `index` is a party of.
pub async fn marriages_of(conn: &mut AnyConnection, index: &str) -> Result<Vec<MarriageRow>> {
    let sql = format!(
        "SELECT {MARRIAGE_COLUMNS} FROM marriages WHERE a_index = $1
         UNION ALL SELECT {MARRIAGE_COLUMNS} FROM marriages WHERE b_index = $1"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(index)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(marriage_from_row).collect()
}

/// Ends a marriage that is still in `from`; false when its state changed meanwhile.
pub async fn end_marriage(
    conn: &mut AnyConnection,
    certificate_number: &str,
    from: MarriageState,
    to: MarriageState,
    ended_on: Date,
    deceased_index: Option<&str>,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE marriages SET state = $1, ended_on = $2, deceased_index = $3 WHERE certificate_number = $4 AND state = $5",
    )
    .bind(to.code())
    .bind(date_text(ended_on))
    .bind(deceased_index)
    .bind(certificate_number)
    .bind(from.code())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn add_remark(
    conn: &mut AnyConnection,
    certificate_number: &str,
    remark: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO marriage_remarks (certificate_number, seq, remark)
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM marriage_remarks WHERE certificate_number = $1), $2)",
    )
    .bind(certificate_number)
    .bind(remark)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn remarks(conn: &mut AnyConnection, certificate_number: &str) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT remark FROM marriage_remarks WHERE certificate_number = $1 ORDER BY seq",
    )
    .bind(certificate_number)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get("remark")).collect()
}

/// Allocates the next certificate serial for a prefix, county and year. The upsert takes the
/// row lock, so two registrations never get the same serial.
pub async fn next_serial(
    conn: &mut AnyConnection,
    prefix: &str,
    division: &str,
    year: i32,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO certificate_serials (prefix, division, year, last_serial) VALUES ($1, $2, $3, 1)
         ON CONFLICT (prefix, division, year) DO UPDATE SET last_serial = certificate_serials.last_serial + 1
         RETURNING last_serial",
    )
    .bind(prefix)
    .bind(division)
    .bind(i64::from(year))
    .fetch_one(&mut *conn)
    .await?;
    row.try_get("last_serial")
}

/// The person's history as the rules see it: marriages and a recorded death.
pub async fn history(
    conn: &mut AnyConnection,
    index: &str,
) -> Result<(PersonHistory, Vec<MarriageRow>)> {
    let rows = marriages_of(conn, index).await?;
    let died_on = get_person(conn, index).await?.and_then(|p| p.died_on);
    let marriages = rows.iter().map(|m| m.view_for(index)).collect();
    Ok((PersonHistory { marriages, died_on }, rows))
}

// ---------------------------------------------------------------- divorce applications

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub application_id: String,
    pub office_id: String,
    pub marriage_certificate: String,
    pub agreement_summary: String,
    pub deadlines: Deadlines,
    pub state: ApplicationState,
    pub closed_on: Option<Date>,
    pub divorce_certificate: Option<String>,
}

impl ApplicationRow {
    pub fn rules(&self) -> DivorceApplication {
        DivorceApplication {
            deadlines: self.deadlines,
            state: self.state,
        }
    }
}

const APPLICATION_COLUMNS: &str =
    "application_id, office_id, marriage_certificate, agreement_summary, received_on,
    withdrawal_deadline, issuance_deadline, state, closed_on, divorce_certificate";

fn application_from_row(r: &sqlx::any::AnyRow) -> Result<ApplicationRow> {
    let state: String = r.try_get("state")?;
    Ok(ApplicationRow {
        application_id: r.try_get("application_id")?,
        office_id: r.try_get("office_id")?,
        marriage_certificate: r.try_get("marriage_certificate")?,
        agreement_summary: r.try_get("agreement_summary")?,
        deadlines: Deadlines {
            received_on: parse_date(&r.try_get::<String, _>("received_on")?)?,
            withdrawal_deadline: parse_date(&r.try_get::<String, _>("withdrawal_deadline")?)?,
            issuance_deadline: parse_date(&r.try_get::<String, _>("issuance_deadline")?)?,
        },
        state: ApplicationState::from_code(&state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown application state {state:?}").into())
        })?,
        closed_on: opt_date(r.try_get("closed_on")?)?,
        divorce_certificate: r.try_get("divorce_certificate")?,
    })
}

pub async fn insert_application(
    conn: &mut AnyConnection,
    a: &ApplicationRow,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO divorce_applications (application_id, office_id, marriage_certificate, agreement_summary, received_on,
            withdrawal_deadline, issuance_deadline, state, closed_on, divorce_certificate, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9)",
    )
    .bind(&a.application_id)
    .bind(&a.office_id)
    .bind(&a.marriage_certificate)
    .bind(&a.agreement_summary)
    .bind(date_text(a.deadlines.received_on))
    .bind(date_text(a.deadlines.withdrawal_deadline))
    .bind(date_text(a.deadlines.issuance_deadline))
    .bind(a.state.code())
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get_application(
    conn: &mut AnyConnection,
    application_id: &str,
) -> Result<Option<ApplicationRow>> {
    let sql =
        format!("SELECT {APPLICATION_COLUMNS} FROM divorce_applications WHERE application_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(application_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application_from_row).transpose()
}

pub async fn application_by_divorce_certificate(
    conn: &mut AnyConnection,
    certificate: &str,
) -> Result<Option<ApplicationRow>> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM divorce_applications WHERE divorce_certificate = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(certificate)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application_from_row).transpose()
}

pub async fn open_application_for(
    conn: &mut AnyConnection,
    marriage_certificate: &str,
) -> Result<Option<ApplicationRow>> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM divorce_applications WHERE marriage_certificate = $1 AND state = 'pending'"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(marriage_certificate)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(application_from_row).transpose()
}

/// Closes a pending application; false when it was no longer pending (another request or the
/// sweep closed it first), so each closing happens, and is announced, once.
pub async fn close_application(
    conn: &mut AnyConnection,
    application_id: &str,
    to: ApplicationState,
    closed_on: Date,
    divorce_certificate: Option<&str>,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE divorce_applications SET state = $1, closed_on = $2, divorce_certificate = $3
         WHERE application_id = $4 AND state = 'pending'",
    )
    .bind(to.code())
    .bind(date_text(closed_on))
    .bind(divorce_certificate)
    .bind(application_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Ids of pending applications whose issuance deadline is before `today`.
pub async fn applications_due_for_expiry(
    conn: &mut AnyConnection,
    today: Date,
    limit: i64,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT application_id FROM divorce_applications WHERE state = 'pending' AND issuance_deadline < $1
         ORDER BY issuance_deadline LIMIT $2",
    )
    .bind(date_text(today))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get("application_id")).collect()
}

// ---------------------------------------------------------------- re-issues

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReissueRow {
    pub reissue_id: String,
    pub original_certificate: String,
    pub new_certificate: Option<String>,
    pub outcome: &'static str,
    pub party_index: String,
    pub office_id: String,
    pub issued_on: Date,
}

pub async fn insert_reissue(conn: &mut AnyConnection, r: &ReissueRow, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO reissues (reissue_id, original_certificate, new_certificate, outcome, party_index, office_id, issued_on, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&r.reissue_id)
    .bind(&r.original_certificate)
    .bind(r.new_certificate.as_deref())
    .bind(r.outcome)
    .bind(&r.party_index)
    .bind(&r.office_id)
    .bind(date_text(r.issued_on))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The J / L number a BJ / BL certificate re-issued.
pub async fn original_of_reissued(
    conn: &mut AnyConnection,
    new_certificate: &str,
) -> Result<Option<String>> {
    let row = sqlx::query("SELECT original_certificate FROM reissues WHERE new_certificate = $1")
        .bind(new_certificate)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get("original_certificate")).transpose()
}
