//! 社会救助: social assistance. Rules in [`domain`].

pub mod domain;
