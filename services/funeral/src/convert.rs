//! Proto <-> domain, one naming scheme: `<thing>_in` (proto -> domain), `<thing>_out`
//! (domain -> proto). Enum values are stored by their proto names.

use contracts::civil::funeral::v1 as pb;

use crate::domain::case::CaseState;
use crate::domain::eco_burial::EcoBurialKind;
use crate::domain::plot::LandUse;
use crate::domain::waiver::Ground;
use crate::domain::zone::Ethnicity;

pub fn ethnicity_in(v: i32) -> Option<Ethnicity> {
    use pb::Ethnicity as E;
    Some(match E::try_from(v).ok()? {
        E::Unspecified => return None,
        E::Han => Ethnicity::Han,
        E::Hui => Ethnicity::Hui,
        E::Uyghur => Ethnicity::Uyghur,
        E::Kazakh => Ethnicity::Kazakh,
        E::Kyrgyz => Ethnicity::Kyrgyz,
        E::Uzbek => Ethnicity::Uzbek,
        E::Tajik => Ethnicity::Tajik,
        E::Tatar => Ethnicity::Tatar,
        E::Salar => Ethnicity::Salar,
        E::Dongxiang => Ethnicity::Dongxiang,
        E::Bonan => Ethnicity::Bonan,
        E::Other => Ethnicity::Other,
    })
}

/// A stored ethnicity (its proto name); anything unreadable is "other" (no exemption).
pub fn stored_ethnicity_in(name: &str) -> Ethnicity {
    pb::Ethnicity::from_str_name(name)
        .and_then(|e| ethnicity_in(e.into()))
        .unwrap_or(Ethnicity::Other)
}

pub fn eco_kind_in(v: i32) -> Option<EcoBurialKind> {
    use pb::EcoBurialKind as K;
    Some(match K::try_from(v).ok()? {
        K::Unspecified => return None,
        K::Tree => EcoBurialKind::Tree,
        K::FlowerLawn => EcoBurialKind::FlowerLawn,
        K::Sea => EcoBurialKind::Sea,
        K::Wall => EcoBurialKind::Wall,
        K::Deep => EcoBurialKind::Deep,
    })
}

pub fn eco_kind_out(k: EcoBurialKind) -> pb::EcoBurialKind {
    match k {
        EcoBurialKind::Tree => pb::EcoBurialKind::Tree,
        EcoBurialKind::FlowerLawn => pb::EcoBurialKind::FlowerLawn,
        EcoBurialKind::Sea => pb::EcoBurialKind::Sea,
        EcoBurialKind::Wall => pb::EcoBurialKind::Wall,
        EcoBurialKind::Deep => pb::EcoBurialKind::Deep,
    }
}

pub fn ground_out(g: Ground) -> pb::WaiverGround {
    match g {
        Ground::MinimumLivingAllowance => pb::WaiverGround::MinimumLivingAllowance,
        Ground::ExtremePovertySupport => pb::WaiverGround::ExtremePovertySupport,
        Ground::KeyEntitledGroup => pb::WaiverGround::KeyEntitledGroup,
        Ground::AllResidents => pb::WaiverGround::AllResidents,
        Ground::DiedInCounty => pb::WaiverGround::DiedInCounty,
    }
}

pub fn state_out(s: CaseState) -> pb::CaseState {
    match s {
        CaseState::Registered => pb::CaseState::Registered,
        CaseState::CremationBooked => pb::CaseState::CremationBooked,
        CaseState::Cremated => pb::CaseState::Cremated,
        CaseState::Buried => pb::CaseState::Buried,
        CaseState::AshesPlaced => pb::CaseState::AshesPlaced,
    }
}

/// A proposed site's land use; unspecified counts as designated land (decode requires it).
pub fn land_use_in(l: pb::SiteLandUse) -> LandUse {
    match l {
        pb::SiteLandUse::Farmland => LandUse::Farmland,
        pb::SiteLandUse::Park => LandUse::Park,
        pb::SiteLandUse::ScenicArea => LandUse::ScenicArea,
        pb::SiteLandUse::Reservoir => LandUse::Reservoir,
        pb::SiteLandUse::TrunkRoad => LandUse::TrunkRoad,
        pb::SiteLandUse::Designated | pb::SiteLandUse::Unspecified => LandUse::Designated,
    }
}
