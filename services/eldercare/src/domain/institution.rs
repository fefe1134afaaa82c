//! 养老机构: care institutions: grade (GB/T 37276), beds, nursing-bed share, occupancy.

use super::Refusal;

/// One section of the 1000-point grading scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub score: i32,
    pub max_score: i32,
}

/// Total points of the scale.
pub const SCALE_TOTAL: i32 = 1000;

/// Grade thresholds (GB/T 37276): (grade, minimum total, minimum percent in every section).
const THRESHOLDS: [(u8, i32, i32); 5] = [
    (5, 900, 90),
    (4, 780, 80),
    (3, 570, 60),
    (2, 450, 50),
    (1, 360, 40),
];

/// Why section scores are malformed (INVALID_ARGUMENT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoreProblem {
    /// Maxima must add up to 1000.
    ScaleTotal(i32),
    /// A score outside 0..=max in section `index`.
    SectionScore(usize),
}

/// Returns the grade 1-5 the scores reach; refuses when they reach none.
pub fn grade(sections: &[Section]) -> Result<Result<u8, Refusal>, ScoreProblem> {
    let max_total: i32 = sections.iter().map(|s| s.max_score).sum();
    if max_total != SCALE_TOTAL || sections.iter().any(|s| s.max_score <= 0) {
        return Err(ScoreProblem::ScaleTotal(max_total));
    }
    if let Some(i) = sections
        .iter()
        .position(|s| s.score < 0 || s.score > s.max_score)
    {
        return Err(ScoreProblem::SectionScore(i));
    }
    let total: i32 = sections.iter().map(|s| s.score).sum();
    // Integer comparison: score / max >= pct / 100 without rounding.
    let every_section = |pct: i32| sections.iter().all(|s| s.score * 100 >= pct * s.max_score);
    Ok(THRESHOLDS
        .iter()
        .find(|(_, min_total, pct)| total >= *min_total && every_section(*pct))
        .map(|(g, _, _)| *g)
        .ok_or(Refusal::BelowGradeOne))
}

/// 床位类型: a bed is nursing-type (护理型) or general; an institution may re-certify a bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BedType {
    General,
    Nursing,
}

impl BedType {
    pub fn as_str(self) -> &'static str {
        match self {
            BedType::General => "general",
            BedType::Nursing => "nursing",
        }
    }

    pub fn parse(s: &str) -> Option<BedType> {
        [BedType::General, BedType::Nursing]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    pub fn of_flag(nursing: bool) -> BedType {
        if nursing {
            BedType::Nursing
        } else {
            BedType::General
        }
    }
}

/// Why a resident left an institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DischargeReason {
    Unspecified,
    Requested,
    Transferred,
    Death,
    Other,
}

impl DischargeReason {
    const ALL: [DischargeReason; 5] = [
        DischargeReason::Unspecified,
        DischargeReason::Requested,
        DischargeReason::Transferred,
        DischargeReason::Death,
        DischargeReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DischargeReason::Unspecified => "unspecified",
            DischargeReason::Requested => "requested",
            DischargeReason::Transferred => "transferred",
            DischargeReason::Death => "death",
            DischargeReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<DischargeReason> {
        DischargeReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A discharge is recorded on or after the admission day (when the admission day is known).
pub fn check_discharge_day(
    admitted_on: Option<time::Date>,
    discharged_on: time::Date,
) -> Result<(), Refusal> {
    match admitted_on {
        Some(admitted) if discharged_on < admitted => Err(Refusal::DischargeBeforeAdmission),
        _ => Ok(()),
    }
}

/// A part of a whole in basis points (0 when the whole is 0).
pub fn share_bp(part: i32, whole: i32) -> i32 {
    if whole <= 0 {
        0
    } else {
        i32::try_from(i64::from(part) * 10_000 / i64::from(whole)).unwrap_or(0)
    }
}

/// The reported target for nursing beds: at least 55% of all beds.
pub const NURSING_SHARE_TARGET_BP: i32 = 5_500;

/// Takes a bed: nursing beds from the nursing stock, others from the rest.
pub fn check_free_bed(
    nursing: bool,
    beds: i32,
    nursing_beds: i32,
    occupied: i32,
    occupied_nursing: i32,
) -> Result<(), Refusal> {
    let free = if nursing {
        nursing_beds - occupied_nursing
    } else {
        (beds - nursing_beds) - (occupied - occupied_nursing)
    };
    if free > 0 {
        Ok(())
    } else {
        Err(Refusal::NoFreeBed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four sections of 250 points each, scored `a`, `b`, `c`, `d`.
    fn scores(a: i32, b: i32, c: i32, d: i32) -> Vec<Section> {
        [a, b, c, d]
            .iter()
            .enumerate()
            .map(|(i, s)| Section {
                name: format!("s{i}"),
                score: *s,
                max_score: 250,
            })
            .collect()
    }

    #[test]
    fn every_section_at_exactly_the_grade_percentage_reaches_the_grade_gb_t_37276() {
        assert_eq!(
            grade(&scores(100, 100, 100, 100)),
            Ok(Ok(1)),
            "40% each, 400 >= 360"
        );
        assert_eq!(
            grade(&scores(125, 125, 125, 125)),
            Ok(Ok(2)),
            "50% each, 500 >= 450"
        );
        assert_eq!(
            grade(&scores(150, 150, 150, 150)),
            Ok(Ok(3)),
            "60% each, 600 >= 570"
        );
        assert_eq!(
            grade(&scores(200, 200, 200, 200)),
            Ok(Ok(4)),
            "80% each, 800 >= 780"
        );
        assert_eq!(
            grade(&scores(225, 225, 225, 225)),
            Ok(Ok(5)),
            "90% each, 900 >= 900"
        );
    }

    #[test]
    fn one_point_short_in_one_section_drops_a_grade_whatever_the_total() {
        assert_eq!(
            grade(&scores(224, 250, 250, 250)),
            Ok(Ok(4)),
            "974 points but one section at 89.6%"
        );
        assert_eq!(
            grade(&scores(124, 250, 250, 250)),
            Ok(Ok(1)),
            "one section at 49.6%"
        );
        assert_eq!(
            grade(&scores(99, 250, 250, 250)),
            Ok(Err(Refusal::BelowGradeOne)),
            "39.6%"
        );
    }

    #[test]
    fn grade_5_needs_900_points_as_well_as_90_percent_everywhere() {
        let uneven = vec![
            Section {
                name: "a".into(),
                score: 90,
                max_score: 100,
            },
            Section {
                name: "b".into(),
                score: 809,
                max_score: 900,
            },
        ];
        assert_eq!(
            grade(&uneven),
            Ok(Ok(4)),
            "899 points, both sections at >= 89.9%"
        );
        let uneven = vec![
            Section {
                name: "a".into(),
                score: 90,
                max_score: 100,
            },
            Section {
                name: "b".into(),
                score: 810,
                max_score: 900,
            },
        ];
        assert_eq!(grade(&uneven), Ok(Ok(5)));
    }

    #[test]
    fn malformed_scales_are_rejected() {
        let mut s = scores(100, 100, 100, 100);
        s[3].max_score = 249;
        assert_eq!(grade(&s), Err(ScoreProblem::ScaleTotal(999)));
        let s = scores(100, 100, 251, 100);
        assert_eq!(grade(&s), Err(ScoreProblem::SectionScore(2)));
    }

    #[test]
    fn shares_are_in_basis_points_and_the_nursing_target_is_55_percent() {
        assert_eq!(share_bp(55, 100), NURSING_SHARE_TARGET_BP);
        assert_eq!(share_bp(1, 3), 3_333);
        assert_eq!(share_bp(5, 0), 0);
    }

    #[test]
    fn bed_types_and_discharge_reasons_round_trip_and_a_discharge_follows_the_admission() {
        for t in [BedType::General, BedType::Nursing] {
            assert_eq!(BedType::parse(t.as_str()), Some(t));
        }
        for r in DischargeReason::ALL {
            assert_eq!(DischargeReason::parse(r.as_str()), Some(r));
        }
        let day = time::macros::date!(2026 - 06 - 01);
        assert_eq!(check_discharge_day(Some(day), day), Ok(()), "same day");
        assert_eq!(
            check_discharge_day(Some(day), time::macros::date!(2026 - 05 - 31)),
            Err(Refusal::DischargeBeforeAdmission)
        );
        assert_eq!(check_discharge_day(None, day), Ok(()));
    }

    #[test]
    fn nursing_and_other_beds_are_counted_separately() {
        // 10 beds, 6 nursing; 6 nursing taken, 1 other taken.
        assert_eq!(check_free_bed(true, 10, 6, 7, 6), Err(Refusal::NoFreeBed));
        assert_eq!(check_free_bed(false, 10, 6, 7, 6), Ok(()));
        assert_eq!(check_free_bed(false, 10, 6, 10, 6), Err(Refusal::NoFreeBed));
    }
}
