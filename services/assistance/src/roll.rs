//! The monthly payment roll: one per month, generated from the benefits paying that month and
//! the policy in force for it, stored, and answered again unchanged.

use base64::Engine as _;
use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;
use prost::Message;

use crate::convert::kind_to_proto;
use crate::domain::household::Relationship;
use crate::domain::month::Month;
use crate::domain::policy::Policy;
use crate::procedure::amount_out_of_range;
use crate::records::BenefitRecord;
use crate::store;

const MAX_PAGE: i32 = 100;

/// The month a roll request names.
pub(crate) struct RollMonth(pub Month);

macro_rules! month_of {
    ($($request:ty),*) => {$(
        impl TryFrom<$request> for RollMonth {
            type Error = ServiceError;

            fn try_from(r: $request) -> Result<Self, ServiceError> {
                parse_month(&r.month).map(RollMonth)
            }
        }
    )*};
}

month_of!(pb::GeneratePaymentRollRequest, pb::ExportPaymentRollRequest);

pub(crate) fn parse_month(text: &str) -> Result<Month, ServiceError> {
    Month::parse(text).ok_or_else(|| ServiceError::invalid("month", "must be YYYY-MM"))
}

fn decode_roll(stored: &str) -> Result<pb::PaymentRoll, ServiceError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored roll: {e}")))?;
    pb::PaymentRoll::decode(bytes.as_slice())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored roll: {e}")))
}

/// The month's roll: the stored one, else generated from the benefits paying that month and
/// stored (another request that generated it meanwhile wins).
pub(crate) async fn generate(
    c: &mut Call,
    policy: &Policy,
    month: Month,
) -> Result<pb::PaymentRoll, ServiceError> {
    let key = month.to_string();
    if let Some(stored) = store::roll_for_month(c.db(), &key).await? {
        let roll = decode_roll(&stored)?;
        c.object(roll.id.clone());
        return Ok(roll);
    }
    let sealer = c.sealer().clone();
    let benefits = store::benefits_paying_in(c.db(), &sealer, &key).await?;
    let roll = build(policy, month, &benefits)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(roll.encode_to_vec());
    let lines = i64::try_from(roll.lines.len()).unwrap_or(i64::MAX);
    let now = c.now_ms();
    if !store::insert_roll(c.db(), &roll.id, &key, roll.total_fen, lines, &encoded, now).await? {
        // Another request generated the month meanwhile: its roll is the month's roll.
        let stored = store::roll_for_month(c.db(), &key)
            .await?
            .ok_or_else(|| ServiceError::Aborted("retry".into()))?;
        return decode_roll(&stored);
    }
    c.object(roll.id.clone());
    Ok(roll)
}

fn build(
    policy: &Policy,
    month: Month,
    benefits: &[BenefitRecord],
) -> Result<pb::PaymentRoll, ServiceError> {
    let mut roll = pb::PaymentRoll {
        id: uuid::Uuid::now_v7().to_string(),
        month: month.to_string(),
        ..Default::default()
    };
    for rec in benefits {
        let Some(computation) = rec
            .terms
            .amount_for(policy, month)
            .map_err(|_| amount_out_of_range())?
        else {
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
        roll.total_fen = roll
            .total_fen
            .checked_add(computation.total_fen.get())
            .ok_or_else(amount_out_of_range)?;
        roll.lines.push(pb::PaymentLine {
            benefit_id: rec.id.clone(),
            kind: kind_to_proto(rec.kind()),
            region: rec.region().to_owned(),
            payee_id_number: payee,
            members: i32::try_from(computation.members).unwrap_or(i32::MAX),
            amount_fen: computation.total_fen.get(),
            policy_version: computation.policy_version,
        });
    }
    Ok(roll)
}

/// A page of rolls, newest first: (size, the month before which the page starts).
pub(crate) fn page_of(req: &pb::ListPaymentRollsRequest) -> Result<(i32, String), ServiceError> {
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
    Ok((size, before))
}

/// The rolls of a page, without their lines.
pub(crate) async fn list(
    c: &mut Call,
    size: i32,
    before: &str,
) -> Result<pb::ListPaymentRollsResponse, ServiceError> {
    let rows = store::list_rolls(c.db(), before, i64::from(size)).await?;
    let next_page_token = if rows.len() == usize::try_from(size).unwrap_or(usize::MAX) {
        rows.last().map(|r| r.1.clone()).unwrap_or_default()
    } else {
        String::new()
    };
    let rolls = rows
        .into_iter()
        .map(|(id, month, total_fen)| pb::PaymentRoll {
            id,
            month,
            lines: vec![],
            total_fen,
        })
        .collect();
    Ok(pb::ListPaymentRollsResponse {
        rolls,
        next_page_token,
    })
}

/// The stored roll of a month.
pub(crate) async fn stored(c: &mut Call, month: Month) -> Result<pb::PaymentRoll, ServiceError> {
    let stored = store::roll_for_month(c.db(), &month.to_string())
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("payment roll {month}")))?;
    decode_roll(&stored)
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
