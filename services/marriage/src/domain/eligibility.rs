//! Whether two persons may marry on a given day (民法典 arts. 1042, 1046-1049; 婚姻登记条例 as
//! revised 2025: identity card plus signed declaration, decided on the spot).

use civil_calendar::age_on;
use civil_id::{IdNumber, Sex};
use time::Date;

use super::refusal::Refusal;
use super::status::PersonHistory;

/// 法定婚龄 (art. 1047): a man may marry from 22, a woman from 20.
pub const MIN_AGE_MAN: u32 = 22;
pub const MIN_AGE_WOMAN: u32 = 20;

/// The declaration each party signs (婚姻登记条例 as revised 2025).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Declaration {
    /// 本人无配偶.
    pub no_spouse: bool,
    /// 与对方当事人没有直系血亲和三代以内旁系血亲关系 (art. 1048).
    pub not_prohibited_relatives: bool,
    /// 自愿结婚 (art. 1046): the party marries of their own free will.
    pub consents: bool,
}

impl Declaration {
    /// Every statement signed.
    pub const SIGNED: Declaration = Declaration {
        no_spouse: true,
        not_prohibited_relatives: true,
        consents: true,
    };

    /// The stored form: the statements signed, comma-separated.
    pub fn code(self) -> String {
        [
            (self.no_spouse, "no_spouse"),
            (self.not_prohibited_relatives, "not_prohibited_relatives"),
            (self.consents, "consents"),
        ]
        .iter()
        .filter(|(signed, _)| *signed)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(",")
    }

    /// Parses the stored form.
    pub fn from_code(code: &str) -> Declaration {
        let signed = |name: &str| code.split(',').any(|s| s == name);
        Declaration {
            no_spouse: signed("no_spouse"),
            not_prohibited_relatives: signed("not_prohibited_relatives"),
            consents: signed("consents"),
        }
    }
}

/// One party at the counter: identity, presence, declaration, and what the archive knows.
#[derive(Debug, Clone, Copy)]
pub struct Applicant<'a> {
    pub id: &'a IdNumber,
    pub in_person: bool,
    pub declaration: Declaration,
    pub history: &'a PersonHistory,
}

/// Returns the legal minimum age for the sex the identity number encodes (art. 1047).
pub fn minimum_age(sex: Sex) -> u32 {
    match sex {
        Sex::Male => MIN_AGE_MAN,
        Sex::Female => MIN_AGE_WOMAN,
    }
}

fn party_word(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "man",
        Sex::Female => "woman",
    }
}

/// Checks every condition for registering the marriage of `a` and `b` on `on`, and returns the
/// first refusal. The order puts what the registrar fixes at the counter (presence, signatures)
/// before what no one can fix that day.
pub fn check_marriage(a: Applicant<'_>, b: Applicant<'_>, on: Date) -> Result<(), Refusal> {
    // Art. 1049: both in person; no agent, no one-party application.
    if !a.in_person || !b.in_person {
        return Err(Refusal::NotInPerson);
    }
    // Art. 1046: both marry of their own free will; each says so in the declaration.
    if !a.declaration.consents || !b.declaration.consents {
        return Err(Refusal::NoConsent);
    }
    // Art. 1048 and the 2025 regulation: each party declares there is no prohibited kinship;
    // a party who cannot is refused for that reason (a declaration not handed in at all is a
    // missing field, decided before the rules run).
    if !a.declaration.not_prohibited_relatives || !b.declaration.not_prohibited_relatives {
        return Err(Refusal::ProhibitedRelatives);
    }
    // Art. 1042 and the 2025 regulation: a party who cannot declare "no spouse" is married.
    for party in [a, b] {
        if !party.declaration.no_spouse {
            return Err(Refusal::AlreadyMarried {
                party: party_word(party.id.sex()),
            });
        }
    }
    if a.id == b.id {
        return Err(Refusal::SamePerson);
    }
    // Art. 1049: 要求结婚的男女双方.
    if a.id.sex() == b.id.sex() {
        return Err(Refusal::SameSex);
    }
    for party in [a, b] {
        if party.history.died_on.is_some() {
            return Err(Refusal::PartyDeceased {
                party: party_word(party.id.sex()),
            });
        }
    }
    // Art. 1047, age on the registration date from the birth date in the identity number; the
    // age is reached on the birthday itself (29 February: on 28 February in common years).
    for party in [a, b] {
        let minimum = minimum_age(party.id.sex());
        if age_on(party.id.birth_date(), on) < minimum {
            return Err(Refusal::Underage {
                party: party_word(party.id.sex()),
                minimum,
            });
        }
    }
    // Art. 1042: 禁止重婚.
    for party in [a, b] {
        if party.history.is_married() {
            return Err(Refusal::AlreadyMarried {
                party: party_word(party.id.sex()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::status::{Ending, MarriageView};
    use crate::domain::testing::id_number;

    const SIGNED: Declaration = Declaration::SIGNED;

    fn applicant<'a>(id: &'a IdNumber, history: &'a PersonHistory) -> Applicant<'a> {
        Applicant {
            id,
            in_person: true,
            declaration: SIGNED,
            history,
        }
    }

    fn married_since(on: Date, ended: Option<(Ending, Date)>) -> PersonHistory {
        PersonHistory {
            marriages: vec![MarriageView {
                certificate_number: "J330723-2010-000001".into(),
                registered_on: on,
                spouse_name: "x".into(),
                ended,
            }],
            died_on: None,
        }
    }

    fn check_on(man: &IdNumber, woman: &IdNumber, on: Date) -> Result<(), Refusal> {
        let none = PersonHistory::default();
        check_marriage(applicant(man, &none), applicant(woman, &none), on)
    }

    #[test]
    fn a_man_may_marry_on_his_22nd_birthday_art_1047() {
        let man = id_number(date!(2004 - 06 - 15), Sex::Male);
        let woman = id_number(date!(2000 - 01 - 01), Sex::Female);
        assert_eq!(check_on(&man, &woman, date!(2026 - 06 - 15)), Ok(()));
    }

    #[test]
    fn a_man_is_refused_the_day_before_his_22nd_birthday_art_1047() {
        let man = id_number(date!(2004 - 06 - 15), Sex::Male);
        let woman = id_number(date!(2000 - 01 - 01), Sex::Female);
        let refusal = check_on(&man, &woman, date!(2026 - 06 - 14)).expect_err("21 years old");
        assert_eq!(refusal.reason(), "MARRIAGE_UNDERAGE");
        assert_eq!(
            refusal,
            Refusal::Underage {
                party: "man",
                minimum: 22
            }
        );
    }

    #[test]
    fn a_woman_may_marry_on_her_20th_birthday_art_1047() {
        let man = id_number(date!(2000 - 01 - 01), Sex::Male);
        let woman = id_number(date!(2006 - 06 - 15), Sex::Female);
        assert_eq!(check_on(&man, &woman, date!(2026 - 06 - 15)), Ok(()));
    }

    #[test]
    fn a_woman_is_refused_the_day_before_her_20th_birthday_art_1047() {
        let man = id_number(date!(2000 - 01 - 01), Sex::Male);
        let woman = id_number(date!(2006 - 06 - 15), Sex::Female);
        let refusal = check_on(&man, &woman, date!(2026 - 06 - 14)).expect_err("19 years old");
        assert_eq!(
            refusal,
            Refusal::Underage {
                party: "woman",
                minimum: 20
            }
        );
    }

    #[test]
    fn a_woman_of_21_and_a_man_of_21_fail_on_the_man_only() {
        let man = id_number(date!(2005 - 01 - 01), Sex::Male);
        let woman = id_number(date!(2005 - 01 - 01), Sex::Female);
        let refusal = check_on(&man, &woman, date!(2026 - 06 - 15)).expect_err("man 21");
        assert_eq!(
            refusal,
            Refusal::Underage {
                party: "man",
                minimum: 22
            }
        );
    }

    #[test]
    fn a_leap_day_born_man_reaches_22_on_28_february_of_a_common_year_art_202() {
        // Born 2004-02-29; 2026 is a common year: 22 on 2026-02-28, not 21 until 1 March.
        let man = id_number(date!(2004 - 02 - 29), Sex::Male);
        let woman = id_number(date!(2000 - 01 - 01), Sex::Female);
        assert_eq!(check_on(&man, &woman, date!(2026 - 02 - 28)), Ok(()));
        let refusal = check_on(&man, &woman, date!(2026 - 02 - 27)).expect_err("still 21");
        assert_eq!(refusal.reason(), "MARRIAGE_UNDERAGE");
    }

    #[test]
    fn a_leap_day_born_woman_reaches_20_on_29_february_of_a_leap_year() {
        // Born 2008-02-29; 2028 is a leap year: 20 on 2028-02-29, still 19 on 2028-02-28.
        let man = id_number(date!(2000 - 01 - 01), Sex::Male);
        let woman = id_number(date!(2008 - 02 - 29), Sex::Female);
        assert_eq!(check_on(&man, &woman, date!(2028 - 02 - 29)), Ok(()));
        assert!(check_on(&man, &woman, date!(2028 - 02 - 28)).is_err());
    }

    #[test]
    fn both_parties_must_appear_in_person_art_1049() {
        let man = id_number(date!(2000 - 01 - 01), Sex::Male);
        let woman = id_number(date!(2000 - 01 - 01), Sex::Female);
        let none = PersonHistory::default();
        let absent = Applicant {
            in_person: false,
            ..applicant(&woman, &none)
        };
        let refusal = check_marriage(applicant(&man, &none), absent, date!(2026 - 06 - 15))
            .expect_err("absent");
        assert_eq!(refusal.reason(), "MARRIAGE_NOT_IN_PERSON");
    }

    #[test]
    fn declared_prohibited_kinship_is_refused_with_its_own_reason_art_1048() {
        let man = id_number(date!(2000 - 01 - 01), Sex::Male);
        let woman = id_number(date!(2000 - 01 - 01), Sex::Female);
        let none = PersonHistory::default();
        let relatives = Applicant {
            declaration: Declaration {
                not_prohibited_relatives: false,
                ..SIGNED
            },
            ..applicant(&man, &none)
        };
        let refusal = check_marriage(relatives, applicant(&woman, &none), date!(2026 - 06 - 15))
            .expect_err("relatives");
        assert_eq!(refusal, Refusal::ProhibitedRelatives);
        assert_eq!(refusal.reason(), "MARRIAGE_PROHIBITED_RELATIVES");
    }

    #[test]
    fn a_party_who_cannot_declare_no_spouse_is_refused_as_married_art_1042() {
        let man = id_number(date!(2000 - 01 - 01), Sex::Male);
        let woman = id_number(date!(2000 - 01 - 01), Sex::Female);
        let none = PersonHistory::default();
        let spouse = Applicant {
            declaration: Declaration {
                no_spouse: false,
                ..SIGNED
            },
            ..applicant(&woman, &none)
        };
        let refusal = check_marriage(applicant(&man, &none), spouse, date!(2026 - 06 - 15))
            .expect_err("married");
        assert_eq!(refusal, Refusal::AlreadyMarried { party: "woman" });
    }

    #[test]
    fn a_party_who_does_not_declare_free_will_is_refused_art_1046() {
        let man = id_number(date!(2000 - 01 - 01), Sex::Male);
        let woman = id_number(date!(2000 - 01 - 01), Sex::Female);
        let none = PersonHistory::default();
        let unwilling = Applicant {
            declaration: Declaration {
                consents: false,
                ..SIGNED
            },
            ..applicant(&woman, &none)
        };
        let refusal = check_marriage(applicant(&man, &none), unwilling, date!(2026 - 06 - 15))
            .expect_err("no consent");
        assert_eq!(refusal.reason(), "MARRIAGE_NO_CONSENT");
    }

    #[test]
    fn a_stored_declaration_reads_back_as_signed() {
        assert_eq!(Declaration::from_code(&SIGNED.code()), SIGNED);
        let partial = Declaration {
            consents: false,
            ..SIGNED
        };
        assert_eq!(Declaration::from_code(&partial.code()), partial);
    }

    #[test]
    fn a_person_cannot_marry_themselves() {
        let man = id_number(date!(2000 - 01 - 01), Sex::Male);
        let refusal = check_on(&man, &man, date!(2026 - 06 - 15)).expect_err("same");
        assert_eq!(refusal.reason(), "MARRIAGE_SAME_PERSON");
    }

    #[test]
    fn the_parties_are_a_man_and_a_woman_as_the_identity_numbers_say_art_1049() {
        let a = id_number(date!(2000 - 01 - 01), Sex::Female);
        let b = id_number(date!(1999 - 01 - 01), Sex::Female);
        let refusal = check_on(&a, &b, date!(2026 - 06 - 15)).expect_err("same sex");
        assert_eq!(refusal.reason(), "MARRIAGE_SAME_SEX");
    }

    #[test]
    fn a_married_person_is_refused_art_1042() {
        let man = id_number(date!(1990 - 01 - 01), Sex::Male);
        let woman = id_number(date!(1990 - 01 - 01), Sex::Female);
        let married = married_since(date!(2015 - 05 - 20), None);
        let none = PersonHistory::default();
        let refusal = check_marriage(
            applicant(&man, &married),
            applicant(&woman, &none),
            date!(2026 - 06 - 15),
        )
        .expect_err("bigamy");
        assert_eq!(refusal, Refusal::AlreadyMarried { party: "man" });
        assert_eq!(refusal.reason(), "MARRIAGE_ALREADY_MARRIED");
    }

    #[test]
    fn a_widow_may_remarry_art_1042() {
        let man = id_number(date!(1960 - 01 - 01), Sex::Male);
        let woman = id_number(date!(1962 - 01 - 01), Sex::Female);
        let widowed = married_since(
            date!(1985 - 05 - 20),
            Some((Ending::DeathOfSpouse, date!(2024 - 01 - 01))),
        );
        let none = PersonHistory::default();
        assert_eq!(
            check_marriage(
                applicant(&man, &none),
                applicant(&woman, &widowed),
                date!(2026 - 06 - 15)
            ),
            Ok(())
        );
    }

    #[test]
    fn a_divorced_person_may_remarry_whether_the_divorce_was_registered_or_judicial() {
        let man = id_number(date!(1980 - 01 - 01), Sex::Male);
        let woman = id_number(date!(1982 - 01 - 01), Sex::Female);
        let none = PersonHistory::default();
        for ending in [Ending::Divorce, Ending::JudicialDivorce, Ending::Annulment] {
            let divorced =
                married_since(date!(2005 - 05 - 20), Some((ending, date!(2020 - 01 - 01))));
            assert_eq!(
                check_marriage(
                    applicant(&man, &divorced),
                    applicant(&woman, &none),
                    date!(2026 - 06 - 15)
                ),
                Ok(()),
                "{ending:?}"
            );
        }
    }

    #[test]
    fn a_person_whose_death_is_recorded_cannot_marry() {
        let man = id_number(date!(1980 - 01 - 01), Sex::Male);
        let woman = id_number(date!(1982 - 01 - 01), Sex::Female);
        let dead = PersonHistory {
            marriages: vec![],
            died_on: Some(date!(2025 - 01 - 01)),
        };
        let none = PersonHistory::default();
        let refusal = check_marriage(
            applicant(&man, &dead),
            applicant(&woman, &none),
            date!(2026 - 06 - 15),
        )
        .expect_err("deceased");
        assert_eq!(refusal.reason(), "MARRIAGE_PARTY_DECEASED");
    }
}
