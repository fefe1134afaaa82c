//! Cemeteries and plots.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

use crate::domain::plot::Holding;

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
    /// The lease holder (sealed number and name); empty when none was recorded.
    pub holder_sealed: String,
    pub holder_name_sealed: String,
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
        "SELECT plot_number, state, area_dm2, person_index, person_sealed, start_date, end_date, beside_plot,
            holder_sealed, holder_name_sealed
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
            holder_sealed: r.try_get("holder_sealed")?,
            holder_name_sealed: r.try_get("holder_name_sealed")?,
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
