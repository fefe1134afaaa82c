//! Divorce applications deemed withdrawn (art. 1077): recorded by the background sweep, and by
//! a read that finds one due, so it happens (once) even when the process was down on the day.
//! The recorded day is the day it was deemed withdrawn (the day after the issuance deadline),
//! not the day it was noticed.

use auth::audit::AuditEntry;
use contracts::civil::marriage::v1 as pb;
use kit::ServiceError;
use kit::error::to_proto_date;
use kit::store::Db;
use sqlx::AnyConnection;
use time::Date;

use crate::domain::cooling_off::ApplicationState;
use crate::events;
use crate::store;

/// How many applications one sweep pass expires at most (the next pass takes the rest).
const SWEEP_BATCH: i64 = 500;

/// The audit row of an expiry recorded by the sweep.
fn system_entry(application_id: &str) -> AuditEntry {
    AuditEntry {
        actor: "system:marriage".into(),
        on_behalf_of: String::new(),
        action: "marriage.ExpireDivorceApplication".into(),
        object: application_id.into(),
        outcome: "ok".into(),
        trace_id: kit::telemetry::current_trace_id(),
        purpose: "deemed withdrawn: no joint appearance by the deadline (art. 1077)".into(),
        organisation: "system".into(),
        role: "system".into(),
        ..AuditEntry::default()
    }
}

/// Records one application as expired if it is due on `today`, in a transaction of its own on
/// `conn`; true when this call did it. The conditional close (`WHERE state = 'pending'`) makes
/// concurrent sweeps and reads record the expiry and its event exactly once.
pub async fn expire_application(
    conn: &mut AnyConnection,
    application_id: &str,
    today: Date,
    entry: AuditEntry,
) -> Result<bool, ServiceError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let Some(app) = store::get_application(&mut tx, application_id).await? else {
        return Ok(false);
    };
    let deemed = app.deadlines.deemed_withdrawn_on();
    if !app.rules().needs_expiry(today)
        || !store::close_application(
            &mut tx,
            application_id,
            ApplicationState::Expired,
            deemed,
            None,
        )
        .await?
    {
        return Ok(false);
    }
    let event = pb::DivorceApplicationExpired {
        application_id: app.application_id.clone(),
        marriage_certificate_number: app.marriage_certificate.clone(),
        issuance_deadline: Some(to_proto_date(app.deadlines.issuance_deadline)),
        recorded_on: Some(to_proto_date(today)),
        deemed_withdrawn_on: Some(to_proto_date(deemed)),
    };
    events::application_expired(&mut tx, &event).await?;
    auth::audit::append(&mut tx, &[entry]).await?;
    tx.commit().await?;
    Ok(true)
}

/// Expires every pending application past its issuance deadline on `today`; returns how many.
/// Run by the background sweep (and once at start, for deadlines passed while down).
pub async fn sweep_expired(db: &Db, today: Date) -> Result<usize, ServiceError> {
    let mut conn = db.pool.acquire().await?;
    let ids = store::applications_due_for_expiry(&mut conn, today, SWEEP_BATCH).await?;
    let mut expired = 0;
    for id in ids {
        if expire_application(&mut conn, &id, today, system_entry(&id)).await? {
            expired += 1;
        }
    }
    Ok(expired)
}
