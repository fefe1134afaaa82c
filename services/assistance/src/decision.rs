//! The decision on an application (审核确认办法 arts. 20-22): the rules of its kind under the
//! policy in force, the benefit it creates.

use contracts::civil::assistance::v1 as pb;
use kit::rpc::{Call, Text as _};
use kit::{ServiceError, Violations};
use time::Date;

use crate::api::refuse;
use crate::domain::allowance::{
    Computation, Ineligible, assess_minimum_living, assess_near_threshold,
};
use crate::domain::application::{ApplicationState, Step, notice_over};
use crate::domain::benefit::{BenefitKind, Terms};
use crate::domain::extreme_poverty;
use crate::domain::household::Household;
use crate::domain::month::Month;
use crate::domain::policy::{Policy, PolicyVersion};
use crate::records::{
    ApplicationRecord, BenefitRecord, BenefitState, DecisionRecord, fmt_date, parse_date,
};
use crate::store;

use crate::procedure::{MAX_RELATIONS, amount_out_of_range, covered_indexes, index_of, step};

/// A decision: approve, or refuse with reasons (trimmed, blank ones dropped).
pub(crate) struct Decision {
    pub approve: bool,
    pub reasons: Vec<String>,
}

impl TryFrom<pb::DecideApplicationRequest> for Decision {
    type Error = Violations;

    fn try_from(req: pb::DecideApplicationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        if req.reasons.len() > MAX_RELATIONS {
            v.add(
                "reasons",
                format!("must list at most {MAX_RELATIONS} reasons"),
            );
        }
        for (i, r) in req.reasons.iter().enumerate().take(MAX_RELATIONS) {
            v.optional_text(r, &format!("reasons[{i}]"), kit::rpc::LONG_MAX);
        }
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Decision {
            approve: req.approve,
            reasons: req
                .reasons
                .iter()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
        })
    }
}

/// The decision's preconditions: no objection pending, the step allowed, the notice over.
fn ready_to_decide(
    rec: &mut ApplicationRecord,
    approve: bool,
    today: Date,
) -> Result<(), ServiceError> {
    if rec.state == ApplicationState::Reinvestigation {
        return Err(refuse(
            "ASSISTANCE_OBJECTION_PENDING",
            "an objection raised during the notice is being re-investigated; a new notice must run before the decision",
        ));
    }
    step(rec, if approve { Step::Approve } else { Step::Refuse })?;
    let notice_end = rec.notice.as_ref().and_then(|n| parse_date(&n.end));
    if notice_end.is_none_or(|end| !notice_over(end, today)) {
        return Err(refuse(
            "ASSISTANCE_NOTICE_RUNNING",
            "the public notice has not ended",
        ));
    }
    Ok(())
}

/// Decides an application (审核确认办法 arts. 20-22): a refusal with its reasons, or an approval
/// that creates the benefit, announces it and invalidates its members' cached status in the
/// same transaction.
pub(crate) async fn decide(
    c: &mut Call,
    policy: &Policy,
    decision: Decision,
    mut rec: ApplicationRecord,
) -> Result<ApplicationRecord, ServiceError> {
    let today = c.today();
    let subject = c.principal().subject.clone();
    ready_to_decide(&mut rec, decision.approve, today)?;
    if !decision.approve && decision.reasons.is_empty() {
        return Err(refuse(
            "ASSISTANCE_REASONS_REQUIRED",
            "a refusal is notified in writing with reasons",
        ));
    }
    let mut computation = None;
    if decision.approve {
        let (benefit_id, computed) = approve(c, policy, &rec).await?;
        rec.benefit_id = Some(benefit_id);
        computation = Some(computed);
    }
    rec.decision = Some(DecisionRecord {
        approved: decision.approve,
        decided_on: fmt_date(today),
        decided_by: subject,
        reasons: decision.reasons,
        computation,
    });
    crate::dedup::release_application(c, &rec.id).await?;
    let sealer = c.sealer().clone();
    let now = c.now_ms();
    store::update_application(c.db(), &sealer, &rec, now).await?;
    Ok(rec)
}

/// Creates the benefit of an approved application; returns its id and amount.
async fn approve(
    c: &mut Call,
    policy: &Policy,
    rec: &ApplicationRecord,
) -> Result<(String, Computation), ServiceError> {
    let today = c.today();
    let version = policy.in_force_on(today);
    if !rec.household.region.starts_with(&policy.county) {
        return Err(refuse(
            "ASSISTANCE_RESIDENCE_NOT_ELIGIBLE",
            "the household's register is outside the county",
        ));
    }
    let (household, computation) = assess(version, rec, today)?;
    let subject = c.principal().subject.clone();
    let mut benefit = new_benefit(
        version,
        rec,
        household,
        computation.clone(),
        &subject,
        today,
    );
    let paid_from = benefit.terms.paid_from;
    benefit.record_history(paid_from, "approved", &subject, today);
    let only = benefit.terms.individual.clone();
    let sealer = c.sealer().clone();
    let indexes = covered_indexes(&sealer, &benefit.terms.current().household, only.as_deref());
    let covered: Vec<(usize, String)> =
        crate::dedup::covered_positions(rec.kind, &rec.household, rec.individual.as_deref())
            .into_iter()
            .filter_map(|i| index_of(&sealer, &rec.household.members[i].id_number).map(|x| (i, x)))
            .collect();
    crate::dedup::claim_household(c, &benefit.id, rec.kind, benefit.region(), &covered).await?;
    let now = c.now_ms();
    store::insert_benefit(c.db(), &sealer, &benefit, &indexes, now).await?;
    crate::benefits::forget_statuses(c, &indexes).await?;
    let event = pb::BenefitApproved {
        benefit_id: benefit.id.clone(),
        kind: crate::convert::kind_to_proto(benefit.kind()),
        region: benefit.region().to_owned(),
        member_indexes: indexes,
        paid_from_month: benefit.terms.paid_from.to_string(),
        monthly_amount_fen: computation.total_fen.get(),
    };
    c.publish(
        "assistance.benefit_approved",
        "civil.assistance.v1.BenefitApproved",
        &benefit.id,
        &event,
    )
    .await?;
    c.also_audit(benefit.id.clone());
    Ok((benefit.id, computation))
}

/// The refusal of an application's eligibility ground (one reason per ground).
fn not_eligible(e: Ineligible) -> ServiceError {
    let reason = match e {
        Ineligible::IncomeNotBelowStandard
        | Ineligible::IncomeAboveNearThreshold
        | Ineligible::HouseholdNotNearThreshold
        | Ineligible::MemberIncomeNotBelowStandard => "ASSISTANCE_INCOME_NOT_ELIGIBLE",
        Ineligible::PropertyOverLimit => "ASSISTANCE_PROPERTY_NOT_ELIGIBLE",
        Ineligible::MemberNotQualified => "ASSISTANCE_AGE_OR_DISABILITY_NOT_MET",
        Ineligible::UnknownMember => "ASSISTANCE_APPLICANT_NOT_MEMBER",
        Ineligible::AmountOutOfRange => "ASSISTANCE_AMOUNT_OUT_OF_RANGE",
    };
    refuse(reason, e.to_string())
}

/// The refusal of a 特困 application: the first unmet ground's reason, every unmet ground in
/// the message.
fn extreme_poverty_unmet(unmet: &[extreme_poverty::Unmet]) -> ServiceError {
    use extreme_poverty::Unmet;
    let first = [
        Unmet::HasIncome,
        Unmet::PropertyOverLimit,
        Unmet::HasSupporter,
        Unmet::AbleToWork,
    ]
    .into_iter()
    .find(|u| unmet.contains(u));
    let reason = match first {
        Some(Unmet::HasIncome) | None => "ASSISTANCE_INCOME_NOT_ELIGIBLE",
        Some(Unmet::PropertyOverLimit) => "ASSISTANCE_PROPERTY_NOT_ELIGIBLE",
        Some(Unmet::HasSupporter) => "ASSISTANCE_SUPPORTER_ABLE",
        Some(Unmet::AbleToWork) => "ASSISTANCE_ABLE_TO_WORK",
    };
    let message = unmet
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    refuse(reason, message)
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
            extreme_poverty::assess(version, household.area, &applicant, today)
                .map_err(|unmet| extreme_poverty_unmet(&unmet))?;
            let computation =
                extreme_poverty::support_amount(version, &applicant, rec.institutional)
                    .map_err(|_| amount_out_of_range())?;
            Ok((
                Household {
                    members: vec![applicant],
                    ..household
                },
                computation,
            ))
        }
        BenefitKind::Temporary => Err(refuse(
            "ASSISTANCE_NOT_APPLICABLE",
            "temporary assistance is granted directly",
        )),
    }
}

fn new_benefit(
    version: &PolicyVersion,
    rec: &ApplicationRecord,
    household: Household,
    computation: Computation,
    approved_by: &str,
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
        approved_by: approved_by.to_owned(),
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
        paperwork: None,
        circumstances: String::new(),
        next_review: fmt_date(Month::of(today).plus(interval).first_day()),
        history: vec![],
        household_reviews: vec![],
        version: 1,
    }
}
