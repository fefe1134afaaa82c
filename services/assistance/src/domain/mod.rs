//! Domain rules of 社会救助, as plain types and functions: no gRPC, no storage, no clock.
//!
//! - [`policy`]: the county policy, versioned by effective date.
//! - [`household`]: households, members, income and property.
//! - [`allowance`]: 低保, 低保边缘 and 单人户 eligibility and amounts.
//! - [`extreme_poverty`]: 特困 conditions, care levels and support.
//! - [`temporary`]: 临时救助 bounds.
//! - [`application`]: the review procedure, its order and deadline.
//! - [`benefit`]: a benefit over time: monthly amounts, income changes, deaths, terminations.
//! - [`payment`]: the payment roll's maker-checker lifecycle, bank files, returns, re-issue.
//! - [`grievance`]: grievances, objections, complaints: categories, deadlines, escalation.
//! - [`monitoring`]: 低收入人口动态监测: the register, the county's warning rules, warnings.

pub mod allowance;
pub mod application;
pub mod benefit;
pub mod extreme_poverty;
pub mod grievance;
pub mod household;
pub mod monitoring;
pub mod month;
pub mod payment;
pub mod policy;
pub mod temporary;

#[cfg(test)]
mod extremes;
