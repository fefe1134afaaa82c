//! Marital status derived from this registry's own records (民法典 art. 1042): a person with a
//! registered marriage and no registered divorce, recorded death of the spouse or court decision
//! is married.

use time::Date;

/// How a marriage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// 登记离婚: divorce registered by a registry (arts. 1076-1078).
    Divorce,
    /// 诉讼离婚: divorce decided by a court (art. 1079).
    JudicialDivorce,
    /// 婚姻无效 / 被撤销: void from the start (art. 1054), as if never concluded.
    Annulment,
    /// The other spouse died: this person is widowed (丧偶).
    DeathOfSpouse,
    /// This person died.
    OwnDeath,
}

/// The state of a marriage record in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarriageState {
    InEffect,
    Divorced,
    JudiciallyDivorced,
    Annulled,
    EndedByDeath,
}

impl MarriageState {
    /// Returns the stored code.
    pub fn code(self) -> &'static str {
        match self {
            MarriageState::InEffect => "in_effect",
            MarriageState::Divorced => "divorced",
            MarriageState::JudiciallyDivorced => "judicially_divorced",
            MarriageState::Annulled => "annulled",
            MarriageState::EndedByDeath => "ended_by_death",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<MarriageState> {
        Some(match code {
            "in_effect" => MarriageState::InEffect,
            "divorced" => MarriageState::Divorced,
            "judicially_divorced" => MarriageState::JudiciallyDivorced,
            "annulled" => MarriageState::Annulled,
            "ended_by_death" => MarriageState::EndedByDeath,
            _ => return None,
        })
    }
}

/// One marriage as seen from one of its parties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarriageView {
    pub certificate_number: String,
    pub registered_on: Date,
    /// The spouse's masked identity number or name, whatever the caller needs to show.
    pub spouse_name: String,
    /// `None` while the marriage is in effect.
    pub ended: Option<(Ending, Date)>,
}

/// Everything the archive knows about one person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonHistory {
    pub marriages: Vec<MarriageView>,
    pub died_on: Option<Date>,
}

/// Marital status as other bureaus read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaritalState {
    /// The archive holds no marriage record of the person: not the same as unmarried (a
    /// marriage registered elsewhere is not in this archive).
    NoRecord,
    /// Only annulled marriages on record: void from the start (art. 1054).
    Unmarried,
    Married,
    Divorced,
    Widowed,
}

/// The person's status, the date it holds from and the marriage it derives from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status<'a> {
    pub state: MaritalState,
    pub since: Option<Date>,
    pub marriage: Option<&'a MarriageView>,
    pub deceased: bool,
}

impl PersonHistory {
    /// Returns the latest marriage that was not annulled: an annulled marriage never existed in
    /// law (art. 1054), so the person's status falls back to the one before it.
    pub fn latest_valid_marriage(&self) -> Option<&MarriageView> {
        self.marriages
            .iter()
            .filter(|m| !matches!(m.ended, Some((Ending::Annulment, _))))
            .max_by(|a, b| {
                a.registered_on
                    .cmp(&b.registered_on)
                    .then_with(|| a.certificate_number.cmp(&b.certificate_number))
            })
    }

    /// Returns the current status. A deceased person keeps the status they had when they died,
    /// with `deceased` set.
    pub fn status(&self) -> Status<'_> {
        let deceased = self.died_on.is_some();
        let Some(marriage) = self.latest_valid_marriage() else {
            let state = if self.marriages.is_empty() {
                MaritalState::NoRecord
            } else {
                MaritalState::Unmarried
            };
            return Status {
                state,
                since: None,
                marriage: None,
                deceased,
            };
        };
        let (state, since) = match marriage.ended {
            None | Some((Ending::OwnDeath, _)) => (MaritalState::Married, marriage.registered_on),
            Some((Ending::Divorce | Ending::JudicialDivorce, on)) => (MaritalState::Divorced, on),
            Some((Ending::DeathOfSpouse, on)) => (MaritalState::Widowed, on),
            // Filtered out by latest_valid_marriage.
            Some((Ending::Annulment, _)) => (MaritalState::Unmarried, marriage.registered_on),
        };
        Status {
            state,
            since: Some(since),
            marriage: Some(marriage),
            deceased,
        }
    }

    /// True when the person has a marriage in effect (art. 1042).
    pub fn is_married(&self) -> bool {
        self.marriages.iter().any(|m| m.ended.is_none())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn marriage(cert: &str, on: Date, ended: Option<(Ending, Date)>) -> MarriageView {
        MarriageView {
            certificate_number: cert.into(),
            registered_on: on,
            spouse_name: "x".into(),
            ended,
        }
    }

    #[test]
    fn a_person_without_records_has_no_record_not_unmarried() {
        let history = PersonHistory::default();
        let status = history.status();
        assert_eq!(status.state, MaritalState::NoRecord);
        assert_eq!(status.since, None);
    }

    #[test]
    fn a_registered_marriage_without_divorce_death_or_decision_is_in_effect_art_1042() {
        let h = PersonHistory {
            marriages: vec![marriage("J1", date!(2020 - 05 - 20), None)],
            died_on: None,
        };
        assert!(h.is_married());
        assert_eq!(h.status().state, MaritalState::Married);
        assert_eq!(h.status().since, Some(date!(2020 - 05 - 20)));
    }

    #[test]
    fn a_registered_or_judicial_divorce_makes_the_person_divorced_art_1080() {
        for ending in [Ending::Divorce, Ending::JudicialDivorce] {
            let h = PersonHistory {
                marriages: vec![marriage(
                    "J1",
                    date!(2020 - 05 - 20),
                    Some((ending, date!(2023 - 01 - 09))),
                )],
                died_on: None,
            };
            assert!(!h.is_married());
            assert_eq!(h.status().state, MaritalState::Divorced);
            assert_eq!(h.status().since, Some(date!(2023 - 01 - 09)));
        }
    }

    #[test]
    fn the_spouse_of_a_deceased_person_is_widowed() {
        let h = PersonHistory {
            marriages: vec![marriage(
                "J1",
                date!(2000 - 01 - 01),
                Some((Ending::DeathOfSpouse, date!(2024 - 03 - 02))),
            )],
            died_on: None,
        };
        assert!(!h.is_married());
        assert_eq!(h.status().state, MaritalState::Widowed);
    }

    #[test]
    fn an_annulled_marriage_is_void_from_the_start_art_1054() {
        let h = PersonHistory {
            marriages: vec![marriage(
                "J1",
                date!(2020 - 01 - 01),
                Some((Ending::Annulment, date!(2020 - 06 - 01))),
            )],
            died_on: None,
        };
        assert!(!h.is_married());
        assert_eq!(h.status().state, MaritalState::Unmarried);
    }

    #[test]
    fn after_an_annulled_remarriage_the_earlier_divorce_is_the_status_again() {
        let h = PersonHistory {
            marriages: vec![
                marriage(
                    "J1",
                    date!(2010 - 01 - 01),
                    Some((Ending::Divorce, date!(2015 - 01 - 01))),
                ),
                marriage(
                    "J2",
                    date!(2020 - 01 - 01),
                    Some((Ending::Annulment, date!(2020 - 06 - 01))),
                ),
            ],
            died_on: None,
        };
        assert_eq!(h.status().state, MaritalState::Divorced);
        assert_eq!(h.status().since, Some(date!(2015 - 01 - 01)));
    }

    #[test]
    fn the_latest_marriage_decides_after_a_remarriage() {
        let h = PersonHistory {
            marriages: vec![
                marriage("J2", date!(2020 - 01 - 01), None),
                marriage(
                    "J1",
                    date!(2010 - 01 - 01),
                    Some((Ending::DeathOfSpouse, date!(2015 - 01 - 01))),
                ),
            ],
            died_on: None,
        };
        assert_eq!(h.status().state, MaritalState::Married);
        assert_eq!(
            h.status().marriage.map(|m| m.certificate_number.as_str()),
            Some("J2")
        );
    }

    #[test]
    fn a_deceased_person_keeps_the_status_held_at_death() {
        let h = PersonHistory {
            marriages: vec![marriage(
                "J1",
                date!(2000 - 01 - 01),
                Some((Ending::OwnDeath, date!(2024 - 03 - 02))),
            )],
            died_on: Some(date!(2024 - 03 - 02)),
        };
        let status = h.status();
        assert!(status.deceased);
        assert_eq!(status.state, MaritalState::Married);
        assert!(!h.is_married(), "the marriage itself has ended");
    }
}
