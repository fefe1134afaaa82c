//! Effects of the application procedure (审核确认办法 arts. 11-25): submit, accept, visit,
//! economic check, notice, objection, decision.

use auth::{Principal, Role};
use contracts::civil::assistance::v1 as pb;
use kit::pii::Sealer;
use kit::rpc::{Call, Text as _};
use kit::{ServiceError, Violations};
use time::Date;

use crate::api::refuse;
use crate::checking::CheckReport;
use crate::convert::kind_from_proto;
use crate::domain::application::{ApplicationState, OutOfOrder, Step};
use crate::domain::benefit::BenefitKind;
use crate::domain::household::{Household, Relationship, apply_verified};
use crate::records::{ApplicationRecord, CheckRecord, fmt_date};
use crate::store;

pub(crate) fn out_of_order(e: OutOfOrder) -> ServiceError {
    refuse("ASSISTANCE_OUT_OF_ORDER", e.to_string())
}

pub(crate) fn step(rec: &mut ApplicationRecord, step: Step) -> Result<(), ServiceError> {
    rec.state = rec.state.after(step).map_err(out_of_order)?;
    Ok(())
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

/// A checked sum of amounts: a sum that does not fit is refused, never wrapped.
pub(crate) fn sum_of(
    amounts: impl IntoIterator<Item = money::Fen>,
) -> Result<money::Fen, ServiceError> {
    money::Fen::checked_sum(amounts).ok_or_else(amount_out_of_range)
}

/// A count summed without overflow (saturates: a count this large is beyond every limit).
pub(crate) fn count_of(counts: impl IntoIterator<Item = u32>) -> i32 {
    let total = counts
        .into_iter()
        .fold(0u32, |total, n| total.saturating_add(n));
    i32::try_from(total).unwrap_or(i32::MAX)
}

/// The refusal for a computation whose amount does not fit in `i64` fen.
pub(crate) fn amount_out_of_range() -> ServiceError {
    refuse(
        "ASSISTANCE_AMOUNT_OUT_OF_RANGE",
        "an amount of the computation is out of range",
    )
}

/// Blind indexes of the members a benefit covers.
pub(crate) fn covered_indexes(
    sealer: &Sealer,
    household: &Household,
    only: Option<&str>,
) -> Vec<String> {
    household
        .members
        .iter()
        .filter(|m| only.is_none_or(|id| m.id_number == id))
        .filter_map(|m| index_of(sealer, &m.id_number))
        .collect()
}

/// The blind index of a stored (hence valid) identity number.
pub(crate) fn index_of(sealer: &Sealer, id_number: &str) -> Option<String> {
    civil_id::IdNumber::parse(id_number)
        .ok()
        .map(|id| sealer.index(&id))
}

/// A decoded application: kind, channel, household, the member covered alone, the declared
/// staff relations.
pub(crate) struct Submission {
    kind: BenefitKind,
    channel: pb::Channel,
    household: Household,
    individual: Option<String>,
    declared_staff: Vec<String>,
    institutional: bool,
}

impl Submission {
    pub(crate) fn region(&self) -> &str {
        &self.household.region
    }
}

/// Decodes a SubmitApplication request, reporting every violation at once (an absent household
/// reports each of its required fields, so a retry does not uncover new ones).
pub(crate) fn decode_submission(
    p: &Principal,
    req: &pb::SubmitApplicationRequest,
) -> Result<Submission, ServiceError> {
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
    if p.has_role(Role::Citizen)
        && !p.has_role(Role::TownshipClerk)
        && channel != pb::Channel::Unspecified
    {
        v.check(
            channel == pb::Channel::Online,
            "channel",
            "a citizen applies online",
        );
    }
    let empty = pb::Household::default();
    let household = crate::convert::parse_household(
        &mut v,
        Some(req.household.as_ref().unwrap_or(&empty)),
        "household",
    );
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
    if req.staff_relations.len() > MAX_RELATIONS {
        v.add(
            "staff_relations",
            format!("must list at most {MAX_RELATIONS} relations"),
        );
    }
    for (i, relation) in req.staff_relations.iter().enumerate().take(MAX_RELATIONS) {
        v.text(
            &relation.staff_subject,
            &format!("staff_relations[{i}].staff_subject"),
            kit::rpc::SHORT_MAX,
        );
        v.optional_text(
            &relation.relationship,
            &format!("staff_relations[{i}].relationship"),
            kit::rpc::SHORT_MAX,
        );
    }
    v.finish()?;
    match (kind, household) {
        (Some(kind), Some(household)) => Ok(Submission {
            kind,
            channel,
            household,
            individual,
            declared_staff: req
                .staff_relations
                .iter()
                .map(|r| r.staff_subject.trim().to_owned())
                .collect(),
            institutional: req.institutional_care,
        }),
        _ => Err(ServiceError::invalid("household", "is invalid")),
    }
}

/// Most staff relations one application may declare.
pub(crate) const MAX_RELATIONS: usize = 20;

/// The household's members are distinct, exactly one is the applicant, and the member covered
/// alone is one of them.
fn check_members(sub: &Submission) -> Result<(), ServiceError> {
    let household = &sub.household;
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
    let applicants = household
        .members
        .iter()
        .filter(|m| m.relationship == Relationship::Applicant)
        .count();
    if applicants != 1 {
        return Err(refuse(
            "ASSISTANCE_APPLICANT_NOT_MEMBER",
            "exactly one member must be the applicant",
        ));
    }
    if sub
        .individual
        .as_deref()
        .is_some_and(|id| household.member(id).is_none())
    {
        return Err(refuse(
            "ASSISTANCE_APPLICANT_NOT_MEMBER",
            "the member to cover alone is not in the household",
        ));
    }
    Ok(())
}

/// Stores a new application (近亲属备案: the declared relations and the register, checked on
/// every application).
pub(crate) async fn submit(
    c: &mut Call,
    sub: Submission,
) -> Result<ApplicationRecord, ServiceError> {
    check_members(&sub)?;
    let sealer = c.sealer().clone();
    let mut related_staff = sub.declared_staff;
    let indexes: Vec<String> = sub
        .household
        .members
        .iter()
        .filter_map(|m| index_of(&sealer, &m.id_number))
        .collect();
    for official in store::registered_officials(c.db(), &indexes).await? {
        if !related_staff.contains(&official) {
            related_staff.push(official);
        }
    }
    let rec = ApplicationRecord {
        id: uuid::Uuid::now_v7().to_string(),
        kind: sub.kind,
        channel: sub.channel as i32,
        state: ApplicationState::Submitted,
        household: sub.household,
        individual: sub.individual,
        institutional: sub.institutional,
        related_staff,
        submitted_on: fmt_date(c.today()),
        accepted_on: None,
        deadline: None,
        visits: vec![],
        check: None,
        notice: None,
        decision: None,
        benefit_id: None,
        extensions: vec![],
        investigation_deadline: None,
        confirmation_deadline: None,
        version: 1,
    };
    crate::dedup::claim_application(
        c,
        &rec.id,
        rec.kind,
        &rec.household,
        rec.individual.as_deref(),
    )
    .await?;
    let now = c.now_ms();
    store::insert_application(c.db(), &sealer, &rec, now).await?;
    c.object(rec.id.clone());
    Ok(rec)
}

/// Records the checking centre's report on an investigated application.
pub(crate) fn record_check(
    rec: &mut ApplicationRecord,
    report: Option<CheckReport>,
    reference: String,
    signed_on: Date,
) -> Result<(), ServiceError> {
    step(rec, Step::Check)?;
    let report = report.ok_or_else(|| {
        ServiceError::Aborted("the application changed during the check; retry".into())
    })?;
    apply_verified(&mut rec.household, &report.findings);
    let findings = &report.findings;
    rec.check = Some(CheckRecord {
        report_id: report.report_id.clone(),
        authorisation_reference: reference,
        authorisation_signed_on: fmt_date(signed_on),
        income_fen: sum_of(findings.iter().map(|f| f.monthly_income_fen))?,
        financial_fen: sum_of(findings.iter().map(|f| f.financial_assets_fen))?,
        houses: count_of(findings.iter().map(|f| f.houses)),
        vehicles: count_of(findings.iter().map(|f| f.vehicles)),
    });
    Ok(())
}
