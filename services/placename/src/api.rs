//! gRPC handlers: decode -> authorize -> domain -> store -> encode. Writes run once per request
//! id ([`kit::idempotency::once`]) in one transaction with their audit rows and events; the
//! in-memory search index is updated after the commit.

use std::sync::{Arc, Mutex, RwLock};

use auth::audit::{AuditEntry, AuditWriter};
use auth::{Principal, Role};
use contracts::civil::placename::v1 as pb;
use contracts::civil::placename::v1::place_name_service_server::PlaceNameService;
use futures::future::BoxFuture;
use kit::error::to_proto_date;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use crate::domain::address::{self, Address};
use crate::domain::house_number::{self, Side};
use crate::domain::name::{Category, NameStatus, pinyin_forms};
use crate::domain::naming::{self, Existing, NamingPolicy, Proposal, Stage, Warning};
use crate::domain::{Refusal, census};
use crate::index::{Entry, Mode, Query, SearchIndex};
use crate::regions::RegionNames;
use crate::store::{self, ApplicationRow, HouseRow, PlaceRow};

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        ServiceError::refused(r.reason(), r.to_string())
    }
}

type Tx<'c, T> = BoxFuture<'c, Result<T, ServiceError>>;

const OFFICER: &[Role] = &[Role::PlaceNameOfficer];
const MAX_PAGE: i32 = 200;

/// Shared, in-process search index. Writers hold it only to apply a committed change.
pub type SharedIndex = Arc<RwLock<SearchIndex>>;

#[derive(Clone)]
pub struct PlaceNameApi {
    ctx: kit::ServiceContext,
    db: kit::store::Db,
    index: SharedIndex,
    regions: Arc<RegionNames>,
    policy: Arc<NamingPolicy>,
    reads: AuditWriter,
    /// Serialises naming checks with the writes they guard within this process (the checks
    /// read the index, which a concurrent write could change between check and commit).
    writes: Arc<tokio::sync::Mutex<()>>,
}

fn audit(p: &Principal, action: &str, object: &str) -> AuditEntry {
    AuditEntry::new(p, action, object).with_trace_id(kit::telemetry::current_trace_id())
}

pub fn category_in(v: i32) -> Option<Category> {
    Category::from_number(v)
}

pub fn category_out(c: Category) -> i32 {
    c.number()
}

pub fn status_out(s: NameStatus) -> pb::NameStatus {
    match s {
        NameStatus::Proposed => pb::NameStatus::Proposed,
        NameStatus::InUse => pb::NameStatus::InUse,
        NameStatus::Historic => pb::NameStatus::Historic,
    }
}

fn stage_out(s: Stage) -> pb::ApplicationStage {
    match s {
        Stage::Checked => pb::ApplicationStage::Checked,
        Stage::Reviewed => pb::ApplicationStage::Reviewed,
        Stage::Approved => pb::ApplicationStage::Approved,
        Stage::InUse => pb::ApplicationStage::InUse,
        Stage::Rejected => pb::ApplicationStage::Rejected,
    }
}

fn side_in(v: i32) -> Option<Side> {
    match pb::Side::try_from(v).ok()? {
        pb::Side::Unspecified => None,
        pb::Side::Left => Some(Side::Left),
        pb::Side::Right => Some(Side::Right),
    }
}

fn side_out(s: Side) -> pb::Side {
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
fn entry_out(e: &Entry) -> pb::PlaceName {
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

fn app_out(a: &ApplicationRow) -> pb::NamingApplication {
    pb::NamingApplication {
        application_id: a.id.clone(),
        kind: if a.renaming {
            pb::ApplicationKind::Renaming
        } else {
            pb::ApplicationKind::Naming
        }
        .into(),
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
        warnings: a
            .warnings
            .iter()
            .map(|w| pb::Warning {
                code: w.code.clone(),
                message: w.message.clone(),
            })
            .collect(),
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
    }
}

fn house_out(h: &HouseRow) -> pb::HouseNumber {
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

/// Runs the naming checks of a proposal against the records sharing its name or its sound.
fn check(
    index: &SearchIndex,
    policy: &NamingPolicy,
    proposal: &Proposal<'_>,
) -> Result<Vec<Warning>, Refusal> {
    let pinyin = pinyin_forms(proposal.name).full;
    let mut candidates: Vec<&Entry> = index.with_name(proposal.name).collect();
    candidates.extend(
        index
            .with_pinyin(&pinyin)
            .filter(|e| e.name != proposal.name),
    );
    naming::check_proposal(
        policy,
        proposal,
        candidates.into_iter().map(|e| Existing {
            id: &e.id,
            name: &e.name,
            pinyin_full: &e.pinyin_full,
            category: e.category,
            region: &e.region,
            status: e.status,
        }),
    )
}

/// Index changes made by a write, applied once the transaction committed.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<Entry>>>);

impl Pending {
    fn push(&self, e: Entry) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }

    fn apply(&self, index: &SharedIndex) {
        let entries = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if entries.is_empty() {
            return;
        }
        let mut index = index.write().unwrap_or_else(|p| p.into_inner());
        for e in entries {
            index.upsert(e);
        }
    }
}

impl PlaceNameApi {
    pub fn new(
        ctx: kit::ServiceContext,
        db: kit::store::Db,
        index: SharedIndex,
        policy: NamingPolicy,
    ) -> Self {
        let reads = AuditWriter::spawn(db.pool.clone());
        Self {
            ctx,
            db,
            index,
            regions: Arc::new(RegionNames::embedded()),
            policy: Arc::new(policy),
            reads,
            writes: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, SearchIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    async fn place(&self, id: &str, field: &str) -> Result<PlaceRow, ServiceError> {
        if id.trim().is_empty() {
            return Err(ServiceError::invalid(field, "is required"));
        }
        let mut conn = self.db.pool.acquire().await?;
        store::place_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("placeNames/{id}")))
    }

    async fn application(&self, p: &Principal, id: &str) -> Result<ApplicationRow, ServiceError> {
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("application_id", "is required"));
        }
        let mut conn = self.db.pool.acquire().await?;
        let app = store::application_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("namingApplications/{id}")))?;
        p.authorize(OFFICER, Some(&app.region))?;
        Ok(app)
    }

    fn search(
        &self,
        req: &pb::SearchPlaceNamesRequest,
    ) -> Result<pb::SearchPlaceNamesResponse, ServiceError> {
        let mut v = Violations::new();
        let mode = match pb::SearchMode::try_from(req.mode) {
            Ok(pb::SearchMode::Exact) => Some(Mode::Exact),
            Ok(pb::SearchMode::Prefix) => Some(Mode::Prefix),
            Ok(pb::SearchMode::Pinyin) => Some(Mode::Pinyin),
            Ok(pb::SearchMode::Fuzzy) => Some(Mode::Fuzzy),
            _ => None,
        };
        v.check(
            mode.is_some(),
            "mode",
            "must be EXACT, PREFIX, PINYIN or FUZZY",
        );
        v.required(&req.query, "query");
        v.check(
            req.query.chars().count() <= 50,
            "query",
            "must be at most 50 characters",
        );
        v.check(
            req.region_code.bytes().all(|b| b.is_ascii_digit()),
            "region_code",
            "must be digits",
        );
        let category = if req.category == 0 {
            None
        } else {
            category_in(req.category)
        };
        v.check(
            req.category == 0 || category.is_some(),
            "category",
            "is not a category",
        );
        v.check(
            (0..=MAX_PAGE).contains(&req.page_size),
            "page_size",
            "must be 0-200",
        );
        v.finish()?;
        let Some(mode) = mode else {
            return Err(ServiceError::invalid("mode", "is required"));
        };
        let query = Query {
            text: req.query.trim(),
            mode,
            region_prefix: &req.region_code,
            category,
            include_historic: req.include_historic,
            page_size: if req.page_size == 0 {
                20
            } else {
                req.page_size as usize
            },
            page_token: &req.page_token,
        };
        let index = self.read_index();
        let page = index
            .search(&query)
            .map_err(|e| ServiceError::invalid("page_token", e.to_string()))?;
        let place_names = page
            .ids
            .iter()
            .filter_map(|id| index.get(id))
            .map(entry_out)
            .collect();
        Ok(pb::SearchPlaceNamesResponse {
            place_names,
            next_page_token: page.next_page_token,
        })
    }

    async fn import(
        &self,
        p: Principal,
        req: pb::ImportCensusRecordsRequest,
    ) -> Result<pb::ImportReport, ServiceError> {
        p.authorize(OFFICER, None)?;
        let mut v = Violations::new();
        v.required(&req.csv, "csv");
        v.finish()?;
        let _guard = self.writes.lock().await;
        let pending = Pending::default();
        let (api, principal, out, csv) =
            (self.clone(), p.clone(), pending.clone(), req.csv.clone());
        let report = kit::idempotency::once(
            &self.db,
            "ImportCensusRecords",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::ImportReport> {
                Box::pin(async move {
                    let validated = {
                        let index = api.read_index();
                        census::validate(
                            &csv,
                            &api.policy.allowed_characters,
                            |r| principal.covers_region(r.as_str()),
                            |name, category, region| {
                                index.with_name(name).any(|e| {
                                    e.status != NameStatus::Historic
                                        && crate::domain::name::same_scope(
                                            category, region, e.category, &e.region,
                                        )
                                })
                            },
                        )
                    };
                    let records = match validated {
                        Ok(records) => records,
                        Err(errors) => {
                            let errors = errors
                                .into_iter()
                                .map(|e| pb::RowError {
                                    line: e.line as i32,
                                    column: e.column,
                                    message: e.message,
                                })
                                .collect();
                            return Ok(pb::ImportReport {
                                imported: 0,
                                errors,
                            });
                        }
                    };
                    let keys: Vec<_> = records
                        .iter()
                        .map(|r| (r.region.clone(), r.category))
                        .collect();
                    let codes = store::next_codes(conn, &keys).await?;
                    let rows: Vec<PlaceRow> = records
                        .iter()
                        .zip(codes)
                        .map(|(r, code)| PlaceRow {
                            id: uuid::Uuid::now_v7().to_string(),
                            code,
                            name: r.name.clone(),
                            specific_part: r.specific_part.clone(),
                            generic_part: r.generic_part.clone(),
                            pinyin: pinyin_forms(&r.name).spaced,
                            category: r.category,
                            region: r.region.clone(),
                            longitude_e6: r.longitude_e6,
                            latitude_e6: r.latitude_e6,
                            location: r.location.clone(),
                            origin_meaning: r.origin_meaning.clone(),
                            status: r.status,
                            approval_document: r.approval_document.clone(),
                            protected_heritage: r.protected_heritage,
                        })
                        .collect();
                    store::insert_places(conn, &rows).await?;
                    for row in &rows {
                        out.push(row.entry());
                    }
                    let object = format!("placeNames/import:{}", records.len());
                    auth::audit::append(
                        conn,
                        &[audit(&principal, "placename.ImportCensusRecords", &object)],
                    )
                    .await?;
                    Ok(pb::ImportReport {
                        imported: records.len() as i32,
                        errors: Vec::new(),
                    })
                })
            },
        )
        .await?;
        pending.apply(&self.index);
        Ok(report)
    }

    async fn submit(
        &self,
        p: Principal,
        req: pb::SubmitNamingApplicationRequest,
    ) -> Result<pb::NamingApplication, ServiceError> {
        let mut v = Violations::new();
        let renaming = match pb::ApplicationKind::try_from(req.kind) {
            Ok(pb::ApplicationKind::Naming) => Some(false),
            Ok(pb::ApplicationKind::Renaming) => Some(true),
            _ => None,
        };
        v.check(renaming.is_some(), "kind", "must be NAMING or RENAMING");
        v.required(&req.specific_part, "specific_part");
        v.required(&req.generic_part, "generic_part");
        v.required(&req.reasons, "reasons");
        let submitted_on = v.date(req.submitted_on.as_ref(), "submitted_on");
        let mut category = category_in(req.category);
        let mut region = req.region_code.clone();
        if renaming == Some(true) {
            v.required(&req.place_name_id, "place_name_id");
        } else {
            v.check(category.is_some(), "category", "is required");
            if let Some(r) = v.region(&req.region_code, "region_code") {
                v.check(
                    r.as_str().len() >= 6,
                    "region_code",
                    "must be a county, township or village code",
                );
            }
        }
        v.finish()?;
        let (Some(renaming), Some(submitted_on)) = (renaming, submitted_on) else {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
        let mut target: Option<PlaceRow> = None;
        if renaming {
            let t = self.place(&req.place_name_id, "place_name_id").await?;
            p.authorize(OFFICER, Some(&t.region))?;
            if t.status != NameStatus::InUse {
                return Err(Refusal::NotInUse.into());
            }
            category = Some(t.category);
            region = t.region.clone();
            target = Some(t);
        }
        let Some(category) = category else {
            return Err(ServiceError::invalid("category", "is required"));
        };
        p.authorize(OFFICER, Some(&region))?;
        let specific = req.specific_part.trim().to_owned();
        let generic = req.generic_part.trim().to_owned();
        let location = req.location.clone().unwrap_or_default();
        let app = ApplicationRow {
            id: uuid::Uuid::now_v7().to_string(),
            renaming,
            target_id: target.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
            name: format!("{specific}{generic}"),
            specific_part: specific,
            generic_part: generic,
            category,
            region,
            longitude_e6: location.longitude_e6,
            latitude_e6: location.latitude_e6,
            location: location.description,
            origin_meaning: req.origin_meaning.trim().to_owned(),
            reasons: req.reasons.trim().to_owned(),
            stage: Stage::Checked,
            warnings: Vec::new(),
            submitted_on,
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
        };
        let _guard = self.writes.lock().await;
        let api = self.clone();
        kit::idempotency::once(
            &self.db,
            "SubmitNamingApplication",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::NamingApplication> {
                Box::pin(async move {
                    let mut app = app;
                    let proposal = Proposal {
                        name: &app.name,
                        category: app.category,
                        region: &app.region,
                        renaming: target.as_ref().map(|t| t.id.as_str()),
                        renaming_protected: target.as_ref().is_some_and(|t| t.protected_heritage),
                    };
                    app.warnings = check(&api.read_index(), &api.policy, &proposal)?;
                    store::insert_application(conn, &app).await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "placename.SubmitNamingApplication",
                            &format!("namingApplications/{}", app.id),
                        )],
                    )
                    .await?;
                    Ok(app_out(&app))
                })
            },
        )
        .await
    }

    async fn review(
        &self,
        p: Principal,
        req: pb::RecordExpertReviewRequest,
    ) -> Result<pb::NamingApplication, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.opinion, "opinion");
        v.date(req.reviewed_on.as_ref(), "reviewed_on");
        v.finish()?;
        let app = self.application(&p, &req.application_id).await?;
        let (favourable, addressed, heritage, opinion) = (
            req.favourable,
            req.addressed_warnings.clone(),
            req.heritage_assessed,
            req.opinion.trim().to_owned(),
        );
        kit::idempotency::once(
            &self.db,
            "RecordExpertReview",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::NamingApplication> {
                Box::pin(async move {
                    let mut app = store::application_by_id(conn, &app.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("application"))?;
                    app.stage =
                        naming::review(app.stage, &app.warnings, favourable, &addressed, heritage)?;
                    app.review_opinion = opinion;
                    app.addressed_warnings = addressed;
                    app.heritage_assessed = heritage;
                    store::update_application(conn, &app).await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "placename.RecordExpertReview",
                            &format!("namingApplications/{}", app.id),
                        )],
                    )
                    .await?;
                    Ok(app_out(&app))
                })
            },
        )
        .await
    }

    async fn approve(
        &self,
        p: Principal,
        req: pb::ApprovePlaceNameRequest,
    ) -> Result<pb::NamingApplication, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.approval_document, "approval_document");
        let approved_on = v.date(req.approved_on.as_ref(), "approved_on");
        v.finish()?;
        let Some(approved_on) = approved_on else {
            return Err(ServiceError::invalid("approved_on", "is required"));
        };
        let app = self.application(&p, &req.application_id).await?;
        let _guard = self.writes.lock().await;
        let pending = Pending::default();
        let (api, out, document) = (
            self.clone(),
            pending.clone(),
            req.approval_document.trim().to_owned(),
        );
        let result = kit::idempotency::once(
            &self.db,
            "ApprovePlaceName",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::NamingApplication> {
                Box::pin(async move {
                    let mut app = store::application_by_id(conn, &app.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("application"))?;
                    let deadlines = naming::approve(&api.ctx.calendar, app.stage, approved_on)?;
                    // A same name may have entered the scope since the application.
                    let target = if app.renaming {
                        Some(app.target_id.clone())
                    } else {
                        None
                    };
                    let proposal = Proposal {
                        name: &app.name,
                        category: app.category,
                        region: &app.region,
                        renaming: target.as_deref(),
                        renaming_protected: false,
                    };
                    check(&api.read_index(), &api.policy, &proposal)?;
                    app.stage = Stage::Approved;
                    app.approval_document = document;
                    app.approved_on = Some(approved_on);
                    app.filing_due = Some(deadlines.filing_due);
                    app.announcement_due = Some(deadlines.announcement_due);
                    let place_id = if app.renaming {
                        app.target_id.clone()
                    } else {
                        let row = PlaceRow {
                            id: uuid::Uuid::now_v7().to_string(),
                            code: store::next_code(conn, &app.region, app.category).await?,
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
                        store::insert_place(conn, &row).await?;
                        out.push(row.entry());
                        app.new_place_name_id = row.id.clone();
                        row.id
                    };
                    store::update_application(conn, &app).await?;
                    let event = pb::PlaceNameApproved {
                        application_id: app.id.clone(),
                        place_name_id: place_id.clone(),
                        name: app.name.clone(),
                        category: category_out(app.category),
                        region_code: app.region.clone(),
                        approval_document: app.approval_document.clone(),
                        approved_on: Some(to_proto_date(approved_on)),
                    };
                    kit::outbox::append(
                        conn,
                        crate::TOPIC_APPROVED,
                        "civil.placename.v1.PlaceNameApproved",
                        &place_id,
                        &event,
                    )
                    .await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "placename.ApprovePlaceName",
                            &format!("namingApplications/{}", app.id),
                        )],
                    )
                    .await?;
                    Ok(app_out(&app))
                })
            },
        )
        .await;
        pending.apply(&self.index);
        result
    }

    async fn publish(
        &self,
        p: Principal,
        req: pb::RecordFilingAndAnnouncementRequest,
    ) -> Result<pb::NamingApplication, ServiceError> {
        let mut v = Violations::new();
        let filed_on = v.date(req.filed_on.as_ref(), "filed_on");
        let announced_on = v.date(req.announced_on.as_ref(), "announced_on");
        v.finish()?;
        let (Some(filed_on), Some(announced_on)) = (filed_on, announced_on) else {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "validated fields missing"
            )));
        };
        let app = self.application(&p, &req.application_id).await?;
        let _guard = self.writes.lock().await;
        let pending = Pending::default();
        let out = pending.clone();
        let result = kit::idempotency::once(
            &self.db,
            "RecordFilingAndAnnouncement",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::NamingApplication> {
                Box::pin(async move {
                    let mut app = store::application_by_id(conn, &app.id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found("application"))?;
                    let (Some(approved_on), Some(filing_due), Some(announcement_due)) =
                        (app.approved_on, app.filing_due, app.announcement_due)
                    else {
                        return Err(Refusal::WrongStage {
                            stage: app.stage.as_str(),
                            expected: Stage::Approved.as_str(),
                        }
                        .into());
                    };
                    let deadlines = naming::Deadlines {
                        filing_due,
                        announcement_due,
                    };
                    let (filed_late, announced_late) =
                        naming::publish(app.stage, approved_on, deadlines, filed_on, announced_on)?;
                    app.stage = Stage::InUse;
                    app.filed_on = Some(filed_on);
                    app.announced_on = Some(announced_on);
                    app.filed_late = filed_late;
                    app.announced_late = announced_late;
                    let effective_on = filed_on.max(announced_on);
                    if app.renaming {
                        let mut place = store::place_by_id(conn, &app.target_id)
                            .await?
                            .ok_or_else(|| ServiceError::not_found("place name"))?;
                        // The old name stays in the database as a historic name of its own.
                        let historic = PlaceRow {
                            id: uuid::Uuid::now_v7().to_string(),
                            code: store::next_code(conn, &place.region, place.category).await?,
                            status: NameStatus::Historic,
                            ..place.clone()
                        };
                        store::insert_place(conn, &historic).await?;
                        let old_name = place.name.clone();
                        place.name = app.name.clone();
                        place.specific_part = app.specific_part.clone();
                        place.generic_part = app.generic_part.clone();
                        place.pinyin = pinyin_forms(&app.name).spaced;
                        place.status = NameStatus::InUse;
                        place.approval_document = app.approval_document.clone();
                        place.origin_meaning = app.origin_meaning.clone();
                        store::update_place(conn, &place).await?;
                        out.push(historic.entry());
                        out.push(place.entry());
                        let event = pb::PlaceNameRenamed {
                            place_name_id: place.id.clone(),
                            old_name,
                            new_name: place.name.clone(),
                            region_code: place.region.clone(),
                            effective_on: Some(to_proto_date(effective_on)),
                        };
                        kit::outbox::append(
                            conn,
                            crate::TOPIC_RENAMED,
                            "civil.placename.v1.PlaceNameRenamed",
                            &place.id,
                            &event,
                        )
                        .await?;
                    } else {
                        let mut place = store::place_by_id(conn, &app.new_place_name_id)
                            .await?
                            .ok_or_else(|| ServiceError::not_found("place name"))?;
                        place.status = NameStatus::InUse;
                        store::update_place(conn, &place).await?;
                        out.push(place.entry());
                    }
                    store::update_application(conn, &app).await?;
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "placename.RecordFilingAndAnnouncement",
                            &format!("namingApplications/{}", app.id),
                        )],
                    )
                    .await?;
                    Ok(app_out(&app))
                })
            },
        )
        .await;
        pending.apply(&self.index);
        result
    }

    async fn allocate(
        &self,
        p: Principal,
        req: pb::AllocateHouseNumberRequest,
    ) -> Result<pb::HouseNumber, ServiceError> {
        let mut v = Violations::new();
        let side = side_in(req.side);
        v.check(side.is_some(), "side", "must be LEFT or RIGHT");
        v.check(req.position_m >= 0, "position_m", "must not be negative");
        v.required(&req.road_id, "road_id");
        v.finish()?;
        let Some(side) = side else {
            return Err(ServiceError::invalid("side", "is required"));
        };
        let road = self.place(&req.road_id, "road_id").await?;
        p.authorize(OFFICER, Some(&road.region))?;
        if road.category != Category::Road {
            return Err(Refusal::NotARoad.into());
        }
        if road.status != NameStatus::InUse {
            return Err(Refusal::NotInUse.into());
        }
        let position_m = req.position_m;
        kit::idempotency::once(
            &self.db,
            "AllocateHouseNumber",
            &req.request_id,
            &req,
            move |conn| -> Tx<'_, pb::HouseNumber> {
                Box::pin(async move {
                    store::lock_place(conn, &road.id).await?;
                    let doors: Vec<_> = store::house_numbers_of(conn, &road.id)
                        .await?
                        .into_iter()
                        .filter(|h| h.side == side)
                        .map(|h| h.door)
                        .collect();
                    let (number, sub) = house_number::allocate(side, &doors, position_m)?;
                    let row = HouseRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        road_id: road.id.clone(),
                        side,
                        door: house_number::Door {
                            number,
                            sub,
                            position_m,
                        },
                    };
                    if !store::insert_house_number(conn, &row).await? {
                        return Err(ServiceError::Aborted(
                            "the number was taken concurrently; retry".into(),
                        ));
                    }
                    auth::audit::append(
                        conn,
                        &[audit(
                            &p,
                            "placename.AllocateHouseNumber",
                            &format!("houseNumbers/{}", row.id),
                        )],
                    )
                    .await?;
                    Ok(house_out(&row))
                })
            },
        )
        .await
    }

    async fn compose(
        &self,
        req: pb::ComposeAddressRequest,
    ) -> Result<pb::StandardAddress, ServiceError> {
        let mut v = Violations::new();
        v.required(&req.house_number_id, "house_number_id");
        for (value, field) in [
            (&req.building, "building"),
            (&req.unit, "unit"),
            (&req.room, "room"),
        ] {
            v.check(
                value.chars().all(|c| c.is_ascii_alphanumeric()) && value.len() <= 10,
                field,
                "must be up to 10 letters or digits",
            );
        }
        v.finish()?;
        let mut conn = self.db.pool.acquire().await?;
        let house = store::house_number_by_id(&mut conn, &req.house_number_id)
            .await?
            .ok_or_else(|| {
                ServiceError::not_found(format!("houseNumbers/{}", req.house_number_id))
            })?;
        let road = store::place_by_id(&mut conn, &house.road_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("road"))?;
        let a = Address {
            region: self.regions.address_prefix(&road.region),
            road: road.name.clone(),
            number: house.door.number,
            sub_number: house.door.sub,
            building: req.building.clone(),
            unit: req.unit.clone(),
            room: req.room.clone(),
        };
        Ok(address_out(&a))
    }

    fn parse(&self, req: &pb::ParseAddressRequest) -> Result<pb::StandardAddress, ServiceError> {
        if req.text.trim().is_empty() || req.text.chars().count() > 200 {
            return Err(ServiceError::invalid("text", "must be 1-200 characters"));
        }
        let index = self.read_index();
        let known_road = |r: &str| {
            index
                .with_name(r)
                .any(|e| e.category == Category::Road && e.status == NameStatus::InUse)
        };
        let a = address::parse(&req.text, known_road)
            .map_err(|e| ServiceError::invalid("text", e.to_string()))?;
        Ok(address_out(&a))
    }
}

fn address_out(a: &Address) -> pb::StandardAddress {
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

macro_rules! write_rpc {
    ($self:ident, $request:ident, $action:literal, $object:expr, $method:ident) => {
        kit::audited::write_rpc($request, &$self.reads, $action, $object, |p, req| {
            $self.$method(p, req)
        })
        .await
    };
}

#[tonic::async_trait]
impl PlaceNameService for PlaceNameApi {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_place_name(
        &self,
        request: Request<pb::GetPlaceNameRequest>,
    ) -> Result<Response<pb::PlaceName>, Status> {
        auth::principal(&request)?;
        let req = request.into_inner();
        let result = self
            .place(&req.place_name_id, "place_name_id")
            .await
            .map(|p| place_out(&p));
        result.map(Response::new).map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_place_names(
        &self,
        request: Request<pb::SearchPlaceNamesRequest>,
    ) -> Result<Response<pb::SearchPlaceNamesResponse>, Status> {
        auth::principal(&request)?;
        self.search(request.get_ref())
            .map(Response::new)
            .map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn import_census_records(
        &self,
        request: Request<pb::ImportCensusRecordsRequest>,
    ) -> Result<Response<pb::ImportReport>, Status> {
        write_rpc!(
            self,
            request,
            "placename.ImportCensusRecords",
            |_: &pb::ImportCensusRecordsRequest| "placeNames/-".to_owned(),
            import
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn submit_naming_application(
        &self,
        request: Request<pb::SubmitNamingApplicationRequest>,
    ) -> Result<Response<pb::NamingApplication>, Status> {
        write_rpc!(
            self,
            request,
            "placename.SubmitNamingApplication",
            |_: &pb::SubmitNamingApplicationRequest| "namingApplications/-".to_owned(),
            submit
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_naming_application(
        &self,
        request: Request<pb::GetNamingApplicationRequest>,
    ) -> Result<Response<pb::NamingApplication>, Status> {
        auth::principal(&request)?;
        let req = request.into_inner();
        let result = async {
            if req.application_id.trim().is_empty() {
                return Err(ServiceError::invalid("application_id", "is required"));
            }
            let mut conn = self.db.pool.acquire().await?;
            store::application_by_id(&mut conn, &req.application_id)
                .await?
                .ok_or_else(|| {
                    ServiceError::not_found(format!("namingApplications/{}", req.application_id))
                })
        }
        .await;
        result
            .map(|a| Response::new(app_out(&a)))
            .map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_expert_review(
        &self,
        request: Request<pb::RecordExpertReviewRequest>,
    ) -> Result<Response<pb::NamingApplication>, Status> {
        write_rpc!(
            self,
            request,
            "placename.RecordExpertReview",
            |r: &pb::RecordExpertReviewRequest| format!("namingApplications/{}", r.application_id),
            review
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn approve_place_name(
        &self,
        request: Request<pb::ApprovePlaceNameRequest>,
    ) -> Result<Response<pb::NamingApplication>, Status> {
        write_rpc!(
            self,
            request,
            "placename.ApprovePlaceName",
            |r: &pb::ApprovePlaceNameRequest| format!("namingApplications/{}", r.application_id),
            approve
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_filing_and_announcement(
        &self,
        request: Request<pb::RecordFilingAndAnnouncementRequest>,
    ) -> Result<Response<pb::NamingApplication>, Status> {
        write_rpc!(
            self,
            request,
            "placename.RecordFilingAndAnnouncement",
            |r: &pb::RecordFilingAndAnnouncementRequest| format!(
                "namingApplications/{}",
                r.application_id
            ),
            publish
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn allocate_house_number(
        &self,
        request: Request<pb::AllocateHouseNumberRequest>,
    ) -> Result<Response<pb::HouseNumber>, Status> {
        write_rpc!(
            self,
            request,
            "placename.AllocateHouseNumber",
            |r: &pb::AllocateHouseNumberRequest| format!("placeNames/{}", r.road_id),
            allocate
        )
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_house_numbers(
        &self,
        request: Request<pb::ListHouseNumbersRequest>,
    ) -> Result<Response<pb::ListHouseNumbersResponse>, Status> {
        auth::principal(&request)?;
        let req = request.into_inner();
        let result = async {
            let road = self.place(&req.road_id, "road_id").await?;
            let mut conn = self.db.pool.acquire().await?;
            let rows = store::house_numbers_of(&mut conn, &road.id).await?;
            Ok::<_, ServiceError>(pb::ListHouseNumbersResponse {
                house_numbers: rows.iter().map(house_out).collect(),
            })
        }
        .await;
        result.map(Response::new).map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn compose_address(
        &self,
        request: Request<pb::ComposeAddressRequest>,
    ) -> Result<Response<pb::StandardAddress>, Status> {
        auth::principal(&request)?;
        self.compose(request.into_inner())
            .await
            .map(Response::new)
            .map_err(kit::to_status)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn parse_address(
        &self,
        request: Request<pb::ParseAddressRequest>,
    ) -> Result<Response<pb::StandardAddress>, Status> {
        auth::principal(&request)?;
        self.parse(request.get_ref())
            .map(Response::new)
            .map_err(kit::to_status)
    }
}
