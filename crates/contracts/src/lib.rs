//! Generated code for every `civil.*` protobuf package and the encoded descriptor set.
//!
//! Modules follow the package names: `contracts::civil::marriage::v1`, …
#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub mod codec;

include!(concat!(env!("OUT_DIR"), "/_includes.rs"));

/// Encoded `FileDescriptorSet` of all civil.* files, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/civil_descriptor.bin"));

/// Test doubles: `Doubled<D: Dispatch>` implements every service of the contracts (unary RPCs go
/// to `D::dispatch("Service/Rpc", request)`, streaming ones answer UNIMPLEMENTED) and
/// `routes(&d)` serves them all. Generated at build time from the descriptor set, so a new RPC
/// needs no edit in any test.
pub mod doubles {
    include!(concat!(env!("OUT_DIR"), "/doubles.rs"));
}

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn descriptor_set_decodes_and_names_every_service_package() {
        let set =
            prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).expect("decodes");
        let packages: Vec<_> = set.file.iter().filter_map(|f| f.package.clone()).collect();
        for svc in [
            "common",
            "marriage",
            "assistance",
            "funeral",
            "eldercare",
            "socialorg",
            "placename",
            "onematter",
        ] {
            let want = format!("civil.{svc}.v1");
            assert!(packages.contains(&want), "missing {want} in {packages:?}");
        }
    }
}
