//! 补领: re-issue of a lost certificate after checking the archive. When the status has changed
//! since the certificate was issued (divorce, death, annulment, remarriage), the certificate
//! would no longer tell the truth: the re-issue is declined and a marriage record certificate
//! (婚姻登记记录证明) is issued instead.

use time::Date;

use super::certificate::CertificateKind;
use super::status::{Ending, MarriageState, PersonHistory};

/// What the counter hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReissueDecision {
    /// A BJ / BL certificate.
    Reissue(CertificateKind),
    /// A marriage record certificate, with the reason the re-issue was declined.
    RecordCertificate { because: &'static str },
}

/// The certificate asked for and the state of its marriage in the archive.
#[derive(Debug, Clone, Copy)]
pub struct LostCertificate {
    pub kind: CertificateKind,
    pub marriage_state: MarriageState,
    /// For a divorce certificate, the divorce date.
    pub ended_on: Option<Date>,
}

/// Decides between re-issue and a record certificate for `requester`, one of the parties.
pub fn decide_reissue(lost: LostCertificate, requester: &PersonHistory) -> ReissueDecision {
    if lost.kind.is_marriage() {
        return match lost.marriage_state {
            MarriageState::InEffect => ReissueDecision::Reissue(lost.kind.reissued()),
            MarriageState::Divorced | MarriageState::JudiciallyDivorced => {
                ReissueDecision::RecordCertificate {
                    because: "the marriage has been dissolved by divorce",
                }
            }
            MarriageState::Annulled => ReissueDecision::RecordCertificate {
                because: "the marriage has been annulled by a court",
            },
            MarriageState::EndedByDeath => ReissueDecision::RecordCertificate {
                because: "the marriage ended by the death of a spouse",
            },
        };
    }
    if lost.marriage_state == MarriageState::Annulled {
        return ReissueDecision::RecordCertificate {
            because: "the marriage has been annulled by a court",
        };
    }
    let remarried = lost.ended_on.is_some_and(|divorced_on| {
        requester.marriages.iter().any(|m| {
            m.registered_on >= divorced_on && !matches!(m.ended, Some((Ending::Annulment, _)))
        })
    });
    if remarried {
        ReissueDecision::RecordCertificate {
            because: "the party has remarried since the divorce",
        }
    } else {
        ReissueDecision::Reissue(lost.kind.reissued())
    }
}

/// Returns the lines of a marriage record certificate: every marriage of the person and how it
/// ended, in date order. Spouses appear by name only.
pub fn record_entries(history: &PersonHistory) -> Vec<String> {
    let mut marriages: Vec<_> = history.marriages.iter().collect();
    marriages.sort_by_key(|m| m.registered_on);
    let mut lines = Vec::new();
    for m in marriages {
        lines.push(format!(
            "{} 登记结婚 (married) {} spouse {}",
            m.registered_on, m.certificate_number, m.spouse_name
        ));
        if let Some((ending, on)) = m.ended {
            let what = match ending {
                Ending::Divorce => "登记离婚 (divorce registered)",
                Ending::JudicialDivorce => "诉讼离婚 (divorced by a court)",
                Ending::Annulment => "婚姻无效或被撤销 (annulled by a court)",
                Ending::DeathOfSpouse => "配偶死亡 (spouse deceased)",
                Ending::OwnDeath => "本人死亡 (deceased)",
            };
            lines.push(format!("{on} {what} {}", m.certificate_number));
        }
    }
    if lines.is_empty() {
        lines.push("无婚姻登记记录 (no marriage registered)".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::status::MarriageView;

    fn history(marriages: Vec<MarriageView>) -> PersonHistory {
        PersonHistory {
            marriages,
            died_on: None,
        }
    }

    fn view(cert: &str, on: Date, ended: Option<(Ending, Date)>) -> MarriageView {
        MarriageView {
            certificate_number: cert.into(),
            registered_on: on,
            spouse_name: "王芳".into(),
            ended,
        }
    }

    #[test]
    fn a_marriage_certificate_of_a_marriage_in_effect_is_reissued_as_bj() {
        let lost = LostCertificate {
            kind: CertificateKind::Marriage,
            marriage_state: MarriageState::InEffect,
            ended_on: None,
        };
        assert_eq!(
            decide_reissue(lost, &history(vec![])),
            ReissueDecision::Reissue(CertificateKind::ReissuedMarriage)
        );
    }

    #[test]
    fn a_marriage_certificate_after_divorce_death_or_annulment_becomes_a_record_certificate() {
        for state in [
            MarriageState::Divorced,
            MarriageState::JudiciallyDivorced,
            MarriageState::Annulled,
            MarriageState::EndedByDeath,
        ] {
            let lost = LostCertificate {
                kind: CertificateKind::Marriage,
                marriage_state: state,
                ended_on: None,
            };
            assert!(
                matches!(
                    decide_reissue(lost, &history(vec![])),
                    ReissueDecision::RecordCertificate { .. }
                ),
                "{state:?}"
            );
        }
    }

    #[test]
    fn a_divorce_certificate_is_reissued_as_bl_while_the_party_has_not_remarried() {
        let lost = LostCertificate {
            kind: CertificateKind::Divorce,
            marriage_state: MarriageState::Divorced,
            ended_on: Some(date!(2020 - 01 - 01)),
        };
        let h = history(vec![view(
            "J1",
            date!(2015 - 01 - 01),
            Some((Ending::Divorce, date!(2020 - 01 - 01))),
        )]);
        assert_eq!(
            decide_reissue(lost, &h),
            ReissueDecision::Reissue(CertificateKind::ReissuedDivorce)
        );
    }

    #[test]
    fn a_divorce_certificate_of_a_remarried_party_becomes_a_record_certificate() {
        let lost = LostCertificate {
            kind: CertificateKind::Divorce,
            marriage_state: MarriageState::Divorced,
            ended_on: Some(date!(2020 - 01 - 01)),
        };
        let h = history(vec![
            view(
                "J1",
                date!(2015 - 01 - 01),
                Some((Ending::Divorce, date!(2020 - 01 - 01))),
            ),
            view("J2", date!(2022 - 05 - 20), None),
        ]);
        assert_eq!(
            decide_reissue(lost, &h),
            ReissueDecision::RecordCertificate {
                because: "the party has remarried since the divorce"
            }
        );
    }

    #[test]
    fn the_record_certificate_lists_every_marriage_and_its_end_in_date_order() {
        let h = history(vec![
            view("J2", date!(2022 - 05 - 20), None),
            view(
                "J1",
                date!(2015 - 01 - 01),
                Some((Ending::Divorce, date!(2020 - 01 - 01))),
            ),
        ]);
        let lines = record_entries(&h);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("2015-01-01") && lines[0].contains("J1"));
        assert!(lines[1].starts_with("2020-01-01") && lines[1].contains("divorce"));
        assert!(lines[2].starts_with("2022-05-20") && lines[2].contains("J2"));
    }

    #[test]
    fn a_person_without_records_gets_a_certificate_saying_so() {
        assert_eq!(record_entries(&history(vec![])).len(), 1);
    }
}
