//! Monitoring records to proto (`<thing>_out`) and proto enums in (`<thing>_in`).

use contracts::civil::assistance::v1 as pb;
use contracts::civil::external::v1 as ext;
use kit::error::to_proto_date;

use crate::domain::monitoring::register::Category;
use crate::domain::monitoring::warning::{Evidence, State, Visit};
use crate::domain::monitoring::{Level, SignalKind};
use crate::store::monitoring::{RegisterRow, SignalRow, WarningRow};
use crate::store::monitoring_views::RollLineRow;

pub fn category_in(value: i32) -> Option<Category> {
    match pb::RegisterCategory::try_from(value).ok()? {
        pb::RegisterCategory::MinimumLiving => Some(Category::MinimumLiving),
        pb::RegisterCategory::ExtremePoverty => Some(Category::ExtremePoverty),
        pb::RegisterCategory::NearThreshold => Some(Category::NearThreshold),
        pb::RegisterCategory::RigidSpending => Some(Category::RigidSpending),
        pb::RegisterCategory::RelapseRisk => Some(Category::RelapseRisk),
        pb::RegisterCategory::Unspecified => None,
    }
}

pub fn category_out(c: Category) -> i32 {
    (match c {
        Category::MinimumLiving => pb::RegisterCategory::MinimumLiving,
        Category::ExtremePoverty => pb::RegisterCategory::ExtremePoverty,
        Category::NearThreshold => pb::RegisterCategory::NearThreshold,
        Category::RigidSpending => pb::RegisterCategory::RigidSpending,
        Category::RelapseRisk => pb::RegisterCategory::RelapseRisk,
    }) as i32
}

pub fn signal_kind_in(value: i32) -> Option<SignalKind> {
    use ext::SignalKind as K;
    Some(match K::try_from(value).ok()? {
        K::MedicalSpending => SignalKind::MedicalSpending,
        K::Unemployment => SignalKind::Unemployment,
        K::DisabilityCertificate => SignalKind::DisabilityCertificate,
        K::SchoolDropout => SignalKind::SchoolDropout,
        K::SchoolEnrolment => SignalKind::SchoolEnrolment,
        K::HousingDamage => SignalKind::HousingDamage,
        K::Death => SignalKind::Death,
        K::IncomeDrop => SignalKind::IncomeDrop,
        K::Unspecified => return None,
    })
}

fn signal_kind_out(kind: &str) -> (i32, String) {
    use ext::SignalKind as K;
    let k = match SignalKind::parse(kind) {
        Some(SignalKind::MedicalSpending) => K::MedicalSpending,
        Some(SignalKind::Unemployment) => K::Unemployment,
        Some(SignalKind::DisabilityCertificate) => K::DisabilityCertificate,
        Some(SignalKind::SchoolDropout) => K::SchoolDropout,
        Some(SignalKind::SchoolEnrolment) => K::SchoolEnrolment,
        Some(SignalKind::HousingDamage) => K::HousingDamage,
        Some(SignalKind::Death) => K::Death,
        Some(SignalKind::IncomeDrop) => K::IncomeDrop,
        Some(SignalKind::BenefitTerminated | SignalKind::EldercareRisk) | None => {
            return (K::Unspecified as i32, kind.to_owned());
        }
    };
    (k as i32, String::new())
}

/// A department's name as stored (the enum's name without prefix, lower case).
pub fn source_name(source: ext::SignalSource) -> String {
    source
        .as_str_name()
        .trim_start_matches("SIGNAL_SOURCE_")
        .to_ascii_lowercase()
}

fn source_out(name: &str) -> i32 {
    ext::SignalSource::from_str_name(&format!("SIGNAL_SOURCE_{}", name.to_ascii_uppercase()))
        .map_or(0, |s| s as i32)
}

pub fn register_out(e: &RegisterRow) -> pb::RegisterEntry {
    pb::RegisterEntry {
        id: e.id.clone(),
        household_id: e.household_id.clone(),
        category: category_out(e.category),
        region: e.region.clone(),
        source: e.source.clone(),
        source_reference: e.source_reference.clone(),
        starts_on: Some(to_proto_date(e.starts_on)),
        ends_on: e.ends_on.map(to_proto_date),
        members: i32::try_from(e.members).unwrap_or(i32::MAX),
    }
}

pub fn signal_out(s: &SignalRow) -> pb::MonitoringSignal {
    let (kind, internal) = signal_kind_out(&s.kind);
    let internal = match (s.source.as_str(), kind) {
        ("suite", k) if k == ext::SignalKind::Death as i32 => "funeral_death".to_owned(),
        _ => internal,
    };
    pb::MonitoringSignal {
        id: s.id.clone(),
        source: source_out(&s.source),
        kind,
        internal,
        occurred_on: Some(to_proto_date(s.occurred_on)),
        received_on: Some(to_proto_date(s.received_on)),
        amount_fen: s.amount_fen,
        warning_id: s.warning_id.clone().unwrap_or_default(),
    }
}

fn level_out(l: Level) -> i32 {
    (match l {
        Level::Red => pb::WarningLevel::Red,
        Level::Orange => pb::WarningLevel::Orange,
        Level::Yellow => pb::WarningLevel::Yellow,
    }) as i32
}

fn state_out(s: State) -> i32 {
    (match s {
        State::Raised => pb::WarningState::Raised,
        State::Assigned => pb::WarningState::Assigned,
        State::Visited => pb::WarningState::Visited,
        State::Closed => pb::WarningState::Closed,
    }) as i32
}

fn visit_out(v: &Visit) -> pb::WarningVisit {
    pb::WarningVisit {
        visit_date: Some(to_proto_date(v.date)),
        staff: v
            .staff
            .iter()
            .map(|s| pb::Signatory {
                staff_subject: s.subject.clone(),
                staff_name: s.name.clone(),
                signed: true,
            })
            .collect(),
        finding: v.finding.clone(),
        recorded_by: v.recorded_by.clone(),
    }
}

/// A warning as answered; `signal_ids` its signals, `today` for `overdue`.
pub fn warning_out(row: &WarningRow, signal_ids: Vec<String>, today: time::Date) -> pb::Warning {
    let w = &row.warning;
    let closure = w.closure.as_ref().map(|c| {
        let mut out = pb::Closure {
            reason: c.reason.clone(),
            closed_by: c.closed_by.clone(),
            closed_on: Some(to_proto_date(c.closed_on)),
            ..Default::default()
        };
        out.kind = match &c.evidence {
            Evidence::Application { id } => {
                out.application_id = id.clone();
                pb::ClosureKind::Application
            }
            Evidence::BenefitChange { id } => {
                out.benefit_id = id.clone();
                pb::ClosureKind::BenefitChange
            }
            Evidence::Referral { to } => {
                out.referred_to = to.clone();
                pb::ClosureKind::Referral
            }
            Evidence::Dismissal => pb::ClosureKind::Dismissal,
        } as i32;
        out
    });
    pb::Warning {
        id: row.id.clone(),
        household_id: row.household_id.clone(),
        level: level_out(w.level),
        state: state_out(w.state),
        owner_region: w.owner_region.clone(),
        assignee: w.assignee.clone().unwrap_or_default(),
        raised_on: Some(to_proto_date(w.raised_on)),
        due_on: Some(to_proto_date(w.due_on)),
        overdue: crate::domain::monitoring::warning::is_overdue(w, today),
        escalated: w.escalated,
        rule: w.rule.clone(),
        signal_ids,
        visit: w.visit.as_ref().map(visit_out),
        closure,
    }
}

pub fn roll_line_out(l: &RollLineRow) -> pb::ChainRollLine {
    let roll_state =
        pb::RollState::from_str_name(&format!("ROLL_STATE_{}", l.roll_state.to_ascii_uppercase()));
    let status =
        pb::LineStatus::from_str_name(&format!("LINE_STATUS_{}", l.status.to_ascii_uppercase()));
    pb::ChainRollLine {
        roll_id: l.roll_id.clone(),
        line_id: l.line_id.clone(),
        benefit_id: l.benefit_id.clone(),
        for_month: l.for_month.clone(),
        amount_fen: l.amount_fen,
        roll_state: roll_state.map_or(0, |s| s as i32),
        status: status.map_or(0, |s| s as i32),
    }
}
