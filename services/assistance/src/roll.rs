//! The monthly payment roll: one per month, generated from the benefits paying that month and
//! the policy in force for it, stored, and answered again unchanged.

use auth::{Principal, Role};
use base64::Engine as _;
use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use prost::Message;
use sqlx::AnyConnection;

use crate::api::{Inner, audit_change, authorize};
use crate::convert::kind_to_proto;
use crate::domain::household::Relationship;
use crate::domain::month::Month;
use crate::store;

const APPROVER: &[Role] = &[Role::CountyApprover];
const MAX_PAGE: i32 = 100;

fn parse_month(text: &str) -> Result<Month, ServiceError> {
    Month::parse(text).ok_or_else(|| ServiceError::invalid("month", "must be YYYY-MM"))
}

fn decode_roll(stored: &str) -> Result<pb::PaymentRoll, ServiceError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored roll: {e}")))?;
    pb::PaymentRoll::decode(bytes.as_slice())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored roll: {e}")))
}

impl Inner {
    /// The roll covers the whole county of the policy: only a county-scoped approver makes it.
    fn authorize_roll(&self, p: &Principal) -> Result<(), ServiceError> {
        authorize(p, APPROVER, Some(&self.policy.county))
    }

    pub(crate) async fn generate_roll(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::GeneratePaymentRollRequest,
    ) -> Result<pb::PaymentRoll, ServiceError> {
        let month = parse_month(&req.month)?;
        self.authorize_roll(p)?;
        let key = month.to_string();
        if let Some(stored) = store::roll_for_month(conn, &key).await? {
            return decode_roll(&stored);
        }
        let mut roll = pb::PaymentRoll {
            id: uuid::Uuid::now_v7().to_string(),
            month: key.clone(),
            ..Default::default()
        };
        for rec in store::benefits_paying_in(conn, &self.sealer, &key).await? {
            let Some(computation) = rec.terms.amount_for(&self.policy, month) else {
                continue;
            };
            let revision = rec.terms.revision_for(month);
            let covered = rec.terms.covered_in(month);
            let payee = revision
                .household
                .members
                .iter()
                .find(|m| m.relationship == Relationship::Applicant && m.counts_in(month))
                .or(covered.first().copied())
                .map(|m| civil_id::mask_id_number(&m.id_number))
                .unwrap_or_default();
            roll.total_fen += computation.total_fen;
            roll.lines.push(pb::PaymentLine {
                benefit_id: rec.id.clone(),
                kind: kind_to_proto(rec.kind()),
                region: rec.region().to_owned(),
                payee_id_number: payee,
                members: computation.members as i32,
                amount_fen: computation.total_fen,
                policy_version: computation.policy_version,
            });
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(roll.encode_to_vec());
        if !store::insert_roll(
            conn,
            &roll.id,
            &key,
            roll.total_fen,
            roll.lines.len() as i64,
            &encoded,
        )
        .await?
        {
            // Another request generated the month meanwhile: its roll is the month's roll.
            let stored = store::roll_for_month(conn, &key)
                .await?
                .ok_or_else(|| ServiceError::Aborted("retry".into()))?;
            return decode_roll(&stored);
        }
        audit_change(conn, p, "assistance.GeneratePaymentRoll", &roll.id).await?;
        Ok(roll)
    }

    pub(crate) async fn list_rolls(
        &self,
        p: &Principal,
        req: pb::ListPaymentRollsRequest,
    ) -> Result<pb::ListPaymentRollsResponse, ServiceError> {
        self.authorize_roll(p)?;
        if req.page_size < 0 {
            return Err(ServiceError::invalid("page_size", "must not be negative"));
        }
        let size = if req.page_size == 0 {
            12
        } else {
            req.page_size.min(MAX_PAGE)
        };
        let before = if req.page_token.is_empty() {
            "9999-99".to_owned()
        } else {
            parse_month(&req.page_token)
                .map_err(|_| ServiceError::invalid("page_token", "is not a token of this list"))?
                .to_string()
        };
        let mut conn = self.db.pool.acquire().await?;
        let rows = store::list_rolls(&mut conn, &before, i64::from(size)).await?;
        let next_page_token = if rows.len() == size as usize {
            rows.last().map(|r| r.1.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListPaymentRollsResponse {
            rolls: rows
                .into_iter()
                .map(|(id, month, total_fen)| pb::PaymentRoll {
                    id,
                    month,
                    lines: vec![],
                    total_fen,
                })
                .collect(),
            next_page_token,
        })
    }

    pub(crate) async fn export_roll(
        &self,
        p: &Principal,
        req: pb::ExportPaymentRollRequest,
    ) -> Result<pb::ExportPaymentRollResponse, ServiceError> {
        let month = parse_month(&req.month)?;
        self.authorize_roll(p)?;
        let mut conn = self.db.pool.acquire().await?;
        let stored = store::roll_for_month(&mut conn, &month.to_string())
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("payment roll {month}")))?;
        let roll = decode_roll(&stored)?;
        self.audit_read(p, "assistance.ExportPaymentRoll", &roll.id, "payment")
            .await;
        Ok(pb::ExportPaymentRollResponse {
            month: roll.month.clone(),
            csv: to_csv(&roll),
        })
    }
}

/// CSV with a header row; fields are codes, masked numbers and integers, so nothing needs
/// quoting.
pub fn to_csv(roll: &pb::PaymentRoll) -> String {
    let mut csv = String::from(
        "benefit_id,kind,region,payee_id_number,members,amount_fen,amount_yuan,policy_version\n",
    );
    for line in &roll.lines {
        let kind = pb::BenefitKind::try_from(line.kind)
            .map(|k| k.as_str_name())
            .unwrap_or("BENEFIT_KIND_UNSPECIFIED");
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}.{:02},{}\n",
            line.benefit_id,
            kind,
            line.region,
            line.payee_id_number,
            line.members,
            line.amount_fen,
            line.amount_fen / 100,
            line.amount_fen % 100,
            line.policy_version
        ));
    }
    csv.push_str(&format!(
        "total,,,,,{},{}.{:02},\n",
        roll.total_fen,
        roll.total_fen / 100,
        roll.total_fen % 100
    ));
    csv
}
