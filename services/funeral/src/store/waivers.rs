//! Fee waiver decisions, their fee lines and the benefits that grounded them.

use kit::ServiceError;
use sqlx::{AnyConnection, Row};

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

/// Records a decision unless one exists (the first decision stands); `true` when written.
pub async fn insert_waiver(
    conn: &mut AnyConnection,
    case_id: &str,
    w: &WaiverRow,
    decided_by: &str,
) -> Result<bool, ServiceError> {
    let n = sqlx::query(
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
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// One recorded fee line (fen).
pub struct FeeLineRow {
    pub service: String,
    pub price_fen: i64,
    pub waived_fen: i64,
    pub payable_fen: i64,
}

/// A benefit that grounded a waiver.
pub struct WaiverBenefitRow {
    pub benefit_id: String,
    pub kind: String,
    /// Proto name of the ground.
    pub ground: String,
}

/// Records the fee lines and grounding benefits of a decision (first decision stands).
pub async fn insert_fees(
    conn: &mut AnyConnection,
    case_id: &str,
    lines: &[FeeLineRow],
    benefits: &[WaiverBenefitRow],
) -> Result<(), ServiceError> {
    for l in lines {
        sqlx::query(
            "INSERT INTO fee_lines (case_id, service, price_fen, waived_fen, payable_fen)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, service) DO NOTHING",
        )
        .bind(case_id)
        .bind(&l.service)
        .bind(l.price_fen)
        .bind(l.waived_fen)
        .bind(l.payable_fen)
        .execute(&mut *conn)
        .await?;
    }
    for b in benefits {
        sqlx::query(
            "INSERT INTO waiver_benefits (case_id, benefit_id, kind, ground)
             VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, benefit_id) DO NOTHING",
        )
        .bind(case_id)
        .bind(&b.benefit_id)
        .bind(&b.kind)
        .bind(&b.ground)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn fee_lines_of(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Vec<FeeLineRow>, ServiceError> {
    let rows = sqlx::query(
        "SELECT service, price_fen, waived_fen, payable_fen FROM fee_lines WHERE case_id = $1",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    let order = |s: &str| {
        crate::domain::waiver::BASIC_SERVICES
            .iter()
            .position(|x| *x == s)
            .unwrap_or(usize::MAX)
    };
    let mut lines = rows
        .iter()
        .map(|r| {
            Ok(FeeLineRow {
                service: r.try_get("service")?,
                price_fen: r.try_get("price_fen")?,
                waived_fen: r.try_get("waived_fen")?,
                payable_fen: r.try_get("payable_fen")?,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    lines.sort_by_key(|l| order(&l.service));
    Ok(lines)
}

pub async fn waiver_benefits_of(
    conn: &mut AnyConnection,
    case_id: &str,
) -> Result<Vec<WaiverBenefitRow>, ServiceError> {
    let rows = sqlx::query(
        "SELECT benefit_id, kind, ground FROM waiver_benefits WHERE case_id = $1 ORDER BY benefit_id",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(WaiverBenefitRow {
                benefit_id: r.try_get("benefit_id")?,
                kind: r.try_get("kind")?,
                ground: r.try_get("ground")?,
            })
        })
        .collect()
}
