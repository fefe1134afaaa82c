//! RecordCourtDecision: a court's annulment (arts. 1051-1054) or judicial divorce (art. 1079)
//! of a marriage registered here, annotating the archive.

use contracts::civil::marriage::v1 as pb;
use kit::rpc::{Call, Text as _};
use kit::{ServiceError, Violations};
use time::Date;
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::shared::{REGISTRAR, SHORT_TEXT, invalidate_status, lock_pair, moot_open_application};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::certificate::CertificateNumber;
use crate::domain::court::{CourtDecisionKind, apply_court_decision};
use crate::store::{self, MarriageRow};

pub struct Decision {
    kind: CourtDecisionKind,
    court: String,
    case_number: String,
    effective: Date,
}

impl TryFrom<pb::RecordCourtDecisionRequest> for Decision {
    type Error = Violations;

    fn try_from(req: pb::RecordCourtDecisionRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let kind = match req.kind() {
            pb::CourtDecisionKind::Annulment => Some(CourtDecisionKind::Annulment),
            pb::CourtDecisionKind::JudicialDivorce => Some(CourtDecisionKind::JudicialDivorce),
            pb::CourtDecisionKind::Unspecified => None,
        };
        v.check(kind.is_some(), "kind", "is required");
        let court = v.text(&req.court, "court", SHORT_TEXT);
        let case_number = v.text(&req.case_number, "case_number", SHORT_TEXT);
        let effective = v.date(req.effective_date.as_ref(), "effective_date");
        match (kind, effective) {
            (Some(kind), Some(effective)) if v.is_empty() => Ok(Decision {
                kind,
                court,
                case_number,
                effective,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::RecordCourtDecisionRequest>,
) -> Result<Response<pb::Marriage>, Status> {
    let mut parties = Vec::new();
    let answer = api
        .rpc
        .write(
            request,
            async |c, req| {
                let number = CertificateNumber::parse(&req.marriage_certificate_number)
                    .filter(|n| n.kind.is_marriage())
                    .ok_or_else(|| {
                        let rule = "is not a marriage certificate number";
                        ServiceError::invalid("marriage_certificate_number", rule)
                    })?;
                c.object(number.to_string());
                let marriage = store::get_marriage(c.db(), &number.to_string())
                    .await?
                    .ok_or(Refusal::NotInRegistry)?;
                let office = api.offices.get(c.db(), &marriage.office_id).await?;
                c.authorize(REGISTRAR, Some(&office.region_code))?;
                parties = vec![marriage.a.index.clone(), marriage.b.index.clone()];
                Ok(marriage)
            },
            async |c, decision: Decision, marriage| record(c, decision, marriage).await,
        )
        .await?;
    invalidate_status(api, &parties).await;
    Ok(answer)
}

async fn record(c: &mut Call, d: Decision, m: MarriageRow) -> Result<pb::Marriage, ServiceError> {
    let today = c.today();
    if d.effective > today {
        return Err(ServiceError::invalid("effective_date", "is in the future"));
    }
    if d.effective < m.registration_date {
        let rule = "is before the marriage was registered";
        return Err(ServiceError::invalid("effective_date", rule));
    }
    lock_pair(c.db(), &m.a, &m.b).await?;
    let cert = m.certificate_number.clone();
    let m = store::get_marriage(c.db(), &cert)
        .await?
        .ok_or(Refusal::NotInRegistry)?;
    let to = apply_court_decision(m.state, d.kind)?;
    let deceased = m.deceased_index.as_deref();
    if !store::end_marriage(c.db(), &cert, m.state, to, d.effective, deceased).await? {
        return Err(Refusal::NotInEffect.into());
    }
    let what = match d.kind {
        CourtDecisionKind::Annulment => "婚姻无效/撤销 annulled by",
        CourtDecisionKind::JudicialDivorce => "诉讼离婚 divorced by",
    };
    let remark = format!(
        "{} {what} court {} case {}",
        d.effective, d.court, d.case_number
    );
    store::add_remark(c.db(), &cert, &remark).await?;
    moot_open_application(c.db(), &cert, today).await?;
    let m = store::get_marriage(c.db(), &cert)
        .await?
        .ok_or(Refusal::NotInRegistry)?;
    let remarks = store::remarks(c.db(), &cert).await?;
    let full = c.principal().sees_full_identity_numbers();
    Ok(convert::marriage(c.sealer(), &m, remarks).masked_unless(full))
}
