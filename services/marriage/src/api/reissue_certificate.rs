//! ReissueCertificate: 补领 after checking the archive; when the status changed since, a
//! marriage record certificate (婚姻登记记录证明) instead. The archive links a re-issued
//! certificate to the original; a refusal is recorded with its reason.

use contracts::civil::common::v1::PersonRef;
use contracts::civil::marriage::v1 as pb;
use kit::error::to_proto_date;
use kit::rpc::Call;
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::shared::{
    Counterparty, DeskCase, allocate_number, party_in, raw_index, record_refusal, registrar_office,
};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::certificate::{CertificateKind, CertificateNumber};
use crate::domain::reissue::{LostCertificate, ReissueDecision, decide_reissue, record_entries};
use crate::domain::status::PersonHistory;
use crate::store::{self, MarriageRow, OfficeRow, ReissueRow};

pub struct Reissue {
    number: CertificateNumber,
    party: Counterparty,
}

impl TryFrom<pb::ReissueCertificateRequest> for Reissue {
    type Error = Violations;

    fn try_from(req: pb::ReissueCertificateRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let number = CertificateNumber::parse(&req.certificate_number);
        let rule = "is not a certificate number";
        v.check(number.is_some(), "certificate_number", rule);
        let party = party_in(&mut v, req.party.as_ref(), "party");
        match (number, party) {
            (Some(number), Some(party)) if v.is_empty() => Ok(Reissue { number, party }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::ReissueCertificateRequest>,
) -> Result<Response<pb::CertificateReissue>, Status> {
    let principal = auth::principal(&request)?.clone();
    let req = request.get_ref();
    let case = DeskCase {
        rpc: "ReissueCertificate",
        request_id: req.request_id.clone(),
        office_id: req.office_id.clone(),
        parties: (
            raw_index(api.rpc.sealer(), req.party.as_ref()),
            String::new(),
        ),
    };
    let result = api
        .rpc
        .write(
            request,
            async |c, req| registrar_office(c, api, &req.office_id).await,
            async |c, reissue: Reissue, office| answer(c, reissue, office).await,
        )
        .await;
    record_refusal(api, &principal, case, result).await
}

/// The marriage a J / L (or BJ / BL) number is about, with the day a divorce ended it.
async fn lost_marriage(
    c: &mut Call,
    number: &CertificateNumber,
) -> Result<(String, MarriageRow, Option<time::Date>), ServiceError> {
    let number = number.to_string();
    let original = store::original_of_reissued(c.db(), &number)
        .await?
        .unwrap_or(number);
    let found = match CertificateNumber::parse(&original).map(|n| n.kind.is_marriage()) {
        Some(true) => store::get_marriage(c.db(), &original)
            .await?
            .map(|m| (m, None)),
        _ => match store::application_by_divorce_certificate(c.db(), &original).await? {
            Some(app) => store::get_marriage(c.db(), &app.marriage_certificate)
                .await?
                .map(|m| (m, app.closed_on)),
            None => None,
        },
    };
    let (marriage, ended_on) = found.ok_or(Refusal::NotInRegistry)?;
    Ok((original, marriage, ended_on))
}

/// Allocates the BJ / BL number and links it to the original in the archive (婚姻登记工作规范:
/// the archive keeps the original, annotated).
async fn reissue(
    c: &mut Call,
    kind: CertificateKind,
    office: &OfficeRow,
    marriage_certificate: &str,
    original: &str,
) -> Result<String, ServiceError> {
    let today = c.today();
    let region = &office.region_code;
    let new_number = allocate_number(c.db(), kind, region, today.year()).await?;
    let remark = format!("{today} 补领 re-issued {new_number} replacing original {original}");
    store::add_remark(c.db(), marriage_certificate, &remark).await?;
    Ok(new_number.to_string())
}

/// The blind index of the party asking, who must be a party of the marriage, in person.
fn party_of(
    sealer: &kit::pii::Sealer,
    party: &Counterparty,
    marriage: &MarriageRow,
) -> Result<String, ServiceError> {
    if !party.in_person {
        return Err(Refusal::NotInPerson.into());
    }
    let index = sealer.index(&party.id);
    if marriage.sides(&index).is_none() {
        return Err(Refusal::PartiesMismatch.into());
    }
    Ok(index)
}

/// 婚姻登记记录证明: what the archive holds on the person, in date order.
fn record_certificate(
    row: &ReissueRow,
    party: Counterparty,
    history: &PersonHistory,
) -> pb::MarriageRecordCertificate {
    pb::MarriageRecordCertificate {
        record_certificate_id: row.reissue_id.clone(),
        person: Some(PersonRef {
            id_number: party.id.as_str().to_owned(),
            name: party.name,
        }),
        entries: record_entries(history),
        issued_on: Some(to_proto_date(row.issued_on)),
    }
}

async fn answer(
    c: &mut Call,
    r: Reissue,
    office: OfficeRow,
) -> Result<pb::CertificateReissue, ServiceError> {
    let (today, sealer) = (c.today(), c.sealer().clone());
    let (original, marriage, ended_on) = lost_marriage(c, &r.number).await?;
    c.object(original.clone());
    let index = party_of(&sealer, &r.party, &marriage)?;
    let (history, _) = store::history(c.db(), &index).await?;
    let lost = LostCertificate {
        kind: r.number.kind,
        marriage_state: marriage.state,
        ended_on,
    };
    let mut row = ReissueRow::new(original, index, &office.office_id, today);
    let mut response = pb::CertificateReissue::default();
    match decide_reissue(lost, &history) {
        ReissueDecision::Reissue(kind) => {
            let cert = &marriage.certificate_number;
            let new_number = reissue(c, kind, &office, cert, &row.original_certificate).await?;
            row.new_certificate = Some(new_number.clone());
            response.outcome = pb::CertificateReissueOutcome::Reissued.into();
            response.reissued_certificate_number = new_number;
        }
        ReissueDecision::RecordCertificate { because } => {
            row.outcome = "record_certificate";
            response.outcome = pb::CertificateReissueOutcome::RecordCertificateIssued.into();
            response.declined_because = because.into();
            let certificate = record_certificate(&row, r.party, &history);
            response.record_certificate = Some(certificate);
        }
    }
    let now = c.now_ms();
    store::insert_reissue(c.db(), &row, now).await?;
    let remarks = store::remarks(c.db(), &marriage.certificate_number).await?;
    response.marriage = Some(convert::marriage(&sealer, &marriage, remarks));
    Ok(response.masked_unless(c.principal().sees_full_identity_numbers()))
}
