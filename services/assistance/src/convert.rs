//! Between the wire (civil.assistance.v1) and the domain: input checks that name the bad field,
//! and responses with identity numbers masked unless the caller may see them.

use contracts::civil::assistance::v1 as pb;
use contracts::civil::common::v1::PersonRef;
use kit::Violations;
use kit::error::to_proto_date;

use crate::domain::allowance::Computation;
use crate::domain::application::ApplicationState;
use crate::domain::benefit::{BenefitKind, TerminationReason};
use crate::domain::household::{
    DailyActivities, Disability, DisabilityKind, Household, Income, IncomeKind, Member, Property,
    PropertyKind, Relationship,
};
use crate::domain::month::Month;
use crate::domain::policy::Area;
use crate::records::{ApplicationRecord, BenefitRecord, BenefitState, parse_date};

/// Most members a household may list (a guard against oversized requests).
const MAX_MEMBERS: usize = 20;

pub fn kind_from_proto(value: i32) -> Option<BenefitKind> {
    match pb::BenefitKind::try_from(value).ok()? {
        pb::BenefitKind::MinimumLivingAllowance => Some(BenefitKind::MinimumLiving),
        pb::BenefitKind::NearThreshold => Some(BenefitKind::NearThreshold),
        pb::BenefitKind::ExtremePovertySupport => Some(BenefitKind::ExtremePoverty),
        pb::BenefitKind::TemporaryAssistance => Some(BenefitKind::Temporary),
        pb::BenefitKind::Unspecified => None,
    }
}

pub fn kind_to_proto(kind: BenefitKind) -> i32 {
    (match kind {
        BenefitKind::MinimumLiving => pb::BenefitKind::MinimumLivingAllowance,
        BenefitKind::NearThreshold => pb::BenefitKind::NearThreshold,
        BenefitKind::ExtremePoverty => pb::BenefitKind::ExtremePovertySupport,
        BenefitKind::Temporary => pb::BenefitKind::TemporaryAssistance,
    }) as i32
}

pub fn termination_reason_from_proto(value: i32) -> Option<TerminationReason> {
    match pb::TerminationReason::try_from(value).ok()? {
        pb::TerminationReason::Death => Some(TerminationReason::Death),
        pb::TerminationReason::MovedAway => Some(TerminationReason::MovedAway),
        pb::TerminationReason::Lapsed => Some(TerminationReason::Lapsed),
        pb::TerminationReason::Unspecified => None,
    }
}

fn termination_reason_to_proto(reason: TerminationReason) -> i32 {
    (match reason {
        TerminationReason::Death => pb::TerminationReason::Death,
        TerminationReason::MovedAway => pb::TerminationReason::MovedAway,
        TerminationReason::Lapsed => pb::TerminationReason::Lapsed,
    }) as i32
}

fn relationship_from_proto(value: i32) -> Option<Relationship> {
    use pb::Relationship as R;
    Some(match R::try_from(value).ok()? {
        R::Applicant => Relationship::Applicant,
        R::Spouse => Relationship::Spouse,
        R::Child => Relationship::Child,
        R::Parent => Relationship::Parent,
        R::Grandparent => Relationship::Grandparent,
        R::Grandchild => Relationship::Grandchild,
        R::Sibling => Relationship::Sibling,
        R::Other => Relationship::Other,
        R::Unspecified => return None,
    })
}

fn relationship_to_proto(r: Relationship) -> i32 {
    use pb::Relationship as R;
    (match r {
        Relationship::Applicant => R::Applicant,
        Relationship::Spouse => R::Spouse,
        Relationship::Child => R::Child,
        Relationship::Parent => R::Parent,
        Relationship::Grandparent => R::Grandparent,
        Relationship::Grandchild => R::Grandchild,
        Relationship::Sibling => R::Sibling,
        Relationship::Other => R::Other,
    }) as i32
}

fn disability_kind_from_proto(value: i32) -> Option<DisabilityKind> {
    use pb::DisabilityKind as D;
    Some(match D::try_from(value).ok()? {
        D::Visual => DisabilityKind::Visual,
        D::Hearing => DisabilityKind::Hearing,
        D::Speech => DisabilityKind::Speech,
        D::Physical => DisabilityKind::Physical,
        D::Intellectual => DisabilityKind::Intellectual,
        D::Mental => DisabilityKind::Mental,
        D::Multiple => DisabilityKind::Multiple,
        D::Unspecified => return None,
    })
}

fn disability_kind_to_proto(k: DisabilityKind) -> i32 {
    use pb::DisabilityKind as D;
    (match k {
        DisabilityKind::Visual => D::Visual,
        DisabilityKind::Hearing => D::Hearing,
        DisabilityKind::Speech => D::Speech,
        DisabilityKind::Physical => D::Physical,
        DisabilityKind::Intellectual => D::Intellectual,
        DisabilityKind::Mental => D::Mental,
        DisabilityKind::Multiple => D::Multiple,
    }) as i32
}

fn income_kind_from_proto(value: i32) -> Option<IncomeKind> {
    use pb::IncomeKind as I;
    Some(match I::try_from(value).ok()? {
        I::Wages => IncomeKind::Wages,
        I::Business => IncomeKind::Business,
        I::Property => IncomeKind::Property,
        I::Transfer => IncomeKind::Transfer,
        I::Pension => IncomeKind::Pension,
        I::Unspecified => return None,
    })
}

fn income_kind_to_proto(k: IncomeKind) -> i32 {
    use pb::IncomeKind as I;
    (match k {
        IncomeKind::Wages => I::Wages,
        IncomeKind::Business => I::Business,
        IncomeKind::Property => I::Property,
        // Found by the check: shown as a transfer-like item, the breakdown names it.
        IncomeKind::Transfer | IncomeKind::Undeclared => I::Transfer,
        IncomeKind::Pension => I::Pension,
    }) as i32
}

fn property_kind_from_proto(value: i32) -> Option<PropertyKind> {
    use pb::PropertyKind as P;
    Some(match P::try_from(value).ok()? {
        P::Financial => PropertyKind::Financial,
        P::House => PropertyKind::House,
        P::Vehicle => PropertyKind::Vehicle,
        P::Unspecified => return None,
    })
}

fn property_kind_to_proto(k: PropertyKind) -> i32 {
    use pb::PropertyKind as P;
    (match k {
        PropertyKind::Financial => P::Financial,
        PropertyKind::House => P::House,
        PropertyKind::Vehicle => P::Vehicle,
    }) as i32
}

/// Parses income items, recording a violation per bad item.
pub fn parse_incomes(v: &mut Violations, items: &[pb::IncomeItem], field: &str) -> Vec<Income> {
    let mut incomes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(kind) = income_kind_from_proto(item.kind) else {
            v.add(&format!("{field}[{i}].kind"), "is required");
            continue;
        };
        if item.monthly_fen < 0 {
            v.add(&format!("{field}[{i}].monthly_fen"), "must not be negative");
            continue;
        }
        incomes.push(Income {
            kind,
            monthly_fen: item.monthly_fen,
        });
    }
    incomes
}

fn parse_member(v: &mut Violations, m: &pb::Member, field: &str) -> Option<Member> {
    let person = m.person.clone().unwrap_or_default();
    let id = v.id_number(&person.id_number, &format!("{field}.person.id_number"));
    v.required(&person.name, &format!("{field}.person.name"));
    let relationship = relationship_from_proto(m.relationship);
    v.check(
        relationship.is_some(),
        &format!("{field}.relationship"),
        "is required",
    );
    let incomes = parse_incomes(v, &m.incomes, &format!("{field}.incomes"));
    let mut properties = Vec::with_capacity(m.properties.len());
    for (i, item) in m.properties.iter().enumerate() {
        match property_kind_from_proto(item.kind) {
            Some(kind) if item.value_fen >= 0 => properties.push(Property {
                kind,
                value_fen: item.value_fen,
            }),
            Some(_) => v.add(
                &format!("{field}.properties[{i}].value_fen"),
                "must not be negative",
            ),
            None => v.add(&format!("{field}.properties[{i}].kind"), "is required"),
        }
    }
    let disability = match m.disability_grade {
        0 => None,
        grade @ 1..=4 => match disability_kind_from_proto(m.disability_kind) {
            Some(kind) => Some(Disability {
                grade: grade as u8,
                kind,
            }),
            None => {
                v.add(
                    &format!("{field}.disability_kind"),
                    "is required with a disability grade",
                );
                None
            }
        },
        _ => {
            v.add(
                &format!("{field}.disability_grade"),
                "must be 0 (none) or 1-4",
            );
            None
        }
    };
    let activities = m
        .activities
        .map_or(DailyActivities::ALL, |a| DailyActivities {
            eat: a.can_eat,
            dress: a.can_dress,
            transfer: a.can_transfer,
            toilet: a.can_use_toilet,
            walk_indoors: a.can_walk_indoors,
            bathe: a.can_bathe,
        });
    let id = id?;
    Some(Member {
        id_number: id.as_str().to_owned(),
        name: person.name.trim().to_owned(),
        birth_date: id.birth_date(),
        relationship: relationship?,
        incomes,
        properties,
        disability,
        serious_illness: m.serious_illness,
        in_school: m.in_school,
        no_capable_supporter: m.no_capable_supporter,
        activities,
        left_month: None,
    })
}

/// Parses a household: township or village region, area, 1-20 members.
pub fn parse_household(
    v: &mut Violations,
    h: Option<&pb::Household>,
    field: &str,
) -> Option<Household> {
    let Some(h) = h else {
        v.add(field, "is required");
        return None;
    };
    let region = v.region(&h.region, &format!("{field}.region"));
    if let Some(r) = &region {
        v.check(
            r.as_str().len() >= 9,
            &format!("{field}.region"),
            "must be a township (9) or village (12) code",
        );
    }
    let area = match pb::AreaKind::try_from(h.area) {
        Ok(pb::AreaKind::Urban) => Some(Area::Urban),
        Ok(pb::AreaKind::Rural) => Some(Area::Rural),
        _ => {
            v.add(&format!("{field}.area"), "must be urban or rural");
            None
        }
    };
    if h.members.is_empty() || h.members.len() > MAX_MEMBERS {
        v.add(&format!("{field}.members"), "must list 1-20 members");
    }
    let members: Vec<Option<Member>> = h
        .members
        .iter()
        .take(MAX_MEMBERS)
        .enumerate()
        .map(|(i, m)| parse_member(v, m, &format!("{field}.members[{i}]")))
        .collect();
    let members: Vec<Member> = members.into_iter().collect::<Option<_>>()?;
    Some(Household {
        region: region?.as_str().to_owned(),
        area: area?,
        members,
    })
}

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
                monthly_fen: i.monthly_fen,
            })
            .collect(),
        properties: m
            .properties
            .iter()
            .map(|p| pb::PropertyItem {
                kind: property_kind_to_proto(p.kind),
                value_fen: p.value_fen,
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
            amount_fen: l.amount_fen,
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
            verified_monthly_income_fen: c.income_fen,
            verified_financial_assets_fen: c.financial_fen,
            verified_houses: c.houses,
            verified_vehicles: c.vehicles,
        }),
        notice: rec.notice.as_ref().map(|n| pb::PublicNotice {
            start_date: proto_date(&n.start),
            end_date: proto_date(&n.end),
            objections: n.objections.clone(),
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
            monthly_amount_fen: d.computation.as_ref().map_or(0, |c| c.total_fen),
            breakdown: d
                .computation
                .as_ref()
                .map(lines_to_proto)
                .unwrap_or_default(),
        }),
        benefit_id: rec.benefit_id.clone().unwrap_or_default(),
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
        monthly_amount_fen: rec.computation.total_fen,
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
    }
}
