//! 婚姻登记: marriage registration service.

pub mod domain;
