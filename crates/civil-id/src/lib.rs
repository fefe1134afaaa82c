//! Identity codes the civil-affairs services accept, parsed once into types that cannot hold an
//! invalid value ("parse, don't validate").
//!
//! - [`IdNumber`]: 居民身份证号, resident identity number (GB 11643-1999).
//! - [`CreditCode`]: 统一社会信用代码, unified social credit code (GB 32100-2015).
//! - [`RegionCode`]: 行政区划代码, region code (GB/T 2260, with township and village extensions).
//! - [`BlindIndex`]: a keyed index of identity numbers for lookups without storing them in clear.
//!
//! The crate is pure: no I/O, no clock, no gRPC. Every error has a stable `reason()` code that
//! services put in `ErrorInfo` / `BadRequest` details.

mod blind_index;
mod credit_code;
mod id_number;
mod region_code;

pub use blind_index::BlindIndex;
pub use credit_code::{CreditCode, CreditCodeError};
pub use id_number::{IdError, IdNumber, Sex, mask_id_number};
pub use region_code::{RegionCode, RegionCodeError, RegionLevel};
