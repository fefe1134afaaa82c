//! The national check at the desk (联网核对, 婚姻登记条例 2025 art. 4), shared by
//! RegisterMarriage and RegisterDivorce: both parties asked at the national database; no answer
//! fails closed unless a county approver other than the registrar recorded an override for this
//! couple, office and day (RecordNationalCheckOverride).
//!
//! It runs inside the registration's transaction, after the archive's own checks and with both
//! parties' rows locked, so the bound (`CIVIL_MARRIAGE_NATIONAL_TIMEOUT_MS`) also bounds how long
//! the couple's rows stay locked.

use civil_id::{IdNumber, Sex};
use contracts::civil::external::v1 as ext;
use contracts::civil::marriage::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;

use crate::domain::Refusal;
use crate::national::{self, Answer, National};
use crate::store::{self, OfficeRow};

const PURPOSE: &str = "marriage registration (联网核对)";

/// How the check went, kept with the registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub check: pb::NationalCheck,
    pub override_id: Option<String>,
}

impl Outcome {
    fn stored(&self) -> &'static str {
        match self.check {
            pb::NationalCheck::Passed => "passed",
            pb::NationalCheck::Overridden => "overridden",
            _ => "local_only",
        }
    }

    /// Records the outcome with the registration's certificate number.
    pub async fn record(&self, c: &mut Call, certificate_number: &str) -> Result<(), ServiceError> {
        let now = c.now_ms();
        let id = self.override_id.as_deref();
        store::record_check(c.db(), certificate_number, self.stored(), id, now).await?;
        Ok(())
    }
}

/// One party at the check: the number, and the certificate numbers the archive holds of them
/// (a national record of one of those is this registry's own, already checked locally).
pub struct Asked<'a> {
    pub id: &'a IdNumber,
    pub local_certificates: Vec<String>,
}

/// For a marriage: a national marriage in force that the archive does not hold refuses
/// (MARRIAGE_ALREADY_MARRIED, naming only the province); no answer fails closed.
pub async fn for_marriage(
    c: &mut Call,
    national: &National,
    office: &OfficeRow,
    parties: [Asked<'_>; 2],
    pair: (&str, &str),
) -> Result<Outcome, ServiceError> {
    let answers = ask(national, office, [parties[0].id, parties[1].id]).await;
    for (party, answer) in parties.iter().zip(&answers) {
        if let Answer::Known(s) = answer
            && s.state == ext::NationalMaritalState::Married as i32
            && !party.local_certificates.contains(&s.certificate_number)
        {
            return Err(Refusal::AlreadyMarriedNationally {
                party: label(party.id),
                province: national::province(&s.registering_office_region),
            }
            .into());
        }
    }
    settle(c, office, &answers, pair).await
}

/// For a divorce: the parties' statuses are checked online too; no answer fails closed.
pub async fn for_divorce(
    c: &mut Call,
    national: &National,
    office: &OfficeRow,
    ids: [&IdNumber; 2],
    pair: (&str, &str),
) -> Result<Outcome, ServiceError> {
    let answers = ask(national, office, ids).await;
    settle(c, office, &answers, pair).await
}

fn label(id: &IdNumber) -> &'static str {
    match id.sex() {
        Sex::Male => "man",
        Sex::Female => "woman",
    }
}

async fn ask(national: &National, office: &OfficeRow, ids: [&IdNumber; 2]) -> [Answer; 2] {
    let (region, office_id) = (&office.region_code, &office.office_id);
    let (a, b) = futures::join!(
        national.query(ids[0], region, office_id, PURPOSE),
        national.query(ids[1], region, office_id, PURPOSE)
    );
    [a, b]
}

/// Passed, local only, or (no answer) an override approved by someone else than the caller;
/// otherwise the retryable refusal.
async fn settle(
    c: &mut Call,
    office: &OfficeRow,
    answers: &[Answer; 2],
    (a, b): (&str, &str),
) -> Result<Outcome, ServiceError> {
    let unavailable = answers.iter().find_map(|a| match a {
        Answer::Unavailable(detail) => Some(detail.clone()),
        _ => None,
    });
    let Some(detail) = unavailable else {
        let asked = answers.iter().all(|a| matches!(a, Answer::Known(_)));
        let check = if asked {
            pb::NationalCheck::Passed
        } else {
            pb::NationalCheck::LocalOnly
        };
        return Ok(Outcome {
            check,
            override_id: None,
        });
    };
    let (today, me) = (c.today(), c.principal().subject.clone());
    let key = store::pair_key(a, b);
    let overrides = store::overrides_for(c.db(), &office.office_id, &key, today).await?;
    if let Some((id, _)) = overrides.iter().find(|(_, approver)| *approver != me) {
        return Ok(Outcome {
            check: pb::NationalCheck::Overridden,
            override_id: Some(id.clone()),
        });
    }
    let detail = if overrides.is_empty() {
        detail
    } else {
        format!("{detail}; the only override was approved by the registering registrar")
    };
    Err(Refusal::NationalCheckUnavailable { detail }.into())
}
