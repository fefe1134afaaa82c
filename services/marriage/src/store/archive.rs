//! The archive: persons, marriages, certificate serials, re-issues. Kept permanently.

use sqlx::{AnyConnection, Row};
use time::Date;

use super::{Result, date_text, opt_date, parse_date};
use crate::domain::eligibility::Declaration;
use crate::domain::status::{Ending, MarriageState, MarriageView, PersonHistory};

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
    /// The declaration signed at registration (`None` for records from before they were kept).
    pub declaration: Option<Declaration>,
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
    a_index, a_sealed, a_name, a_sex, a_birth, a_declaration,
    b_index, b_sealed, b_name, b_sex, b_birth, b_declaration";

fn marriage_from_row(r: &sqlx::any::AnyRow) -> Result<MarriageRow> {
    let state: String = r.try_get("state")?;
    let party = |p: &str| -> Result<PartyRow> {
        Ok(PartyRow {
            index: r.try_get(format!("{p}_index").as_str())?,
            sealed: r.try_get(format!("{p}_sealed").as_str())?,
            name: r.try_get(format!("{p}_name").as_str())?,
            sex: r.try_get(format!("{p}_sex").as_str())?,
            birth: parse_date(&r.try_get::<String, _>(format!("{p}_birth").as_str())?)?,
            declaration: r
                .try_get::<Option<String>, _>(format!("{p}_declaration").as_str())?
                .map(|code| Declaration::from_code(&code)),
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
            a_index, a_sealed, a_name, a_sex, a_birth, b_index, b_sealed, b_name, b_sex, b_birth, created_at_ms,
            a_declaration, b_declaration)
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
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
    .bind(m.a.declaration.map(Declaration::code))
    .bind(m.b.declaration.map(Declaration::code))
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

impl ReissueRow {
    /// A re-issue handed out today at `office_id`; the outcome is set once decided.
    pub fn new(original: String, party_index: String, office_id: &str, today: Date) -> Self {
        ReissueRow {
            reissue_id: uuid::Uuid::now_v7().to_string(),
            original_certificate: original,
            new_certificate: None,
            outcome: "reissued",
            party_index,
            office_id: office_id.to_owned(),
            issued_on: today,
        }
    }
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
