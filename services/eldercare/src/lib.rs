//! 养老服务: elderly care service.

pub mod domain;
