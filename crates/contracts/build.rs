//! Compiles every `.proto` under the workspace's `proto/` with a vendored `protoc`, so a fresh
//! machine needs no protobuf toolchain installed.
use std::path::{Path, PathBuf};

use prost::Message as _;

#[path = "build/doubles.rs"]
mod doubles;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("proto dir readable")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let mut protos = Vec::new();
    collect(&root, &mut protos);
    println!("cargo:rerun-if-changed={}", root.display());
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: the build script is single-threaded; prost-build reads PROTOC from the env.
    unsafe { std::env::set_var("PROTOC", &protoc) };
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let well_known = protoc_bin_vendored::include_path()?;
    // Every message implements `prost::Name`: `kit::events::Topic` takes its event type from it.
    let mut prost_config = tonic_prost_build::Config::new();
    prost_config.enable_type_names();
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("civil_descriptor.bin"))
        .include_file("_includes.rs")
        // Undecodable requests are the caller's fault: INVALID_ARGUMENT, not INTERNAL.
        .codec_path("crate::codec::CivilCodec")
        .compile_with_config(prost_config, &protos, &[root, well_known])?;
    // Test doubles and the descriptor for dependents' build scripts (`DEP_CIVIL_CONTRACTS_DESCRIPTOR`).
    let descriptor = out.join("civil_descriptor.bin");
    let set = prost_types::FileDescriptorSet::decode(std::fs::read(&descriptor)?.as_slice())?;
    std::fs::write(out.join("doubles.rs"), doubles::generate(&set))?;
    println!("cargo:descriptor={}", descriptor.display());
    println!("cargo:rerun-if-changed=build/doubles.rs");
    Ok(())
}
