//! Divorce by registration (arts. 1076-1078): application, cooling-off, withdrawal, registration,
//! and expiry. Expiry is driven by durable state: the deadlines are stored at receipt, and the
//! background sweep and every read record an application past its issuance deadline as expired,
//! so it happens (once) even when the process was down on the day.

use auth::audit::AuditEntry;
use auth::{Principal, Role};
use contracts::civil::marriage::v1 as pb;
use kit::error::to_proto_date;
use kit::idempotency::once;
use kit::store::Db;
use kit::{ServiceError, Violations};
use time::Date;

use super::registration::{Counterparty, allocate_number, lock_pair};
use super::{MarriageApi, audit_entry, decode_party};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::certificate::{CertificateKind, CertificateNumber};
use crate::domain::cooling_off::{ApplicationState, Deadlines, DivorceFiling, check_filing};
use crate::domain::status::MarriageState;
use crate::events;
use crate::store::{self, ApplicationRow, MarriageRow};

/// How many applications one sweep pass expires at most (the next pass takes the rest).
const SWEEP_BATCH: i64 = 500;

fn same_pair(m: &MarriageRow, x: &str, y: &str) -> bool {
    (m.a.index == x && m.b.index == y) || (m.a.index == y && m.b.index == x)
}

fn system_entry(application_id: &str) -> AuditEntry {
    AuditEntry {
        actor: "system:marriage".into(),
        on_behalf_of: String::new(),
        action: "ExpireDivorceApplication".into(),
        object: application_id.into(),
        outcome: "ok".into(),
        trace_id: kit::telemetry::current_trace_id(),
        purpose: "deemed withdrawn: no joint appearance by the deadline (art. 1077)".into(),
    }
}

/// Records one application as expired if it is due on `today`; true when this call did it.
/// The conditional close (`WHERE state = 'pending'`) makes concurrent sweeps and reads record
/// the expiry and its event exactly once.
async fn expire_application(
    db: &Db,
    application_id: &str,
    today: Date,
    entry: AuditEntry,
) -> Result<bool, ServiceError> {
    let mut tx = db.begin().await?;
    let Some(app) = store::get_application(&mut tx, application_id).await? else {
        return Ok(false);
    };
    if !app.rules().needs_expiry(today)
        || !store::close_application(
            &mut tx,
            application_id,
            ApplicationState::Expired,
            today,
            None,
        )
        .await?
    {
        return Ok(false);
    }
    events::application_expired(
        &mut tx,
        &pb::DivorceApplicationExpired {
            application_id: app.application_id.clone(),
            marriage_certificate_number: app.marriage_certificate.clone(),
            issuance_deadline: Some(to_proto_date(app.deadlines.issuance_deadline)),
            recorded_on: Some(to_proto_date(today)),
        },
    )
    .await?;
    auth::audit::append(&mut tx, &[entry]).await?;
    tx.commit().await?;
    Ok(true)
}

/// Expires every pending application past its issuance deadline on `today`; returns how many.
/// Run by the background sweep (and once at start, for deadlines passed while down).
pub async fn sweep_expired(db: &Db, today: Date) -> Result<usize, ServiceError> {
    let ids = {
        let mut conn = db.pool.acquire().await?;
        store::applications_due_for_expiry(&mut conn, today, SWEEP_BATCH).await?
    };
    let mut expired = 0;
    for id in ids {
        if expire_application(db, &id, today, system_entry(&id)).await? {
            expired += 1;
        }
    }
    Ok(expired)
}

impl MarriageApi {
    /// Loads an application and its marriage, recording its expiry first when due.
    async fn load_application(
        &self,
        principal: &Principal,
        application_id: &str,
        today: Date,
    ) -> Result<(ApplicationRow, MarriageRow), ServiceError> {
        let mut entry = audit_entry(principal, "ExpireDivorceApplication", application_id);
        entry.purpose = "deemed withdrawn, recorded on access".into();
        expire_application(&self.db, application_id, today, entry).await?;
        let mut conn = self.db.pool.acquire().await?;
        let app = store::get_application(&mut conn, application_id)
            .await?
            .ok_or_else(|| {
                ServiceError::not_found(format!("divorce application {application_id:?}"))
            })?;
        let marriage = store::get_marriage(&mut conn, &app.marriage_certificate)
            .await?
            .ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!("application without its marriage"))
            })?;
        Ok((app, marriage))
    }

    pub(super) async fn apply_for_divorce_impl(
        &self,
        principal: &Principal,
        req: pb::ApplyForDivorceRequest,
    ) -> Result<pb::DivorceApplication, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.office_id, "office_id");
        let number = CertificateNumber::parse(&req.marriage_certificate_number)
            .filter(|n| n.kind.is_marriage());
        v.check(
            number.is_some(),
            "marriage_certificate_number",
            "is not a marriage certificate number",
        );
        let a = decode_party(&mut v, req.party_a.as_ref(), "party_a");
        let b = decode_party(&mut v, req.party_b.as_ref(), "party_b");
        v.finish()?;
        let (Some((a_id, _, a_in)), Some((b_id, _, b_in)), Some(number)) = (a, b, number) else {
            return Err(ServiceError::invalid("party_a", "is required"));
        };
        let office = self.office(&req.office_id).await?;
        principal.authorize(&[Role::Registrar], Some(&office.region_code))?;
        let today = kit::today_cst();
        let (ia, ib) = (self.sealer.index(&a_id), self.sealer.index(&b_id));
        let deadlines = Deadlines::from_receipt(today, &self.calendar);
        let sealer = self.sealer.clone();
        let application_id = uuid::Uuid::now_v7().to_string();
        let entry = audit_entry(principal, "ApplyForDivorce", &application_id);
        let request = req.clone();
        once(
            &self.db,
            "ApplyForDivorce",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    let certificate = store::original_of_reissued(conn, &number.to_string())
                        .await?
                        .unwrap_or(number.to_string());
                    let marriage = store::get_marriage(conn, &certificate)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("marriage"))?;
                    if !same_pair(&marriage, &ia, &ib) {
                        return Err(Refusal::PartiesMismatch.into());
                    }
                    let open = store::open_application_for(conn, &certificate).await?;
                    let stale = open.as_ref().filter(|o| o.rules().needs_expiry(today));
                    check_filing(DivorceFiling {
                        both_in_person: a_in && b_in,
                        agreement_summary: &request.agreement_summary,
                        both_of_full_civil_capacity: request.both_of_full_civil_capacity,
                        marriage_in_effect: marriage.state == MarriageState::InEffect,
                        // One past its deadline no longer blocks: the sweep records its expiry.
                        open_application: open.is_some() && stale.is_none(),
                    })?;
                    if let Some(stale) = stale {
                        store::close_application(
                            conn,
                            &stale.application_id,
                            ApplicationState::Expired,
                            today,
                            None,
                        )
                        .await?;
                        events::application_expired(
                            conn,
                            &pb::DivorceApplicationExpired {
                                application_id: stale.application_id.clone(),
                                marriage_certificate_number: certificate.clone(),
                                issuance_deadline: Some(to_proto_date(
                                    stale.deadlines.issuance_deadline,
                                )),
                                recorded_on: Some(to_proto_date(today)),
                            },
                        )
                        .await?;
                    }
                    let app = ApplicationRow {
                        application_id,
                        office_id: office.office_id.clone(),
                        marriage_certificate: certificate,
                        agreement_summary: request.agreement_summary.trim().to_owned(),
                        deadlines,
                        state: ApplicationState::Pending,
                        closed_on: None,
                        divorce_certificate: None,
                    };
                    store::insert_application(conn, &app, kit::now_ms()).await?;
                    auth::audit::append(conn, &[entry]).await?;
                    Ok(convert::application(&sealer, &app, &marriage))
                })
            },
        )
        .await
        .map(|a| a.masked_unless(principal.sees_full_identity_numbers()))
    }

    pub(super) async fn get_divorce_application_impl(
        &self,
        principal: &Principal,
        req: pb::GetDivorceApplicationRequest,
    ) -> Result<pb::DivorceApplication, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.application_id, "application_id");
        v.finish()?;
        let (app, marriage) = self
            .load_application(principal, &req.application_id, kit::today_cst())
            .await?;
        let office = self.office(&app.office_id).await?;
        principal.authorize(&[Role::Registrar], Some(&office.region_code))?;
        self.audit_read(principal, "GetDivorceApplication", &app.application_id, "")
            .await;
        Ok(convert::application(&self.sealer, &app, &marriage)
            .masked_unless(principal.sees_full_identity_numbers()))
    }

    pub(super) async fn withdraw_divorce_application_impl(
        &self,
        principal: &Principal,
        req: pb::WithdrawDivorceApplicationRequest,
    ) -> Result<pb::DivorceApplication, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.application_id, "application_id");
        let party = decode_party(&mut v, req.party.as_ref(), "party");
        v.finish()?;
        let Some((id, _, in_person)) = party else {
            return Err(ServiceError::invalid("party", "is required"));
        };
        let today = kit::today_cst();
        let (app, _) = self
            .load_application(principal, &req.application_id, today)
            .await?;
        let office = self.office(&app.office_id).await?;
        principal.authorize(&[Role::Registrar], Some(&office.region_code))?;
        let index = self.sealer.index(&id);
        let sealer = self.sealer.clone();
        let entry = audit_entry(principal, "WithdrawDivorceApplication", &app.application_id);
        once(
            &self.db,
            "WithdrawDivorceApplication",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    let mut app = store::get_application(conn, &app.application_id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("divorce application"))?;
                    let marriage = store::get_marriage(conn, &app.marriage_certificate)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("marriage"))?;
                    if !in_person {
                        return Err(Refusal::NotInPerson.into());
                    }
                    if marriage.sides(&index).is_none() {
                        return Err(Refusal::PartiesMismatch.into());
                    }
                    app.rules().check_withdrawal(today)?;
                    if !store::close_application(
                        conn,
                        &app.application_id,
                        ApplicationState::Withdrawn,
                        today,
                        None,
                    )
                    .await?
                    {
                        return Err(Refusal::ApplicationClosed.into());
                    }
                    (app.state, app.closed_on) = (ApplicationState::Withdrawn, Some(today));
                    events::application_withdrawn(
                        conn,
                        &pb::DivorceApplicationWithdrawn {
                            application_id: app.application_id.clone(),
                            marriage_certificate_number: app.marriage_certificate.clone(),
                            withdrawn_on: Some(to_proto_date(today)),
                        },
                    )
                    .await?;
                    auth::audit::append(conn, &[entry]).await?;
                    Ok(convert::application(&sealer, &app, &marriage))
                })
            },
        )
        .await
        .map(|a| a.masked_unless(principal.sees_full_identity_numbers()))
    }

    pub(super) async fn register_divorce_impl(
        &self,
        principal: &Principal,
        req: pb::RegisterDivorceRequest,
    ) -> Result<pb::DivorceApplication, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.application_id, "application_id");
        v.required(&req.office_id, "office_id");
        let a = decode_party(&mut v, req.party_a.as_ref(), "party_a");
        let b = decode_party(&mut v, req.party_b.as_ref(), "party_b");
        v.finish()?;
        let (Some((a_id, a_name, a_in)), Some((b_id, b_name, b_in))) = (a, b) else {
            return Err(ServiceError::invalid("party_a", "is required"));
        };
        let office = self.office(&req.office_id).await?;
        principal.authorize(&[Role::Registrar], Some(&office.region_code))?;
        let today = kit::today_cst();
        let (app, _) = self
            .load_application(principal, &req.application_id, today)
            .await?;
        let sealer = self.sealer.clone();
        let a = Counterparty {
            id: a_id,
            name: a_name,
            in_person: a_in,
        };
        let b = Counterparty {
            id: b_id,
            name: b_name,
            in_person: b_in,
        };
        let entry = audit_entry(principal, "RegisterDivorce", &app.application_id);
        let response = once(
            &self.db,
            "RegisterDivorce",
            &req.request_id,
            &req,
            move |conn| {
                Box::pin(async move {
                    let mut app = store::get_application(conn, &app.application_id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("divorce application"))?;
                    let (row_a, row_b) = (a.party_row(&sealer), b.party_row(&sealer));
                    lock_pair(conn, &row_a, &row_b).await?;
                    let mut marriage = store::get_marriage(conn, &app.marriage_certificate)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("marriage"))?;
                    if !(a.in_person && b.in_person) {
                        return Err(Refusal::NotInPerson.into());
                    }
                    if !same_pair(&marriage, &row_a.index, &row_b.index) {
                        return Err(Refusal::PartiesMismatch.into());
                    }
                    app.rules().check_registration(today)?;
                    // 婚姻登记工作规范: the certificate is issued where the application was accepted.
                    if app.office_id != office.office_id {
                        return Err(Refusal::WrongOffice.into());
                    }
                    let number = allocate_number(
                        conn,
                        CertificateKind::Divorce,
                        &office.region_code,
                        today.year(),
                    )
                    .await?;
                    let number = number.to_string();
                    let ended = store::end_marriage(
                        conn,
                        &marriage.certificate_number,
                        MarriageState::InEffect,
                        MarriageState::Divorced,
                        today,
                        None,
                    )
                    .await?;
                    if !ended {
                        return Err(Refusal::NotInEffect.into());
                    }
                    if !store::close_application(
                        conn,
                        &app.application_id,
                        ApplicationState::Registered,
                        today,
                        Some(&number),
                    )
                    .await?
                    {
                        return Err(Refusal::ApplicationClosed.into());
                    }
                    store::add_remark(
                        conn,
                        &marriage.certificate_number,
                        &format!("{today} 登记离婚 divorce registered {number}"),
                    )
                    .await?;
                    (app.state, app.closed_on, app.divorce_certificate) = (
                        ApplicationState::Registered,
                        Some(today),
                        Some(number.clone()),
                    );
                    (marriage.state, marriage.ended_on) = (MarriageState::Divorced, Some(today));
                    auth::audit::append(conn, &[entry]).await?;
                    let response = convert::application(&sealer, &app, &marriage);
                    events::divorce_registered(
                        conn,
                        &pb::DivorceRegistered {
                            divorce_certificate_number: number,
                            marriage_certificate_number: marriage.certificate_number.clone(),
                            party_a: Some(events::party(&sealer, &marriage.a)),
                            party_b: Some(events::party(&sealer, &marriage.b)),
                            registration_date: Some(to_proto_date(today)),
                        },
                    )
                    .await?;
                    Ok(response)
                })
            },
        )
        .await?;
        let indexes = [&response.party_a, &response.party_b]
            .into_iter()
            .filter_map(|p| {
                p.as_ref()
                    .and_then(|p| civil_id::IdNumber::parse(&p.id_number).ok())
            })
            .map(|id| self.sealer.index(&id))
            .collect::<Vec<_>>();
        self.invalidate_status(&indexes.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        Ok(response.masked_unless(principal.sees_full_identity_numbers()))
    }
}
