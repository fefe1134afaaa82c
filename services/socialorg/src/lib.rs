//! 社会组织: registration of social organisations, their annual reports, credit lists and
//! ratings.

pub mod domain;
