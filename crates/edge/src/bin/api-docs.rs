//! Writes docs/api/openapi.json, docs/api/README.md and docs/api/permissions.md from the embedded descriptor set, the
//! permission table and the RPC comments. Run from anywhere: `cargo run -p edge --bin api-docs`.

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api");
    std::fs::create_dir_all(&dir)?;
    let api = edge::docs::Api::civil();
    std::fs::write(dir.join("openapi.json"), edge::docs::openapi_text(&api))?;
    std::fs::write(dir.join("README.md"), api.reference())?;
    std::fs::write(dir.join("permissions.md"), edge::docs::permission_table())?;
    println!("wrote {}", dir.display());
    Ok(())
}
