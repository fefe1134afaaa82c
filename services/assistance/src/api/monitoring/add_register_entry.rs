//! AddRegisterEntry: a county decision enters a household as 刚性支出困难 or 易返贫致贫.

use auth::Role;
use contracts::civil::assistance::v1 as pb;
use kit::rpc::{SHORT_MAX, Text as _};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use crate::convert::monitoring::{category_in, register_out};
use crate::domain::monitoring::register::{Category, check_county_entry};
use crate::monitoring::{held_on, household_for, sync_register};
use crate::store::monitoring::{self as mon, RegisterRow};

pub struct EntryIn {
    category: Category,
    members: Vec<civil_id::IdNumber>,
    region: String,
    starts_on: time::Date,
    ends_on: Option<time::Date>,
    reference: String,
}

impl TryFrom<pb::AddRegisterEntryRequest> for EntryIn {
    type Error = Violations;

    fn try_from(r: pb::AddRegisterEntryRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let category = category_in(r.category);
        v.check(category.is_some(), "category", "must name a category");
        v.check(!r.members.is_empty(), "members", "at least one member");
        let members: Vec<_> = r
            .members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| v.id_number(&m.id_number, &format!("members[{i}].id_number")))
            .collect();
        let region = v.region(&r.region, "region");
        let starts_on = v.date(r.starts_on.as_ref(), "starts_on");
        let ends_on = r.ends_on.as_ref().and_then(|d| v.date(Some(d), "ends_on"));
        let reference = v.text(&r.decision_reference, "decision_reference", SHORT_MAX);
        match (category, region, starts_on) {
            (Some(category), Some(region), Some(starts_on)) if v.is_empty() => Ok(EntryIn {
                category,
                members,
                region: region.as_str().to_owned(),
                starts_on,
                ends_on,
                reference,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MonitoringApi,
    request: Request<pb::AddRegisterEntryRequest>,
) -> Result<Response<pb::RegisterEntry>, Status> {
    api.rpc
        .write(
            request,
            // An empty region is a violation, reported with the others.
            async |c, req| {
                let region = Some(req.region.as_str()).filter(|r| !r.is_empty());
                c.authorize(&[Role::CountyApprover], region)
            },
            async |c, e: EntryIn, ()| {
                let (sealer, now) = (c.sealer().clone(), c.now_ms());
                let indexes: Vec<String> = e.members.iter().map(|m| sealer.index(m)).collect();
                let Some(first) = indexes.first() else {
                    return Err(ServiceError::invalid("members", "at least one member"));
                };
                let h = household_for(c.db(), &sealer, first, &e.region, now).await?;
                for index in &indexes {
                    mon::add_member(c.db(), &h.id, index).await?;
                }
                c.object(h.id.clone());
                let entries = sync_register(c.db(), &sealer, &h, now).await?;
                let held = held_on(&entries, e.starts_on);
                check_county_entry(e.category, &held, e.starts_on, e.ends_on)?;
                let row = RegisterRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    household_id: h.id.clone(),
                    category: e.category,
                    region: h.region.clone(),
                    owner_region: h.owner_region.clone(),
                    source: "county_decision".into(),
                    source_reference: e.reference,
                    starts_on: e.starts_on,
                    ends_on: e.ends_on,
                    members: i64::try_from(indexes.len()).unwrap_or(i64::MAX),
                };
                mon::upsert_entry(c.db(), &row, now).await?;
                Ok(register_out(&row))
            },
        )
        .await
}
