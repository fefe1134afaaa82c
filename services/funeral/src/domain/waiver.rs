//! 基本殡葬服务费用减免: basic funeral fee waiver.
//!
//! Basic services (transport, storage, cremation, ash keeping) are free for 低保 members and
//! 特困 persons; the county may extend the list (key entitled groups, all residents). The
//! decision rests on assistance's records, never on the family's word, and keeps its evidence.

/// Benefit kinds the decision recognises in assistance's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ground {
    /// 低保.
    MinimumLivingAllowance,
    /// 特困.
    ExtremePovertySupport,
    /// 重点优抚对象 (only with the county extension).
    KeyEntitledGroup,
    /// Every resident of the county (only with the county extension).
    AllResidents,
    /// A non-resident who died in the county (only where the county extends the residents'
    /// waiver to them explicitly).
    DiedInCounty,
}

/// The basic services a waiver covers.
pub const BASIC_SERVICES: [&str; 4] = ["transport", "storage", "cremation", "ash_keeping"];

/// The county's extension list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaiverExtensions {
    pub key_entitled_groups: bool,
    pub all_residents: bool,
    /// The residents' waiver also covers non-residents who died in the county. Never implied:
    /// the county names it (`waiver_extensions = all_residents,non_residents`).
    pub non_residents: bool,
}

/// A benefit the source reported, with the id that lets a reader find it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenBenefit {
    /// The kind as the source named it.
    pub kind: String,
    pub benefit_id: String,
}

/// What the decision rested on: where it looked, what it saw, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// `assistance` or `county_policy`.
    pub source: String,
    pub benefit_kinds_seen: Vec<String>,
    /// The benefits behind the kinds, with their ids (empty for county-policy evidence).
    pub benefits: Vec<SeenBenefit>,
    pub checked_at_ms: i64,
}

/// A ground and the benefit it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroundedOn {
    pub ground: Ground,
    pub benefit: SeenBenefit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverDecision {
    pub waived: bool,
    pub grounds: Vec<Ground>,
    /// The benefits that grounded the decision, one per benefit.
    pub grounded_on: Vec<GroundedOn>,
    pub evidence: Evidence,
}

/// Reads one benefit kind as assistance names it (enum names with or without a prefix,
/// snake case, or the Chinese short name). Unknown kinds are kept in the evidence, not used.
pub fn recognise(kind: &str) -> Option<Ground> {
    let k = kind.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    let k = k.strip_prefix("BENEFIT_KIND_").unwrap_or(&k);
    match k {
        "MINIMUM_LIVING_ALLOWANCE" | "DIBAO" | "低保" => Some(Ground::MinimumLivingAllowance),
        "EXTREME_POVERTY_SUPPORT" | "TEKUN" | "特困" => Some(Ground::ExtremePovertySupport),
        "KEY_ENTITLED_GROUP" | "重点优抚对象" => Some(Ground::KeyEntitledGroup),
        _ => None,
    }
}

fn admitted(g: Ground, extensions: WaiverExtensions) -> bool {
    g != Ground::KeyEntitledGroup || extensions.key_entitled_groups
}

/// Decides the waiver from assistance's benefit kinds (already in `evidence`) and the county's
/// extensions. `resident_in_county` is whether the deceased's household (户籍) region lies in
/// the county: the residents' waiver covers a non-resident who died in the county only when
/// the county's extension list names `non_residents`.
pub fn decide(
    evidence: Evidence,
    extensions: WaiverExtensions,
    resident_in_county: bool,
) -> WaiverDecision {
    let mut grounds: Vec<Ground> = evidence
        .benefit_kinds_seen
        .iter()
        .filter_map(|k| recognise(k))
        .filter(|g| admitted(*g, extensions))
        .collect();
    if extensions.all_residents && resident_in_county {
        grounds.push(Ground::AllResidents);
    }
    if extensions.all_residents && extensions.non_residents && !resident_in_county {
        grounds.push(Ground::DiedInCounty);
    }
    grounds.sort();
    grounds.dedup();
    let mut grounded_on: Vec<GroundedOn> = Vec::new();
    for b in &evidence.benefits {
        if let Some(ground) = recognise(&b.kind).filter(|g| admitted(*g, extensions))
            && !grounded_on.iter().any(|x| x.benefit == *b)
        {
            grounded_on.push(GroundedOn {
                ground,
                benefit: b.clone(),
            });
        }
    }
    WaiverDecision {
        waived: !grounds.is_empty(),
        grounds,
        grounded_on,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(kinds: &[&str]) -> Evidence {
        Evidence {
            source: "assistance".into(),
            benefit_kinds_seen: kinds.iter().map(|k| k.to_string()).collect(),
            benefits: kinds
                .iter()
                .enumerate()
                .map(|(i, k)| SeenBenefit {
                    kind: k.to_string(),
                    benefit_id: format!("b{i}"),
                })
                .collect(),
            checked_at_ms: 1_767_225_600_000,
        }
    }

    #[test]
    fn a_minimum_living_allowance_member_is_waived_with_the_evidence_kept() {
        let d = decide(
            seen(&["MINIMUM_LIVING_ALLOWANCE"]),
            WaiverExtensions::default(),
            true,
        );
        assert!(d.waived);
        assert_eq!(d.grounds, vec![Ground::MinimumLivingAllowance]);
        assert_eq!(d.evidence.source, "assistance");
        assert_eq!(
            d.evidence.benefit_kinds_seen,
            vec!["MINIMUM_LIVING_ALLOWANCE"]
        );
        assert_eq!(d.evidence.checked_at_ms, 1_767_225_600_000);
    }

    #[test]
    fn an_extreme_poverty_person_is_waived() {
        let d = decide(
            seen(&["BENEFIT_KIND_EXTREME_POVERTY_SUPPORT"]),
            WaiverExtensions::default(),
            true,
        );
        assert_eq!(
            (d.waived, d.grounds),
            (true, vec![Ground::ExtremePovertySupport])
        );
    }

    #[test]
    fn a_key_entitled_group_member_is_waived_only_where_the_county_extends_the_list() {
        let d = decide(
            seen(&["KEY_ENTITLED_GROUP"]),
            WaiverExtensions::default(),
            true,
        );
        assert!(!d.waived, "not on the national list in this suite");
        let ext = WaiverExtensions {
            key_entitled_groups: true,
            ..WaiverExtensions::default()
        };
        let d = decide(seen(&["KEY_ENTITLED_GROUP"]), ext, true);
        assert_eq!(
            (d.waived, d.grounds),
            (true, vec![Ground::KeyEntitledGroup])
        );
    }

    #[test]
    fn all_residents_extension_covers_residents_of_the_county_only() {
        let ext = WaiverExtensions {
            all_residents: true,
            ..WaiverExtensions::default()
        };
        assert_eq!(
            decide(seen(&[]), ext, true).grounds,
            vec![Ground::AllResidents]
        );
        assert!(!decide(seen(&[]), ext, false).waived);
    }

    #[test]
    fn the_residents_waiver_covers_a_non_resident_who_died_here_only_when_the_county_says_so() {
        let ext = WaiverExtensions {
            all_residents: true,
            non_residents: true,
            ..WaiverExtensions::default()
        };
        let d = decide(seen(&[]), ext, false);
        assert_eq!((d.waived, d.grounds), (true, vec![Ground::DiedInCounty]));
        let only_non_residents = WaiverExtensions {
            non_residents: true,
            ..WaiverExtensions::default()
        };
        assert!(
            !decide(seen(&[]), only_non_residents, false).waived,
            "no residents' waiver to extend"
        );
    }

    #[test]
    fn each_ground_names_the_benefit_it_rests_on() {
        let d = decide(
            seen(&["MINIMUM_LIVING_ALLOWANCE", "TEMPORARY_ASSISTANCE"]),
            WaiverExtensions::default(),
            true,
        );
        assert_eq!(d.grounded_on.len(), 1);
        assert_eq!(d.grounded_on[0].ground, Ground::MinimumLivingAllowance);
        assert_eq!(d.grounded_on[0].benefit.benefit_id, "b0");
    }

    #[test]
    fn other_benefits_and_no_benefits_do_not_waive_but_are_recorded() {
        let d = decide(
            seen(&["NEAR_THRESHOLD", "TEMPORARY_ASSISTANCE"]),
            WaiverExtensions::default(),
            true,
        );
        assert!(!d.waived);
        assert!(d.grounds.is_empty());
        assert_eq!(d.evidence.benefit_kinds_seen.len(), 2);
        assert!(!decide(seen(&[]), WaiverExtensions::default(), true).waived);
    }

    #[test]
    fn both_benefits_give_two_grounds_once_each() {
        let d = decide(
            seen(&["特困", "低保", "minimum_living_allowance"]),
            WaiverExtensions::default(),
            true,
        );
        assert_eq!(
            d.grounds,
            vec![
                Ground::MinimumLivingAllowance,
                Ground::ExtremePovertySupport
            ]
        );
    }
}
