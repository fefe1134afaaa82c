//! Effects of the application procedure (审核确认办法 arts. 11-25): submit, accept, visit,
//! economic check, notice, objection, decision.

use auth::{Principal, Role};
use contracts::civil::assistance::v1 as pb;
use kit::{ServiceError, Violations};
use sqlx::AnyConnection;
use time::Date;

use crate::api::{Inner, audit_change, authorize, refuse};
use crate::checking::CheckRequest;
use crate::convert::{application_to_proto, kind_from_proto};
use crate::domain::allowance::{
    Computation, Ineligible, assess_minimum_living, assess_near_threshold,
};
use crate::domain::application::{
    ApplicationState, Investigator, OutOfOrder, Step, VisitError, check_visit, notice_end,
    review_deadline,
};
use crate::domain::benefit::{BenefitKind, Terms};
use crate::domain::extreme_poverty;
use crate::domain::household::{Household, Relationship, apply_verified};
use crate::domain::month::Month;
use crate::domain::policy::PolicyVersion;
use crate::records::{
    ApplicationRecord, BenefitRecord, BenefitState, CheckRecord, DecisionRecord, NoticeRecord,
    Visit, fmt_date, parse_date,
};
use crate::store;

const CLERK: &[Role] = &[Role::TownshipClerk];
const APPROVER: &[Role] = &[Role::CountyApprover];
/// Service: the one-matter aggregator follows an application it opened for a citizen.
const READERS: &[Role] = &[Role::TownshipClerk, Role::CountyApprover, Role::Service];
/// Service: the one-matter aggregator applies on the citizen's behalf (社会救助一件事).
const APPLICANTS: &[Role] = &[Role::Citizen, Role::TownshipClerk, Role::Service];

pub(crate) fn out_of_order(e: OutOfOrder) -> ServiceError {
    refuse("ASSISTANCE_OUT_OF_ORDER", e.to_string())
}

fn step(rec: &mut ApplicationRecord, step: Step) -> Result<(), ServiceError> {
    rec.state = rec.state.after(step).map_err(out_of_order)?;
    Ok(())
}

/// A date given by a clerk: a real date, not after today.
pub(crate) fn past_date(
    v: &mut Violations,
    date: Option<&contracts::civil::common::v1::Date>,
    field: &str,
) -> Option<Date> {
    v.date(date, field)
}

pub(crate) fn not_in_future(date: Date, today: Date) -> Result<(), ServiceError> {
    if date > today {
        return Err(refuse(
            "ASSISTANCE_DATE_IN_FUTURE",
            "the date is after today",
        ));
    }
    Ok(())
}

/// Blind indexes of the members a benefit covers.
pub(crate) fn covered_indexes(
    inner: &Inner,
    household: &Household,
    only: Option<&str>,
) -> Vec<String> {
    household
        .members
        .iter()
        .filter(|m| only.is_none_or(|id| m.id_number == id))
        .filter_map(|m| index_of(inner, &m.id_number))
        .collect()
}

/// The blind index of a stored (hence valid) identity number.
pub(crate) fn index_of(inner: &Inner, id_number: &str) -> Option<String> {
    civil_id::IdNumber::parse(id_number)
        .ok()
        .map(|id| inner.sealer.index(&id))
}

impl Inner {
    async fn load_in_scope(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        roles: &[Role],
        id: &str,
    ) -> Result<ApplicationRecord, ServiceError> {
        authorize(p, roles, None)?;
        let rec = store::load_application(conn, &self.sealer, id).await?;
        authorize(p, roles, Some(&rec.household.region))?;
        Ok(rec)
    }

    async fn save(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        rec: &ApplicationRecord,
        action: &str,
    ) -> Result<pb::Application, ServiceError> {
        store::update_application(conn, &self.sealer, rec).await?;
        audit_change(conn, p, action, &rec.id).await?;
        Ok(application_to_proto(rec, p.sees_full_identity_numbers()))
    }

    pub(crate) async fn submit(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::SubmitApplicationRequest,
    ) -> Result<pb::Application, ServiceError> {
        authorize(p, APPLICANTS, None)?;
        let mut v = Violations::new();
        let kind = kind_from_proto(req.kind).filter(|k| *k != BenefitKind::Temporary);
        v.check(
            kind.is_some(),
            "kind",
            "must be minimum living allowance, near threshold or extreme poverty support",
        );
        let channel = pb::Channel::try_from(req.channel).unwrap_or(pb::Channel::Unspecified);
        v.check(
            channel != pb::Channel::Unspecified,
            "channel",
            "is required",
        );
        if p.has_role(Role::Citizen) && !p.has_role(Role::TownshipClerk) {
            v.check(
                channel == pb::Channel::Online,
                "channel",
                "a citizen applies online",
            );
        }
        let household =
            crate::convert::parse_household(&mut v, req.household.as_ref(), "household");
        let individual = if req.individual_member_id_number.is_empty() {
            None
        } else {
            v.check(
                kind == Some(BenefitKind::MinimumLiving),
                "individual_member_id_number",
                "only for a minimum living allowance",
            );
            v.id_number(
                &req.individual_member_id_number,
                "individual_member_id_number",
            )
            .map(|id| id.as_str().to_owned())
        };
        for (i, relation) in req.staff_relations.iter().enumerate() {
            v.required(
                &relation.staff_subject,
                &format!("staff_relations[{i}].staff_subject"),
            );
        }
        v.finish()?;
        let (Some(kind), Some(household)) = (kind, household) else {
            return Err(ServiceError::invalid("household", "is invalid"));
        };
        authorize(p, APPLICANTS, Some(&household.region))?;
        let mut ids: Vec<&str> = household
            .members
            .iter()
            .map(|m| m.id_number.as_str())
            .collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(refuse(
                "ASSISTANCE_DUPLICATE_MEMBER",
                "a member is listed twice",
            ));
        }
        if household
            .members
            .iter()
            .filter(|m| m.relationship == Relationship::Applicant)
            .count()
            != 1
        {
            return Err(refuse(
                "ASSISTANCE_APPLICANT_NOT_MEMBER",
                "exactly one member must be the applicant",
            ));
        }
        if individual
            .as_deref()
            .is_some_and(|id| household.member(id).is_none())
        {
            return Err(refuse(
                "ASSISTANCE_APPLICANT_NOT_MEMBER",
                "the member to cover alone is not in the household",
            ));
        }
        let rec = ApplicationRecord {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            channel: channel as i32,
            state: ApplicationState::Submitted,
            household,
            individual,
            institutional: req.institutional_care,
            related_staff: req
                .staff_relations
                .iter()
                .map(|r| r.staff_subject.clone())
                .collect(),
            submitted_on: fmt_date(kit::today_cst()),
            accepted_on: None,
            deadline: None,
            visits: vec![],
            check: None,
            notice: None,
            decision: None,
            benefit_id: None,
            version: 1,
        };
        store::insert_application(conn, &self.sealer, &rec).await?;
        audit_change(conn, p, "assistance.SubmitApplication", &rec.id).await?;
        Ok(application_to_proto(&rec, p.sees_full_identity_numbers()))
    }

    pub(crate) async fn accept(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::AcceptApplicationRequest,
    ) -> Result<pb::Application, ServiceError> {
        let mut rec = self
            .load_in_scope(conn, p, CLERK, &req.application_id)
            .await?;
        step(&mut rec, Step::Accept)?;
        let today = kit::today_cst();
        let days = self.policy.in_force_on(today).review_deadline_working_days;
        rec.accepted_on = Some(fmt_date(today));
        rec.deadline = Some(fmt_date(review_deadline(&self.calendar, today, days)));
        self.save(conn, p, &rec, "assistance.AcceptApplication")
            .await
    }

    pub(crate) async fn investigate(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::RecordInvestigationRequest,
    ) -> Result<pb::Application, ServiceError> {
        let mut v = Violations::new();
        let visit_date = past_date(&mut v, req.visit_date.as_ref(), "visit_date");
        for (i, s) in req.staff.iter().enumerate() {
            v.required(&s.staff_subject, &format!("staff[{i}].staff_subject"));
        }
        v.finish()?;
        let visit_date =
            visit_date.ok_or_else(|| ServiceError::invalid("visit_date", "is required"))?;
        let mut rec = self
            .load_in_scope(conn, p, CLERK, &req.application_id)
            .await?;
        step(&mut rec, Step::Investigate)?;
        not_in_future(visit_date, kit::today_cst())?;
        let staff: Vec<Investigator> = req
            .staff
            .iter()
            .map(|s| Investigator {
                subject: s.staff_subject.clone(),
                signed: s.signed,
            })
            .collect();
        check_visit(
            &staff,
            req.household_signed,
            &rec.related_staff,
            p.region.len() == 6,
        )
        .map_err(|e| {
            let reason = match e {
                VisitError::TwoStaffRequired => "ASSISTANCE_TWO_STAFF_REQUIRED",
                VisitError::SignatureMissing => "ASSISTANCE_SIGNATURE_MISSING",
                VisitError::CountyInvestigates => "ASSISTANCE_COUNTY_INVESTIGATES",
                VisitError::ConflictOfInterest => "ASSISTANCE_CONFLICT_OF_INTEREST",
            };
            refuse(reason, e.to_string())
        })?;
        rec.visits.push(Visit {
            date: fmt_date(visit_date),
            staff: staff.into_iter().map(|s| s.subject).collect(),
            staff_names: req.staff.iter().map(|s| s.staff_name.clone()).collect(),
            findings: req.findings,
            recorded_by: p.subject.clone(),
        });
        self.save(conn, p, &rec, "assistance.RecordInvestigation")
            .await
    }

    /// Calls the checking centre outside the write transaction (a network call must not hold
    /// the database), with a request id derived from the application so the centre answers a
    /// retry with the same report; then records the report once per request id.
    pub(crate) async fn economic_check(
        self: &std::sync::Arc<Self>,
        p: &Principal,
        req: pb::RequestEconomicCheckRequest,
    ) -> Result<pb::Application, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.authorisation_reference, "authorisation_reference");
        let signed_on = v.date(
            req.authorisation_signed_on.as_ref(),
            "authorisation_signed_on",
        );
        if req.authorisation_reference.trim().is_empty() {
            return Err(refuse(
                "ASSISTANCE_AUTHORISATION_MISSING",
                "the household's signed authorisation is required",
            ));
        }
        v.finish()?;
        let signed_on = signed_on
            .ok_or_else(|| ServiceError::invalid("authorisation_signed_on", "is required"))?;
        not_in_future(signed_on, kit::today_cst())?;
        let rec = {
            let mut conn = self.db.pool.acquire().await?;
            self.load_in_scope(&mut conn, p, CLERK, &req.application_id)
                .await?
        };
        let report = if rec.state == ApplicationState::Investigated {
            let request = CheckRequest {
                request_id: format!("{}:check:{}", rec.id, rec.visits.len()),
                region: rec.household.region.clone(),
                members: rec
                    .household
                    .members
                    .iter()
                    .map(|m| (m.id_number.clone(), m.name.clone()))
                    .collect(),
                authorisation_reference: req.authorisation_reference.clone(),
                authorisation_signed_on: signed_on,
            };
            Some(self.checker.check(request, &p.subject).await?)
        } else {
            None
        };
        let inner = self.clone();
        let principal = p.clone();
        let (key, body) = (req.request_id.clone(), req.clone());
        kit::idempotency::once(&self.db, "RequestEconomicCheck", &key, &body, move |conn| {
            Box::pin(async move {
                let mut rec = inner
                    .load_in_scope(conn, &principal, CLERK, &req.application_id)
                    .await?;
                step(&mut rec, Step::Check)?;
                let report = report.ok_or_else(|| {
                    ServiceError::Aborted("the application changed during the check; retry".into())
                })?;
                apply_verified(&mut rec.household, &report.findings);
                rec.check = Some(CheckRecord {
                    report_id: report.report_id.clone(),
                    authorisation_reference: req.authorisation_reference.clone(),
                    authorisation_signed_on: fmt_date(signed_on),
                    income_fen: report.findings.iter().map(|f| f.monthly_income_fen).sum(),
                    financial_fen: report.findings.iter().map(|f| f.financial_assets_fen).sum(),
                    houses: report.findings.iter().map(|f| f.houses as i32).sum(),
                    vehicles: report.findings.iter().map(|f| f.vehicles as i32).sum(),
                });
                inner
                    .save(conn, &principal, &rec, "assistance.RequestEconomicCheck")
                    .await
            })
        })
        .await
    }

    pub(crate) async fn start_notice(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::StartPublicNoticeRequest,
    ) -> Result<pb::Application, ServiceError> {
        let mut v = Violations::new();
        let start = v.date(req.start_date.as_ref(), "start_date");
        v.finish()?;
        let start = start.ok_or_else(|| ServiceError::invalid("start_date", "is required"))?;
        let mut rec = self
            .load_in_scope(conn, p, CLERK, &req.application_id)
            .await?;
        step(&mut rec, Step::StartNotice)?;
        not_in_future(start, kit::today_cst())?;
        let last_visit = rec
            .visits
            .iter()
            .filter_map(|visit| parse_date(&visit.date))
            .max();
        if last_visit.is_some_and(|visit| start < visit) {
            return Err(refuse(
                "ASSISTANCE_NOTICE_BEFORE_INVESTIGATION",
                "the notice starts before the last home visit",
            ));
        }
        let objections = rec.notice.take().map(|n| n.objections).unwrap_or_default();
        rec.notice = Some(NoticeRecord {
            start: fmt_date(start),
            end: fmt_date(notice_end(&self.calendar, start)),
            objections,
        });
        self.save(conn, p, &rec, "assistance.StartPublicNotice")
            .await
    }

    pub(crate) async fn object(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::RecordObjectionRequest,
    ) -> Result<pb::Application, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.summary, "summary");
        v.finish()?;
        let mut rec = self
            .load_in_scope(conn, p, CLERK, &req.application_id)
            .await?;
        step(&mut rec, Step::Object)?;
        if let Some(notice) = rec.notice.as_mut() {
            notice.objections.push(req.summary);
        }
        self.save(conn, p, &rec, "assistance.RecordObjection").await
    }

    pub(crate) async fn decide(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::DecideApplicationRequest,
    ) -> Result<pb::Application, ServiceError> {
        let mut rec = self
            .load_in_scope(conn, p, APPROVER, &req.application_id)
            .await?;
        let today = kit::today_cst();
        step(
            &mut rec,
            if req.approve {
                Step::Approve
            } else {
                Step::Refuse
            },
        )?;
        let notice_end = rec.notice.as_ref().and_then(|n| parse_date(&n.end));
        if notice_end.is_none_or(|end| today <= end) {
            return Err(refuse(
                "ASSISTANCE_NOTICE_RUNNING",
                "the public notice has not ended",
            ));
        }
        let reasons: Vec<String> = req
            .reasons
            .iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        if !req.approve {
            if reasons.is_empty() {
                return Err(refuse(
                    "ASSISTANCE_REASONS_REQUIRED",
                    "a refusal is notified in writing with reasons",
                ));
            }
            rec.decision = Some(DecisionRecord {
                approved: false,
                decided_on: fmt_date(today),
                decided_by: p.subject.clone(),
                reasons,
                computation: None,
            });
            return self
                .save(conn, p, &rec, "assistance.DecideApplication")
                .await;
        }
        let version = self.policy.in_force_on(today);
        let (household, computation) = assess(version, &rec, today)?;
        let benefit = new_benefit(version, &rec, household, computation.clone(), p, today);
        let only = benefit.terms.individual.clone();
        let indexes = covered_indexes(self, &benefit.terms.current().household, only.as_deref());
        store::insert_benefit(conn, &self.sealer, &benefit, &indexes).await?;
        let event = pb::BenefitApproved {
            benefit_id: benefit.id.clone(),
            kind: crate::convert::kind_to_proto(benefit.kind()),
            region: benefit.region().to_owned(),
            member_indexes: indexes,
            paid_from_month: benefit.terms.paid_from.to_string(),
            monthly_amount_fen: computation.total_fen,
        };
        kit::outbox::append(
            conn,
            "assistance.benefit_approved",
            "civil.assistance.v1.BenefitApproved",
            &benefit.id,
            &event,
        )
        .await?;
        audit_change(conn, p, "assistance.ApproveBenefit", &benefit.id).await?;
        rec.benefit_id = Some(benefit.id);
        rec.decision = Some(DecisionRecord {
            approved: true,
            decided_on: fmt_date(today),
            decided_by: p.subject.clone(),
            reasons,
            computation: Some(computation),
        });
        self.save(conn, p, &rec, "assistance.DecideApplication")
            .await
    }

    pub(crate) async fn get_application(
        &self,
        p: &Principal,
        req: pb::GetApplicationRequest,
    ) -> Result<pb::Application, ServiceError> {
        let mut conn = self.db.pool.acquire().await?;
        let rec = self
            .load_in_scope(&mut conn, p, READERS, &req.application_id)
            .await?;
        self.audit_read(p, "assistance.GetApplication", &rec.id, "")
            .await;
        Ok(application_to_proto(&rec, p.sees_full_identity_numbers()))
    }

    pub(crate) async fn list_overdue(
        &self,
        p: &Principal,
        req: pb::ListOverdueApplicationsRequest,
    ) -> Result<pb::ListOverdueApplicationsResponse, ServiceError> {
        let region = if req.region.is_empty() {
            p.region.clone()
        } else {
            req.region.clone()
        };
        if !region.bytes().all(|b| b.is_ascii_digit()) || region.is_empty() {
            return Err(ServiceError::invalid(
                "region",
                "must be a region code prefix",
            ));
        }
        authorize(p, READERS, Some(&region))?;
        let mut conn = self.db.pool.acquire().await?;
        let today = fmt_date(kit::today_cst());
        let records = store::overdue_applications(&mut conn, &self.sealer, &region, &today).await?;
        self.audit_read(p, "assistance.ListOverdueApplications", &region, "")
            .await;
        let full = p.sees_full_identity_numbers();
        Ok(pb::ListOverdueApplicationsResponse {
            applications: records
                .iter()
                .map(|r| application_to_proto(r, full))
                .collect(),
        })
    }
}

fn not_eligible(e: impl std::fmt::Display) -> ServiceError {
    refuse("ASSISTANCE_NOT_ELIGIBLE", e.to_string())
}

/// Applies the rules of the application's kind under the policy version in force; returns the
/// household the benefit covers and the computed amount.
fn assess(
    version: &PolicyVersion,
    rec: &ApplicationRecord,
    today: Date,
) -> Result<(Household, Computation), ServiceError> {
    let household = rec.household.clone();
    match rec.kind {
        BenefitKind::MinimumLiving => {
            let computation =
                assess_minimum_living(version, &household, rec.individual.as_deref(), today)
                    .map_err(not_eligible)?;
            Ok((household, computation))
        }
        BenefitKind::NearThreshold => Ok((
            household.clone(),
            assess_near_threshold(version, &household).map_err(not_eligible)?,
        )),
        BenefitKind::ExtremePoverty => {
            let applicant = household
                .applicant()
                .cloned()
                .ok_or_else(|| not_eligible(Ineligible::UnknownMember))?;
            extreme_poverty::assess(version, household.area, &applicant, today).map_err(
                |unmet| {
                    not_eligible(
                        unmet
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                },
            )?;
            let computation =
                extreme_poverty::support_amount(version, &applicant, rec.institutional);
            Ok((
                Household {
                    members: vec![applicant],
                    ..household
                },
                computation,
            ))
        }
        BenefitKind::Temporary => Err(not_eligible("temporary assistance is granted directly")),
    }
}

fn new_benefit(
    version: &PolicyVersion,
    rec: &ApplicationRecord,
    household: Household,
    computation: Computation,
    p: &Principal,
    today: Date,
) -> BenefitRecord {
    let able_to_work = household.members.iter().any(|m| {
        let age = m.age_on(today);
        (16..60).contains(&age)
            && !m.disability.is_some_and(|d| d.is_severe())
            && !m.serious_illness
    });
    let interval = if able_to_work {
        version.review_interval_months_able_to_work
    } else {
        version.review_interval_months
    };
    BenefitRecord {
        id: uuid::Uuid::now_v7().to_string(),
        application_id: Some(rec.id.clone()),
        state: BenefitState::Active,
        approved_on: fmt_date(today),
        approved_by: p.subject.clone(),
        terms: Terms::new(
            rec.kind,
            household,
            rec.individual.clone(),
            rec.institutional,
            today,
        ),
        computation,
        termination: None,
        emergency: false,
        circumstances: String::new(),
        next_review: fmt_date(Month::of(today).plus(interval).first_day()),
        version: 1,
    }
}
