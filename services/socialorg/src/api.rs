//! gRPC handlers: decode -> authorize -> domain -> store -> encode. Writes run once per request
//! id ([`kit::idempotency::once`]) in one transaction with their audit rows and events.

use std::sync::Arc;

use auth::audit::{AuditEntry, AuditWriter};
use auth::{Principal, Role};
use civil_calendar::HolidayCalendar;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::socialorg::v1 as pb;
use contracts::civil::socialorg::v1::social_org_service_server::SocialOrgService;
use futures::future::BoxFuture;
use kit::error::to_proto_date;
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;
use time::Date;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::annual_report::{self, FoundationFigures};
use crate::domain::credit_list::{self, Action, CreditList, Listing, OrgFacts, Trigger};
use crate::domain::registration::{self, Application, OrganisationKind};
use crate::domain::{Refusal, rating};
use crate::store::{self, ListingRow, OrgRow, OrgStatus};

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        ServiceError::refused(r.reason(), r.to_string())
    }
}

type Tx<'c, T> = BoxFuture<'c, Result<T, ServiceError>>;

const OFFICER: &[Role] = &[Role::SocialOrgOfficer];

#[derive(Clone)]
pub struct SocialOrgApi {
    ctx: kit::ServiceContext,
    db: kit::store::Db,
    reads: AuditWriter,
}

fn audit(p: &Principal, action: &str, object: &str) -> AuditEntry {
    AuditEntry::new(p, action, object).with_trace_id(kit::telemetry::current_trace_id())
}

fn org_name(id: &str) -> String {
    format!("organisations/{id}")
}

/// The principal the daily sweep acts as in the audit trail.
pub fn system_principal() -> Principal {
    Principal {
        subject: "system:socialorg-listing-sweep".into(),
        name: "listing sweep".into(),
        roles: vec![Role::Service],
        region: String::new(),
        organisation: None,
        on_behalf_of: None,
    }
}

/// Officers act within their region; services of the suite act anywhere, on someone's behalf.
fn authorize_officer_or_service(p: &Principal, region: &str) -> Result<(), Status> {
    if p.has_role(Role::Service) {
        return p.authorize(&[Role::Service], None);
    }
    p.authorize(OFFICER, Some(region))
}

impl SocialOrgApi {
    pub fn new(ctx: kit::ServiceContext, db: kit::store::Db) -> Self {
        let reads = AuditWriter::spawn(db.pool.clone());
        Self { ctx, db, reads }
    }

    fn calendar(&self) -> Arc<HolidayCalendar> {
        self.ctx.calendar.clone()
    }

    fn person_out(&self, p: &Principal, o: &OrgRow) -> PersonRef {
        let id = self.ctx.sealer.open(&o.rep_id_sealed).unwrap_or_default();
        let id_number = if p.sees_full_identity_numbers() {
            id
        } else {
            civil_id::mask_id_number(&id)
        };
        PersonRef {
            id_number,
            name: self.ctx.sealer.open(&o.rep_name_sealed).unwrap_or_default(),
        }
    }

    async fn org_out(
        &self,
        p: &Principal,
        conn: &mut AnyConnection,
        o: &OrgRow,
    ) -> Result<pb::Organisation, ServiceError> {
        let today = kit::today_cst();
        let listings = store::listings_of(conn, &o.id).await?;
        let on = |list: CreditList| {
            listings
                .iter()
                .any(|l| l.listing.list == list && l.listing.in_force_on(today))
        };
        let rating = store::rating_in_force(conn, &o.id, today)
            .await?
            .map(|r| convert::rating_out(&r));
        let task = store::open_task(conn, &o.id).await?;
        Ok(pb::Organisation {
            organisation_id: o.id.clone(),
            credit_code: o.credit_code.clone(),
            kind: convert::kind_out(o.kind).into(),
            field: convert::field_out(o.field).into(),
            name: o.name.clone(),
            region_code: o.region.clone(),
            address: o.address.clone(),
            legal_representative: Some(self.person_out(p, o)),
            supervisory_unit: o.supervisory_unit.clone(),
            status: convert::status_out(o.status).into(),
            registered_on: Some(to_proto_date(o.registered_on)),
            decision_due: Some(to_proto_date(o.decision_due)),
            decided_in_time: o.registered_on <= o.decision_due,
            rating,
            on_abnormal_list: on(CreditList::Abnormal),
            on_serious_list: on(CreditList::Serious),
            open_task_id: task.map(|t| t.id).unwrap_or_default(),
        })
    }

    /// Loads an organisation and checks the caller may act on it.
    async fn authorized_org(
        &self,
        p: &Principal,
        id: &str,
        roles: &[Role],
    ) -> Result<OrgRow, ServiceError> {
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("organisation_id", "is required"));
        }
        p.authorize(roles, None)?;
        let mut conn = self.db.pool.acquire().await?;
        let org = store::org_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(org_name(id)))?;
        if roles.contains(&Role::Service) {
            authorize_officer_or_service(p, &org.region)?;
        } else {
            p.authorize(roles, Some(&org.region))?;
        }
        Ok(org)
    }

    async fn locked_active(conn: &mut AnyConnection, id: &str) -> Result<OrgRow, ServiceError> {
        let org = store::lock_org(conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(org_name(id)))?;
        if org.status != OrgStatus::Active {
            return Err(Refusal::NotActive.into());
        }
        Ok(org)
    }

    async fn register(
        &self,
        p: Principal,
        req: pb::RegisterOrganisationRequest,
    ) -> Result<pb::Organisation, ServiceError> {
        let mut v = Violations::new();
        let kind = convert::kind_in(req.kind);
        v.check(
            kind.is_some(),
            "kind",
            "must be social group, private non-enterprise unit or foundation",
        );
        let field = convert::field_in(req.field);
        v.check(field.is_some(), "field", "is required");
        v.required(&req.name, "name");
        v.required(&req.address, "address");
        let region = v.region(&req.region_code, "region_code");
        if let Some(r) = &region {
            v.check(
                r.as_str().len() == 6,
                "region_code",
                "must be the registering county (6 digits)",
            );
        }
        let rep = req.legal_representative.clone().unwrap_or_default();
        let rep_id = v.id_number(&rep.id_number, "legal_representative.id_number");
        v.required(&rep.name, "legal_representative.name");
        v.check(
            req.individual_members >= 0,
            "individual_members",
            "must not be negative",
        );
        v.check(
            req.unit_members >= 0,
            "unit_members",
            "must not be negative",
        );
        v.check(req.funds_fen >= 0, "funds_fen", "must not be negative");
        let received_on = v.date(
            req.application_received_on.as_ref(),
            "application_received_on",
        );
        let decided_on = v.date(req.decided_on.as_ref(), "decided_on");
        v.finish()?;
        let (
            Some(kind),
            Some(field),
            Some(region),
            Some(rep_id),
            Some(received_on),
            Some(decided_on),
        ) = (kind, field, region, rep_id, received_on, decided_on)
        else {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
        p.authorize(OFFICER, Some(region.as_str()))?;
        let app = Application {
            kind,
            field,
            name: req.name.trim().to_owned(),
            supervisory_unit: req.supervisory_unit.trim().to_owned(),
            individual_members: req.individual_members,
            unit_members: req.unit_members,
            funds_fen: req.funds_fen,
            public_fundraising: req.public_fundraising,
            received_on,
            decided_on,
        };
        registration::check_application(&app)?;
        let (rep_id_sealed, rep_index) = self.ctx.sealer.protect(&rep_id);
        let mut row = OrgRow {
            id: uuid::Uuid::now_v7().to_string(),
            credit_code: String::new(),
            kind,
            field,
            name: app.name.clone(),
            region: region.as_str().to_owned(),
            address: req.address.trim().to_owned(),
            rep_index,
            rep_id_sealed,
            rep_name_sealed: self.ctx.sealer.seal(rep.name.trim()),
            supervisory_unit: app.supervisory_unit.clone(),
            individual_members: i64::from(app.individual_members),
            unit_members: i64::from(app.unit_members),
            funds_fen: app.funds_fen,
            public_fundraising: kind == OrganisationKind::Foundation && app.public_fundraising,
            status: OrgStatus::Active,
            received_on,
            registered_on: decided_on,
            decision_due: registration::decision_due(&self.calendar(), received_on),
            ended_on: None,
        };
        let api = self.clone();
        kit::idempotency::once(
            &self.db,
            "RegisterOrganisation",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::Organisation> {
                Box::pin(async move {
                    if store::active_name_taken(conn, &row.region, &row.name, "").await? {
                        return Err(Refusal::NameTaken.into());
                    }
                    let sequence = store::next_credit_sequence(conn, &row.region).await?;
                    let code = registration::issue_credit_code(
                        row.kind,
                        &row.region,
                        u64::try_from(sequence).unwrap_or(0),
                    )
                    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("credit code: {e}")))?;
                    row.credit_code = code.as_str().to_owned();
                    store::insert_org(conn, &row, kit::now_ms()).await?;
                    let event = pb::OrganisationRegistered {
                        organisation_id: row.id.clone(),
                        credit_code: row.credit_code.clone(),
                        kind: convert::kind_out(row.kind).into(),
                        name: row.name.clone(),
                        region_code: row.region.clone(),
                        registered_on: Some(to_proto_date(row.registered_on)),
                    };
                    kit::outbox::append(
                        conn,
                        crate::TOPIC_REGISTERED,
                        "civil.socialorg.v1.OrganisationRegistered",
                        &row.id,
                        &event,
                    )
                    .await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "socialorg.RegisterOrganisation",
                            &org_name(&row.id),
                        )],
                    )
                    .await?;
                    api.org_out(&p, conn, &row).await
                })
            },
        )
        .await
    }

    async fn change(
        &self,
        p: Principal,
        req: pb::ChangeOrganisationRequest,
    ) -> Result<pb::Organisation, ServiceError> {
        let mut v = Violations::new();
        let changed_on = v.date(req.changed_on.as_ref(), "changed_on");
        let new_rep = match &req.new_legal_representative {
            Some(rep) if !(rep.id_number.is_empty() && rep.name.is_empty()) => {
                let id = v.id_number(&rep.id_number, "new_legal_representative.id_number");
                v.required(&rep.name, "new_legal_representative.name");
                id.map(|id| (id, rep.name.trim().to_owned()))
            }
            _ => None,
        };
        v.finish()?;
        let changed_on = changed_on.unwrap_or_else(kit::today_cst);
        let org = self
            .authorized_org(&p, &req.organisation_id, OFFICER)
            .await?;
        let new_name = req.new_name.trim().to_owned();
        if !new_name.is_empty() {
            registration::check_local_name(&new_name)?;
        }
        let new_address = req.new_address.trim().to_owned();
        let new_rep = new_rep.map(|(id, name)| {
            let (sealed, index) = self.ctx.sealer.protect(&id);
            (sealed, index, self.ctx.sealer.seal(&name))
        });
        let api = self.clone();
        kit::idempotency::once(
            &self.db,
            "ChangeOrganisation",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::Organisation> {
                Box::pin(async move {
                    let mut o = Self::locked_active(conn, &org.id).await?;
                    let mut changed = Vec::new();
                    if !new_name.is_empty() && new_name != o.name {
                        if store::active_name_taken(conn, &o.region, &new_name, &o.id).await? {
                            return Err(Refusal::NameTaken.into());
                        }
                        changed.push(("name", o.name.clone(), new_name.clone()));
                        o.name = new_name;
                    }
                    if !new_address.is_empty() && new_address != o.address {
                        changed.push(("address", o.address.clone(), new_address.clone()));
                        o.address = new_address;
                    }
                    let mut rep_changed = false;
                    if let Some((sealed, index, name_sealed)) = new_rep
                        && index != o.rep_index
                    {
                        // The history names the blind indexes, never the numbers.
                        changed.push(("legal_representative", o.rep_index.clone(), index.clone()));
                        o.rep_index = index;
                        o.rep_id_sealed = sealed;
                        o.rep_name_sealed = name_sealed;
                        rep_changed = true;
                    }
                    if changed.is_empty() {
                        return Err(Refusal::NothingToChange.into());
                    }
                    store::update_org(conn, &o, kit::now_ms()).await?;
                    for (what, old, new) in &changed {
                        store::insert_change(conn, &o.id, changed_on, what, old, new).await?;
                    }
                    if rep_changed {
                        store::close_tasks(conn, &o.id, kit::now_ms()).await?;
                    }
                    auth::audit::append(
                        conn,
                        &[audit(&p, "socialorg.ChangeOrganisation", &org_name(&o.id))],
                    )
                    .await?;
                    api.org_out(&p, conn, &o).await
                })
            },
        )
        .await
    }

    async fn deregister(
        &self,
        p: Principal,
        req: pb::DeregisterOrganisationRequest,
    ) -> Result<pb::Organisation, ServiceError> {
        let mut v = Violations::new();
        let on = v.date(req.deregistered_on.as_ref(), "deregistered_on");
        v.required(&req.reason, "reason");
        v.finish()?;
        let on = on.unwrap_or_else(kit::today_cst);
        let org = self
            .authorized_org(&p, &req.organisation_id, OFFICER)
            .await?;
        let api = self.clone();
        kit::idempotency::once(
            &self.db,
            "DeregisterOrganisation",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::Organisation> {
                Box::pin(async move {
                    let mut o = Self::locked_active(conn, &org.id).await?;
                    o.status = OrgStatus::Deregistered;
                    o.ended_on = Some(on);
                    store::update_org(conn, &o, kit::now_ms()).await?;
                    store::close_tasks(conn, &o.id, kit::now_ms()).await?;
                    let listings: Vec<Listing> = store::listings_of(conn, &o.id)
                        .await?
                        .into_iter()
                        .map(|l| l.listing)
                        .collect();
                    let actions = credit_list::deregistration_removals(&listings, on);
                    apply_actions(conn, &o, &actions).await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "socialorg.DeregisterOrganisation",
                            &org_name(&o.id),
                        )],
                    )
                    .await?;
                    api.org_out(&p, conn, &o).await
                })
            },
        )
        .await
    }

    async fn by_representative(
        &self,
        p: &Principal,
        req: pb::ListByLegalRepresentativeRequest,
    ) -> Result<pb::ListByLegalRepresentativeResponse, ServiceError> {
        let mut v = Violations::new();
        let id = v.id_number(&req.id_number, "id_number");
        v.finish()?;
        let Some(id) = id else {
            return Err(ServiceError::invalid("id_number", "is required"));
        };
        p.authorize(&[Role::SocialOrgOfficer, Role::Service], None)?;
        let index = self.ctx.sealer.index(&id);
        let mut conn = self.db.pool.acquire().await?;
        let mut organisations = Vec::new();
        for o in store::active_orgs_by_rep(&mut conn, &index).await? {
            if p.has_role(Role::Service) || p.covers_region(&o.region) {
                organisations.push(self.org_out(p, &mut conn, &o).await?);
            }
        }
        self.reads
            .record(
                audit(
                    p,
                    "socialorg.ListByLegalRepresentative",
                    &format!("people/{index}"),
                )
                .with_purpose("read personal data"),
            )
            .await;
        Ok(pb::ListByLegalRepresentativeResponse { organisations })
    }

    async fn open_task(
        &self,
        p: Principal,
        req: pb::OpenRepresentativeChangeTaskRequest,
    ) -> Result<pb::RepresentativeChangeTask, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.reason, "reason");
        v.finish()?;
        let org = self
            .authorized_org(
                &p,
                &req.organisation_id,
                &[Role::Service, Role::SocialOrgOfficer],
            )
            .await?;
        let reason = req.reason.trim().to_owned();
        kit::idempotency::once(
            &self.db,
            "OpenRepresentativeChangeTask",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::RepresentativeChangeTask> {
                Box::pin(async move {
                    let o = Self::locked_active(conn, &org.id).await?;
                    // One open task per organisation: a second request (say, the after-death
                    // matter run for a second person) joins the open one.
                    let task = match store::open_task(conn, &o.id).await? {
                        Some(t) => t,
                        None => {
                            let t = store::TaskRow {
                                id: uuid::Uuid::now_v7().to_string(),
                                organisation_id: o.id.clone(),
                                reason,
                                open: true,
                                opened_at_ms: kit::now_ms(),
                            };
                            store::insert_task(conn, &t).await?;
                            auth::audit::append(
                                conn,
                                &[audit(
                                    &p,
                                    "socialorg.OpenRepresentativeChangeTask",
                                    &org_name(&o.id),
                                )],
                            )
                            .await?;
                            t
                        }
                    };
                    Ok(convert::task_out(&task))
                })
            },
        )
        .await
    }

    async fn submit_report(
        &self,
        p: Principal,
        req: pb::SubmitAnnualReportRequest,
    ) -> Result<pb::AnnualReport, ServiceError> {
        let mut v = Violations::new();
        let submitted_on = v.date(req.submitted_on.as_ref(), "submitted_on");
        let result = convert::result_in(req.result);
        v.check(result.is_some(), "result", "is required");
        v.check(
            (1990..=9999).contains(&req.year),
            "year",
            "must be a calendar year",
        );
        for (value, field) in [
            (req.previous_income_fen, "previous_income_fen"),
            (req.previous_fund_balance_fen, "previous_fund_balance_fen"),
            (req.charitable_spending_fen, "charitable_spending_fen"),
        ] {
            v.check(value >= 0, field, "must not be negative");
        }
        v.finish()?;
        let (Some(submitted_on), Some(result)) = (submitted_on, result) else {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
        let org = self
            .authorized_org(&p, &req.organisation_id, OFFICER)
            .await?;
        let cal = self.calendar();
        let year = req.year;
        let figures = FoundationFigures {
            previous_income_fen: req.previous_income_fen,
            previous_fund_balance_fen: req.previous_fund_balance_fen,
            charitable_spending_fen: req.charitable_spending_fen,
        };
        kit::idempotency::once(
            &self.db,
            "SubmitAnnualReport",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::AnnualReport> {
                Box::pin(async move {
                    let o = Self::locked_active(conn, &org.id).await?;
                    let filed = store::reported_years(conn, &o.id).await?.contains(&year);
                    annual_report::check_report(year, submitted_on, o.registered_on, filed)?;
                    let due_on = annual_report::report_deadline(&cal, year);
                    let (result, met) =
                        annual_report::conclusion(o.kind, o.public_fundraising, result, figures);
                    let report = store::ReportRow {
                        organisation_id: o.id.clone(),
                        year,
                        submitted_on,
                        due_on,
                        late: submitted_on > due_on,
                        result,
                        spending_ratio_met: met,
                    };
                    store::insert_report(conn, &report).await?;
                    let listings: Vec<Listing> = store::listings_of(conn, &o.id)
                        .await?
                        .into_iter()
                        .map(|l| l.listing)
                        .collect();
                    for (listing, removal_due) in
                        credit_list::report_filed(&cal, &listings, year, submitted_on)
                    {
                        store::record_correction(conn, &listing.id, submitted_on, removal_due)
                            .await?;
                    }
                    auth::audit::append(
                        conn,
                        &[audit(&p, "socialorg.SubmitAnnualReport", &org_name(&o.id))],
                    )
                    .await?;
                    Ok(convert::report_out(&report))
                })
            },
        )
        .await
    }

    async fn record_breach(
        &self,
        p: Principal,
        req: pb::RecordBreachRequest,
    ) -> Result<pb::Listing, ServiceError> {
        let mut v = Violations::new();
        let trigger = convert::trigger_in(req.trigger).filter(|t| t.is_recorded_breach());
        v.check(
            trigger.is_some(),
            "trigger",
            "must be a breach the bureau decides (not a missed report or the two-year escalation)",
        );
        let decided_on = v.date(req.decided_on.as_ref(), "decided_on");
        v.required(&req.evidence, "evidence");
        v.check(req.fine_fen >= 0, "fine_fen", "must not be negative");
        if trigger == Some(Trigger::Fine) {
            v.check(req.fine_fen > 0, "fine_fen", "is required for a fine");
        }
        v.finish()?;
        let (Some(trigger), Some(decided_on)) = (trigger, decided_on) else {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
        let org = self
            .authorized_org(&p, &req.organisation_id, OFFICER)
            .await?;
        let fine_fen = if trigger == Trigger::Fine {
            req.fine_fen
        } else {
            0
        };
        let evidence = req.evidence.trim().to_owned();
        kit::idempotency::once(
            &self.db,
            "RecordBreach",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::Listing> {
                Box::pin(async move {
                    let mut o = Self::locked_active(conn, &org.id).await?;
                    let listing = Listing {
                        id: uuid::Uuid::now_v7().to_string(),
                        list: credit_list::list_for(trigger, fine_fen),
                        trigger,
                        listed_on: decided_on,
                        report_year: None,
                        corrected_on: None,
                        removal_due: None,
                        removed_on: None,
                        removal_reason: None,
                    };
                    store::insert_listing(conn, &o.id, &listing, fine_fen, &evidence).await?;
                    if trigger == Trigger::Revocation {
                        o.status = OrgStatus::Revoked;
                        o.ended_on = Some(decided_on);
                        store::update_org(conn, &o, kit::now_ms()).await?;
                    }
                    let row = store::listing_by_id(conn, &listing.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("listing"))?;
                    let out = convert::listing_out(&row);
                    emit(conn, crate::TOPIC_LISTED, &row, true).await?;
                    auth::audit::append(
                        conn,
                        &[audit(&p, "socialorg.RecordBreach", &org_name(&o.id))],
                    )
                    .await?;
                    Ok(out)
                })
            },
        )
        .await
    }

    async fn record_correction(
        &self,
        p: Principal,
        req: pb::RecordCorrectionRequest,
    ) -> Result<pb::Listing, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.listing_id, "listing_id");
        let corrected_on = v.date(req.corrected_on.as_ref(), "corrected_on");
        v.required(&req.evidence, "evidence");
        v.finish()?;
        let corrected_on = corrected_on.unwrap_or_else(kit::today_cst);
        let listing = {
            let mut conn = self.db.pool.acquire().await?;
            store::listing_by_id(&mut conn, &req.listing_id)
                .await?
                .ok_or_else(|| ServiceError::not_found(format!("listings/{}", req.listing_id)))?
        };
        let org = self
            .authorized_org(&p, &listing.organisation_id, OFFICER)
            .await?;
        let cal = self.calendar();
        kit::idempotency::once(
            &self.db,
            "RecordCorrection",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::Listing> {
                Box::pin(async move {
                    store::lock_org(conn, &org.id).await?;
                    let current = store::listing_by_id(conn, &listing.listing.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("listing"))?;
                    let removal_due = credit_list::correct(&cal, &current.listing, corrected_on)?;
                    store::record_correction(conn, &current.listing.id, corrected_on, removal_due)
                        .await?;
                    let row = store::listing_by_id(conn, &current.listing.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("listing"))?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "socialorg.RecordCorrection",
                            &format!("listings/{}", row.listing.id),
                        )],
                    )
                    .await?;
                    Ok(convert::listing_out(&row))
                })
            },
        )
        .await
    }

    async fn serious_removal(
        &self,
        p: Principal,
        req: pb::ApplyForSeriousListRemovalRequest,
    ) -> Result<pb::ListingSweep, ServiceError> {
        let mut v = Violations::new();
        let applied_on = v.date(req.applied_on.as_ref(), "applied_on");
        v.finish()?;
        let applied_on = applied_on.unwrap_or_else(kit::today_cst);
        let org = self
            .authorized_org(&p, &req.organisation_id, OFFICER)
            .await?;
        kit::idempotency::once(
            &self.db,
            "ApplyForSeriousListRemoval",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::ListingSweep> {
                Box::pin(async move {
                    let o = store::lock_org(conn, &org.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found(org_name(&org.id)))?;
                    let listings: Vec<Listing> = store::listings_of(conn, &o.id)
                        .await?
                        .into_iter()
                        .map(|l| l.listing)
                        .collect();
                    let actions = credit_list::serious_list_removal(&listings, applied_on)?;
                    let (listed, delisted) = apply_actions(conn, &o, &actions).await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "socialorg.ApplyForSeriousListRemoval",
                            &org_name(&o.id),
                        )],
                    )
                    .await?;
                    Ok(pb::ListingSweep {
                        date: Some(to_proto_date(applied_on)),
                        listed,
                        delisted,
                    })
                })
            },
        )
        .await
    }

    async fn sweep(
        &self,
        p: Principal,
        req: pb::RunListingSweepRequest,
    ) -> Result<pb::ListingSweep, ServiceError> {
        let mut v = Violations::new();
        let date = v.date(req.date.as_ref(), "date");
        v.finish()?;
        let date = date.unwrap_or_else(kit::today_cst);
        p.authorize(&[Role::SocialOrgOfficer, Role::Service], None)?;
        let scope = if p.has_role(Role::Service) {
            String::new()
        } else {
            p.region.clone()
        };
        if !p.has_role(Role::Service) && scope.is_empty() {
            return Err(ServiceError::PermissionDenied(
                "the caller has no region scope".into(),
            ));
        }
        let cal = self.calendar();
        kit::idempotency::once(
            &self.db,
            "RunListingSweep",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::ListingSweep> {
                Box::pin(async move { sweep_all(conn, &cal, date, &scope, &p).await })
            },
        )
        .await
    }

    async fn list_listings(
        &self,
        _p: &Principal,
        req: pb::ListCreditListingsRequest,
    ) -> Result<pb::ListCreditListingsResponse, ServiceError> {
        let mut v = Violations::new();
        let list = convert::list_in(req.list);
        v.check(list.is_some(), "list", "must be ABNORMAL or SERIOUS");
        let on = match req.on.as_ref() {
            Some(d) => v.date(Some(d), "on"),
            None => Some(kit::today_cst()),
        };
        if !req.region_code.is_empty() {
            v.check(
                req.region_code.bytes().all(|b| b.is_ascii_digit()),
                "region_code",
                "must be digits",
            );
        }
        v.check(
            (0..=200).contains(&req.page_size),
            "page_size",
            "must be 0-200",
        );
        v.finish()?;
        let (Some(list), Some(on)) = (list, on) else {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
        let size = if req.page_size == 0 {
            50
        } else {
            i64::from(req.page_size)
        };
        let mut conn = self.db.pool.acquire().await?;
        let mut rows = store::listings_in_force(
            &mut conn,
            list,
            on,
            &req.region_code,
            &req.page_token,
            size + 1,
        )
        .await?;
        let next_page_token = if rows.len() as i64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| r.listing.id.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListCreditListingsResponse {
            listings: rows.iter().map(convert::listing_out).collect(),
            next_page_token,
        })
    }

    async fn grant_rating(
        &self,
        p: Principal,
        req: pb::GrantRatingRequest,
    ) -> Result<pb::Rating, ServiceError> {
        let mut v = Violations::new();
        v.check(
            rating::valid_level(req.level),
            "level",
            "must be 1-5 (1A-5A)",
        );
        let assessed_on = v.date(req.assessed_on.as_ref(), "assessed_on");
        v.finish()?;
        let assessed_on = assessed_on.unwrap_or_else(kit::today_cst);
        let org = self
            .authorized_org(&p, &req.organisation_id, OFFICER)
            .await?;
        let cal = self.calendar();
        let level = req.level;
        kit::idempotency::once(
            &self.db,
            "GrantRating",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::Rating> {
                Box::pin(async move {
                    let o = Self::locked_active(conn, &org.id).await?;
                    let due_year = annual_report::latest_due_year(&cal, assessed_on);
                    let reports = store::reports_of(conn, &o.id).await?;
                    let listings = store::listings_of(conn, &o.id).await?;
                    let facts = rating::RatingFacts {
                        registered_on: o.registered_on,
                        last_due_report: reports
                            .iter()
                            .find(|r| r.year == due_year)
                            .map(|r| r.result),
                        penalties: listings
                            .iter()
                            .filter(|l| l.listing.trigger.is_penalty())
                            .map(|l| l.listing.listed_on)
                            .collect(),
                    };
                    rating::check_eligibility(&facts, assessed_on)?;
                    let row = store::RatingRow {
                        organisation_id: o.id.clone(),
                        level,
                        granted_on: assessed_on,
                        valid_until: rating::valid_until(assessed_on),
                    };
                    store::insert_rating(conn, &row).await?;
                    auth::audit::append(
                        conn,
                        &[audit(&p, "socialorg.GrantRating", &org_name(&o.id))],
                    )
                    .await?;
                    Ok(convert::rating_out(&row))
                })
            },
        )
        .await
    }
}

/// Writes an OrganisationListed or OrganisationDelisted event.
async fn emit(
    conn: &mut AnyConnection,
    topic: &str,
    row: &ListingRow,
    listed: bool,
) -> Result<(), ServiceError> {
    let listing = Some(convert::listing_out(row));
    if listed {
        let event = pb::OrganisationListed { listing };
        kit::outbox::append(
            conn,
            topic,
            "civil.socialorg.v1.OrganisationListed",
            &row.organisation_id,
            &event,
        )
        .await?;
    } else {
        let event = pb::OrganisationDelisted { listing };
        kit::outbox::append(
            conn,
            topic,
            "civil.socialorg.v1.OrganisationDelisted",
            &row.organisation_id,
            &event,
        )
        .await?;
    }
    Ok(())
}

/// Applies listing actions for one organisation, with their events. Returns (listed, delisted).
async fn apply_actions(
    conn: &mut AnyConnection,
    org: &OrgRow,
    actions: &[Action],
) -> Result<(Vec<pb::Listing>, Vec<pb::Listing>), ServiceError> {
    let mut listed = Vec::new();
    let mut delisted = Vec::new();
    for action in actions {
        match action {
            Action::List(new) => {
                let listing = Listing {
                    id: uuid::Uuid::now_v7().to_string(),
                    list: new.list,
                    trigger: new.trigger,
                    listed_on: new.listed_on,
                    report_year: new.report_year,
                    corrected_on: None,
                    removal_due: None,
                    removed_on: None,
                    removal_reason: None,
                };
                store::insert_listing(conn, &org.id, &listing, 0, &new.evidence).await?;
                if let Some(row) = store::listing_by_id(conn, &listing.id).await? {
                    emit(conn, crate::TOPIC_LISTED, &row, true).await?;
                    listed.push(convert::listing_out(&row));
                }
            }
            Action::Remove {
                listing_id,
                removed_on,
                reason,
            } => {
                if store::remove_listing(conn, listing_id, *removed_on, *reason).await?
                    && let Some(row) = store::listing_by_id(conn, listing_id).await?
                {
                    emit(conn, crate::TOPIC_DELISTED, &row, false).await?;
                    delisted.push(convert::listing_out(&row));
                }
            }
        }
    }
    Ok((listed, delisted))
}

/// Runs the listing rules for every active organisation within `scope` on `date`, in the
/// caller's transaction.
pub async fn sweep_all(
    conn: &mut AnyConnection,
    cal: &HolidayCalendar,
    date: Date,
    scope: &str,
    actor: &Principal,
) -> Result<pb::ListingSweep, ServiceError> {
    let mut out = pb::ListingSweep {
        date: Some(to_proto_date(date)),
        listed: Vec::new(),
        delisted: Vec::new(),
    };
    for id in store::active_org_ids(conn).await? {
        let Some(org) = store::org_by_id(conn, &id).await? else {
            continue;
        };
        if !org.region.starts_with(scope) {
            continue;
        }
        let facts = OrgFacts {
            registered_on: org.registered_on,
            active: org.status == OrgStatus::Active && org.registered_on <= date,
            reported_years: store::reported_years(conn, &id).await?,
        };
        let listings: Vec<Listing> = store::listings_of(conn, &id)
            .await?
            .into_iter()
            .map(|l| l.listing)
            .collect();
        if credit_list::sweep(cal, &facts, &listings, date).is_empty() {
            continue;
        }
        // Something changes: lock the organisation and decide again on fresh rows.
        let Some(org) = store::lock_org(conn, &id).await? else {
            continue;
        };
        let listings: Vec<Listing> = store::listings_of(conn, &id)
            .await?
            .into_iter()
            .map(|l| l.listing)
            .collect();
        let facts = OrgFacts {
            reported_years: store::reported_years(conn, &id).await?,
            ..facts
        };
        let actions = credit_list::sweep(cal, &facts, &listings, date);
        let (listed, delisted) = apply_actions(conn, &org, &actions).await?;
        auth::audit::append(
            conn,
            &[audit(actor, "socialorg.RunListingSweep", &org_name(&id))],
        )
        .await?;
        out.listed.extend(listed);
        out.delisted.extend(delisted);
    }
    Ok(out)
}

macro_rules! write_rpc {
    ($self:ident, $request:ident, $action:literal, $object:expr, $method:ident) => {
        kit::audited::write_rpc($request, &$self.reads, $action, $object, |p, req| {
            $self.$method(p, req)
        })
        .await
    };
}

#[tonic::async_trait]
impl SocialOrgService for SocialOrgApi {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn register_organisation(
        &self,
        request: Request<pb::RegisterOrganisationRequest>,
    ) -> Result<Response<pb::Organisation>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.RegisterOrganisation",
            |_: &pb::RegisterOrganisationRequest| "organisations/-".to_owned(),
            register
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_organisation(
        &self,
        request: Request<pb::GetOrganisationRequest>,
    ) -> Result<Response<pb::Organisation>, Status> {
        let p = auth::principal(&request)?.clone();
        let req = request.into_inner();
        let result = async {
            if req.organisation_id.trim().is_empty() {
                return Err(ServiceError::invalid("organisation_id", "is required"));
            }
            let mut conn = self.db.pool.acquire().await?;
            let org = store::org_by_id(&mut conn, &req.organisation_id)
                .await?
                .ok_or_else(|| ServiceError::not_found(org_name(&req.organisation_id)))?;
            let out = self.org_out(&p, &mut conn, &org).await?;
            self.reads
                .record(
                    audit(&p, "socialorg.GetOrganisation", &org_name(&org.id))
                        .with_purpose("read personal data"),
                )
                .await;
            Ok(out)
        }
        .await;
        result.map(Response::new).map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn change_organisation(
        &self,
        request: Request<pb::ChangeOrganisationRequest>,
    ) -> Result<Response<pb::Organisation>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.ChangeOrganisation",
            |r: &pb::ChangeOrganisationRequest| org_name(&r.organisation_id),
            change
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn deregister_organisation(
        &self,
        request: Request<pb::DeregisterOrganisationRequest>,
    ) -> Result<Response<pb::Organisation>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.DeregisterOrganisation",
            |r: &pb::DeregisterOrganisationRequest| org_name(&r.organisation_id),
            deregister
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_by_legal_representative(
        &self,
        request: Request<pb::ListByLegalRepresentativeRequest>,
    ) -> Result<Response<pb::ListByLegalRepresentativeResponse>, Status> {
        let p = auth::principal(&request)?.clone();
        let result = self.by_representative(&p, request.into_inner()).await;
        result.map(Response::new).map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn open_representative_change_task(
        &self,
        request: Request<pb::OpenRepresentativeChangeTaskRequest>,
    ) -> Result<Response<pb::RepresentativeChangeTask>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.OpenRepresentativeChangeTask",
            |r: &pb::OpenRepresentativeChangeTaskRequest| org_name(&r.organisation_id),
            open_task
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn submit_annual_report(
        &self,
        request: Request<pb::SubmitAnnualReportRequest>,
    ) -> Result<Response<pb::AnnualReport>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.SubmitAnnualReport",
            |r: &pb::SubmitAnnualReportRequest| org_name(&r.organisation_id),
            submit_report
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_breach(
        &self,
        request: Request<pb::RecordBreachRequest>,
    ) -> Result<Response<pb::Listing>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.RecordBreach",
            |r: &pb::RecordBreachRequest| org_name(&r.organisation_id),
            record_breach
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_correction(
        &self,
        request: Request<pb::RecordCorrectionRequest>,
    ) -> Result<Response<pb::Listing>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.RecordCorrection",
            |r: &pb::RecordCorrectionRequest| format!("listings/{}", r.listing_id),
            record_correction
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn apply_for_serious_list_removal(
        &self,
        request: Request<pb::ApplyForSeriousListRemovalRequest>,
    ) -> Result<Response<pb::ListingSweep>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.ApplyForSeriousListRemoval",
            |r: &pb::ApplyForSeriousListRemovalRequest| org_name(&r.organisation_id),
            serious_removal
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn run_listing_sweep(
        &self,
        request: Request<pb::RunListingSweepRequest>,
    ) -> Result<Response<pb::ListingSweep>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.RunListingSweep",
            |_: &pb::RunListingSweepRequest| "listings/-".to_owned(),
            sweep
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_credit_listings(
        &self,
        request: Request<pb::ListCreditListingsRequest>,
    ) -> Result<Response<pb::ListCreditListingsResponse>, Status> {
        let p = auth::principal(&request)?.clone();
        let result = self.list_listings(&p, request.into_inner()).await;
        result.map(Response::new).map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn grant_rating(
        &self,
        request: Request<pb::GrantRatingRequest>,
    ) -> Result<Response<pb::Rating>, Status> {
        write_rpc!(
            self,
            request,
            "socialorg.GrantRating",
            |r: &pb::GrantRatingRequest| org_name(&r.organisation_id),
            grant_rating
        )
    }
}
