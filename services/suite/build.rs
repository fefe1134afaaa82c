//! `sqlx::migrate!` embeds each service's migrations into the `civil restore-check` command;
//! a new migration file must rebuild it.
fn main() {
    for service in [
        "marriage",
        "assistance",
        "funeral",
        "eldercare",
        "socialorg",
        "placename",
        "onematter",
    ] {
        println!("cargo:rerun-if-changed=../{service}/migrations");
    }
}
