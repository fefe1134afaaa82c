//! RecordFilingAndAnnouncement: filing with the level above and the public announcement; the
//! name enters the database in use (a renamed name becomes historic; emits PlaceNameRenamed).
//! Late filing or announcement is recorded. Role: PlaceNameOfficer within the region.

use contracts::civil::placename::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::Request;

use super::shared::{Pending, officer_application};
use super::{Answer, PlaceNameApi};
use crate::domain::Refusal;
use crate::domain::name::{NameStatus, pinyin_forms};
use crate::domain::naming::{self, Deadlines, Stage};
use crate::store::{self, ApplicationRow, PlaceRow};
use crate::{TOPIC_RENAMED, convert};

pub struct Publish {
    filed_on: Date,
    announced_on: Date,
}

impl TryFrom<pb::RecordFilingAndAnnouncementRequest> for Publish {
    type Error = Violations;

    fn try_from(r: pb::RecordFilingAndAnnouncementRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let filed_on = v.date(r.filed_on.as_ref(), "filed_on");
        let announced_on = v.date(r.announced_on.as_ref(), "announced_on");
        match (filed_on, announced_on) {
            (Some(filed_on), Some(announced_on)) => Ok(Publish {
                filed_on,
                announced_on,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::RecordFilingAndAnnouncementRequest>,
) -> Answer<pb::NamingApplication> {
    let _guard = api.places.writes.lock().await;
    let pending = Pending::default();
    let result = api
        .rpc
        .write(
            request,
            async |c: &mut Call, r: &pb::RecordFilingAndAnnouncementRequest| {
                officer_application(c, &r.application_id).await
            },
            async |c: &mut Call, p: Publish, app: ApplicationRow| {
                publish_effect(c, &pending, p, app).await
            },
        )
        .await;
    pending.apply_if(&result, &api.places.index);
    result
}

/// The approval day and the deadlines it set; an application not approved is at a wrong stage.
fn approval(app: &ApplicationRow) -> Result<(Date, Deadlines), Refusal> {
    match (app.approved_on, app.filing_due, app.announcement_due) {
        (Some(approved_on), Some(filing_due), Some(announcement_due)) => Ok((
            approved_on,
            Deadlines {
                filing_due,
                announcement_due,
            },
        )),
        _ => Err(Refusal::WrongStage {
            stage: app.stage.as_str(),
            expected: Stage::Approved.as_str(),
        }),
    }
}

async fn load(c: &mut Call, id: &str) -> Result<PlaceRow, ServiceError> {
    store::place_by_id(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("place name"))
}

/// The renaming takes effect: the record takes the new name, the old name stays in the
/// database as a historic record of its own.
async fn rename(
    c: &mut Call,
    app: &ApplicationRow,
    effective_on: Date,
    pending: &Pending,
) -> Result<(), ServiceError> {
    let mut place = load(c, &app.target_id).await?;
    let historic = PlaceRow {
        id: uuid::Uuid::now_v7().to_string(),
        code: store::next_code(c.db(), &place.region, place.category).await?,
        status: NameStatus::Historic,
        ..place.clone()
    };
    let now_ms = c.now_ms();
    store::insert_place(c.db(), &historic, now_ms).await?;
    let old_name = std::mem::replace(&mut place.name, app.name.clone());
    place.specific_part = app.specific_part.clone();
    place.generic_part = app.generic_part.clone();
    place.pinyin = pinyin_forms(&app.name).spaced;
    place.status = NameStatus::InUse;
    place.approval_document = app.approval_document.clone();
    place.origin_meaning = app.origin_meaning.clone();
    store::update_place(c.db(), &place, now_ms).await?;
    pending.push(historic.entry());
    pending.push(place.entry());
    let event = pb::PlaceNameRenamed {
        place_name_id: place.id.clone(),
        old_name,
        new_name: place.name.clone(),
        region_code: place.region.clone(),
        effective_on: Some(to_proto_date(effective_on)),
    };
    c.publish(
        TOPIC_RENAMED,
        "civil.placename.v1.PlaceNameRenamed",
        &place.id,
        &event,
    )
    .await
}

/// Records the filing and announcement; the name enters use.
async fn publish_effect(
    c: &mut Call,
    pending: &Pending,
    p: Publish,
    app: ApplicationRow,
) -> Result<pb::NamingApplication, ServiceError> {
    let (approved_on, deadlines) = approval(&app)?;
    let (filed_late, announced_late) = naming::publish(
        app.stage,
        approved_on,
        deadlines,
        p.filed_on,
        p.announced_on,
    )?;
    let app = ApplicationRow {
        stage: Stage::InUse,
        filed_on: Some(p.filed_on),
        announced_on: Some(p.announced_on),
        filed_late,
        announced_late,
        ..app
    };
    let effective_on = p.filed_on.max(p.announced_on);
    if app.renaming {
        rename(c, &app, effective_on, pending).await?;
    } else {
        let mut place = load(c, &app.new_place_name_id).await?;
        place.status = NameStatus::InUse;
        let now_ms = c.now_ms();
        store::update_place(c.db(), &place, now_ms).await?;
        pending.push(place.entry());
    }
    let now_ms = c.now_ms();
    store::update_application(c.db(), &app, now_ms).await?;
    Ok(convert::application_out(&app))
}
