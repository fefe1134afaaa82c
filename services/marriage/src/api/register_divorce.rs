//! RegisterDivorce: in the 30 days after cooling-off, both parties present, at the office that
//! accepted the application (art. 1077 para. 2; 婚姻登记工作规范); the certificate issued, the
//! event written, both parties' cached status dropped; a refusal recorded with its reason.

use contracts::civil::marriage::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::applications::{authorized_application, marriage_of, same_pair};
use super::national_check;
use super::shared::{
    Counterparty, DeskCase, allocate_number, invalidate_status, lock_pair, party_in, raw_index,
    record_refusal, registrar_office,
};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::certificate::CertificateKind;
use crate::domain::cooling_off::ApplicationState;
use crate::domain::status::MarriageState;
use crate::events;
use crate::national::National;
use crate::store::{self, ApplicationRow, MarriageRow, OfficeRow, PartyRow};

pub struct Appearance {
    a: Counterparty,
    b: Counterparty,
}

impl TryFrom<pb::RegisterDivorceRequest> for Appearance {
    type Error = Violations;

    fn try_from(req: pb::RegisterDivorceRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let a = party_in(&mut v, req.party_a.as_ref(), "party_a");
        let b = party_in(&mut v, req.party_b.as_ref(), "party_b");
        match (a, b) {
            (Some(a), Some(b)) if v.is_empty() => Ok(Appearance { a, b }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::RegisterDivorceRequest>,
) -> Result<Response<pb::DivorceApplication>, Status> {
    let principal = auth::principal(&request)?.clone();
    let (sealer, req) = (api.rpc.sealer(), request.get_ref());
    let parties = (
        raw_index(sealer, req.party_a.as_ref()),
        raw_index(sealer, req.party_b.as_ref()),
    );
    let case = DeskCase {
        rpc: "RegisterDivorce",
        request_id: req.request_id.clone(),
        office_id: req.office_id.clone(),
        parties: parties.clone(),
    };
    let result = api
        .rpc
        .write(
            request,
            async |c, req| {
                let office = registrar_office(c, api, &req.office_id).await?;
                let (app, _) = authorized_application(c, api, &req.application_id).await?;
                Ok((office, app))
            },
            async |c, appearance: Appearance, (office, app)| {
                register(c, &api.national, appearance, office, app).await
            },
        )
        .await;
    let result = record_refusal(api, &principal, case, result).await?;
    invalidate_status(api, &[parties.0, parties.1]).await;
    Ok(result)
}

async fn register(
    c: &mut Call,
    national: &National,
    r: Appearance,
    office: OfficeRow,
    mut app: ApplicationRow,
) -> Result<pb::DivorceApplication, ServiceError> {
    let (today, sealer) = (c.today(), c.sealer().clone());
    let (row_a, row_b) = (r.a.party_row(&sealer), r.b.party_row(&sealer));
    lock_pair(c.db(), &row_a, &row_b).await?;
    let mut marriage = marriage_of(c, &app).await?;
    let both_present = r.a.in_person && r.b.in_person;
    check_appearance(
        both_present,
        &marriage,
        (&row_a, &row_b),
        &app,
        &office,
        today,
    )?;
    let pair = (row_a.index.as_str(), row_b.index.as_str());
    let outcome = national_check::for_divorce(c, national, &office, [&r.a.id, &r.b.id], pair);
    let outcome = outcome.await?;
    let region = &office.region_code;
    let number = allocate_number(c.db(), CertificateKind::Divorce, region, today.year()).await?;
    let number = number.to_string();
    outcome.record(c, &number).await?;
    let cert = marriage.certificate_number.clone();
    end_and_close(c, &mut app, &mut marriage, &number).await?;
    announce(c, number, cert, &marriage).await?;
    let full = c.principal().sees_full_identity_numbers();
    Ok(convert::application(&sealer, &app, &marriage).masked_unless(full))
}

/// The DivorceRegistered event.
async fn announce(
    c: &mut Call,
    number: String,
    cert: String,
    marriage: &MarriageRow,
) -> Result<(), ServiceError> {
    let sealer = c.sealer().clone();
    let event = pb::DivorceRegistered {
        divorce_certificate_number: number,
        marriage_certificate_number: cert,
        party_a: Some(events::party(&sealer, &marriage.a)),
        party_b: Some(events::party(&sealer, &marriage.b)),
        registration_date: Some(to_proto_date(c.today())),
    };
    events::divorce_registered(c.db(), &event).await?;
    Ok(())
}

/// Ends the marriage by divorce, closes the application with the certificate, annotates the
/// archive; each only if no one else changed it first.
async fn end_and_close(
    c: &mut Call,
    app: &mut ApplicationRow,
    marriage: &mut MarriageRow,
    number: &str,
) -> Result<(), ServiceError> {
    let today = c.today();
    let cert = marriage.certificate_number.clone();
    let (from, to) = (MarriageState::InEffect, MarriageState::Divorced);
    if !store::end_marriage(c.db(), &cert, from, to, today, None).await? {
        return Err(Refusal::NotInEffect.into());
    }
    let (id, registered) = (&app.application_id, ApplicationState::Registered);
    if !store::close_application(c.db(), id, registered, today, Some(number)).await? {
        return Err(Refusal::ApplicationClosed.into());
    }
    let remark = format!("{today} 登记离婚 divorce registered {number}");
    store::add_remark(c.db(), &cert, &remark).await?;
    (app.state, app.closed_on) = (registered, Some(today));
    app.divorce_certificate = Some(number.to_owned());
    (marriage.state, marriage.ended_on) = (to, Some(today));
    Ok(())
}

/// Both spouses of this marriage present, in the issuance period, at the accepting office.
fn check_appearance(
    both_present: bool,
    marriage: &MarriageRow,
    (a, b): (&PartyRow, &PartyRow),
    app: &ApplicationRow,
    office: &OfficeRow,
    today: time::Date,
) -> Result<(), ServiceError> {
    if !both_present {
        return Err(Refusal::NotInPerson.into());
    }
    if !same_pair(marriage, &a.index, &b.index) {
        return Err(Refusal::PartiesMismatch.into());
    }
    app.rules().check_registration(today)?;
    // 婚姻登记工作规范: the certificate is issued where the application was accepted.
    if app.office_id != office.office_id {
        return Err(Refusal::WrongOffice.into());
    }
    Ok(())
}
