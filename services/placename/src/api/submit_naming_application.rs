//! SubmitNamingApplication: a naming or renaming application and its checks (art. 9-10).
//! Role: PlaceNameOfficer within the region (of the renamed record for a renaming).

use contracts::civil::placename::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::Request;

use super::shared::{OFFICER, place};
use super::{Answer, PlaceNameApi, limits};
use crate::convert;
use crate::domain::Refusal;
use crate::domain::name::{Category, NameStatus};
use crate::domain::naming::{Proposal, Stage};
use crate::store::{self, ApplicationRow, PlaceRow};

pub struct Submit {
    renaming: bool,
    specific: String,
    generic: String,
    /// NAMING only (a renaming keeps the record's).
    category: Option<Category>,
    region: String,
    location: pb::Location,
    origin_meaning: String,
    reasons: String,
    submitted_on: Date,
}

impl TryFrom<pb::SubmitNamingApplicationRequest> for Submit {
    type Error = Violations;

    fn try_from(r: pb::SubmitNamingApplicationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let renaming = match pb::ApplicationKind::try_from(r.kind) {
            Ok(pb::ApplicationKind::Naming) => Some(false),
            Ok(pb::ApplicationKind::Renaming) => Some(true),
            _ => None,
        };
        v.check(renaming.is_some(), "kind", "must be NAMING or RENAMING");
        check_texts(&mut v, &r);
        let location = r.location.clone().unwrap_or_default();
        let submitted_on = v.date(r.submitted_on.as_ref(), "submitted_on");
        let category = convert::category_in(r.category);
        check_target(&mut v, &r, renaming, category);
        match (renaming, submitted_on) {
            (Some(renaming), Some(submitted_on)) if v.is_empty() => Ok(Submit {
                renaming,
                specific: r.specific_part.trim().to_owned(),
                generic: r.generic_part.trim().to_owned(),
                category: if renaming { None } else { category },
                region: r.region_code,
                location,
                origin_meaning: r.origin_meaning.trim().to_owned(),
                reasons: r.reasons.trim().to_owned(),
                submitted_on,
            }),
            _ => Err(v),
        }
    }
}

/// The free texts: bounded, the required ones present.
fn check_texts(v: &mut Violations, r: &pb::SubmitNamingApplicationRequest) {
    limits::required_text(
        v,
        &r.specific_part,
        "specific_part",
        limits::MAX_SPECIFIC,
        false,
    );
    limits::required_text(
        v,
        &r.generic_part,
        "generic_part",
        limits::MAX_GENERIC,
        false,
    );
    limits::required_text(v, &r.reasons, "reasons", limits::MAX_TEXT, true);
    limits::text(
        v,
        &r.origin_meaning,
        "origin_meaning",
        limits::MAX_TEXT,
        true,
    );
    let location = r.location.as_ref().map_or("", |l| l.description.as_str());
    limits::text(v, location, "location.description", limits::MAX_LINE, false);
}

/// What the application names: an existing record (renaming), or a category and a region of
/// county, township or village level (naming).
fn check_target(
    v: &mut Violations,
    r: &pb::SubmitNamingApplicationRequest,
    renaming: Option<bool>,
    category: Option<Category>,
) {
    if renaming == Some(true) {
        limits::id(v, &r.place_name_id, "place_name_id");
    } else {
        v.check(category.is_some(), "category", "is required");
        if let Some(region) = v.region(&r.region_code, "region_code") {
            v.check(
                region.as_str().len() >= 6,
                "region_code",
                "must be a county, township or village code",
            );
        }
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::SubmitNamingApplicationRequest>,
) -> Answer<pb::NamingApplication> {
    let _guard = api.places.writes.lock().await;
    api.rpc
        .write(
            request,
            async |c: &mut Call, r: &pb::SubmitNamingApplicationRequest| authorize(c, r).await,
            async |c: &mut Call, s: Submit, target: Option<PlaceRow>| {
                let app = application(s, target.as_ref())?;
                let proposal = Proposal {
                    name: &app.name,
                    category: app.category,
                    region: &app.region,
                    renaming: target.as_ref().map(|t| t.id.as_str()),
                    renaming_protected: target.as_ref().is_some_and(|t| t.protected_heritage),
                };
                let warnings = api.places.check(&proposal)?;
                let app = ApplicationRow { warnings, ..app };
                let now_ms = c.now_ms();
                store::insert_application(c.db(), &app, now_ms).await?;
                c.object(format!("namingApplications/{}", app.id));
                Ok(convert::application_out(&app))
            },
        )
        .await
}

/// The region scope before the fields are looked at: the request's region for a naming, the
/// renamed record's for a renaming (loaded here and handed to the effect).
async fn authorize(
    c: &mut Call,
    r: &pb::SubmitNamingApplicationRequest,
) -> Result<Option<PlaceRow>, ServiceError> {
    c.object("namingApplications/-");
    c.authorize(OFFICER, None)?;
    match pb::ApplicationKind::try_from(r.kind) {
        Ok(pb::ApplicationKind::Naming) if civil_id::RegionCode::parse(&r.region_code).is_ok() => {
            c.authorize(OFFICER, Some(&r.region_code))?;
            Ok(None)
        }
        Ok(pb::ApplicationKind::Renaming) if !r.place_name_id.trim().is_empty() => {
            let target = place(c, &r.place_name_id, "place_name_id").await?;
            c.authorize(OFFICER, Some(&target.region))?;
            Ok(Some(target))
        }
        _ => Ok(None),
    }
}

/// The application row of a valid request (warnings still to check).
fn application(s: Submit, target: Option<&PlaceRow>) -> Result<ApplicationRow, ServiceError> {
    let (category, region) = match (s.renaming, target) {
        (true, Some(t)) if t.status != NameStatus::InUse => return Err(Refusal::NotInUse.into()),
        (true, Some(t)) => (t.category, t.region.clone()),
        (false, _) => (
            s.category
                .ok_or_else(|| ServiceError::invalid("category", "is required"))?,
            s.region,
        ),
        (true, None) => return Err(ServiceError::invalid("place_name_id", "is required")),
    };
    Ok(ApplicationRow {
        id: uuid::Uuid::now_v7().to_string(),
        renaming: s.renaming,
        target_id: target.map(|t| t.id.clone()).unwrap_or_default(),
        name: format!("{}{}", s.specific, s.generic),
        specific_part: s.specific,
        generic_part: s.generic,
        category,
        region,
        longitude_e6: s.location.longitude_e6,
        latitude_e6: s.location.latitude_e6,
        location: s.location.description,
        origin_meaning: s.origin_meaning,
        reasons: s.reasons,
        stage: Stage::Checked,
        warnings: Vec::new(),
        submitted_on: s.submitted_on,
        review_opinion: String::new(),
        addressed_warnings: Vec::new(),
        heritage_assessed: false,
        approval_document: String::new(),
        approved_on: None,
        filing_due: None,
        announcement_due: None,
        filed_on: None,
        announced_on: None,
        filed_late: false,
        announced_late: false,
        new_place_name_id: String::new(),
        expert_report: String::new(),
        public_opinion_report: String::new(),
    })
}
