//! Taking in a signal: once per (source, source record id); the household found or made, the
//! register fed, the county's rules applied, and the household's open warning raised or joined.
//! Everything happens in the caller's transaction, so a failure stores nothing.

use base64::Engine as _;
use contracts::civil::external::v1 as ext;
use kit::ServiceError;
use kit::clock::date_text;
use kit::error::to_proto_date;
use kit::pii::Sealer;
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use time::Date;

use super::{held_on, household_for, sync_register};
use crate::domain::monitoring::SignalKind;
use crate::domain::monitoring::rules::{MonitoringPolicy, due_on};
use crate::domain::monitoring::warning::{self, Warning};
use crate::store::monitoring::{self as mon, SignalRow, WarningRow};

/// A valid signal: from a department (`source` = its name) or from the suite (`suite`).
#[derive(Debug, Clone)]
pub(crate) struct Signal {
    pub source: String,
    pub record: String,
    pub kind: SignalKind,
    /// The person's blind index.
    pub person: String,
    pub region: String,
    pub occurred_on: Date,
    pub amount_fen: i64,
    pub detail: String,
}

impl Signal {
    /// SHA-256 of everything the source said (the same record id with other content is refused).
    fn content_sha256(&self) -> String {
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.source,
            self.record,
            self.kind.as_str(),
            self.person,
            self.region,
            date_text(self.occurred_on),
            self.amount_fen,
            self.detail
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// What taking in needs besides the connection.
pub(crate) struct Intake<'a> {
    pub sealer: &'a Sealer,
    pub calendar: &'a civil_calendar::HolidayCalendar,
    pub policy: &'a MonitoringPolicy,
    pub today: Date,
    pub now_ms: i64,
}

/// Takes in one signal; a repeated source record answers its first receipt.
pub(crate) async fn ingest(
    conn: &mut AnyConnection,
    k: &Intake<'_>,
    s: &Signal,
) -> Result<ext::SignalReceipt, ServiceError> {
    let sha = s.content_sha256();
    if let Some((stored_sha, receipt)) = mon::signal_by_source(conn, &s.source, &s.record).await? {
        if stored_sha != sha {
            return Err(ServiceError::refused(
                "SIGNAL_RECORD_CHANGED",
                "this source record was pushed before with other content",
            ));
        }
        return decode(&receipt);
    }
    let h = household_for(conn, k.sealer, &s.person, &s.region, k.now_ms).await?;
    let entries = sync_register(conn, k.sealer, &h, k.now_ms).await?;
    let held = held_on(&entries, k.today);
    let verdict = k.policy.evaluate(k.today, s.kind, &held, s.amount_fen);
    let signal_id = uuid::Uuid::now_v7().to_string();
    let mut receipt = ext::SignalReceipt {
        signal_id: signal_id.clone(),
        outcome: ext::SignalOutcome::Recorded as i32,
        owner_region: h.owner_region.clone(),
        ..Default::default()
    };
    if let Some(verdict) = verdict {
        let due = due_on(k.calendar, k.today, verdict.due_working_days);
        let (row, outcome) = match mon::open_warning(conn, k.sealer, &h.id).await? {
            Some(mut open) => {
                if warning::merge(&mut open.warning, &verdict, due) {
                    mon::update_warning(conn, k.sealer, &open, k.now_ms).await?;
                }
                (open, ext::SignalOutcome::Merged)
            }
            None => {
                let w: Warning = warning::raise(&verdict, &h.owner_region, k.today, due);
                let row = WarningRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    household_id: h.id.clone(),
                    warning: w,
                    version: 1,
                };
                mon::insert_warning(conn, k.sealer, &row, k.now_ms).await?;
                (row, ext::SignalOutcome::WarningRaised)
            }
        };
        receipt.outcome = outcome as i32;
        receipt.warning_id = row.id.clone();
        receipt.warning_level = row.warning.level.as_str().into();
        receipt.owner_region = row.warning.owner_region.clone();
        receipt.due_on = Some(to_proto_date(row.warning.due_on));
    }
    let row = SignalRow {
        id: signal_id,
        source: s.source.clone(),
        source_record_id: s.record.clone(),
        kind: s.kind.as_str().into(),
        household_id: h.id.clone(),
        occurred_on: s.occurred_on,
        received_on: k.today,
        amount_fen: s.amount_fen,
        warning_id: (!receipt.warning_id.is_empty()).then(|| receipt.warning_id.clone()),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(receipt.encode_to_vec());
    mon::insert_signal(conn, k.sealer, &row, &s.detail, &sha, &encoded, k.now_ms).await?;
    Ok(receipt)
}

fn decode(stored: &str) -> Result<ext::SignalReceipt, ServiceError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored receipt: {e}")))?;
    ext::SignalReceipt::decode(bytes.as_slice())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored receipt: {e}")))
}
