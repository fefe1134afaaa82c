//! LinkExtremePoverty: a 特困 approval (assistance) that makes an elder eligible for the care
//! subsidy links to it (社会救助一件事: linked entitlements without a new application).

use auth::Role;
use civil_id::IdNumber;
use contracts::civil::eldercare::v1 as pb;
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::{Svc, shared};
use crate::convert::{self, elder_name};
use crate::domain::elder::LivingSituation;
use crate::domain::{Refusal, next_month_start};
use crate::store;

const LINK_ROLES: &[Role] = &[Role::Service, Role::EldercareStaff];

pub struct Link {
    id: IdNumber,
    benefit: String,
    approved_on: Date,
}

impl TryFrom<pb::LinkExtremePovertyRequest> for Link {
    type Error = Violations;
    fn try_from(req: pb::LinkExtremePovertyRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let id = v.id_number(&req.id_number, "id_number");
        let ok = req.benefit.strip_prefix("benefits/").is_some_and(|b| {
            !b.is_empty()
                && b.len() <= 128
                && b.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        v.check(ok, "benefit", "must be benefits/{benefit}");
        let approved_on = v.date(req.approved_on.as_ref(), "approved_on");
        match (id, approved_on) {
            (Some(id), Some(approved_on)) if v.is_empty() => Ok(Link {
                id,
                benefit: req.benefit,
                approved_on,
            }),
            _ => Err(v),
        }
    }
}

async fn authorize(
    c: &mut kit::rpc::Call,
    req: &pb::LinkExtremePovertyRequest,
    county: &str,
) -> Result<(), ServiceError> {
    c.object("elders/-");
    c.authorize(LINK_ROLES, Some(county))?;
    let Ok(id) = IdNumber::parse(&req.id_number) else {
        return Ok(());
    };
    let index = c.sealer().index(&id);
    if let Some(e) = store::elder_by_person(c.db(), &index).await? {
        c.authorize(LINK_ROLES, Some(&e.region))?;
        c.object(elder_name(&e.id));
    }
    Ok(())
}

pub async fn handle(
    svc: &Svc,
    request: Request<pb::LinkExtremePovertyRequest>,
) -> Result<Response<pb::LinkExtremePovertyResponse>, Status> {
    svc.rpc
        .write(
            request,
            async |c, req| authorize(c, req, &svc.county).await,
            async |c, l: Link, ()| {
                shared::check(
                    l.approved_on <= c.today(),
                    "approved_on",
                    "is in the future",
                )?;
                let Some(e) = linked(c, &l).await? else {
                    return Ok(pb::LinkExtremePovertyResponse::default());
                };
                let e = shared::elder_now(c, &e.id).await?;
                Ok(pb::LinkExtremePovertyResponse {
                    elder_known: true,
                    elder: elder_name(&e.id),
                    care_subsidy: convert::care_subsidy_out(&svc.policy, &e, c.today()),
                })
            },
        )
        .await
}

/// Records the 特困 approval as the elder's care basis from the next month (once: a repeat of
/// the same benefit changes nothing); None when the person is not a known elder.
async fn linked(c: &mut kit::rpc::Call, l: &Link) -> Result<Option<store::ElderRow>, ServiceError> {
    let index = c.sealer().index(&l.id);
    let Some(e) = store::elder_by_person(c.db(), &index).await? else {
        return Ok(None);
    };
    if e.care_basis_benefit.as_deref() != Some(l.benefit.as_str()) {
        if e.date_of_death.is_some() {
            return Err(Refusal::ElderDeceased.into());
        }
        let mut situations = e.situations.clone();
        situations.push(LivingSituation::ExtremePoverty);
        situations.sort();
        situations.dedup();
        let from = next_month_start(l.approved_on);
        let now = c.now_ms();
        store::set_care_basis(c.db(), &e.id, &l.benefit, from, &situations, now).await?;
        c.purpose(format!("特困 approval {}", l.benefit));
    }
    Ok(Some(e))
}
