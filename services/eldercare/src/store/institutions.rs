//! SQL of institutions (their bed counts are derived from the beds).

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone)]
pub struct InstitutionRow {
    pub id: String,
    pub display_name: String,
    pub region: String,
    pub beds: i32,
    pub nursing_beds: i32,
    pub occupied: i32,
    pub occupied_nursing: i32,
    pub grade: i32,
}

fn int(r: &sqlx::any::AnyRow, col: &str) -> Result<i32, ServiceError> {
    Ok(i32::try_from(r.try_get::<i64, _>(col)?).unwrap_or(i32::MAX))
}

pub async fn institution(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<InstitutionRow>, ServiceError> {
    let row = sqlx::query(
        "SELECT i.id, i.display_name, i.region, i.grade,
            (SELECT COUNT(*) FROM beds b WHERE b.institution_id = i.id) AS beds,
            (SELECT COUNT(*) FROM beds b WHERE b.institution_id = i.id AND b.bed_type = 'nursing') AS nursing_beds,
            (SELECT COUNT(*) FROM beds b WHERE b.institution_id = i.id AND b.elder_id IS NOT NULL) AS occupied,
            (SELECT COUNT(*) FROM beds b WHERE b.institution_id = i.id AND b.elder_id IS NOT NULL
                AND b.bed_type = 'nursing') AS occupied_nursing
         FROM institutions i WHERE i.id = $1",
    )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(InstitutionRow {
            id: r.try_get("id")?,
            display_name: r.try_get("display_name")?,
            region: r.try_get("region")?,
            beds: int(&r, "beds")?,
            nursing_beds: int(&r, "nursing_beds")?,
            occupied: int(&r, "occupied")?,
            occupied_nursing: int(&r, "occupied_nursing")?,
            grade: int(&r, "grade")?,
        })
    })
    .transpose()
}

pub async fn insert_institution(
    conn: &mut AnyConnection,
    i: &InstitutionRow,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO institutions (id, display_name, region, beds, nursing_beds, occupied, occupied_nursing, grade)
         VALUES ($1, $2, $3, $4, $5, 0, 0, 0)",
    )
    .bind(&i.id)
    .bind(&i.display_name)
    .bind(&i.region)
    .bind(i64::from(i.beds))
    .bind(i64::from(i.nursing_beds))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_grade(conn: &mut AnyConnection, id: &str, grade: u8) -> Result<(), ServiceError> {
    sqlx::query("UPDATE institutions SET grade = $1 WHERE id = $2")
        .bind(i64::from(grade))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
