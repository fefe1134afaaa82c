//! 节地生态安葬: eco-burial of ashes, rewarded by the county (amounts in fen, county policy).

/// Kinds of eco-burial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcoBurialKind {
    /// 树葬.
    Tree,
    /// 花坛葬 / 草坪葬.
    FlowerLawn,
    /// 海葬.
    Sea,
    /// 壁葬.
    Wall,
    /// 不保留骨灰的深埋.
    Deep,
}

impl EcoBurialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EcoBurialKind::Tree => "tree",
            EcoBurialKind::FlowerLawn => "flower_lawn",
            EcoBurialKind::Sea => "sea",
            EcoBurialKind::Wall => "wall",
            EcoBurialKind::Deep => "deep",
        }
    }

    pub fn parse(s: &str) -> Option<EcoBurialKind> {
        [
            Self::Tree,
            Self::FlowerLawn,
            Self::Sea,
            Self::Wall,
            Self::Deep,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The county's reward per kind, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcoRewardPolicy {
    pub tree_fen: i64,
    pub flower_lawn_fen: i64,
    pub sea_fen: i64,
    pub wall_fen: i64,
    pub deep_fen: i64,
}

impl Default for EcoRewardPolicy {
    fn default() -> Self {
        // Common county figures: sea scattering rewarded most, wall burial least.
        Self {
            tree_fen: 100_000,
            flower_lawn_fen: 100_000,
            sea_fen: 200_000,
            wall_fen: 50_000,
            deep_fen: 150_000,
        }
    }
}

impl EcoRewardPolicy {
    /// Returns the reward for a kind; never negative.
    pub fn reward_fen(&self, kind: EcoBurialKind) -> i64 {
        let amount = match kind {
            EcoBurialKind::Tree => self.tree_fen,
            EcoBurialKind::FlowerLawn => self.flower_lawn_fen,
            EcoBurialKind::Sea => self.sea_fen,
            EcoBurialKind::Wall => self.wall_fen,
            EcoBurialKind::Deep => self.deep_fen,
        };
        amount.max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_eco_burial_kind_earns_its_county_reward() {
        let p = EcoRewardPolicy {
            tree_fen: 1,
            flower_lawn_fen: 2,
            sea_fen: 3,
            wall_fen: 4,
            deep_fen: 5,
        };
        assert_eq!(p.reward_fen(EcoBurialKind::Tree), 1);
        assert_eq!(p.reward_fen(EcoBurialKind::FlowerLawn), 2);
        assert_eq!(p.reward_fen(EcoBurialKind::Sea), 3);
        assert_eq!(p.reward_fen(EcoBurialKind::Wall), 4);
        assert_eq!(p.reward_fen(EcoBurialKind::Deep), 5);
    }

    #[test]
    fn a_misconfigured_negative_reward_pays_nothing() {
        let p = EcoRewardPolicy {
            sea_fen: -5,
            ..EcoRewardPolicy::default()
        };
        assert_eq!(p.reward_fen(EcoBurialKind::Sea), 0);
    }

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for k in [
            EcoBurialKind::Tree,
            EcoBurialKind::FlowerLawn,
            EcoBurialKind::Sea,
            EcoBurialKind::Wall,
            EcoBurialKind::Deep,
        ] {
            assert_eq!(EcoBurialKind::parse(k.as_str()), Some(k));
        }
    }
}
