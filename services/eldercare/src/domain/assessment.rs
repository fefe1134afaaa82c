//! 老年人能力评估 (GB/T 42195-2022): ability level from the total score, with adjustments.
//!
//! Total 0-90: 90 -> level 0 (capable), 66-89 -> 1 (mild), 46-65 -> 2 (moderate),
//! 30-45 -> 3 (severe), 0-29 -> 4 (complete loss). Coma is level 4. One level worse (at most
//! level 4) for a dementia or psychiatric diagnosis or two or more care-risk events in 30 days;
//! the two conditions together still worsen by one level.

use money::Fen;

/// Assessment input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Findings {
    pub total_score: i32,
    pub coma: bool,
    pub dementia_or_psychiatric: bool,
    pub care_risk_events_30d: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessed {
    pub base_level: u8,
    pub level: u8,
}

/// The highest level (complete loss of ability).
pub const MAX_LEVEL: u8 = 4;

/// Level from the total score alone; `None` when the score is outside 0-90.
pub fn level_from_score(total: i32) -> Option<u8> {
    Some(match total {
        90 => 0,
        66..=89 => 1,
        46..=65 => 2,
        30..=45 => 3,
        0..=29 => 4,
        _ => return None,
    })
}

/// Assesses; `None` when the score is outside 0-90 or the event count is negative.
pub fn assess(f: Findings) -> Option<Assessed> {
    if f.care_risk_events_30d < 0 {
        return None;
    }
    let base_level = level_from_score(f.total_score)?;
    let level = if f.coma {
        MAX_LEVEL
    } else if f.dementia_or_psychiatric || f.care_risk_events_30d >= 2 {
        (base_level + 1).min(MAX_LEVEL)
    } else {
        base_level
    };
    Some(Assessed { base_level, level })
}

/// Monthly care subsidy per level (county policy, one version of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CareSubsidies {
    pub by_level: [Fen; 5],
}

impl CareSubsidies {
    /// The monthly subsidy at an ability level; never negative, nothing for an unknown level.
    pub fn monthly(&self, level: u8) -> Fen {
        self.by_level
            .get(usize::from(level))
            .copied()
            .unwrap_or(Fen::ZERO)
            .max(Fen::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(total: i32) -> Findings {
        Findings {
            total_score: total,
            coma: false,
            dementia_or_psychiatric: false,
            care_risk_events_30d: 0,
        }
    }

    #[test]
    fn score_boundaries_give_the_levels_of_gb_t_42195_2022() {
        let cases = [
            (90, 0),
            (89, 1),
            (66, 1),
            (65, 2),
            (46, 2),
            (45, 3),
            (30, 3),
            (29, 4),
            (0, 4),
        ];
        for (score, level) in cases {
            assert_eq!(
                assess(plain(score)).map(|a| a.level),
                Some(level),
                "score {score}"
            );
        }
    }

    #[test]
    fn scores_outside_0_to_90_are_not_assessed() {
        assert_eq!(assess(plain(91)), None);
        assert_eq!(assess(plain(-1)), None);
        assert_eq!(
            assess(Findings {
                care_risk_events_30d: -1,
                ..plain(50)
            }),
            None
        );
    }

    #[test]
    fn coma_is_level_4_whatever_the_score() {
        let a = assess(Findings {
            coma: true,
            ..plain(90)
        })
        .expect("valid");
        assert_eq!((a.base_level, a.level), (0, 4));
    }

    #[test]
    fn a_dementia_or_psychiatric_diagnosis_worsens_by_one_level() {
        let a = assess(Findings {
            dementia_or_psychiatric: true,
            ..plain(70)
        })
        .expect("valid");
        assert_eq!((a.base_level, a.level), (1, 2));
    }

    #[test]
    fn two_care_risk_events_in_30_days_worsen_by_one_level_but_one_does_not() {
        assert_eq!(
            assess(Findings {
                care_risk_events_30d: 1,
                ..plain(50)
            })
            .map(|a| a.level),
            Some(2)
        );
        assert_eq!(
            assess(Findings {
                care_risk_events_30d: 2,
                ..plain(50)
            })
            .map(|a| a.level),
            Some(3)
        );
    }

    #[test]
    fn both_adjustments_together_worsen_by_one_level_and_never_past_level_4() {
        let both = Findings {
            dementia_or_psychiatric: true,
            care_risk_events_30d: 3,
            ..plain(90)
        };
        assert_eq!(assess(both).map(|a| a.level), Some(1));
        let worst = Findings {
            dementia_or_psychiatric: true,
            ..plain(10)
        };
        assert_eq!(assess(worst).map(|a| a.level), Some(4));
    }

    #[test]
    fn care_subsidy_follows_the_county_amount_per_level() {
        let s = CareSubsidies {
            by_level: [0, 1, 2, 3, 4].map(Fen::new),
        };
        assert_eq!(s.monthly(3), Fen::new(3));
        assert_eq!(s.monthly(9), Fen::ZERO);
    }
}
