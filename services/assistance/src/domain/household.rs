//! Households and their members, as the assistance rules see them.

use money::Fen;
use serde::{Deserialize, Serialize};
use time::Date;

use super::month::Month;
use super::policy::{Area, PolicyVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Relationship {
    Applicant,
    Spouse,
    Child,
    Parent,
    Grandparent,
    Grandchild,
    Sibling,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisabilityKind {
    Visual,
    Hearing,
    Speech,
    Physical,
    Intellectual,
    Mental,
    Multiple,
}

/// 残疾人证: grade 1 (most severe) to 4, and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disability {
    pub grade: u8,
    pub kind: DisabilityKind,
}

impl Disability {
    /// 重度残疾: grade 1-2, or grade 3 intellectual or mental disability (特困人员认定办法 art. 5;
    /// the same group qualifies for 单人户 under 最低生活保障审核确认办法 art. 9).
    pub fn is_severe(self) -> bool {
        self.grade <= 2
            || (self.grade == 3
                && matches!(
                    self.kind,
                    DisabilityKind::Intellectual | DisabilityKind::Mental
                ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IncomeKind {
    Wages,
    Business,
    Property,
    Transfer,
    Pension,
    /// Found by the checking centre beyond what the household declared.
    Undeclared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Income {
    pub kind: IncomeKind,
    pub monthly_fen: Fen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropertyKind {
    Financial,
    House,
    Vehicle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    pub kind: PropertyKind,
    pub value_fen: Fen,
}

/// 六项日常生活活动: eating, dressing, getting in and out of bed, toileting, walking indoors,
/// bathing; `true` = the person manages it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DailyActivities {
    pub eat: bool,
    pub dress: bool,
    pub transfer: bool,
    pub toilet: bool,
    pub walk_indoors: bool,
    pub bathe: bool,
}

impl DailyActivities {
    /// All six managed alone.
    pub const ALL: DailyActivities = DailyActivities {
        eat: true,
        dress: true,
        transfer: true,
        toilet: true,
        walk_indoors: true,
        bathe: true,
    };

    /// Returns how many of the six the person cannot do alone.
    pub fn not_possible(self) -> usize {
        [
            self.eat,
            self.dress,
            self.transfer,
            self.toilet,
            self.walk_indoors,
            self.bathe,
        ]
        .iter()
        .filter(|done_alone| !**done_alone)
        .count()
    }
}

/// A household member. `id_number` is the full 居民身份证号; the store seals it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id_number: String,
    pub name: String,
    #[serde(with = "date_text")]
    pub birth_date: Date,
    pub relationship: Relationship,
    pub incomes: Vec<Income>,
    pub properties: Vec<Property>,
    pub disability: Option<Disability>,
    pub serious_illness: bool,
    pub in_school: bool,
    pub no_capable_supporter: bool,
    pub activities: DailyActivities,
    /// First month the member no longer counts (after death or leaving), if any.
    pub left_month: Option<Month>,
    /// The member's own register type when it differs from the household's (a mixed household):
    /// add-ons given as a share of the standard use the member's own standard.
    #[serde(default)]
    pub own_area: Option<Area>,
}

impl Member {
    /// The member's monthly income, or `None` when the sum does not fit in `i64` fen (it is
    /// then above any standard: the rules treat it so, never as a small or wrapped figure).
    pub fn monthly_income_fen(&self) -> Option<Fen> {
        Fen::checked_sum(self.incomes.iter().map(|i| i.monthly_fen))
    }

    pub fn age_on(&self, on: Date) -> u32 {
        civil_calendar::age_on(self.birth_date, on)
    }

    /// Whether the member counts in `month`.
    pub fn counts_in(&self, month: Month) -> bool {
        self.left_month.is_none_or(|left| month < left)
    }
}

/// A household: its register region, urban or rural, and members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub region: String,
    pub area: Area,
    pub members: Vec<Member>,
}

impl Household {
    /// Members counting in `month`.
    pub fn members_in(&self, month: Month) -> Vec<&Member> {
        self.members.iter().filter(|m| m.counts_in(month)).collect()
    }

    pub fn applicant(&self) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.relationship == Relationship::Applicant)
    }

    pub fn member(&self, id_number: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id_number == id_number)
    }
}

/// The sum of the members' monthly incomes; `None` when it does not fit (above any standard).
pub fn income_of(members: &[&Member]) -> Option<Fen> {
    members.iter().try_fold(Fen::ZERO, |total, m| {
        m.monthly_income_fen()
            .and_then(|income| total.checked_add(income))
    })
}

/// What a household owns, summed over the members given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    /// `None` when the sum does not fit in `i64` fen (beyond any limit).
    pub financial_fen: Option<Fen>,
    pub houses: u32,
    pub vehicles: u32,
}

impl Default for Holdings {
    fn default() -> Holdings {
        Holdings {
            financial_fen: Some(Fen::ZERO),
            houses: 0,
            vehicles: 0,
        }
    }
}

impl Holdings {
    pub fn of(members: &[&Member]) -> Holdings {
        let mut holdings = Holdings::default();
        for property in members.iter().flat_map(|m| m.properties.iter()) {
            match property.kind {
                PropertyKind::Financial => {
                    holdings.financial_fen = holdings
                        .financial_fen
                        .and_then(|total| total.checked_add(property.value_fen));
                }
                // Counts saturate: a count at u32::MAX is still beyond any limit.
                PropertyKind::House => holdings.houses = holdings.houses.saturating_add(1),
                PropertyKind::Vehicle => holdings.vehicles = holdings.vehicles.saturating_add(1),
            }
        }
        holdings
    }

    /// Whether the financial assets are within the county's limit for `members` persons (a sum
    /// that did not fit is beyond it; a limit that does not fit bounds nothing representable).
    pub fn financial_within_limits(
        &self,
        policy: &PolicyVersion,
        area: Area,
        members: usize,
    ) -> bool {
        let limit = policy.financial_assets_limit(area, members);
        match (self.financial_fen, limit) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(held), Some(limit)) => held <= limit,
        }
    }

    /// Whether the houses and vehicles are within the county's limits.
    pub fn goods_within_limits(&self, policy: &PolicyVersion) -> bool {
        let limits = &policy.property_limits;
        self.houses <= limits.max_houses && self.vehicles <= limits.max_vehicles
    }

    /// Whether the holdings are within the county's property limits for `members` persons of
    /// `area` (the asset limit may be a multiple of the area's standard).
    pub fn within_limits(&self, policy: &PolicyVersion, area: Area, members: usize) -> bool {
        self.financial_within_limits(policy, area, members) && self.goods_within_limits(policy)
    }
}

/// What the checking centre verified for one member (家庭经济状况核对).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub id_number: String,
    pub monthly_income_fen: Fen,
    pub financial_assets_fen: Fen,
    pub houses: u32,
    pub vehicles: u32,
}

/// Most houses or vehicles of one member the rules count (far above any county limit).
pub const MAX_COUNTED_GOODS: u32 = 100;

/// Adds to the declared household what the check found and the household did not declare
/// ("凡进必核": the decision rests on verified figures). Declared figures are never lowered.
pub fn apply_verified(household: &mut Household, verified: &[Verified]) {
    for found in verified {
        let Some(member) = household
            .members
            .iter_mut()
            .find(|m| m.id_number == found.id_number)
        else {
            continue;
        };
        // A declared sum that does not fit is above anything found: nothing undeclared.
        let undeclared_income = member
            .monthly_income_fen()
            .and_then(|declared| found.monthly_income_fen.checked_sub(declared))
            .unwrap_or(Fen::ZERO);
        if undeclared_income > Fen::ZERO {
            member.incomes.push(Income {
                kind: IncomeKind::Undeclared,
                monthly_fen: undeclared_income,
            });
        }
        let holdings = Holdings::of(&[member]);
        let undeclared_assets = holdings
            .financial_fen
            .and_then(|declared| found.financial_assets_fen.checked_sub(declared))
            .unwrap_or(Fen::ZERO);
        if undeclared_assets > Fen::ZERO {
            member.properties.push(Property {
                kind: PropertyKind::Financial,
                value_fen: undeclared_assets,
            });
        }
        // Houses and vehicles are counted as items; a figure beyond MAX_COUNTED_GOODS is as far
        // over every limit as MAX_COUNTED_GOODS itself, and is not expanded further.
        for _ in holdings.houses..found.houses.min(MAX_COUNTED_GOODS) {
            member.properties.push(Property {
                kind: PropertyKind::House,
                value_fen: Fen::ZERO,
            });
        }
        for _ in holdings.vehicles..found.vehicles.min(MAX_COUNTED_GOODS) {
            member.properties.push(Property {
                kind: PropertyKind::Vehicle,
                value_fen: Fen::ZERO,
            });
        }
    }
}

/// Calendar dates as "YYYY-MM-DD" in stored snapshots.
mod date_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::macros::format_description;

    pub fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        let text = date
            .format(format_description!("[year]-[month]-[day]"))
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text, format_description!("[year]-[month]-[day]"))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use time::macros::date;

    use super::*;

    /// A member born on `birth` with `income` fen a month of wages and nothing else.
    pub fn member(id: &str, birth: Date, income: i64) -> Member {
        Member {
            id_number: id.to_owned(),
            name: format!("member {id}"),
            birth_date: birth,
            relationship: Relationship::Other,
            incomes: if income > 0 {
                vec![Income {
                    kind: IncomeKind::Wages,
                    monthly_fen: Fen::new(income),
                }]
            } else {
                vec![]
            },
            properties: vec![],
            disability: None,
            serious_illness: false,
            in_school: false,
            no_capable_supporter: false,
            activities: DailyActivities::ALL,
            left_month: None,
            own_area: None,
        }
    }

    pub fn adult(id: &str, income: i64) -> Member {
        member(id, date!(1980 - 05 - 01), income)
    }

    pub fn household(members: Vec<Member>) -> Household {
        let mut members = members;
        if let Some(first) = members.first_mut() {
            first.relationship = Relationship::Applicant;
        }
        Household {
            region: "330723101001".into(),
            area: Area::Rural,
            members,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::domain::policy::Policy;

    #[test]
    fn grade_three_counts_as_severe_only_for_intellectual_or_mental_disability() {
        assert!(
            Disability {
                grade: 2,
                kind: DisabilityKind::Physical
            }
            .is_severe()
        );
        assert!(
            Disability {
                grade: 3,
                kind: DisabilityKind::Mental
            }
            .is_severe()
        );
        assert!(
            Disability {
                grade: 3,
                kind: DisabilityKind::Intellectual
            }
            .is_severe()
        );
        assert!(
            !Disability {
                grade: 3,
                kind: DisabilityKind::Physical
            }
            .is_severe()
        );
        assert!(
            !Disability {
                grade: 4,
                kind: DisabilityKind::Mental
            }
            .is_severe()
        );
    }

    #[test]
    fn property_limits_scale_financial_assets_with_members_and_cap_houses_and_vehicles() {
        let policy = Policy::default_policy();
        let version = policy.in_force_on(time::macros::date!(2026 - 01 - 01));
        let mut a = adult("a", 0);
        a.properties = vec![Property {
            kind: PropertyKind::Financial,
            value_fen: Fen::new(2_820_000),
        }];
        let b = adult("b", 0);
        assert!(Holdings::of(&[&a]).within_limits(version, Area::Rural, 1));
        a.properties.push(Property {
            kind: PropertyKind::Financial,
            value_fen: Fen::new(1),
        });
        assert!(!Holdings::of(&[&a]).within_limits(version, Area::Rural, 1));
        assert!(Holdings::of(&[&a, &b]).within_limits(version, Area::Rural, 2));
        a.properties.push(Property {
            kind: PropertyKind::Vehicle,
            value_fen: Fen::new(3_000_000),
        });
        assert!(
            !Holdings::of(&[&a, &b]).within_limits(version, Area::Rural, 2),
            "no vehicle allowed"
        );
    }

    #[test]
    fn the_economic_check_adds_undeclared_income_and_property_but_never_lowers_declared_figures() {
        let mut h = household(vec![adult("a", 50_000), adult("b", 80_000)]);
        let found = |id: &str, income, vehicles| Verified {
            id_number: id.into(),
            monthly_income_fen: Fen::new(income),
            financial_assets_fen: Fen::ZERO,
            houses: 0,
            vehicles,
        };
        apply_verified(&mut h, &[found("a", 70_000, 1), found("b", 10_000, 0)]);
        assert_eq!(h.members[0].monthly_income_fen(), Some(Fen::new(70_000)));
        assert_eq!(Holdings::of(&[&h.members[0]]).vehicles, 1);
        assert_eq!(h.members[1].monthly_income_fen(), Some(Fen::new(80_000)));
    }
}
