//! RegisterMarriage: decided on the spot; the certificate issued, the event written, both
//! parties' cached status dropped; a refusal recorded with its reason.

use contracts::civil::marriage::v1 as pb;
use kit::rpc::{Call, Text as _};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MarriageApi;
use super::national_check::{self, Asked};
use super::shared::{
    Counterparty, DOCUMENT_NUMBER, DeskCase, PERSON_NAME, allocate_number, invalidate_status,
    lock_pair, party_in, raw_index, record_refusal, registrar_office,
};
use crate::convert::{self, Mask};
use crate::domain::Refusal;
use crate::domain::certificate::CertificateKind;
use crate::domain::eligibility::{Applicant, Declaration, check_marriage};
use crate::domain::status::MarriageState;
use crate::events;
use crate::national::National;
use crate::store::{self, MarriageRow, OfficeRow, PartyRow};

/// What was asked: a couple this office may register, or one it may not (non-mainland
/// documents, 婚姻登记条例 2025 art. 2), refused in the effect.
pub struct Registration(Result<Couple, Refusal>);

/// Two parties at the counter with the declarations they signed.
pub struct Couple {
    a: Counterparty,
    b: Counterparty,
    declaration_a: Declaration,
    declaration_b: Declaration,
}

/// The declaration a party signed; one not handed in is a missing field (INVALID_ARGUMENT on
/// `field`), not a refusal.
fn declaration_in(
    v: &mut Violations,
    d: Option<&pb::MarriageDeclaration>,
    field: &str,
) -> Declaration {
    let Some(d) = d else {
        let rule = "is required: each party signs the declaration (no spouse, no prohibited kinship, free will)";
        v.add(field, rule);
        return Declaration::default();
    };
    Declaration {
        no_spouse: d.no_spouse,
        not_prohibited_relatives: d.not_prohibited_relatives,
        consents: d.consents,
    }
}

impl TryFrom<pb::RegisterMarriageRequest> for Registration {
    type Error = Violations;

    fn try_from(req: pb::RegisterMarriageRequest) -> Result<Self, Violations> {
        let non_mainland = [req.party_a.as_ref(), req.party_b.as_ref()].map(non_mainland);
        if non_mainland.contains(&true) {
            return not_competent(&req, non_mainland);
        }
        Couple::try_from(req).map(|c| Registration(Ok(c)))
    }
}

/// Whether a party shows a non-mainland document (an unknown value counts as one: never
/// registered as a mainland party on a document the registry does not know).
fn non_mainland(party: Option<&pb::Party>) -> bool {
    let document = party.map(|p| p.document).unwrap_or_default();
    !matches!(
        pb::IdentityDocument::try_from(document),
        Ok(pb::IdentityDocument::Unspecified | pb::IdentityDocument::MainlandIdCard)
    )
}

/// A couple with a non-mainland party: the names and document numbers must be there (bounded),
/// then the office's competence refuses.
fn not_competent(
    req: &pb::RegisterMarriageRequest,
    non_mainland: [bool; 2],
) -> Result<Registration, Violations> {
    let mut v = Violations::new();
    for (party, field) in [(&req.party_a, "party_a"), (&req.party_b, "party_b")] {
        let Some(person) = party.as_ref().and_then(|p| p.person.as_ref()) else {
            v.add(&format!("{field}.person"), "is required");
            continue;
        };
        v.text(&person.name, &format!("{field}.person.name"), PERSON_NAME);
        v.text(
            &person.id_number,
            &format!("{field}.person.id_number"),
            DOCUMENT_NUMBER,
        );
    }
    if !v.is_empty() {
        return Err(v);
    }
    Ok(Registration(Err(if non_mainland == [true, true] {
        Refusal::NonMainlandParties
    } else {
        Refusal::OfficeNotCompetent
    })))
}

impl TryFrom<pb::RegisterMarriageRequest> for Couple {
    type Error = Violations;

    fn try_from(req: pb::RegisterMarriageRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let a = party_in(&mut v, req.party_a.as_ref(), "party_a");
        let b = party_in(&mut v, req.party_b.as_ref(), "party_b");
        let declaration_a = declaration_in(&mut v, req.declaration_a.as_ref(), "declaration_a");
        let declaration_b = declaration_in(&mut v, req.declaration_b.as_ref(), "declaration_b");
        match (a, b) {
            (Some(a), Some(b)) if v.is_empty() => Ok(Couple {
                a,
                b,
                declaration_a,
                declaration_b,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &MarriageApi,
    request: Request<pb::RegisterMarriageRequest>,
) -> Result<Response<pb::Marriage>, Status> {
    let principal = auth::principal(&request)?.clone();
    let sealer = api.rpc.sealer();
    let req = request.get_ref();
    let parties = (
        raw_index(sealer, req.party_a.as_ref()),
        raw_index(sealer, req.party_b.as_ref()),
    );
    let case = DeskCase {
        rpc: "RegisterMarriage",
        request_id: req.request_id.clone(),
        office_id: req.office_id.clone(),
        parties: parties.clone(),
    };
    let result = api
        .rpc
        .write(
            request,
            async |c, req| registrar_office(c, api, &req.office_id).await,
            async |c, Registration(couple), office| {
                register(c, &api.national, couple?, office).await
            },
        )
        .await;
    let result = record_refusal(api, &principal, case, result).await?;
    invalidate_status(api, &[parties.0, parties.1]).await;
    Ok(result)
}

async fn register(
    c: &mut Call,
    national: &National,
    r: Couple,
    office: OfficeRow,
) -> Result<pb::Marriage, ServiceError> {
    let (today, sealer) = (c.today(), c.sealer().clone());
    let (mut row_a, mut row_b) = (r.a.party_row(&sealer), r.b.party_row(&sealer));
    lock_pair(c.db(), &row_a, &row_b).await?;
    let outcome = checked(c, national, &r, &office, (&row_a, &row_b)).await?;
    // The record keeps what each party declared, consent included.
    (row_a.declaration, row_b.declaration) = (Some(r.declaration_a), Some(r.declaration_b));
    let region = &office.region_code;
    let number = allocate_number(c.db(), CertificateKind::Marriage, region, today.year()).await?;
    let row = MarriageRow {
        certificate_number: number.to_string(),
        office_id: office.office_id,
        registration_date: today,
        registrar: c.principal().subject.clone(),
        state: MarriageState::InEffect,
        ended_on: None,
        deceased_index: None,
        a: row_a,
        b: row_b,
    };
    let now = c.now_ms();
    store::insert_marriage(c.db(), &row, now).await?;
    c.object(row.certificate_number.clone());
    outcome.record(c, &row.certificate_number).await?;
    let mut response = convert::marriage(&sealer, &row, Vec::new());
    response.national_check = outcome.check.into();
    response.national_check_override_id = outcome.override_id.unwrap_or_default();
    announce(c, &row, outcome.check).await?;
    Ok(response.masked_unless(c.principal().sees_full_identity_numbers()))
}

/// The MarriageRegistered event, with how the national check went.
async fn announce(
    c: &mut Call,
    row: &MarriageRow,
    check: pb::NationalCheck,
) -> Result<(), ServiceError> {
    let sealer = c.sealer().clone();
    let event = pb::MarriageRegistered {
        certificate_number: row.certificate_number.clone(),
        party_a: Some(events::party(&sealer, &row.a)),
        party_b: Some(events::party(&sealer, &row.b)),
        registration_date: Some(kit::error::to_proto_date(row.registration_date)),
        office_id: row.office_id.clone(),
        national_check: check.into(),
    };
    events::marriage_registered(c.db(), &event).await?;
    Ok(())
}

/// The archive's rules, then the national check (rows locked).
async fn checked(
    c: &mut Call,
    national: &National,
    r: &Couple,
    office: &OfficeRow,
    (row_a, row_b): (&PartyRow, &PartyRow),
) -> Result<national_check::Outcome, ServiceError> {
    let [local_a, local_b] = check(c, r, row_a, row_b).await?;
    let asked = [
        Asked {
            id: &r.a.id,
            local_certificates: local_a,
        },
        Asked {
            id: &r.b.id,
            local_certificates: local_b,
        },
    ];
    let pair = (row_a.index.as_str(), row_b.index.as_str());
    national_check::for_marriage(c, national, office, asked, pair).await
}

/// The rules of arts. 1042, 1046-1049 on both parties' histories (rows locked); returns the
/// certificate numbers the archive holds of each party.
async fn check(
    c: &mut Call,
    r: &Couple,
    row_a: &PartyRow,
    row_b: &PartyRow,
) -> Result<[Vec<String>; 2], ServiceError> {
    let today = c.today();
    let (history_a, rows_a) = store::history(c.db(), &row_a.index).await?;
    let (history_b, rows_b) = store::history(c.db(), &row_b.index).await?;
    check_marriage(
        Applicant {
            id: &r.a.id,
            in_person: r.a.in_person,
            declaration: r.declaration_a,
            history: &history_a,
        },
        Applicant {
            id: &r.b.id,
            in_person: r.b.in_person,
            declaration: r.declaration_b,
            history: &history_b,
        },
        today,
    )?;
    let numbers = |rows: Vec<MarriageRow>| rows.into_iter().map(|r| r.certificate_number).collect();
    Ok([numbers(rows_a), numbers(rows_b)])
}
