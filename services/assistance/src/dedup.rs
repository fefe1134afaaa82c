//! Deduplication (RULES.md "Second round" §5): a person is in at most one live assistance
//! household and in at most one open application per program in the county, checked by blind
//! index on every application and every change of a household's membership (a decision that
//! creates a benefit). The refusal names the existing record only to a caller allowed to read
//! it (docs/rules/assistance.md "Deduplication").

use kit::ServiceError;
use kit::rpc::Call;

use crate::api::refuse;
use crate::api::shared::READERS;
use crate::domain::benefit::BenefitKind;
use crate::domain::household::{Household, Relationship};
use crate::procedure::index_of;
use crate::records::kind_str;
use crate::store::{self, Holder};

/// FAILED_PRECONDITION reason: the person is already in a live assistance household.
pub(crate) const IN_HOUSEHOLD: &str = "ASSISTANCE_ALREADY_IN_HOUSEHOLD";
/// FAILED_PRECONDITION reason: the person is already in an open application of the program.
pub(crate) const APPLICATION_OPEN: &str = "ASSISTANCE_APPLICATION_ALREADY_OPEN";

/// The members an application of `kind` would cover, with their position in the household:
/// the applicant for 特困, the member covered alone for a 单人户, else everybody.
pub(crate) fn covered_positions(
    kind: BenefitKind,
    household: &Household,
    individual: Option<&str>,
) -> Vec<usize> {
    household
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| match (kind, individual) {
            (BenefitKind::ExtremePoverty, _) => m.relationship == Relationship::Applicant,
            (_, Some(id)) => m.id_number == id,
            _ => true,
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether the caller may see the existing record: a reader whose scope covers its region.
fn may_see(c: &Call, region: &str) -> bool {
    c.authorize(READERS, Some(region)).is_ok()
}

fn in_household(c: &Call, member: usize, holder: &Holder) -> ServiceError {
    let named = if may_see(c, &holder.region) {
        format!(" (benefit {})", holder.id)
    } else {
        String::new()
    };
    refuse(
        IN_HOUSEHOLD,
        format!("household.members[{member}] is already in an assistance household{named}"),
    )
}

fn application_open(c: &Call, member: usize, holder: &Holder) -> ServiceError {
    let named = if may_see(c, &holder.region) {
        format!(" (application {})", holder.id)
    } else {
        String::new()
    };
    refuse(
        APPLICATION_OPEN,
        format!(
            "household.members[{member}] is already in an open application of this program{named}"
        ),
    )
}

/// 低保边缘 excludes 低保 and 特困 by definition (RULES.md "Second round" §5, §7): a household
/// near the threshold whose situation worsened applies for 低保 (or a member for 特困) while its
/// 低保边缘 benefit is live, and the approval ends that benefit. Any other live household
/// blocks a new one.
pub(crate) fn supersedes(new: BenefitKind, held: &str) -> bool {
    held == kind_str(BenefitKind::NearThreshold)
        && matches!(
            new,
            BenefitKind::MinimumLiving | BenefitKind::ExtremePoverty
        )
}

/// The person's live household, unless the new program supersedes it.
async fn blocking_household(
    c: &mut Call,
    index: &str,
    kind: BenefitKind,
) -> Result<Option<Holder>, ServiceError> {
    let Some(holder) = store::household_of(c.db(), index).await? else {
        return Ok(None);
    };
    let held = store::benefit_kind(c.db(), &holder.id).await?;
    Ok((!supersedes(kind, &held)).then_some(holder))
}

/// On a new application: its covered members are in no live household (but one it
/// supersedes) and in no other open application of the program; registers them in this one.
pub(crate) async fn claim_application(
    c: &mut Call,
    application_id: &str,
    kind: BenefitKind,
    household: &Household,
    individual: Option<&str>,
) -> Result<(), ServiceError> {
    let sealer = c.sealer().clone();
    let this = Holder {
        id: application_id.to_owned(),
        region: household.region.clone(),
    };
    for i in covered_positions(kind, household, individual) {
        let Some(index) = index_of(&sealer, &household.members[i].id_number) else {
            continue;
        };
        if let Some(holder) = blocking_household(c, &index, kind).await? {
            return Err(in_household(c, i, &holder));
        }
        if !store::claim_application(c.db(), &index, kind_str(kind), &this).await? {
            let holder = store::open_application_of(c.db(), &index, kind_str(kind))
                .await?
                .unwrap_or(this.clone());
            return Err(application_open(c, i, &holder));
        }
    }
    Ok(())
}

/// On a decision: the application's people may apply again.
pub(crate) async fn release_application(
    c: &mut Call,
    application_id: &str,
) -> Result<(), ServiceError> {
    store::release_application(c.db(), application_id).await
}

/// On a benefit's creation (a household's membership set): each covered person (by blind
/// index, in household order) joins no other live household; a 低保边缘 benefit the new
/// program supersedes ends (from the month after `today`) and frees its people first.
pub(crate) async fn claim_household(
    c: &mut Call,
    benefit_id: &str,
    kind: BenefitKind,
    region: &str,
    covered: &[(usize, String)],
) -> Result<(), ServiceError> {
    let this = Holder {
        id: benefit_id.to_owned(),
        region: region.to_owned(),
    };
    for (i, index) in covered {
        if let Some(holder) = store::household_of(c.db(), index).await?
            && holder.id != this.id
        {
            if blocking_household(c, index, kind).await?.is_some() {
                return Err(in_household(c, *i, &holder));
            }
            end_superseded(c, &holder.id, benefit_id).await?;
        }
        if !store::claim_household(c.db(), index, &this).await? {
            let holder = store::household_of(c.db(), index)
                .await?
                .unwrap_or(this.clone());
            return Err(in_household(c, *i, &holder));
        }
    }
    Ok(())
}

/// Ends the superseded 低保边缘 benefit (its register rows go with it).
async fn end_superseded(c: &mut Call, old: &str, new: &str) -> Result<(), ServiceError> {
    let sealer = c.sealer().clone();
    let mut rec = store::load_benefit(c.db(), &sealer, old).await?;
    let (today, subject) = (c.today(), c.principal().subject.clone());
    let termination = crate::benefits::Termination {
        reason: crate::domain::benefit::TerminationReason::Lapsed,
        event: today,
        note: format!("superseded by benefits/{new} (低保边缘 excludes 低保 and 特困)"),
    };
    let from = crate::benefits::terminate(&mut rec, termination, &subject, today)?;
    crate::benefits::save_change(c, &rec, from, "superseded").await
}
