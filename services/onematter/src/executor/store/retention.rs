//! Retention: the personal data of cases closed longer than the retention period is removed;
//! the skeleton (matter, region, states, dates, step names and summaries) stays for statistics.

use sqlx::{AnyConnection, Row};

/// Final cases last changed before `closed_before_ms` whose personal data is still kept,
/// oldest first (at most `limit`).
pub async fn expired_cases(
    conn: &mut AnyConnection,
    closed_before_ms: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(
        "SELECT id FROM cases WHERE state IN ('completed', 'compensated', 'cancelled')
         AND updated_at_ms < $1 AND purged_at_ms IS NULL ORDER BY updated_at_ms, id LIMIT {}",
        limit.max(1)
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(closed_before_ms)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// Removes a case's personal data: the people (sealed and blind indexes), the applicant, the
/// sealed matter, the dedupe key (it holds the deceased's blind index), the step outputs
/// (sealed persons, certificate numbers) and the family's 补件 answers. False when the case
/// was purged already.
pub async fn purge_case(
    conn: &mut AnyConnection,
    case_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE cases SET applicant = '', declarant_sealed = '', declarant_index = '',
            declarant_relationship = '', subject_sealed = '', subject_index = '', input_sealed = '',
            dedupe_key = $2, purged_at_ms = $3
         WHERE id = $1 AND purged_at_ms IS NULL",
    )
    .bind(case_id)
    .bind(format!("purged:{case_id}"))
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE case_steps SET output = 'null' WHERE case_id = $1")
        .bind(case_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE family_requests SET answer_sealed = '' WHERE case_id = $1")
        .bind(case_id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}
