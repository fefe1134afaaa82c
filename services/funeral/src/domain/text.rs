//! Bounds on free text (Defects #12 item 9): every name and place a caller sends is checked
//! for length (in characters, not bytes) and for control characters before it is stored, by
//! `kit::rpc::Text` with these limits.
//!
//! Limits (chosen; see docs/rules/funeral.md): a personal name holds at most 64 characters
//! (long enough for transliterated minority names with the middle dot), a place or location
//! 200, a display name 100, a certificate or plot number 40.

/// Personal names (deceased, declarant).
pub const NAME_MAX: usize = 64;
/// Places and locations (place of death, custody location, burial or eco-burial place).
pub const PLACE_MAX: usize = 200;
/// Display names (cemeteries).
pub const DISPLAY_NAME_MAX: usize = 100;
/// Certificate and plot numbers.
pub const NUMBER_MAX: usize = 40;
