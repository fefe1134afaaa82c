//! Conversions between the domain types and the protobuf messages.

use contracts::civil::common::v1::PersonRef;
use contracts::civil::socialorg::v1 as pb;
use kit::error::to_proto_date;

use crate::domain::annual_report::InspectionResult;
use crate::domain::credit_list::{CreditList, RemovalReason, Trigger};
use crate::domain::registration::{ActivityField, OrganisationKind};
use crate::store::{ChangeRow, ListingRow, OrgStatus, RatingRow, ReportRow, TaskRow};

pub fn kind_in(v: i32) -> Option<OrganisationKind> {
    match pb::OrganisationKind::try_from(v).ok()? {
        pb::OrganisationKind::Unspecified => None,
        pb::OrganisationKind::SocialGroup => Some(OrganisationKind::SocialGroup),
        pb::OrganisationKind::PrivateNonEnterpriseUnit => {
            Some(OrganisationKind::PrivateNonEnterpriseUnit)
        }
        pb::OrganisationKind::Foundation => Some(OrganisationKind::Foundation),
    }
}

pub fn kind_out(k: OrganisationKind) -> pb::OrganisationKind {
    match k {
        OrganisationKind::SocialGroup => pb::OrganisationKind::SocialGroup,
        OrganisationKind::PrivateNonEnterpriseUnit => {
            pb::OrganisationKind::PrivateNonEnterpriseUnit
        }
        OrganisationKind::Foundation => pb::OrganisationKind::Foundation,
    }
}

pub fn field_in(v: i32) -> Option<ActivityField> {
    match pb::ActivityField::try_from(v).ok()? {
        pb::ActivityField::Unspecified => None,
        pb::ActivityField::TradeAssociation => Some(ActivityField::TradeAssociation),
        pb::ActivityField::ScienceTechnology => Some(ActivityField::ScienceTechnology),
        pb::ActivityField::Charity => Some(ActivityField::Charity),
        pb::ActivityField::CommunityService => Some(ActivityField::CommunityService),
        pb::ActivityField::Other => Some(ActivityField::Other),
    }
}

pub fn field_out(f: ActivityField) -> pb::ActivityField {
    match f {
        ActivityField::TradeAssociation => pb::ActivityField::TradeAssociation,
        ActivityField::ScienceTechnology => pb::ActivityField::ScienceTechnology,
        ActivityField::Charity => pb::ActivityField::Charity,
        ActivityField::CommunityService => pb::ActivityField::CommunityService,
        ActivityField::Other => pb::ActivityField::Other,
    }
}

pub fn status_out(s: OrgStatus) -> pb::OrganisationStatus {
    match s {
        OrgStatus::Active => pb::OrganisationStatus::Active,
        OrgStatus::Deregistered => pb::OrganisationStatus::Deregistered,
        OrgStatus::Revoked => pb::OrganisationStatus::Revoked,
    }
}

pub fn result_in(v: i32) -> Option<InspectionResult> {
    match pb::InspectionResult::try_from(v).ok()? {
        pb::InspectionResult::Unspecified => None,
        pb::InspectionResult::Passed => Some(InspectionResult::Passed),
        pb::InspectionResult::BasicallyPassed => Some(InspectionResult::BasicallyPassed),
        pb::InspectionResult::Failed => Some(InspectionResult::Failed),
    }
}

pub fn result_out(r: InspectionResult) -> pb::InspectionResult {
    match r {
        InspectionResult::Passed => pb::InspectionResult::Passed,
        InspectionResult::BasicallyPassed => pb::InspectionResult::BasicallyPassed,
        InspectionResult::Failed => pb::InspectionResult::Failed,
    }
}

pub fn list_in(v: i32) -> Option<CreditList> {
    match pb::CreditList::try_from(v).ok()? {
        pb::CreditList::Unspecified => None,
        pb::CreditList::Abnormal => Some(CreditList::Abnormal),
        pb::CreditList::Serious => Some(CreditList::Serious),
    }
}

pub fn list_out(l: CreditList) -> pb::CreditList {
    match l {
        CreditList::Abnormal => pb::CreditList::Abnormal,
        CreditList::Serious => pb::CreditList::Serious,
    }
}

pub fn trigger_in(v: i32) -> Option<Trigger> {
    use pb::ListingTrigger as T;
    Some(match T::try_from(v).ok()? {
        T::Unspecified => return None,
        T::MissedAnnualReport => Trigger::MissedAnnualReport,
        T::Unreachable => Trigger::Unreachable,
        T::OverdueCorrection => Trigger::OverdueCorrection,
        T::Warning => Trigger::Warning,
        T::Fine => Trigger::Fine,
        T::SuspensionOrder => Trigger::SuspensionOrder,
        T::Revocation => Trigger::Revocation,
        T::AbnormalTwoYears => Trigger::AbnormalTwoYears,
    })
}

pub fn trigger_out(t: Trigger) -> pb::ListingTrigger {
    use pb::ListingTrigger as T;
    match t {
        Trigger::MissedAnnualReport => T::MissedAnnualReport,
        Trigger::Unreachable => T::Unreachable,
        Trigger::OverdueCorrection => T::OverdueCorrection,
        Trigger::Warning => T::Warning,
        Trigger::Fine => T::Fine,
        Trigger::SuspensionOrder => T::SuspensionOrder,
        Trigger::Revocation => T::Revocation,
        Trigger::AbnormalTwoYears => T::AbnormalTwoYears,
    }
}

pub fn reason_out(r: RemovalReason) -> pb::RemovalReason {
    match r {
        RemovalReason::Corrected => pb::RemovalReason::Corrected,
        RemovalReason::Escalated => pb::RemovalReason::Escalated,
        RemovalReason::CleanYears => pb::RemovalReason::CleanYears,
        RemovalReason::Deregistered => pb::RemovalReason::Deregistered,
    }
}

/// A listing with public fields only.
pub fn listing_out(row: &ListingRow) -> pb::Listing {
    let l = &row.listing;
    pb::Listing {
        listing_id: l.id.clone(),
        organisation_id: row.organisation_id.clone(),
        organisation_name: row.organisation_name.clone(),
        credit_code: row.credit_code.clone(),
        list: list_out(l.list).into(),
        trigger: trigger_out(l.trigger).into(),
        listed_on: Some(to_proto_date(l.listed_on)),
        evidence: row.evidence.clone(),
        corrected_on: l.corrected_on.map(to_proto_date),
        removal_due: l.removal_due.map(to_proto_date),
        removed_on: l.removed_on.map(to_proto_date),
        removal_reason: l.removal_reason.map(reason_out).unwrap_or_default().into(),
        deciding_authority: row.deciding_authority.clone(),
    }
}

/// A registered change; `person` opens a sealed "id\nname" into the caller's view.
pub fn change_out(
    c: &ChangeRow,
    person: impl Fn(&str) -> Option<PersonRef>,
) -> pb::OrganisationChange {
    let rep = c.what == "legal_representative";
    pb::OrganisationChange {
        what: c.what.clone(),
        from: if rep {
            String::new()
        } else {
            c.old_value.clone()
        },
        to: if rep {
            String::new()
        } else {
            c.new_value.clone()
        },
        from_person: person(&c.from_sealed),
        to_person: person(&c.to_sealed),
        changed_on: c.changed_on.map(to_proto_date),
        recorded_by: c.recorded_by.clone(),
        reason: c.reason.clone(),
    }
}

pub fn rating_out(r: &RatingRow) -> pb::Rating {
    pb::Rating {
        organisation_id: r.organisation_id.clone(),
        level: r.level,
        granted_on: Some(to_proto_date(r.granted_on)),
        valid_until: Some(to_proto_date(r.valid_until)),
    }
}

pub fn report_out(r: &ReportRow) -> pb::AnnualReport {
    pb::AnnualReport {
        organisation_id: r.organisation_id.clone(),
        year: r.year,
        submitted_on: Some(to_proto_date(r.submitted_on)),
        due_on: Some(to_proto_date(r.due_on)),
        late: r.late,
        result: result_out(r.result).into(),
        spending_ratio_met: r.spending_ratio_met,
    }
}

pub fn task_out(t: &TaskRow) -> pb::RepresentativeChangeTask {
    pb::RepresentativeChangeTask {
        task_id: t.id.clone(),
        organisation_id: t.organisation_id.clone(),
        reason: t.reason.clone(),
        status: if t.open {
            pb::TaskStatus::Open
        } else {
            pb::TaskStatus::Done
        }
        .into(),
        opened_at_ms: t.opened_at_ms,
    }
}
