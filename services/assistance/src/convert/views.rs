//! Applications, benefits and households as answered (identity numbers masked unless the
//! caller may see them).

use super::*;
use crate::domain::temporary::Paperwork;

fn show_id(id: &str, full: bool) -> String {
    if full {
        id.to_owned()
    } else {
        civil_id::mask_id_number(id)
    }
}

pub fn member_to_proto(m: &Member, full: bool) -> pb::Member {
    pb::Member {
        person: Some(PersonRef {
            id_number: show_id(&m.id_number, full),
            name: m.name.clone(),
        }),
        relationship: relationship_to_proto(m.relationship),
        incomes: m
            .incomes
            .iter()
            .map(|i| pb::IncomeItem {
                kind: income_kind_to_proto(i.kind),
                monthly_fen: i.monthly_fen.get(),
            })
            .collect(),
        properties: m
            .properties
            .iter()
            .map(|p| pb::PropertyItem {
                kind: property_kind_to_proto(p.kind),
                value_fen: p.value_fen.get(),
            })
            .collect(),
        disability_grade: m.disability.map_or(0, |d| i32::from(d.grade)),
        disability_kind: m.disability.map_or(0, |d| disability_kind_to_proto(d.kind)),
        serious_illness: m.serious_illness,
        in_school: m.in_school,
        no_capable_supporter: m.no_capable_supporter,
        activities: Some(pb::DailyActivities {
            can_eat: m.activities.eat,
            can_dress: m.activities.dress,
            can_transfer: m.activities.transfer,
            can_use_toilet: m.activities.toilet,
            can_walk_indoors: m.activities.walk_indoors,
            can_bathe: m.activities.bathe,
        }),
        left_month: m.left_month.map(|m| m.to_string()).unwrap_or_default(),
        own_area: match m.own_area {
            Some(Area::Urban) => pb::AreaKind::Urban as i32,
            Some(Area::Rural) => pb::AreaKind::Rural as i32,
            None => pb::AreaKind::Unspecified as i32,
        },
    }
}

pub fn household_to_proto(h: &Household, full: bool) -> pb::Household {
    pb::Household {
        region: h.region.clone(),
        area: match h.area {
            Area::Urban => pb::AreaKind::Urban as i32,
            Area::Rural => pb::AreaKind::Rural as i32,
        },
        members: h.members.iter().map(|m| member_to_proto(m, full)).collect(),
    }
}

pub fn lines_to_proto(c: &Computation) -> Vec<pb::AmountLine> {
    c.lines
        .iter()
        .map(|l| pb::AmountLine {
            item: l.item.clone(),
            amount_fen: l.amount_fen.get(),
            note: l.note.clone(),
        })
        .collect()
}

fn proto_date(text: &str) -> Option<contracts::civil::common::v1::Date> {
    parse_date(text).map(to_proto_date)
}

fn state_to_proto(s: ApplicationState) -> i32 {
    use pb::ApplicationState as P;
    (match s {
        ApplicationState::Submitted => P::Submitted,
        ApplicationState::Accepted => P::Accepted,
        ApplicationState::Investigated => P::Investigated,
        ApplicationState::Checked => P::Checked,
        ApplicationState::Notice => P::Notice,
        ApplicationState::Reinvestigation => P::Reinvestigation,
        ApplicationState::Approved => P::Approved,
        ApplicationState::Refused => P::Refused,
    }) as i32
}

pub fn application_to_proto(rec: &ApplicationRecord, full: bool) -> pb::Application {
    pb::Application {
        id: rec.id.clone(),
        kind: kind_to_proto(rec.kind),
        channel: rec.channel,
        state: state_to_proto(rec.state),
        household: Some(household_to_proto(&rec.household, full)),
        individual_coverage: rec.individual.is_some(),
        institutional_care: rec.institutional,
        flagged_close_relative: rec.flagged(),
        submitted_on: proto_date(&rec.submitted_on),
        accepted_on: rec.accepted_on.as_deref().and_then(proto_date),
        deadline: rec.deadline.as_deref().and_then(proto_date),
        investigations: rec.visits.len() as i32,
        economic_check: rec.check.as_ref().map(|c| pb::EconomicCheck {
            report_id: c.report_id.clone(),
            authorisation_reference: c.authorisation_reference.clone(),
            authorisation_signed_on: proto_date(&c.authorisation_signed_on),
            verified_monthly_income_fen: c.income_fen.get(),
            verified_financial_assets_fen: c.financial_fen.get(),
            verified_houses: c.houses,
            verified_vehicles: c.vehicles,
        }),
        notice: rec.notice.as_ref().map(|n| pb::PublicNotice {
            start_date: proto_date(&n.start),
            end_date: proto_date(&n.end),
            objections: n.objections.clone(),
            text: n.text.clone(),
        }),
        decision: rec.decision.as_ref().map(|d| pb::Decision {
            approved: d.approved,
            decided_on: proto_date(&d.decided_on),
            decided_by: d.decided_by.clone(),
            reasons: d.reasons.clone(),
            policy_version: d
                .computation
                .as_ref()
                .map(|c| c.policy_version.clone())
                .unwrap_or_default(),
            monthly_amount_fen: d.computation.as_ref().map_or(0, |c| c.total_fen.get()),
            breakdown: d
                .computation
                .as_ref()
                .map(lines_to_proto)
                .unwrap_or_default(),
        }),
        benefit_id: rec.benefit_id.clone().unwrap_or_default(),
        deadline_extensions: rec
            .extensions
            .iter()
            .map(|e| pb::DeadlineExtension {
                previous_deadline: proto_date(&e.previous_deadline),
                new_deadline: proto_date(&e.new_deadline),
                reason: e.reason.clone(),
                approved_by: e.approved_by.clone(),
                recorded_on: proto_date(&e.recorded_on),
            })
            .collect(),
        investigation_deadline: rec.investigation_deadline.as_deref().and_then(proto_date),
        confirmation_deadline: rec.confirmation_deadline.as_deref().and_then(proto_date),
    }
}

/// The state a caller sees in `month`: a benefit whose end has arrived reads as terminated.
pub fn visible_state(rec: &BenefitRecord, month: Month) -> BenefitState {
    if rec.terms.ends.is_some_and(|end| end <= month) {
        BenefitState::Terminated
    } else {
        rec.state
    }
}

pub fn benefit_state_to_proto(s: BenefitState) -> i32 {
    (match s {
        BenefitState::Active => pb::BenefitState::Active,
        BenefitState::PhaseOut => pb::BenefitState::PhaseOut,
        BenefitState::Terminated => pb::BenefitState::Terminated,
    }) as i32
}

pub fn benefit_to_proto(rec: &BenefitRecord, full: bool, month: Month) -> pb::Benefit {
    pb::Benefit {
        id: rec.id.clone(),
        kind: kind_to_proto(rec.kind()),
        state: benefit_state_to_proto(visible_state(rec, month)),
        region: rec.region().to_owned(),
        application_id: rec.application_id.clone().unwrap_or_default(),
        household: Some(household_to_proto(&rec.terms.current().household, full)),
        approved_on: proto_date(&rec.approved_on),
        paid_from_month: rec.terms.paid_from.to_string(),
        monthly_amount_fen: rec.computation.total_fen.get(),
        policy_version: rec.computation.policy_version.clone(),
        breakdown: lines_to_proto(&rec.computation),
        phase_out_until_month: rec
            .terms
            .phase_out_until
            .map(|m| m.to_string())
            .unwrap_or_default(),
        termination: rec.termination.as_ref().map(|t| pb::Termination {
            reason: termination_reason_to_proto(t.reason),
            effective_month: t.effective_month.to_string(),
            decided_by: t.decided_by.clone(),
            note: t.note.clone(),
        }),
        next_review: proto_date(&rec.next_review),
        emergency: rec.emergency,
        paperwork: (match rec.paperwork {
            None => pb::EmergencyPaperwork::Unspecified,
            Some(Paperwork::Pending) => pb::EmergencyPaperwork::Pending,
            Some(Paperwork::Completed) => pb::EmergencyPaperwork::Completed,
            Some(Paperwork::Recovered) => pb::EmergencyPaperwork::Recovered,
        }) as i32,
        history: rec
            .history
            .iter()
            .map(|h| pb::BenefitChange {
                from_month: h.from_month.to_string(),
                reason: h.reason.clone(),
                decided_by: h.decided_by.clone(),
                decided_on: proto_date(&h.decided_on),
                monthly_amount_fen: h.monthly_amount_fen.get(),
            })
            .collect(),
        household_reviews: rec
            .household_reviews
            .iter()
            .map(|r| review_to_proto(rec, r))
            .collect(),
    }
}

/// A household-composition review as the wire shows it.
pub fn review_to_proto(
    rec: &BenefitRecord,
    r: &crate::records::HouseholdReviewRecord,
) -> pb::HouseholdReview {
    let cause = match r.cause.as_str() {
        "marriage" => pb::HouseholdReviewCause::Marriage,
        _ => pb::HouseholdReviewCause::Unspecified,
    };
    pb::HouseholdReview {
        review_id: r.id.clone(),
        benefit_id: rec.id.clone(),
        cause: cause as i32,
        reference: r.reference.clone(),
        changed_on: proto_date(&r.changed_on),
        opened_on: proto_date(&r.opened_on),
        opened_by: r.opened_by.clone(),
        household_region: rec.region().to_owned(),
    }
}
