//! The suite: every service of the county civil-affairs platform, mountable together or alone.

use kit::ServiceDef;

pub mod pii_reseal;
pub mod restore_check;

/// Every service, in the order they are mounted.
pub const ALL: [ServiceDef; 7] = [
    marriage::SERVICE,
    assistance::SERVICE,
    funeral::SERVICE,
    eldercare::SERVICE,
    socialorg::SERVICE,
    placename::SERVICE,
    onematter::SERVICE,
];

/// The services named (all when `names` is empty).
pub fn select(names: &[String]) -> anyhow::Result<Vec<ServiceDef>> {
    if names.is_empty() {
        return Ok(ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            ALL.iter().copied().find(|d| d.name == n).ok_or_else(|| {
                let known: Vec<_> = ALL.iter().map(|d| d.name).collect();
                anyhow::anyhow!("unknown service {n:?}; known: {}", known.join(", "))
            })
        })
        .collect()
}
