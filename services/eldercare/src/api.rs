//! gRPC handlers: decode -> authorize -> domain -> store -> encode. Writes run once per request
//! id ([`kit::idempotency::once`]) in one transaction with their audit rows and events.

use std::sync::Arc;
use std::time::Duration;

use auth::audit::{AuditEntry, AuditWriter};
use auth::{Principal, Role};
use contracts::civil::common::v1::PersonRef;
use contracts::civil::eldercare::v1 as pb;
use contracts::civil::eldercare::v1::eldercare_service_server::EldercareService;
use futures::future::BoxFuture;
use kit::error::to_proto_date;
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;
use time::Date;
use tonic::{Request, Response, Status};

use crate::domain::allowance::{self, Bracket};
use crate::domain::assessment::{self, Findings};
use crate::domain::elder::{self, LivingSituation};
use crate::domain::institution::{self, Section};
use crate::domain::policy::EldercarePolicy;
use crate::domain::{Refusal, month_start, visit};
use crate::store::{self, ElderRow, date_text, month_text};

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        ServiceError::refused(r.reason(), r.to_string())
    }
}

type Tx<'c, T> = BoxFuture<'c, Result<T, ServiceError>>;

const STAFF: &[Role] = &[Role::EldercareStaff];
const STAFF_OR_SERVICE: &[Role] = &[Role::EldercareStaff, Role::Service];
const CARE_ROLES: &[Role] = &[Role::EldercareStaff, Role::InstitutionOperator];

#[derive(Clone)]
pub struct EldercareApi {
    ctx: kit::ServiceContext,
    db: kit::store::Db,
    policy: Arc<EldercarePolicy>,
    reads: AuditWriter,
}

fn audit(p: &Principal, action: &str, object: &str) -> AuditEntry {
    AuditEntry::new(p, action, object).with_trace_id(kit::telemetry::current_trace_id())
}

fn elder_name(id: &str) -> String {
    format!("elders/{id}")
}

fn strip<'a>(name: &'a str, prefix: &str, field: &str) -> Result<&'a str, ServiceError> {
    match name.strip_prefix(prefix) {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(ServiceError::invalid(
            field,
            format!("must be {prefix}{{id}}"),
        )),
    }
}

fn bracket_to(b: Bracket) -> pb::AgeBracket {
    match b {
        Bracket::From80 => pb::AgeBracket::AgeBracket8089,
        Bracket::From90 => pb::AgeBracket::AgeBracket9099,
        Bracket::From100 => pb::AgeBracket::AgeBracket100Plus,
    }
}

fn situation_from(v: i32) -> Option<LivingSituation> {
    use pb::LivingSituation as L;
    Some(match L::try_from(v).ok()? {
        L::Unspecified => return None,
        L::LivingAlone => LivingSituation::LivingAlone,
        L::EmptyNest => LivingSituation::EmptyNest,
        L::Disabled => LivingSituation::Disabled,
        L::ExtremePoverty => LivingSituation::ExtremePoverty,
        L::AdvancedAge => LivingSituation::AdvancedAge,
    })
}

fn situation_to(s: LivingSituation) -> pb::LivingSituation {
    match s {
        LivingSituation::LivingAlone => pb::LivingSituation::LivingAlone,
        LivingSituation::EmptyNest => pb::LivingSituation::EmptyNest,
        LivingSituation::Disabled => pb::LivingSituation::Disabled,
        LivingSituation::ExtremePoverty => pb::LivingSituation::ExtremePoverty,
        LivingSituation::AdvancedAge => pb::LivingSituation::AdvancedAge,
    }
}

fn month_of(year: i32, month: i32, field: &str) -> Result<Date, ServiceError> {
    u8::try_from(month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .and_then(|m| Date::from_calendar_date(year, m, 1).ok())
        .ok_or_else(|| ServiceError::invalid(field, "is not a valid year and month"))
}

impl EldercareApi {
    pub fn new(ctx: kit::ServiceContext, db: kit::store::Db, policy: EldercarePolicy) -> Self {
        let reads = AuditWriter::spawn(db.pool.clone());
        Self {
            ctx,
            db,
            policy: Arc::new(policy),
            reads,
        }
    }

    fn elder_out(&self, p: &Principal, e: &ElderRow) -> pb::Elder {
        let id = self.ctx.sealer.open(&e.id_sealed).unwrap_or_default();
        let id_number = if p.sees_full_identity_numbers() {
            id
        } else {
            civil_id::mask_id_number(&id)
        };
        pb::Elder {
            name: elder_name(&e.id),
            person: Some(PersonRef {
                id_number,
                name: self.ctx.sealer.open(&e.name_sealed).unwrap_or_default(),
            }),
            birth_date: Some(to_proto_date(e.birth_date)),
            region: e.region.clone(),
            living_situations: e
                .situations
                .iter()
                .map(|s| situation_to(*s).into())
                .collect(),
            date_of_death: e.date_of_death.map(to_proto_date),
            allowance: e.bracket.map(|b| pb::Allowance {
                bracket: bracket_to(b).into(),
                monthly_amount_fen: self.policy.allowance.monthly_fen(b),
                payable_from: e.payable_from.map(to_proto_date),
                last_paid_month: e.last_paid_month.map(to_proto_date),
            }),
            ability_level: i32::try_from(e.ability_level).unwrap_or(-1),
            institution: e
                .institution_id
                .as_ref()
                .map(|i| format!("institutions/{i}"))
                .unwrap_or_default(),
        }
    }

    async fn authorized_elder(
        &self,
        p: &Principal,
        name: &str,
        roles: &[Role],
    ) -> Result<ElderRow, ServiceError> {
        let id = strip(name, "elders/", "elder")?;
        p.authorize(roles, None)?;
        let mut conn = self.db.pool.acquire().await?;
        let e = store::elder_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(name.to_owned()))?;
        p.authorize(roles, Some(&e.region))?;
        Ok(e)
    }

    async fn authorized_institution(
        &self,
        p: &Principal,
        name: &str,
        roles: &[Role],
    ) -> Result<store::InstitutionRow, ServiceError> {
        let id = strip(name, "institutions/", "institution")?;
        p.authorize(roles, None)?;
        let mut conn = self.db.pool.acquire().await?;
        let i = store::institution(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(name.to_owned()))?;
        p.authorize(roles, Some(&i.region))?;
        Ok(i)
    }

    async fn import_elders(
        &self,
        p: Principal,
        req: pb::ImportEldersRequest,
    ) -> Result<pb::ImportEldersResponse, ServiceError> {
        p.authorize(STAFF, None)?;
        let mut v = Violations::new();
        v.check(
            !req.elders.is_empty(),
            "elders",
            "must list at least one elder",
        );
        let mut rows = Vec::new();
        for (i, r) in req.elders.iter().enumerate() {
            let f = |name: &str| format!("elders[{i}].{name}");
            let person = r.person.clone().unwrap_or_default();
            let id = v.id_number(&person.id_number, &f("person.id_number"));
            v.required(&person.name, &f("person.name"));
            let birth = v.date(r.birth_date.as_ref(), &f("birth_date"));
            let region = v.region(&r.region, &f("region"));
            if let (Some(id), Some(birth)) = (&id, birth) {
                v.check(
                    elder::birth_date_agrees(id, birth),
                    &f("birth_date"),
                    "does not agree with the identity number",
                );
            }
            if let Some(region) = &region {
                let ok = region.as_str().starts_with(&self.ctx.config.county)
                    && region.as_str().len() > 6;
                v.check(
                    ok,
                    &f("region"),
                    "must be a township or village of the county",
                );
                if ok && !p.covers_region(region.as_str()) {
                    return Err(ServiceError::PermissionDenied(format!(
                        "{} is outside the caller's region scope",
                        f("region")
                    )));
                }
            }
            let situations: Vec<_> = r
                .living_situations
                .iter()
                .map(|s| situation_from(*s))
                .collect();
            v.check(
                situations.iter().all(Option::is_some),
                &f("living_situations"),
                "has an unknown value",
            );
            if let (Some(id), Some(birth), Some(region)) = (id, birth, region) {
                let (id_sealed, person_index) = self.ctx.sealer.protect(&id);
                let mut situations: Vec<_> = situations.into_iter().flatten().collect();
                situations.sort();
                situations.dedup();
                rows.push(ElderRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    person_index,
                    id_sealed,
                    name_sealed: self.ctx.sealer.seal(person.name.trim()),
                    birth_date: birth,
                    region: region.as_str().to_owned(),
                    situations,
                    bracket: None,
                    payable_from: None,
                    date_of_death: None,
                    last_paid_month: None,
                    death_allowance_stopped: false,
                    death_bed_released: false,
                    ability_level: -1,
                    institution_id: None,
                    nursing_bed: false,
                });
            }
        }
        v.finish()?;
        kit::idempotency::once(
            &self.db,
            "ImportElders",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::ImportEldersResponse> {
                Box::pin(async move {
                    let (mut created, mut updated) = (0, 0);
                    let mut entries = Vec::new();
                    for row in &rows {
                        if store::upsert_elder(conn, row).await? {
                            created += 1;
                        } else {
                            updated += 1;
                        }
                        entries.push(audit(
                            &p,
                            "eldercare.ImportElders",
                            &format!("person:{}", row.person_index),
                        ));
                    }
                    auth::audit::append(conn, &entries).await?;
                    Ok(pb::ImportEldersResponse { created, updated })
                })
            },
        )
        .await
    }

    /// Grants and upgrades the allowance for everyone who has reached a bracket on `date`.
    pub async fn run_grants(
        &self,
        p: &Principal,
        request_id: &str,
        request: &pb::RunDailyGrantsRequest,
        date: Date,
    ) -> Result<pb::RunDailyGrantsResponse, ServiceError> {
        let amounts = self.policy.allowance;
        let p = p.clone();
        kit::idempotency::once(
            &self.db,
            "RunDailyGrants",
            request_id,
            request,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::RunDailyGrantsResponse> {
                Box::pin(async move {
                    // Anyone born after 31 December of (year - 80) cannot be 80 yet.
                    let born_by =
                        Date::from_calendar_date(date.year() - 80, time::Month::December, 31)
                            .map_err(|e| ServiceError::invalid("date", e.to_string()))?;
                    let (mut granted, mut upgraded) = (0, 0);
                    let mut entries = Vec::new();
                    for e in store::living_born_by(conn, born_by).await? {
                        let Some(grant) = allowance::grant_on(e.birth_date, date) else {
                            continue;
                        };
                        if e.bracket.is_some_and(|b| b >= grant.bracket) {
                            continue;
                        }
                        if e.bracket.is_some() {
                            upgraded += 1
                        } else {
                            granted += 1
                        }
                        store::set_bracket(conn, &e.id, grant.bracket, grant.payable_from).await?;
                        let event = pb::AllowanceGranted {
                            event_id: String::new(),
                            elder: elder_name(&e.id),
                            person_index: e.person_index.clone(),
                            bracket: bracket_to(grant.bracket).into(),
                            monthly_amount_fen: amounts.monthly_fen(grant.bracket),
                            payable_from: Some(to_proto_date(grant.payable_from)),
                        };
                        kit::outbox::append(
                            conn,
                            crate::TOPIC_ALLOWANCE_GRANTED,
                            "civil.eldercare.v1.AllowanceGranted",
                            &e.id,
                            &event,
                        )
                        .await?;
                        entries.push(
                            audit(&p, "eldercare.GrantAllowance", &elder_name(&e.id))
                                .with_purpose("granted without application"),
                        );
                    }
                    auth::audit::append(conn, &entries).await?;
                    Ok(pb::RunDailyGrantsResponse { granted, upgraded })
                })
            },
        )
        .await
    }

    /// Runs the grants for today every hour (safe to repeat), until shutdown.
    pub async fn daily_job(self) {
        let system = Principal {
            subject: format!("svc-{}", self.ctx.name),
            name: "daily allowance grants".into(),
            roles: vec![Role::Service],
            region: self.ctx.config.county.clone(),
            organisation: None,
            on_behalf_of: None,
        };
        loop {
            let today = kit::today_cst();
            let request = pb::RunDailyGrantsRequest {
                request_id: format!("daily-grants/{}", date_text(today)),
                date: Some(to_proto_date(today)),
            };
            if let Err(e) = self
                .run_grants(&system, &request.request_id.clone(), &request, today)
                .await
            {
                tracing::warn!(error = %e, "daily allowance grants failed; retrying later");
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }

    async fn run_daily_grants(
        &self,
        p: Principal,
        req: pb::RunDailyGrantsRequest,
    ) -> Result<pb::RunDailyGrantsResponse, ServiceError> {
        p.authorize(STAFF_OR_SERVICE, Some(&self.ctx.config.county))?;
        let mut v = Violations::new();
        let date = v.date(req.date.as_ref(), "date");
        v.finish()?;
        let date = date.ok_or_else(|| ServiceError::invalid("date", "is required"))?;
        self.run_grants(&p, &req.request_id, &req, date).await
    }

    async fn run_monthly_roll(
        &self,
        p: Principal,
        req: pb::RunMonthlyRollRequest,
    ) -> Result<pb::AllowanceRoll, ServiceError> {
        p.authorize(STAFF_OR_SERVICE, Some(&self.ctx.config.county))?;
        let month = month_of(req.year, req.month, "month")?;
        if month > month_start(kit::today_cst()) {
            return Err(Refusal::RollMonthOpen.into());
        }
        let amounts = self.policy.allowance;
        let (year, m) = (req.year, req.month);
        kit::idempotency::once(
            &self.db,
            "RunMonthlyRoll",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::AllowanceRoll> {
                Box::pin(async move {
                    let key = month_text(month);
                    if store::roll(conn, &key).await?.is_none() {
                        let lines: Vec<(String, i64)> = store::allowance_holders(conn)
                            .await?
                            .into_iter()
                            .map(|e| {
                                (
                                    e.id.clone(),
                                    allowance::amount_for_month(
                                        e.birth_date,
                                        e.date_of_death,
                                        month,
                                        &amounts,
                                    ),
                                )
                            })
                            .filter(|(_, amount)| *amount > 0)
                            .collect();
                        store::insert_roll(conn, &key, &lines).await?;
                        auth::audit::append(
                            conn,
                            &[audit(
                                &p,
                                "eldercare.RunMonthlyRoll",
                                &format!("rolls/{key}"),
                            )],
                        )
                        .await?;
                    }
                    let roll = store::roll(conn, &key)
                        .await?
                        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("roll vanished")))?;
                    Ok(pb::AllowanceRoll {
                        year,
                        month: m,
                        recipients: i32::try_from(roll.recipients).unwrap_or(i32::MAX),
                        total_fen: roll.total_fen,
                    })
                })
            },
        )
        .await
    }

    async fn record_assessment(
        &self,
        p: Principal,
        req: pb::RecordAssessmentRequest,
    ) -> Result<pb::AbilityAssessment, ServiceError> {
        let e = self.authorized_elder(&p, &req.elder, CARE_ROLES).await?;
        let mut v = Violations::new();
        v.check(
            (0..=90).contains(&req.total_score),
            "total_score",
            "must be 0-90",
        );
        v.check(
            req.care_risk_events_30d >= 0,
            "care_risk_events_30d",
            "must not be negative",
        );
        let on = v.date(req.assessed_on.as_ref(), "assessed_on");
        v.finish()?;
        let on = on.ok_or_else(|| ServiceError::invalid("assessed_on", "is required"))?;
        if e.date_of_death.is_some() {
            return Err(Refusal::ElderDeceased.into());
        }
        let findings = Findings {
            total_score: req.total_score,
            coma: req.coma,
            dementia_or_psychiatric: req.dementia_or_psychiatric,
            care_risk_events_30d: req.care_risk_events_30d,
        };
        let assessed = assessment::assess(findings)
            .ok_or_else(|| ServiceError::invalid("total_score", "must be 0-90"))?;
        let subsidy = self.policy.care.monthly_fen(assessed.level);
        let row = store::AssessmentRow {
            elder_id: e.id.clone(),
            assessed_on: on,
            total_score: req.total_score,
            base_level: assessed.base_level,
            level: assessed.level,
            care_subsidy_fen: subsidy,
        };
        let name = req.elder.clone();
        kit::idempotency::once(
            &self.db,
            "RecordAssessment",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::AbilityAssessment> {
                Box::pin(async move {
                    store::insert_assessment(conn, &row).await?;
                    store::set_ability_level(conn, &row.elder_id, row.level).await?;
                    auth::audit::append(conn, &[audit(&p, "eldercare.RecordAssessment", &name)])
                        .await?;
                    Ok(pb::AbilityAssessment {
                        elder: name,
                        level: i32::from(row.level),
                        base_level: i32::from(row.base_level),
                        care_subsidy_fen: row.care_subsidy_fen,
                        assessed_on: Some(to_proto_date(row.assessed_on)),
                    })
                })
            },
        )
        .await
    }

    fn institution_out(i: &store::InstitutionRow) -> pb::Institution {
        pb::Institution {
            name: format!("institutions/{}", i.id),
            display_name: i.display_name.clone(),
            region: i.region.clone(),
            beds: i.beds,
            nursing_beds: i.nursing_beds,
            occupied_beds: i.occupied,
            occupied_nursing_beds: i.occupied_nursing,
            grade: i.grade,
            nursing_share_bp: institution::share_bp(i.nursing_beds, i.beds),
            occupancy_bp: institution::share_bp(i.occupied, i.beds),
        }
    }

    async fn institution_in_tx(
        conn: &mut AnyConnection,
        id: &str,
    ) -> Result<store::InstitutionRow, ServiceError> {
        store::institution(conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("institutions/{id}")))
    }

    async fn register_institution(
        &self,
        p: Principal,
        req: pb::RegisterInstitutionRequest,
    ) -> Result<pb::Institution, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.display_name, "display_name");
        let region = v.region(&req.region, "region");
        v.check(req.beds > 0, "beds", "must be positive");
        v.check(
            (0..=req.beds.max(0)).contains(&req.nursing_beds),
            "nursing_beds",
            "must be between 0 and beds",
        );
        v.finish()?;
        let region = region.map(|r| r.as_str().to_owned()).unwrap_or_default();
        p.authorize(STAFF, Some(&region))?;
        let row = store::InstitutionRow {
            id: uuid::Uuid::now_v7().to_string(),
            display_name: req.display_name.trim().to_owned(),
            region,
            beds: req.beds,
            nursing_beds: req.nursing_beds,
            occupied: 0,
            occupied_nursing: 0,
            grade: 0,
        };
        kit::idempotency::once(
            &self.db,
            "RegisterInstitution",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::Institution> {
                Box::pin(async move {
                    store::insert_institution(conn, &row).await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "eldercare.RegisterInstitution",
                            &format!("institutions/{}", row.id),
                        )],
                    )
                    .await?;
                    Ok(Self::institution_out(&row))
                })
            },
        )
        .await
    }

    async fn grade_institution(
        &self,
        p: Principal,
        req: pb::GradeInstitutionRequest,
    ) -> Result<pb::Institution, ServiceError> {
        let inst = self
            .authorized_institution(&p, &req.institution, STAFF)
            .await?;
        let sections: Vec<Section> = req
            .sections
            .iter()
            .map(|s| Section {
                name: s.section.clone(),
                score: s.score,
                max_score: s.max_score,
            })
            .collect();
        let grade = match institution::grade(&sections) {
            Ok(outcome) => outcome?,
            Err(institution::ScoreProblem::ScaleTotal(total)) => {
                return Err(ServiceError::invalid(
                    "sections",
                    format!("maxima add up to {total}, not 1000"),
                ));
            }
            Err(institution::ScoreProblem::SectionScore(i)) => {
                return Err(ServiceError::invalid(
                    &format!("sections[{i}].score"),
                    "must be between 0 and max_score",
                ));
            }
        };
        kit::idempotency::once(
            &self.db,
            "GradeInstitution",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::Institution> {
                Box::pin(async move {
                    store::set_grade(conn, &inst.id, grade).await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "eldercare.GradeInstitution",
                            &format!("institutions/{}", inst.id),
                        )],
                    )
                    .await?;
                    Ok(Self::institution_out(
                        &Self::institution_in_tx(conn, &inst.id).await?,
                    ))
                })
            },
        )
        .await
    }

    async fn admit(
        &self,
        p: Principal,
        req: pb::AdmitResidentRequest,
    ) -> Result<pb::Institution, ServiceError> {
        let inst = self
            .authorized_institution(&p, &req.institution, CARE_ROLES)
            .await?;
        let e = self.authorized_elder(&p, &req.elder, CARE_ROLES).await?;
        let mut v = Violations::new();
        v.date(req.admitted_on.as_ref(), "admitted_on");
        v.finish()?;
        let nursing = req.nursing_bed;
        kit::idempotency::once(
            &self.db,
            "AdmitResident",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::Institution> {
                Box::pin(async move {
                    let e = store::elder_by_id(conn, &e.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found(elder_name(&e.id)))?;
                    if e.date_of_death.is_some() {
                        return Err(Refusal::ElderDeceased.into());
                    }
                    if e.institution_id.is_some() {
                        return Err(Refusal::AlreadyAdmitted.into());
                    }
                    let i = Self::institution_in_tx(conn, &inst.id).await?;
                    institution::check_free_bed(
                        nursing,
                        i.beds,
                        i.nursing_beds,
                        i.occupied,
                        i.occupied_nursing,
                    )?;
                    if !store::take_bed(conn, &i.id, nursing).await? {
                        return Err(Refusal::NoFreeBed.into());
                    }
                    store::set_residence(conn, &e.id, Some(&i.id), nursing).await?;
                    auth::audit::append(
                        conn,
                        &[audit(&p, "eldercare.AdmitResident", &elder_name(&e.id))],
                    )
                    .await?;
                    Ok(Self::institution_out(
                        &Self::institution_in_tx(conn, &i.id).await?,
                    ))
                })
            },
        )
        .await
    }

    async fn discharge(
        &self,
        p: Principal,
        req: pb::DischargeResidentRequest,
    ) -> Result<pb::Institution, ServiceError> {
        let inst = self
            .authorized_institution(&p, &req.institution, CARE_ROLES)
            .await?;
        let e = self.authorized_elder(&p, &req.elder, CARE_ROLES).await?;
        let mut v = Violations::new();
        v.date(req.discharged_on.as_ref(), "discharged_on");
        v.finish()?;
        kit::idempotency::once(
            &self.db,
            "DischargeResident",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::Institution> {
                Box::pin(async move {
                    let e = store::elder_by_id(conn, &e.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found(elder_name(&e.id)))?;
                    if e.institution_id.as_deref() != Some(inst.id.as_str()) {
                        return Err(Refusal::NotAdmitted.into());
                    }
                    store::free_bed(conn, &inst.id, e.nursing_bed).await?;
                    store::set_residence(conn, &e.id, None, false).await?;
                    auth::audit::append(
                        conn,
                        &[audit(&p, "eldercare.DischargeResident", &elder_name(&e.id))],
                    )
                    .await?;
                    Ok(Self::institution_out(
                        &Self::institution_in_tx(conn, &inst.id).await?,
                    ))
                })
            },
        )
        .await
    }

    async fn generate_visits(
        &self,
        p: Principal,
        req: pb::GenerateVisitScheduleRequest,
    ) -> Result<pb::VisitReport, ServiceError> {
        let mut v = Violations::new();
        let region = v.region(&req.region, "region");
        v.finish()?;
        let region = region.map(|r| r.as_str().to_owned()).unwrap_or_default();
        p.authorize(STAFF, Some(&region))?;
        let month = month_of(req.year, req.month, "month")?;
        let (year, m) = (req.year, req.month);
        kit::idempotency::once(
            &self.db,
            "GenerateVisitSchedule",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::VisitReport> {
                Box::pin(async move {
                    let key = month_text(month);
                    for e in store::elders_in_region(conn, &region).await? {
                        if visit::needs_visit(
                            &e.situations,
                            e.date_of_death.is_some_and(|d| d < month),
                        ) {
                            store::schedule_visit(conn, &key, &e.id, visit::township_of(&e.region))
                                .await?;
                        }
                    }
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "eldercare.GenerateVisitSchedule",
                            &format!("visits/{key}/{region}"),
                        )],
                    )
                    .await?;
                    let rows = store::visits(conn, &key, &region).await?;
                    Ok(Self::report(year, m, month, &rows, month))
                })
            },
        )
        .await
    }

    fn report(
        year: i32,
        month_no: i32,
        month: Date,
        rows: &[store::VisitRow],
        as_of: Date,
    ) -> pb::VisitReport {
        let mut townships: Vec<pb::TownshipVisitRate> = Vec::new();
        for r in rows {
            if townships.last().is_none_or(|t| t.township != r.township) {
                townships.push(pb::TownshipVisitRate {
                    township: r.township.clone(),
                    ..Default::default()
                });
            }
            if let Some(t) = townships.last_mut() {
                t.scheduled += 1;
                t.visited += i32::from(r.visited);
            }
        }
        for t in &mut townships {
            t.rate_bp = visit::rate_bp(t.visited, t.scheduled);
        }
        let overdue = rows
            .iter()
            .filter(|r| visit::is_overdue(month, r.visited, as_of))
            .map(|r| pb::OverdueVisit {
                elder: elder_name(&r.elder_id),
                township: r.township.clone(),
            })
            .collect();
        pb::VisitReport {
            year,
            month: month_no,
            townships,
            overdue,
        }
    }

    async fn record_visit(
        &self,
        p: Principal,
        req: pb::RecordVisitRequest,
    ) -> Result<pb::Visit, ServiceError> {
        let e = self.authorized_elder(&p, &req.elder, STAFF).await?;
        let mut v = Violations::new();
        let on = v.date(req.visited_on.as_ref(), "visited_on");
        v.required(&req.visitor, "visitor");
        v.finish()?;
        let on = on.ok_or_else(|| ServiceError::invalid("visited_on", "is required"))?;
        let (visitor, notes) = (req.visitor.trim().to_owned(), req.notes.trim().to_owned());
        kit::idempotency::once(
            &self.db,
            "RecordVisit",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::Visit> {
                Box::pin(async move {
                    if !store::record_visit(conn, &month_text(on), &e.id, on, &visitor, &notes)
                        .await?
                    {
                        return Err(ServiceError::not_found(format!(
                            "no visit scheduled for {} in {}",
                            elder_name(&e.id),
                            month_text(on)
                        )));
                    }
                    auth::audit::append(
                        conn,
                        &[audit(&p, "eldercare.RecordVisit", &elder_name(&e.id))],
                    )
                    .await?;
                    Ok(pb::Visit {
                        elder: elder_name(&e.id),
                        visited_on: Some(to_proto_date(on)),
                        visitor,
                    })
                })
            },
        )
        .await
    }

    async fn visit_report(
        &self,
        p: &Principal,
        req: pb::GetVisitReportRequest,
    ) -> Result<pb::VisitReport, ServiceError> {
        let mut v = Violations::new();
        let region = v.region(&req.region, "region");
        // Optional: the report is read as of today unless a day is given.
        let as_of = if req.as_of.is_some() {
            v.date(req.as_of.as_ref(), "as_of")
        } else {
            Some(kit::today_cst())
        };
        v.finish()?;
        let region = region.map(|r| r.as_str().to_owned()).unwrap_or_default();
        p.authorize(STAFF, Some(&region))?;
        let month = month_of(req.year, req.month, "month")?;
        let mut conn = self.db.pool.acquire().await?;
        let rows = store::visits(&mut conn, &month_text(month), &region).await?;
        Ok(Self::report(
            req.year,
            req.month,
            month,
            &rows,
            as_of.unwrap_or(month),
        ))
    }

    async fn stop_for_death(
        &self,
        p: Principal,
        req: pb::StopForDeathRequest,
    ) -> Result<pb::StopForDeathResponse, ServiceError> {
        p.authorize(&[Role::Service], None)?;
        let mut v = Violations::new();
        let id = v.id_number(&req.id_number, "id_number");
        let death = v.date(req.date_of_death.as_ref(), "date_of_death");
        if let Some(d) = death {
            v.check(d <= kit::today_cst(), "date_of_death", "is in the future");
        }
        v.finish()?;
        let (Some(id), Some(death)) = (id, death) else {
            return Err(ServiceError::invalid("id_number", "is required"));
        };
        let index = self.ctx.sealer.index(&id);
        let outcome = |e: &ElderRow| pb::StopForDeathResponse {
            elder_known: true,
            last_paid_month: e.last_paid_month.map(to_proto_date),
            allowance_stopped: e.death_allowance_stopped,
            bed_released: e.death_bed_released,
        };
        kit::idempotency::once(
            &self.db,
            "StopForDeath",
            &req.request_id,
            &req,
            move |conn: &mut AnyConnection| -> Tx<'_, pb::StopForDeathResponse> {
                Box::pin(async move {
                    let Some(e) = store::elder_by_person(conn, &index).await? else {
                        return Ok(pb::StopForDeathResponse {
                            elder_known: false,
                            ..Default::default()
                        });
                    };
                    match e.date_of_death {
                        Some(recorded) if recorded == death => return Ok(outcome(&e)),
                        Some(_) => return Err(Refusal::DeathDateConflict.into()),
                        None => {}
                    }
                    let stopped = e.bracket.is_some();
                    let last_paid = stopped.then(|| allowance::last_paid_month(death));
                    let bed = e.institution_id.clone();
                    if let Some(inst) = &bed {
                        store::free_bed(conn, inst, e.nursing_bed).await?;
                    }
                    if !store::record_death(conn, &e.id, death, last_paid, stopped, bed.is_some())
                        .await?
                    {
                        return Err(ServiceError::Aborted(
                            "the elder changed concurrently, retry".into(),
                        ));
                    }
                    if let Some(last) = last_paid {
                        let event = pb::AllowanceStopped {
                            event_id: String::new(),
                            elder: elder_name(&e.id),
                            person_index: e.person_index.clone(),
                            last_paid_month: Some(to_proto_date(last)),
                        };
                        kit::outbox::append(
                            conn,
                            crate::TOPIC_ALLOWANCE_STOPPED,
                            "civil.eldercare.v1.AllowanceStopped",
                            &e.id,
                            &event,
                        )
                        .await?;
                    }
                    auth::audit::append(
                        conn,
                        &[audit(&p, "eldercare.StopForDeath", &elder_name(&e.id))
                            .with_purpose("after-death matter")],
                    )
                    .await?;
                    let e = store::elder_by_id(conn, &e.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found(elder_name(&e.id)))?;
                    Ok(outcome(&e))
                })
            },
        )
        .await
    }

    async fn get_elder(
        &self,
        p: &Principal,
        req: pb::GetElderRequest,
    ) -> Result<pb::Elder, ServiceError> {
        let e = if req.name.is_empty() {
            let mut v = Violations::new();
            let id = v.id_number(&req.id_number, "id_number");
            v.finish()?;
            let id = id.ok_or_else(|| ServiceError::invalid("id_number", "is required"))?;
            p.authorize(STAFF_OR_SERVICE, None)?;
            let mut conn = self.db.pool.acquire().await?;
            let e = store::elder_by_person(&mut conn, &self.ctx.sealer.index(&id))
                .await?
                .ok_or_else(|| ServiceError::not_found("no such elder"))?;
            p.authorize(STAFF_OR_SERVICE, Some(&e.region))?;
            e
        } else {
            self.authorized_elder(p, &req.name, STAFF_OR_SERVICE)
                .await?
        };
        self.reads
            .record(
                audit(p, "eldercare.GetElder", &elder_name(&e.id))
                    .with_purpose("read personal data"),
            )
            .await;
        Ok(self.elder_out(p, &e))
    }
}

/// Runs a write handler: principal, audit of a failure, status mapping.
macro_rules! write_rpc {
    ($self:ident, $request:ident, $action:literal, $object:expr, $method:ident) => {
        kit::audited::write_rpc($request, &$self.reads, $action, $object, |p, req| {
            $self.$method(p, req)
        })
        .await
    };
}

#[tonic::async_trait]
impl EldercareService for EldercareApi {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn import_elders(
        &self,
        request: Request<pb::ImportEldersRequest>,
    ) -> Result<Response<pb::ImportEldersResponse>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.ImportElders",
            |_: &pb::ImportEldersRequest| "elders/-".to_owned(),
            import_elders
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_elder(
        &self,
        request: Request<pb::GetElderRequest>,
    ) -> Result<Response<pb::Elder>, Status> {
        let p = auth::principal(&request)?.clone();
        self.get_elder(&p, request.into_inner())
            .await
            .map(Response::new)
            .map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn run_daily_grants(
        &self,
        request: Request<pb::RunDailyGrantsRequest>,
    ) -> Result<Response<pb::RunDailyGrantsResponse>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.RunDailyGrants",
            |_: &pb::RunDailyGrantsRequest| "allowances".to_owned(),
            run_daily_grants
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn run_monthly_roll(
        &self,
        request: Request<pb::RunMonthlyRollRequest>,
    ) -> Result<Response<pb::AllowanceRoll>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.RunMonthlyRoll",
            |r: &pb::RunMonthlyRollRequest| format!("rolls/{}-{}", r.year, r.month),
            run_monthly_roll
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_assessment(
        &self,
        request: Request<pb::RecordAssessmentRequest>,
    ) -> Result<Response<pb::AbilityAssessment>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.RecordAssessment",
            |r: &pb::RecordAssessmentRequest| r.elder.clone(),
            record_assessment
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn register_institution(
        &self,
        request: Request<pb::RegisterInstitutionRequest>,
    ) -> Result<Response<pb::Institution>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.RegisterInstitution",
            |_: &pb::RegisterInstitutionRequest| "institutions/-".to_owned(),
            register_institution
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn grade_institution(
        &self,
        request: Request<pb::GradeInstitutionRequest>,
    ) -> Result<Response<pb::Institution>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.GradeInstitution",
            |r: &pb::GradeInstitutionRequest| r.institution.clone(),
            grade_institution
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn admit_resident(
        &self,
        request: Request<pb::AdmitResidentRequest>,
    ) -> Result<Response<pb::Institution>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.AdmitResident",
            |r: &pb::AdmitResidentRequest| r.elder.clone(),
            admit
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn discharge_resident(
        &self,
        request: Request<pb::DischargeResidentRequest>,
    ) -> Result<Response<pb::Institution>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.DischargeResident",
            |r: &pb::DischargeResidentRequest| r.elder.clone(),
            discharge
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn generate_visit_schedule(
        &self,
        request: Request<pb::GenerateVisitScheduleRequest>,
    ) -> Result<Response<pb::VisitReport>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.GenerateVisitSchedule",
            |r: &pb::GenerateVisitScheduleRequest| format!("visits/{}", r.region),
            generate_visits
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_visit(
        &self,
        request: Request<pb::RecordVisitRequest>,
    ) -> Result<Response<pb::Visit>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.RecordVisit",
            |r: &pb::RecordVisitRequest| r.elder.clone(),
            record_visit
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_visit_report(
        &self,
        request: Request<pb::GetVisitReportRequest>,
    ) -> Result<Response<pb::VisitReport>, Status> {
        let p = auth::principal(&request)?.clone();
        self.visit_report(&p, request.into_inner())
            .await
            .map(Response::new)
            .map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn stop_for_death(
        &self,
        request: Request<pb::StopForDeathRequest>,
    ) -> Result<Response<pb::StopForDeathResponse>, Status> {
        write_rpc!(
            self,
            request,
            "eldercare.StopForDeath",
            |_: &pb::StopForDeathRequest| "elders/-".to_owned(),
            stop_for_death
        )
    }
}
