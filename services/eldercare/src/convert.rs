//! Proto <-> domain: `<thing>_in` (proto -> domain, recording violations), `<thing>_out`
//! (domain or row -> proto).

use auth::Principal;
use contracts::civil::common::v1::PersonRef;
use contracts::civil::eldercare::v1 as pb;
use kit::Violations;
use kit::error::to_proto_date;
use kit::pii::Sealer;
use money::Fen;
use time::Date;

use crate::domain::Refusal;
use crate::domain::allowance::Bracket;
use crate::domain::elder::LivingSituation;
use crate::domain::institution::{self, BedType, DischargeReason};
use crate::domain::policy::EldercarePolicy;
use crate::domain::visit;
use crate::store::ElderRow;
use crate::store::institutions::InstitutionRow;
use crate::store::residence::{BedRow, StayRow};
use crate::store::visits::VisitRow;

/// Longest visit note (characters); notes may hold line breaks.
pub const NOTES_MAX: usize = kit::rpc::LONG_MAX;
/// Most beds one institution registers.
pub const BEDS_MAX: i32 = 2_000;
/// Paging of ListBeds and ListDischarges (AIP-158): 50 by default, at most 200.
pub const PAGING: kit::paging::Paging = kit::paging::Paging::new(50, 200);

impl kit::rpc::Refusal for Refusal {
    fn reason(&self) -> &'static str {
        Refusal::reason(self)
    }
}

pub fn elder_name(id: &str) -> String {
    format!("elders/{id}")
}

pub fn institution_name(id: &str) -> String {
    format!("institutions/{id}")
}

pub fn bed_name(institution: &str, bed: &str) -> String {
    format!("institutions/{institution}/beds/{bed}")
}

/// A free-text note: bounded; line breaks and tabs allowed, other control characters not.
pub fn notes_in(v: &mut Violations, value: &str, field: &str) -> String {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars > NOTES_MAX {
        v.add(
            field,
            format!("is {chars} characters long; at most {NOTES_MAX} are allowed"),
        );
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        v.add(field, "must not contain control characters");
    }
    trimmed.to_owned()
}

/// GB/T 2260 province codes (the first two digits of every region code).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// A county, township or village code (6, 9 or 12 digits) in a province that exists.
pub fn region_in(v: &mut Violations, value: &str, field: &str) -> Option<String> {
    let region = v.region(value, field)?;
    let code = region.as_str();
    if code.len() < 6 {
        v.add(
            field,
            "must be a county, township or village code (6, 9 or 12 digits)",
        );
        return None;
    }
    if !PROVINCES.contains(&&code[..2]) {
        v.add(field, "names no province of GB/T 2260");
        return None;
    }
    Some(code.to_owned())
}

/// A region of this service: [`region_in`] within `county`.
pub fn county_region_in(
    v: &mut Violations,
    value: &str,
    field: &str,
    county: &str,
) -> Option<String> {
    let code = region_in(v, value, field)?;
    if !code.starts_with(county) {
        v.add(
            field,
            format!("must be county {county} or a township or village of it"),
        );
        return None;
    }
    Some(code)
}

/// The first day of a year and month.
pub fn month_in(v: &mut Violations, year: i32, month: i32, field: &str) -> Option<Date> {
    let day = u8::try_from(month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .and_then(|m| Date::from_calendar_date(year, m, 1).ok());
    if day.is_none() {
        v.add(field, "is not a valid year and month");
    }
    day
}

/// A record's day: a real date, not after `today`.
pub fn past_day_in(
    v: &mut Violations,
    d: Option<&contracts::civil::common::v1::Date>,
    field: &str,
    today: Date,
) -> Option<Date> {
    let day = v.date(d, field)?;
    if day > today {
        v.add(field, "is in the future");
        return None;
    }
    Some(day)
}

/// `institutions/{i}/beds/{b}` -> (i, b).
pub fn bed_name_in(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix("institutions/")
        .and_then(|rest| rest.split_once("/beds/"))
        .filter(|(i, b)| !i.is_empty() && !b.is_empty() && !b.contains('/'))
}

pub fn bracket_out(b: Bracket) -> pb::AgeBracket {
    match b {
        Bracket::From80 => pb::AgeBracket::AgeBracket8089,
        Bracket::From90 => pb::AgeBracket::AgeBracket9099,
        Bracket::From100 => pb::AgeBracket::AgeBracket100Plus,
    }
}

pub fn situation_in(v: i32) -> Option<LivingSituation> {
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

pub fn situation_out(s: LivingSituation) -> pb::LivingSituation {
    match s {
        LivingSituation::LivingAlone => pb::LivingSituation::LivingAlone,
        LivingSituation::EmptyNest => pb::LivingSituation::EmptyNest,
        LivingSituation::Disabled => pb::LivingSituation::Disabled,
        LivingSituation::ExtremePoverty => pb::LivingSituation::ExtremePoverty,
        LivingSituation::AdvancedAge => pb::LivingSituation::AdvancedAge,
    }
}

pub fn bed_type_in(v: i32) -> Option<BedType> {
    match pb::BedType::try_from(v).ok()? {
        pb::BedType::Unspecified => None,
        pb::BedType::General => Some(BedType::General),
        pb::BedType::Nursing => Some(BedType::Nursing),
    }
}

pub fn bed_type_out(t: BedType) -> pb::BedType {
    match t {
        BedType::General => pb::BedType::General,
        BedType::Nursing => pb::BedType::Nursing,
    }
}

pub fn discharge_reason_in(v: i32) -> Option<DischargeReason> {
    use pb::DischargeReason as R;
    Some(match R::try_from(v).ok()? {
        R::Unspecified => DischargeReason::Unspecified,
        R::Requested => DischargeReason::Requested,
        R::Transferred => DischargeReason::Transferred,
        R::Death => DischargeReason::Death,
        R::Other => DischargeReason::Other,
    })
}

pub fn discharge_reason_out(r: DischargeReason) -> pb::DischargeReason {
    use pb::DischargeReason as R;
    match r {
        DischargeReason::Unspecified => R::Unspecified,
        DischargeReason::Requested => R::Requested,
        DischargeReason::Transferred => R::Transferred,
        DischargeReason::Death => R::Death,
        DischargeReason::Other => R::Other,
    }
}

/// The elder's care subsidy, when something made the elder eligible: at the latest assessed
/// level (nothing until assessed) under the policy in force for `today`'s month.
pub fn care_subsidy_out(
    policy: &EldercarePolicy,
    e: &ElderRow,
    today: Date,
) -> Option<pb::CareSubsidy> {
    let basis = e.care_basis_benefit.as_ref()?;
    let amount = u8::try_from(e.ability_level)
        .map(|level| policy.for_month(today).care.monthly(level))
        .unwrap_or(Fen::ZERO);
    Some(pb::CareSubsidy {
        basis_benefit: basis.clone(),
        eligible_from: e.care_eligible_from.map(to_proto_date),
        monthly_amount_fen: amount.get(),
    })
}

fn allowance_out(policy: &EldercarePolicy, e: &ElderRow, b: Bracket, today: Date) -> pb::Allowance {
    pb::Allowance {
        bracket: bracket_out(b).into(),
        monthly_amount_fen: policy.for_month(today).allowance.monthly(b).get(),
        payable_from: e.payable_from.map(to_proto_date),
        last_paid_month: e.last_paid_month.map(to_proto_date),
    }
}

/// An elder as `p` may see it: the identity number masked unless the caller's role sees it.
pub fn elder_out(
    sealer: &Sealer,
    policy: &EldercarePolicy,
    today: Date,
    p: &Principal,
    e: &ElderRow,
) -> pb::Elder {
    let id = sealer.open(&e.id_sealed).unwrap_or_default();
    let id_number = p.shown_identity_number(&id);
    pb::Elder {
        name: elder_name(&e.id),
        person: Some(PersonRef {
            id_number,
            name: sealer.open(&e.name_sealed).unwrap_or_default(),
        }),
        birth_date: Some(to_proto_date(e.birth_date)),
        region: e.region.clone(),
        living_situations: e
            .situations
            .iter()
            .map(|s| situation_out(*s).into())
            .collect(),
        date_of_death: e.date_of_death.map(to_proto_date),
        allowance: e.bracket.map(|b| allowance_out(policy, e, b, today)),
        ability_level: i32::try_from(e.ability_level).unwrap_or(-1),
        institution: e
            .institution_id
            .as_deref()
            .map(institution_name)
            .unwrap_or_default(),
        bed: e
            .bed_id
            .as_deref()
            .map(|b| bed_name(&e.institution_id.clone().unwrap_or_default(), b))
            .unwrap_or_default(),
        care_subsidy: care_subsidy_out(policy, e, today),
    }
}

pub fn institution_out(i: &InstitutionRow) -> pb::Institution {
    pb::Institution {
        name: institution_name(&i.id),
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

pub fn bed_out(b: &BedRow) -> pb::Bed {
    pb::Bed {
        name: bed_name(&b.institution_id, &b.id),
        label: b.label.clone(),
        r#type: bed_type_out(b.bed_type).into(),
        occupant: b.elder_id.as_deref().map(elder_name).unwrap_or_default(),
    }
}

pub fn discharge_out(s: &StayRow) -> pb::Discharge {
    pb::Discharge {
        name: format!("institutions/{}/discharges/{}", s.institution_id, s.id),
        elder: elder_name(&s.elder_id),
        bed: bed_name(&s.institution_id, &s.bed_id),
        bed_type: bed_type_out(s.bed_type).into(),
        admitted_on: s.admitted_on.map(to_proto_date),
        discharged_on: s.discharged_on.map(to_proto_date),
        reason: discharge_reason_out(s.reason).into(),
        note: s.note.clone(),
    }
}

/// The visit report of a month: rates count scheduled visits only; unscheduled visits are
/// reported beside them; a scheduled visit not made by the month's end is overdue on `as_of`.
pub fn visit_report_out(month: Date, rows: &[VisitRow], as_of: Date) -> pb::VisitReport {
    let mut townships: Vec<pb::TownshipVisitRate> = Vec::new();
    for r in rows {
        if townships.last().is_none_or(|t| t.township != r.township) {
            townships.push(pb::TownshipVisitRate {
                township: r.township.clone(),
                ..Default::default()
            });
        }
        if let Some(t) = townships.last_mut() {
            if r.scheduled {
                t.scheduled = t.scheduled.saturating_add(1);
                t.visited = t.visited.saturating_add(i32::from(r.visited));
            } else {
                t.unscheduled_visits = t.unscheduled_visits.saturating_add(1);
            }
        }
    }
    for t in &mut townships {
        t.rate_bp = visit::rate_bp(t.visited, t.scheduled);
    }
    let overdue = rows
        .iter()
        .filter(|r| r.scheduled && visit::is_overdue(month, r.visited, as_of))
        .map(|r| pb::OverdueVisit {
            elder: elder_name(&r.elder_id),
            township: r.township.clone(),
        })
        .collect();
    pb::VisitReport {
        year: month.year(),
        month: i32::from(u8::from(month.month())),
        townships,
        overdue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(v: Violations) -> usize {
        match v.finish() {
            Ok(()) => 0,
            Err(kit::ServiceError::InvalidArgument(list)) => list.len(),
            Err(_) => usize::MAX,
        }
    }

    #[test]
    fn notes_are_bounded_and_may_hold_line_breaks_but_no_other_control_characters() {
        let mut v = Violations::new();
        assert_eq!(notes_in(&mut v, " a\nb ", "notes"), "a\nb");
        assert_eq!(count(v), 0);
        let mut v = Violations::new();
        notes_in(&mut v, &"x".repeat(NOTES_MAX + 1), "notes");
        notes_in(&mut v, "a\u{1b}[31m", "notes");
        assert_eq!(count(v), 2);
    }

    #[test]
    fn region_filters_are_counties_townships_or_villages_of_a_real_province_in_the_county() {
        for bad in [
            "33072",
            "3307230",
            "33072300100",
            "33",
            "3307",
            "990723",
            "33072x",
            "330724",
        ] {
            let mut v = Violations::new();
            assert_eq!(
                county_region_in(&mut v, bad, "region", "330723"),
                None,
                "{bad}"
            );
            assert_eq!(count(v), 1, "{bad}");
        }
        for good in ["330723", "330723001", "330723001002"] {
            let mut v = Violations::new();
            assert_eq!(
                county_region_in(&mut v, good, "region", "330723").as_deref(),
                Some(good)
            );
        }
    }

    #[test]
    fn bed_names_name_an_institution_and_a_bed() {
        assert_eq!(bed_name_in("institutions/i/beds/b"), Some(("i", "b")));
        assert_eq!(bed_name_in("institutions//beds/b"), None);
        assert_eq!(bed_name_in("institutions/i/beds/b/x"), None);
        assert_eq!(bed_name_in("beds/b"), None);
    }
}
