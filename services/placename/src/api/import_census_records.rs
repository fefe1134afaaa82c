//! ImportCensusRecords: census rows (CSV) all or nothing; a bad row, or a row outside the
//! caller's region, is reported and nothing is imported. Role: PlaceNameOfficer.

use auth::Principal;
use contracts::civil::placename::v1 as pb;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::Request;

use super::shared::{OFFICER, Pending, Places};
use super::{Answer, PlaceNameApi};
use crate::domain::census::{self, CensusRecord};
use crate::domain::name::{NameStatus, pinyin_forms};
use crate::store::{self, PlaceRow};

pub struct Import {
    csv: String,
}

impl TryFrom<pb::ImportCensusRecordsRequest> for Import {
    type Error = Violations;

    fn try_from(r: pb::ImportCensusRecordsRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.required(&r.csv, "csv");
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Import { csv: r.csv })
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::ImportCensusRecordsRequest>,
) -> Answer<pb::ImportReport> {
    let _guard = api.places.writes.lock().await;
    let pending = Pending::default();
    let result = api
        .rpc
        .write(
            request,
            async |c: &mut Call, _: &pb::ImportCensusRecordsRequest| {
                c.object("placeNames/-");
                c.authorize(OFFICER, None)
            },
            async |c: &mut Call, import: Import, ()| {
                import_effect(c, &api.places, &pending, import).await
            },
        )
        .await;
    pending.apply_if(&result, &api.places.index);
    result
}

/// Validates the rows against the caller's region and the names in the index.
fn validate(
    places: &Places,
    p: &Principal,
    csv: &str,
) -> Result<Vec<CensusRecord>, Vec<pb::RowError>> {
    let index = places.read_index();
    let scopes = &places.policy.scopes;
    let taken = |name: &str, category, region: &str| {
        index
            .with_name(name)
            .find(|e| {
                e.status != NameStatus::Historic
                    && scopes.competes(category, region, e.category, &e.region)
            })
            .map(|e| e.code.clone())
    };
    let in_scope = |r: &civil_id::RegionCode| p.covers_region(r.as_str());
    census::validate(
        csv,
        &places.policy.allowed_characters,
        scopes,
        in_scope,
        taken,
    )
    .map_err(|errors| {
        errors
            .into_iter()
            .map(|e| pb::RowError {
                line: i32::try_from(e.line).unwrap_or(i32::MAX),
                column: e.column,
                message: e.message,
            })
            .collect()
    })
}

fn place_row((r, code): (&CensusRecord, String)) -> PlaceRow {
    PlaceRow {
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
    }
}

/// Validates every row and inserts all of them, or none and reports the bad rows.
async fn import_effect(
    c: &mut Call,
    places: &Places,
    pending: &Pending,
    import: Import,
) -> Result<pb::ImportReport, ServiceError> {
    let records = match validate(places, c.principal(), &import.csv) {
        Ok(records) => records,
        Err(errors) => {
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
    let codes = store::next_codes(c.db(), &keys).await?;
    let rows: Vec<PlaceRow> = records.iter().zip(codes).map(place_row).collect();
    let now_ms = c.now_ms();
    store::insert_places(c.db(), &rows, now_ms).await?;
    rows.iter().for_each(|row| pending.push(row.entry()));
    c.object(format!("placeNames/import:{}", rows.len()));
    Ok(pb::ImportReport {
        imported: i32::try_from(rows.len()).unwrap_or(i32::MAX),
        errors: Vec::new(),
    })
}
