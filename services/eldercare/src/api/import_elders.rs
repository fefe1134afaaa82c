//! ImportElders: elders from the county population register, checked row by row.

use civil_id::IdNumber;
use contracts::civil::eldercare::v1 as pb;
use kit::rpc::{NAME_MAX, Text as _};
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert;
use crate::domain::elder::{self, LivingSituation};
use crate::store::{self, ElderRow};

struct Row {
    id: IdNumber,
    name: String,
    birth: Date,
    region: String,
    situations: Vec<LivingSituation>,
}

pub struct Import(Vec<Row>);

fn situations_in(v: &mut Violations, values: &[i32], field: &str) -> Option<Vec<LivingSituation>> {
    let situations: Option<Vec<_>> = values.iter().map(|s| convert::situation_in(*s)).collect();
    v.check(situations.is_some(), field, "has an unknown value");
    let mut situations = situations?;
    situations.sort();
    situations.dedup();
    Some(situations)
}

fn row_in(v: &mut Violations, i: usize, r: &pb::ElderRecord) -> Option<Row> {
    let f = |name: &str| format!("elders[{i}].{name}");
    let person = r.person.clone().unwrap_or_default();
    let id = v.id_number(&person.id_number, &f("person.id_number"));
    let name = v.text(&person.name, &f("person.name"), NAME_MAX);
    let birth = v.date(r.birth_date.as_ref(), &f("birth_date"));
    let region = convert::region_in(v, &r.region, &f("region"));
    if let (Some(id), Some(birth)) = (&id, birth) {
        let agrees = elder::birth_date_agrees(id, birth);
        v.check(
            agrees,
            &f("birth_date"),
            "does not agree with the identity number",
        );
    }
    if let Some(region) = &region {
        let ok = region.len() > 6;
        v.check(
            ok,
            &f("region"),
            "must be a township or village of the county",
        );
    }
    let situations = situations_in(v, &r.living_situations, &f("living_situations"));
    let situations = situations?;
    Some(Row {
        id: id?,
        name,
        birth: birth?,
        region: region?,
        situations,
    })
}

impl TryFrom<pb::ImportEldersRequest> for Import {
    type Error = Violations;
    fn try_from(req: pb::ImportEldersRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.check(
            !req.elders.is_empty(),
            "elders",
            "must list at least one elder",
        );
        let rows: Vec<_> = req
            .elders
            .iter()
            .enumerate()
            .filter_map(|(i, r)| row_in(&mut v, i, r))
            .collect();
        if v.is_empty() {
            Ok(Import(rows))
        } else {
            Err(v)
        }
    }
}

/// Every well-formed row's region must be in the county and in the caller's scope.
fn authorize(
    c: &mut kit::rpc::Call,
    req: &pb::ImportEldersRequest,
    county: &str,
) -> Result<(), ServiceError> {
    c.authorize(shared::STAFF, None)?;
    c.object("elders/-");
    let mut v = Violations::new();
    for (i, r) in req.elders.iter().enumerate() {
        let field = format!("elders[{i}].region");
        let mut ignored = Violations::new();
        if convert::region_in(&mut ignored, &r.region, &field).is_none() {
            continue;
        }
        if !r.region.starts_with(county) {
            v.add(&field, "must be a township or village of the county");
        } else if !c.principal().covers_region(&r.region) {
            return Err(ServiceError::PermissionDenied(format!(
                "{field} is outside the caller's region scope"
            )));
        }
    }
    v.finish()
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::ImportEldersRequest>,
) -> Result<Response<pb::ImportEldersResponse>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| authorize(c, req, &svc.county),
            async |c, import: Import, ()| {
                let (mut created, mut updated) = (0, 0);
                let now = c.now_ms();
                for r in import.0 {
                    let (id_sealed, person_index) = c.sealer().protect(&r.id);
                    let row = ElderRow::new(
                        person_index,
                        id_sealed,
                        c.sealer().seal(&r.name),
                        r.birth,
                        r.region,
                        r.situations,
                    );
                    if store::upsert_elder(c.db(), &row, now).await? {
                        created += 1
                    } else {
                        updated += 1
                    }
                    c.also_audit(format!("person:{}", row.person_index));
                }
                Ok(pb::ImportEldersResponse { created, updated })
            },
        )
        .await
}
