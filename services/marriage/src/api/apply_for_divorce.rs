//! ApplyForDivorce: accepts an application (receipt issued) and starts the 30-day cooling-off
//! period (arts. 1076-1077); a refusal is recorded with its reason.

use contracts::civil::marriage::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::{Call, Text as _};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::applications::same_pair;
use super::shared::{
    AGREEMENT_SUMMARY, Counterparty, DeskCase, party_in, raw_index, record_refusal,
    registrar_office,
};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::certificate::CertificateNumber;
use crate::domain::cooling_off::{ApplicationState, Deadlines, DivorceFiling, check_filing};
use crate::domain::status::MarriageState;
use crate::events;
use crate::store::{self, ApplicationRow, MarriageRow, OfficeRow};

pub struct Filing {
    number: CertificateNumber,
    a: Counterparty,
    b: Counterparty,
    agreement_summary: String,
    both_of_full_civil_capacity: bool,
}

impl TryFrom<pb::ApplyForDivorceRequest> for Filing {
    type Error = Violations;

    fn try_from(req: pb::ApplyForDivorceRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let number = CertificateNumber::parse(&req.marriage_certificate_number)
            .filter(|n| n.kind.is_marriage());
        let rule = "is not a marriage certificate number";
        v.check(number.is_some(), "marriage_certificate_number", rule);
        let a = party_in(&mut v, req.party_a.as_ref(), "party_a");
        let b = party_in(&mut v, req.party_b.as_ref(), "party_b");
        // 婚姻登记条例 (2025): no divorce registration without a written agreement; a missing
        // one is a missing field, not a refusal.
        let agreement_summary = v.text(
            &req.agreement_summary,
            "agreement_summary",
            AGREEMENT_SUMMARY,
        );
        match (number, a, b) {
            (Some(number), Some(a), Some(b)) if v.is_empty() => Ok(Filing {
                number,
                a,
                b,
                agreement_summary,
                both_of_full_civil_capacity: req.both_of_full_civil_capacity,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::ApplyForDivorceRequest>,
) -> Result<Response<pb::DivorceApplication>, Status> {
    let principal = auth::principal(&request)?.clone();
    let (sealer, req) = (api.rpc.sealer(), request.get_ref());
    let case = DeskCase {
        rpc: "ApplyForDivorce",
        request_id: req.request_id.clone(),
        office_id: req.office_id.clone(),
        parties: (
            raw_index(sealer, req.party_a.as_ref()),
            raw_index(sealer, req.party_b.as_ref()),
        ),
    };
    let result = api
        .rpc
        .write(
            request,
            async |c, req| registrar_office(c, api, &req.office_id).await,
            async |c, filing: Filing, office| {
                let deadlines = Deadlines::from_receipt(c.today(), c.rpc().calendar());
                apply(c, filing, office, deadlines).await
            },
        )
        .await;
    record_refusal(api, &principal, case, result).await
}

async fn apply(
    c: &mut Call,
    filing: Filing,
    office: OfficeRow,
    deadlines: Deadlines,
) -> Result<pb::DivorceApplication, ServiceError> {
    let (sealer, today) = (c.sealer().clone(), c.today());
    let marriage = marriage_of_pair(c, &filing).await?;
    let certificate = marriage.certificate_number.clone();
    let open = store::open_application_for(c.db(), &certificate).await?;
    let stale = open.as_ref().filter(|o| o.rules().needs_expiry(today));
    check_filing(DivorceFiling {
        both_in_person: filing.a.in_person && filing.b.in_person,
        agreement_summary: &filing.agreement_summary,
        both_of_full_civil_capacity: filing.both_of_full_civil_capacity,
        marriage_in_effect: marriage.state == MarriageState::InEffect,
        // One past its deadline no longer blocks: it is recorded expired here.
        open_application: open.is_some() && stale.is_none(),
    })?;
    if let Some(stale) = stale {
        expire_stale(c, stale, today).await?;
    }
    let app = ApplicationRow {
        application_id: uuid::Uuid::now_v7().to_string(),
        office_id: office.office_id,
        marriage_certificate: certificate,
        agreement_summary: filing.agreement_summary,
        deadlines,
        state: ApplicationState::Pending,
        closed_on: None,
        divorce_certificate: None,
    };
    let now = c.now_ms();
    store::insert_application(c.db(), &app, now).await?;
    c.object(format!("divorceApplications/{}", app.application_id));
    let full = c.principal().sees_full_identity_numbers();
    Ok(convert::application(&sealer, &app, &marriage).masked_unless(full))
}

/// The marriage the certificate names (for a re-issued number, its original), held by this
/// registry and concluded by these two persons.
async fn marriage_of_pair(c: &mut Call, filing: &Filing) -> Result<MarriageRow, ServiceError> {
    let number = filing.number.to_string();
    let certificate = store::original_of_reissued(c.db(), &number)
        .await?
        .unwrap_or(number);
    // Not registered here (another province, or no such number): a refusal that says so.
    let marriage = store::get_marriage(c.db(), &certificate)
        .await?
        .ok_or(Refusal::NotInRegistry)?;
    let (ia, ib) = (
        c.sealer().index(&filing.a.id),
        c.sealer().index(&filing.b.id),
    );
    if !same_pair(&marriage, &ia, &ib) {
        return Err(Refusal::PartiesMismatch.into());
    }
    Ok(marriage)
}

/// Records a pending application past its deadline as deemed withdrawn (on the day after its
/// issuance deadline), in the new application's transaction.
async fn expire_stale(
    c: &mut Call,
    stale: &ApplicationRow,
    today: time::Date,
) -> Result<(), ServiceError> {
    let deemed = stale.deadlines.deemed_withdrawn_on();
    let id = &stale.application_id;
    store::close_application(c.db(), id, ApplicationState::Expired, deemed, None).await?;
    let event = pb::DivorceApplicationExpired {
        application_id: id.clone(),
        marriage_certificate_number: stale.marriage_certificate.clone(),
        issuance_deadline: Some(to_proto_date(stale.deadlines.issuance_deadline)),
        recorded_on: Some(to_proto_date(today)),
        deemed_withdrawn_on: Some(to_proto_date(deemed)),
    };
    events::application_expired(c.db(), &event).await?;
    Ok(())
}
