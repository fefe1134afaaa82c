//! RegisterOrganisation: 成立登记, with the 统一社会信用代码 issued from the county's sequence.

use contracts::civil::socialorg::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::{NAME_MAX, Rpc, SHORT_MAX, Text as _};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::shared::{OFFICER, org_name, org_out};
use crate::convert;
use crate::domain::Refusal;
use crate::domain::registration::{self, Application, OrganisationKind};
use crate::store::{self, OrgRow, OrgStatus};

/// A registration application that passed every field check.
pub struct NewOrganisation {
    app: Application,
    region: String,
    address: String,
    rep_id: civil_id::IdNumber,
    rep_name: String,
}

impl TryFrom<pb::RegisterOrganisationRequest> for NewOrganisation {
    type Error = Violations;

    fn try_from(req: pb::RegisterOrganisationRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let app = application(&mut v, &req);
        let address = v.text(&req.address, "address", SHORT_MAX);
        let region = v.region(&req.region_code, "region_code");
        let county = region.as_ref().is_none_or(|r| r.as_str().len() == 6);
        let county_rule = "must be the registering county (6 digits)";
        v.check(county, "region_code", county_rule);
        let rep = req.legal_representative.unwrap_or_default();
        let rep_id = v.id_number(&rep.id_number, "legal_representative.id_number");
        let rep_name = v.text(&rep.name, "legal_representative.name", NAME_MAX);
        match (app, region, rep_id) {
            (Some(app), Some(region), Some(rep_id)) if v.is_empty() => Ok(Self {
                app,
                region: region.as_str().to_owned(),
                address,
                rep_id,
                rep_name,
            }),
            _ => Err(v),
        }
    }
}

/// The parts of the request the registration rules judge.
fn application(v: &mut Violations, req: &pb::RegisterOrganisationRequest) -> Option<Application> {
    let kind = convert::kind_in(req.kind);
    let kind_rule = "must be social group, private non-enterprise unit or foundation";
    v.check(kind.is_some(), "kind", kind_rule);
    let field = convert::field_in(req.field);
    v.check(field.is_some(), "field", "is required");
    let name = v.text(&req.name, "name", NAME_MAX);
    let unit = v.optional_text(&req.supervisory_unit, "supervisory_unit", NAME_MAX);
    let negative = "must not be negative";
    v.check(req.individual_members >= 0, "individual_members", negative);
    v.check(req.unit_members >= 0, "unit_members", negative);
    v.check(req.funds_fen >= 0, "funds_fen", negative);
    let received_on = v.date(
        req.application_received_on.as_ref(),
        "application_received_on",
    );
    let decided_on = v.date(req.decided_on.as_ref(), "decided_on");
    let kind = kind?;
    Some(Application {
        kind,
        field: field?,
        name,
        supervisory_unit: unit,
        individual_members: req.individual_members,
        unit_members: req.unit_members,
        funds_fen: req.funds_fen,
        public_fundraising: kind == OrganisationKind::Foundation && req.public_fundraising,
        received_on: received_on?,
        decided_on: decided_on?,
    })
}

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::RegisterOrganisationRequest>,
) -> Result<Response<pb::Organisation>, Status> {
    rpc.write(
        request,
        async |c, req| {
            c.object("organisations/-");
            // The county is known from the request: out of scope is refused before the body is
            // checked. A malformed code is left to the field checks.
            let county = req.region_code.len() == 6;
            if county && civil_id::RegionCode::parse(&req.region_code).is_ok() {
                c.authorize(OFFICER, Some(&req.region_code))?;
            }
            Ok(())
        },
        async |c, new: NewOrganisation, ()| {
            registration::check_application(&new.app)?;
            let mut row = new_row(c, &new);
            if store::active_name_taken(c.db(), &row.region, &row.name, "").await? {
                return Err(Refusal::NameTaken.into());
            }
            row.credit_code = credit_code(c.db(), &row).await?;
            let now = c.now_ms();
            store::insert_org(c.db(), &row, now).await?;
            c.object(org_name(&row.id));
            c.publish(
                crate::TOPIC_REGISTERED,
                "civil.socialorg.v1.OrganisationRegistered",
                &row.id,
                &event(&row),
            )
            .await?;
            org_out(c, &row).await
        },
    )
    .await
}

/// The next credit code of the county (GB 32100, body included).
async fn credit_code(conn: &mut sqlx::AnyConnection, row: &OrgRow) -> Result<String, ServiceError> {
    let sequence = store::next_credit_sequence(conn, &row.region).await?;
    let sequence = u64::try_from(sequence).unwrap_or(0);
    let code = registration::issue_credit_code(row.kind, &row.region, sequence)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("credit code: {e}")))?;
    Ok(code.as_str().to_owned())
}

fn new_row(c: &kit::rpc::Call, new: &NewOrganisation) -> OrgRow {
    let (rep_id_sealed, rep_index) = c.sealer().protect(&new.rep_id);
    let app = &new.app;
    OrgRow {
        id: uuid::Uuid::now_v7().to_string(),
        credit_code: String::new(),
        kind: app.kind,
        field: app.field,
        name: app.name.clone(),
        region: new.region.clone(),
        address: new.address.clone(),
        rep_index,
        rep_id_sealed,
        rep_name_sealed: c.sealer().seal(&new.rep_name),
        supervisory_unit: app.supervisory_unit.clone(),
        individual_members: i64::from(app.individual_members),
        unit_members: i64::from(app.unit_members),
        funds_fen: app.funds_fen,
        public_fundraising: app.public_fundraising,
        status: OrgStatus::Active,
        received_on: app.received_on,
        registered_on: app.decided_on,
        decision_due: registration::decision_due(c.rpc().calendar(), app.received_on),
        ended_on: None,
    }
}

fn event(row: &OrgRow) -> pb::OrganisationRegistered {
    pb::OrganisationRegistered {
        organisation_id: row.id.clone(),
        credit_code: row.credit_code.clone(),
        kind: convert::kind_out(row.kind).into(),
        name: row.name.clone(),
        region_code: row.region.clone(),
        registered_on: Some(to_proto_date(row.registered_on)),
    }
}
