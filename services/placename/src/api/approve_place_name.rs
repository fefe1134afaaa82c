//! ApprovePlaceName: the approval (批准) after a favourable review; filing and announcement
//! are then due within 15 days each (art. 13). A naming creates the PROPOSED record. Emits
//! PlaceNameApproved. Role: PlaceNameOfficer within the application's region.

use contracts::civil::placename::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::Request;

use super::shared::{Pending, Places, officer_application};
use super::{Answer, PlaceNameApi, limits};
use crate::domain::name::{NameStatus, pinyin_forms};
use crate::domain::naming::{self, Proposal, Stage};
use crate::store::{self, ApplicationRow, PlaceRow};
use crate::{TOPIC_APPROVED, convert};

pub struct Approve {
    document: String,
    approved_on: Date,
}

impl TryFrom<pb::ApprovePlaceNameRequest> for Approve {
    type Error = Violations;

    fn try_from(r: pb::ApprovePlaceNameRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        limits::required_text(
            &mut v,
            &r.approval_document,
            "approval_document",
            limits::MAX_LINE,
            false,
        );
        let approved_on = v.date(r.approved_on.as_ref(), "approved_on");
        match approved_on {
            Some(approved_on) if v.is_empty() => Ok(Approve {
                document: r.approval_document.trim().to_owned(),
                approved_on,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::ApprovePlaceNameRequest>,
) -> Answer<pb::NamingApplication> {
    let _guard = api.places.writes.lock().await;
    let pending = Pending::default();
    let result = api
        .rpc
        .write(
            request,
            async |c: &mut Call, r: &pb::ApprovePlaceNameRequest| {
                officer_application(c, &r.application_id).await
            },
            async |c: &mut Call, approve: Approve, app: ApplicationRow| {
                approve_effect(c, &api.places, &pending, approve, app).await
            },
        )
        .await;
    pending.apply_if(&result, &api.places.index);
    result
}

/// The PROPOSED record a naming creates at approval.
async fn proposed_place(c: &mut Call, app: &ApplicationRow) -> Result<PlaceRow, ServiceError> {
    let row = PlaceRow {
        id: uuid::Uuid::now_v7().to_string(),
        code: store::next_code(c.db(), &app.region, app.category).await?,
        name: app.name.clone(),
        specific_part: app.specific_part.clone(),
        generic_part: app.generic_part.clone(),
        pinyin: pinyin_forms(&app.name).spaced,
        category: app.category,
        region: app.region.clone(),
        longitude_e6: app.longitude_e6,
        latitude_e6: app.latitude_e6,
        location: app.location.clone(),
        origin_meaning: app.origin_meaning.clone(),
        status: NameStatus::Proposed,
        approval_document: app.approval_document.clone(),
        protected_heritage: false,
    };
    let now_ms = c.now_ms();
    store::insert_place(c.db(), &row, now_ms).await?;
    Ok(row)
}

async fn publish(c: &mut Call, app: &ApplicationRow, place_id: &str) -> Result<(), ServiceError> {
    let event = pb::PlaceNameApproved {
        application_id: app.id.clone(),
        place_name_id: place_id.to_owned(),
        name: app.name.clone(),
        category: convert::category_out(app.category),
        region_code: app.region.clone(),
        approval_document: app.approval_document.clone(),
        approved_on: app.approved_on.map(to_proto_date),
    };
    c.publish(
        TOPIC_APPROVED,
        "civil.placename.v1.PlaceNameApproved",
        place_id,
        &event,
    )
    .await
}

/// The approval's effect: deadlines, the duplicate re-check, the PROPOSED record, the event.
async fn approve_effect(
    c: &mut Call,
    places: &Places,
    pending: &Pending,
    approve: Approve,
    app: ApplicationRow,
) -> Result<pb::NamingApplication, ServiceError> {
    let deadlines = naming::approve(c.rpc().calendar(), app.stage, approve.approved_on)?;
    // A same name may have entered the scope since the application.
    let proposal = Proposal {
        name: &app.name,
        category: app.category,
        region: &app.region,
        renaming: app.renaming.then_some(app.target_id.as_str()),
        renaming_protected: false,
    };
    places.check(&proposal)?;
    let mut app = ApplicationRow {
        stage: Stage::Approved,
        approval_document: approve.document,
        approved_on: Some(approve.approved_on),
        filing_due: Some(deadlines.filing_due),
        announcement_due: Some(deadlines.announcement_due),
        ..app
    };
    let place_id = if app.renaming {
        app.target_id.clone()
    } else {
        let row = proposed_place(c, &app).await?;
        pending.push(row.entry());
        app.new_place_name_id = row.id.clone();
        row.id
    };
    let now_ms = c.now_ms();
    store::update_application(c.db(), &app, now_ms).await?;
    publish(c, &app, &place_id).await?;
    Ok(convert::application_out(&app))
}
