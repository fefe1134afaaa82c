//! Proto <-> domain: `<thing>_in` (proto -> domain), `<thing>_out` (domain -> proto).

use contracts::civil::placename::v1 as pb;
use kit::ServiceError;
use kit::error::to_proto_date;
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::Refusal;
use crate::domain::address::{self, Address};
use crate::domain::house_number::{self, Side};
use crate::domain::name::{Category, NameStatus, pinyin_forms};
use crate::domain::naming::Stage;
use crate::index::{Entry, Mode};
use crate::store::{ApplicationRow, HouseRow, PlaceRow};

impl From<Refusal> for ServiceError {
    /// FAILED_PRECONDITION with the refusal's reason. A duplicate also names the existing
    /// record in the ErrorInfo metadata (`place_name_id`, `code`, `region_code`), so a clerk or
    /// a calling system finds it without searching: kit's `Refusal` trait carries a reason
    /// only, hence this one conversion of our own.
    fn from(r: Refusal) -> Self {
        let Refusal::Duplicate { existing, .. } = &r else {
            return ServiceError::refused(r.reason(), r.to_string());
        };
        let metadata: std::collections::HashMap<String, String> = [
            ("place_name_id", &existing.id),
            ("code", &existing.code),
            ("region_code", &existing.region),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
        let details = ErrorDetails::with_error_info(r.reason(), kit::error::ERROR_DOMAIN, metadata);
        ServiceError::Status(Status::with_error_details(
            tonic::Code::FailedPrecondition,
            r.to_string(),
            details,
        ))
    }
}

pub fn category_in(v: i32) -> Option<Category> {
    Category::from_number(v)
}

pub fn category_out(c: Category) -> i32 {
    c.number()
}

pub fn mode_in(v: i32) -> Option<Mode> {
    match pb::SearchMode::try_from(v).ok()? {
        pb::SearchMode::Exact => Some(Mode::Exact),
        pb::SearchMode::Prefix => Some(Mode::Prefix),
        pb::SearchMode::Pinyin => Some(Mode::Pinyin),
        pb::SearchMode::Fuzzy => Some(Mode::Fuzzy),
        pb::SearchMode::Unspecified => None,
    }
}

pub fn status_out(s: NameStatus) -> pb::NameStatus {
    match s {
        NameStatus::Proposed => pb::NameStatus::Proposed,
        NameStatus::InUse => pb::NameStatus::InUse,
        NameStatus::Historic => pb::NameStatus::Historic,
    }
}

pub fn stage_out(s: Stage) -> pb::ApplicationStage {
    match s {
        Stage::Checked => pb::ApplicationStage::Checked,
        Stage::Reviewed => pb::ApplicationStage::Reviewed,
        Stage::Approved => pb::ApplicationStage::Approved,
        Stage::InUse => pb::ApplicationStage::InUse,
        Stage::Rejected => pb::ApplicationStage::Rejected,
    }
}

pub fn side_in(v: i32) -> Option<Side> {
    match pb::Side::try_from(v).ok()? {
        pb::Side::Unspecified => None,
        pb::Side::Left => Some(Side::Left),
        pb::Side::Right => Some(Side::Right),
    }
}

pub fn side_out(s: Side) -> pb::Side {
    match s {
        Side::Left => pb::Side::Left,
        Side::Right => pb::Side::Right,
    }
}

pub fn place_out(p: &PlaceRow) -> pb::PlaceName {
    pb::PlaceName {
        place_name_id: p.id.clone(),
        code: p.code.clone(),
        name: p.name.clone(),
        specific_part: p.specific_part.clone(),
        generic_part: p.generic_part.clone(),
        pinyin: p.pinyin.clone(),
        category: category_out(p.category),
        region_code: p.region.clone(),
        location: Some(pb::Location {
            longitude_e6: p.longitude_e6,
            latitude_e6: p.latitude_e6,
            description: p.location.clone(),
        }),
        origin_meaning: p.origin_meaning.clone(),
        status: status_out(p.status).into(),
        approval_document: p.approval_document.clone(),
        protected_heritage: p.protected_heritage,
    }
}

/// A search result: the indexed fields (GetPlaceName returns the whole record).
pub fn entry_out(e: &Entry) -> pb::PlaceName {
    let split = e.name.len().saturating_sub(e.generic_len);
    let (specific, generic) = e.name.split_at(if e.name.is_char_boundary(split) {
        split
    } else {
        e.name.len()
    });
    pb::PlaceName {
        place_name_id: e.id.clone(),
        code: e.code.clone(),
        name: e.name.clone(),
        specific_part: specific.to_owned(),
        generic_part: generic.to_owned(),
        pinyin: pinyin_forms(&e.name).spaced,
        category: category_out(e.category),
        region_code: e.region.clone(),
        status: status_out(e.status).into(),
        ..Default::default()
    }
}

pub fn application_out(a: &ApplicationRow) -> pb::NamingApplication {
    let kind = if a.renaming {
        pb::ApplicationKind::Renaming
    } else {
        pb::ApplicationKind::Naming
    };
    let warnings = a.warnings.iter().map(|w| pb::Warning {
        code: w.code.clone(),
        message: w.message.clone(),
    });
    pb::NamingApplication {
        application_id: a.id.clone(),
        kind: kind.into(),
        place_name_id: if a.renaming {
            a.target_id.clone()
        } else {
            a.new_place_name_id.clone()
        },
        name: a.name.clone(),
        specific_part: a.specific_part.clone(),
        generic_part: a.generic_part.clone(),
        category: category_out(a.category),
        region_code: a.region.clone(),
        stage: stage_out(a.stage).into(),
        warnings: warnings.collect(),
        submitted_on: Some(to_proto_date(a.submitted_on)),
        review_opinion: a.review_opinion.clone(),
        approval_document: a.approval_document.clone(),
        approved_on: a.approved_on.map(to_proto_date),
        filing_due: a.filing_due.map(to_proto_date),
        announcement_due: a.announcement_due.map(to_proto_date),
        filed_on: a.filed_on.map(to_proto_date),
        announced_on: a.announced_on.map(to_proto_date),
        filed_late: a.filed_late,
        announced_late: a.announced_late,
        new_place_name_id: a.new_place_name_id.clone(),
        expert_report: a.expert_report.clone(),
        public_opinion_report: a.public_opinion_report.clone(),
    }
}

pub fn house_out(h: &HouseRow) -> pb::HouseNumber {
    pb::HouseNumber {
        house_number_id: h.id.clone(),
        road_id: h.road_id.clone(),
        side: side_out(h.side).into(),
        number: h.door.number,
        sub_number: h.door.sub,
        position_m: h.door.position_m,
        label: house_number::label(h.door.number, h.door.sub),
    }
}

pub fn address_out(a: &Address) -> pb::StandardAddress {
    pb::StandardAddress {
        text: address::compose(a),
        region: a.region.clone(),
        road: a.road.clone(),
        number: a.number,
        sub_number: a.sub_number,
        building: a.building.clone(),
        unit: a.unit.clone(),
        room: a.room.clone(),
    }
}
