//! 殡葬: funeral and burial service.

pub mod domain;
