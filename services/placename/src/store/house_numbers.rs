//! SQL of `house_numbers` (门牌).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{StoreResult, corrupt};
use crate::domain::house_number::{Door, Side};

/// A row of `house_numbers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseRow {
    pub id: String,
    pub road_id: String,
    pub side: Side,
    pub door: Door,
}

fn house_from(row: &AnyRow) -> StoreResult<HouseRow> {
    let side: String = row.try_get("side")?;
    Ok(HouseRow {
        id: row.try_get("id")?,
        road_id: row.try_get("road_id")?,
        side: Side::parse(&side).ok_or_else(|| corrupt("side", &side))?,
        door: Door {
            number: i32::try_from(row.try_get::<i64, _>("number")?).unwrap_or_default(),
            sub: i32::try_from(row.try_get::<i64, _>("sub_number")?).unwrap_or_default(),
            position_m: row.try_get("position_m")?,
        },
    })
}

pub async fn house_numbers_of(conn: &mut AnyConnection, road: &str) -> StoreResult<Vec<HouseRow>> {
    let rows = sqlx::query(
        "SELECT id, road_id, side, number, sub_number, position_m FROM house_numbers WHERE road_id = $1
         ORDER BY number, sub_number",
    )
    .bind(road)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(house_from).collect()
}

pub async fn house_number_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> StoreResult<Option<HouseRow>> {
    let row = sqlx::query(
        "SELECT id, road_id, side, number, sub_number, position_m FROM house_numbers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(house_from).transpose()
}

/// Inserts a house number; false when the number is taken (a concurrent allocation).
pub async fn insert_house_number(
    conn: &mut AnyConnection,
    h: &HouseRow,
    now_ms: i64,
) -> StoreResult<bool> {
    let n = sqlx::query(
        "INSERT INTO house_numbers (id, road_id, side, number, sub_number, position_m, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (road_id, number, sub_number) DO NOTHING",
    )
    .bind(&h.id)
    .bind(&h.road_id)
    .bind(h.side.as_str())
    .bind(i64::from(h.door.number))
    .bind(i64::from(h.door.sub))
    .bind(h.door.position_m)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}
