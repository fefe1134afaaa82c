//! Between the wire (civil.assistance.v1) and the domain: input checks that name the bad field,
//! and responses with identity numbers masked unless the caller may see them: the enum codes
//! here, household input in `household`, the views answered in `views`.

mod household;
pub mod monitoring;
mod views;

pub use household::*;
pub use views::*;

use contracts::civil::assistance::v1 as pb;
use contracts::civil::common::v1::PersonRef;
use kit::Violations;
use kit::error::to_proto_date;
use kit::rpc::Text as _;
use money::Fen;

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

/// Most income or property items one member may list.
const MAX_ITEMS: usize = 20;

/// A money field of a request: 0..=10^12 fen (`money::Fen::from_proto`), or a violation on it.
pub fn fen(v: &mut Violations, value: i64, field: &str) -> Option<Fen> {
    match Fen::from_proto(value, field) {
        Ok(amount) => Some(amount),
        Err(bad) => {
            v.add(&bad.field, bad.description);
            None
        }
    }
}

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

pub fn relationship_to_proto(r: Relationship) -> i32 {
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
