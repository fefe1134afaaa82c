//! The national marriage database (全国婚姻登记信息系统), asked online (联网核对, 婚姻登记条例
//! 2025 art. 4) through `civil.external.v1.NationalMarriageService`.
//!
//! Configured by `CIVIL_MARRIAGE_NATIONAL_DB` (the adapter's address) and
//! `CIVIL_MARRIAGE_NATIONAL_TIMEOUT_MS` (default 2000). Without an address only the county's
//! archive is consulted (docs/rules/marriage.md, "The national check"). Every failure, and no
//! answer within the bound, is [`Answer::Unavailable`]: callers fail closed.

use std::time::Duration;

use civil_id::IdNumber;
use contracts::civil::external::v1 as ext;
use contracts::civil::marriage::v1 as pb;
use ext::national_marriage_service_client::NationalMarriageServiceClient;
use tonic::transport::{Channel, Endpoint};

/// Default bound on one national query.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(2_000);

/// What the national database said of one person.
#[derive(Debug, Clone)]
pub enum Answer {
    /// No national database configured: not asked.
    NotAsked,
    Known(ext::NationalMaritalStatus),
    /// Failed or no answer in time (the detail, for the refusal message; never a person).
    Unavailable(String),
}

/// The client, or none when the county runs without the national database.
#[derive(Clone)]
pub struct National {
    channel: Option<Channel>,
    timeout: Duration,
}

impl National {
    /// From the service settings; a malformed address is a start-up error.
    pub fn from_config(config: &kit::config::Config) -> anyhow::Result<Self> {
        let timeout = config
            .service_setting("marriage", "national_timeout_ms")
            .map(str::parse::<u64>)
            .transpose()
            .map_err(|e| anyhow::anyhow!("CIVIL_MARRIAGE_NATIONAL_TIMEOUT_MS: {e}"))?
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TIMEOUT);
        let channel = match config.service_setting("marriage", "national_db") {
            Some(url) if !url.trim().is_empty() => Some(
                Endpoint::from_shared(url.trim().to_owned())
                    .map_err(|e| anyhow::anyhow!("CIVIL_MARRIAGE_NATIONAL_DB: {e}"))?
                    .connect_timeout(timeout)
                    .timeout(timeout)
                    .connect_lazy(),
            ),
            _ => None,
        };
        Ok(National { channel, timeout })
    }

    pub fn configured(&self) -> bool {
        self.channel.is_some()
    }

    /// Asks the national database about one person, within the bound.
    pub async fn query(
        &self,
        id: &IdNumber,
        office_region: &str,
        office_id: &str,
        purpose: &str,
    ) -> Answer {
        let Some(channel) = &self.channel else {
            return Answer::NotAsked;
        };
        let mut client = NationalMarriageServiceClient::new(channel.clone());
        let request = ext::QueryMaritalStatusRequest {
            id_number: id.as_str().to_owned(),
            asking_office_region: office_region.to_owned(),
            asking_office_id: office_id.to_owned(),
            purpose: purpose.to_owned(),
        };
        match tokio::time::timeout(self.timeout, client.query_marital_status(request)).await {
            Err(_) => Answer::Unavailable(format!("no answer within {:?}", self.timeout)),
            Ok(Err(status)) => {
                tracing::warn!(code = ?status.code(), "national marriage database query failed");
                Answer::Unavailable(format!("{:?}", status.code()))
            }
            Ok(Ok(r)) => match r.into_inner() {
                s if s.state == ext::NationalMaritalState::Unspecified as i32 => {
                    Answer::Unavailable("an answer without a state".into())
                }
                s => Answer::Known(s),
            },
        }
    }
}

/// The province (first two digits) of a division code, for a refusal that names where a
/// national record comes from without naming the office.
pub fn province(region: &str) -> String {
    region.chars().take(2).collect()
}

/// A person's status with the national database's answer: a later state it records than the
/// archive's (e.g. a marriage registered in another province) is answered from it, naming the
/// source and nothing of the other office's record. A national record of one of this archive's
/// own marriages (`local_certificates`) is the archive's. `None`: the national database did not
/// answer and the archive holds no marriage in force, so no answer can be given.
pub fn merge(
    local: pb::MaritalStatus,
    local_certificates: &[String],
    national: Answer,
) -> Option<pb::MaritalStatus> {
    let married = local.state == pb::MaritalState::Married as i32;
    let s = match national {
        Answer::NotAsked => return Some(local),
        Answer::Unavailable(_) => return married.then_some(local),
        Answer::Known(s) => s,
    };
    let state = match ext::NationalMaritalState::try_from(s.state) {
        Ok(ext::NationalMaritalState::Married) => pb::MaritalState::Married,
        Ok(ext::NationalMaritalState::Divorced) => pb::MaritalState::Divorced,
        Ok(ext::NationalMaritalState::Widowed) => pb::MaritalState::Widowed,
        Ok(ext::NationalMaritalState::Unmarried) => pb::MaritalState::Unmarried,
        _ => return Some(local),
    };
    let key = |d: &Option<contracts::civil::common::v1::Date>| {
        d.as_ref().map(|d| (d.year, d.month, d.day))
    };
    let ours = local_certificates.contains(&s.certificate_number);
    if married || ours || key(&s.since) <= key(&local.since) {
        return Some(local);
    }
    Some(pb::MaritalStatus {
        person: local.person,
        state: state.into(),
        since: s.since,
        deceased: local.deceased,
        source: pb::StatusSource::NationalDatabase.into(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::civil::common::v1::Date;

    fn date(year: i32, month: i32, day: i32) -> Option<Date> {
        Some(Date { year, month, day })
    }

    fn local(state: pb::MaritalState, since: Option<Date>) -> pb::MaritalStatus {
        let source = match state {
            pb::MaritalState::NoRecord => pb::StatusSource::None,
            _ => pb::StatusSource::LocalRegistry,
        };
        pb::MaritalStatus {
            state: state.into(),
            since,
            source: source.into(),
            office_id: "county-office".into(),
            ..Default::default()
        }
    }

    fn national(state: ext::NationalMaritalState, since: Option<Date>, cert: &str) -> Answer {
        Answer::Known(ext::NationalMaritalStatus {
            state: state.into(),
            since,
            registering_office_region: "110105".into(),
            registering_office_name: "北京市朝阳区婚姻登记处".into(),
            certificate_number: cert.into(),
        })
    }

    #[test]
    fn status_names_its_source_married_in_another_province_is_national() {
        let merged = merge(
            local(pb::MaritalState::NoRecord, None),
            &[],
            national(
                ext::NationalMaritalState::Married,
                date(2025, 1, 2),
                "J110105-2025-000001",
            ),
        )
        .expect("answer");
        assert_eq!(merged.state(), pb::MaritalState::Married);
        assert_eq!(merged.source(), pb::StatusSource::NationalDatabase);
        assert!(merged.marriage_certificate_number.is_empty() && merged.office_id.is_empty());
    }

    #[test]
    fn status_names_its_source_a_later_local_record_or_our_own_marriage_stays_local() {
        let ours = "J330723-2020-000001".to_owned();
        let divorced_here = local(pb::MaritalState::Divorced, date(2024, 5, 1));
        // The national record of the marriage this archive ended: the archive's answer.
        let merged = merge(
            divorced_here.clone(),
            std::slice::from_ref(&ours),
            national(ext::NationalMaritalState::Married, date(2020, 1, 1), &ours),
        )
        .expect("answer");
        assert_eq!(merged, divorced_here);
        // An older national record of another marriage: the archive's later state stands.
        let merged = merge(
            divorced_here.clone(),
            &[],
            national(ext::NationalMaritalState::Divorced, date(2019, 1, 1), "L1"),
        )
        .expect("answer");
        assert_eq!(merged, divorced_here);
        // A later remarriage elsewhere: national.
        let merged = merge(
            divorced_here,
            &[],
            national(ext::NationalMaritalState::Married, date(2025, 3, 3), "J2"),
        )
        .expect("answer");
        assert_eq!(merged.source(), pb::StatusSource::NationalDatabase);
        assert_eq!(merged.state(), pb::MaritalState::Married);
    }

    #[test]
    fn status_names_its_source_no_answer_only_stands_for_a_marriage_in_force_here() {
        let married = local(pb::MaritalState::Married, date(2024, 5, 1));
        let down = || Answer::Unavailable("down".into());
        assert_eq!(merge(married.clone(), &[], down()), Some(married));
        assert_eq!(
            merge(local(pb::MaritalState::NoRecord, None), &[], down()),
            None
        );
        let none = local(pb::MaritalState::NoRecord, None);
        assert_eq!(
            merge(none.clone(), &[], Answer::NotAsked),
            Some(none.clone())
        );
        let no_record = national(ext::NationalMaritalState::NoRecord, None, "");
        assert_eq!(merge(none.clone(), &[], no_record), Some(none));
    }
}
