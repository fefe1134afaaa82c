//! The restore drill (docs/operations/restore.md), on PostgreSQL: an after-death case runs to
//! the end, the suite stops, its schemas are dumped with `pg_dump` and restored with
//! `pg_restore` into a fresh database; `civil restore-check` passes there with the same row
//! counts as the source; the suite starts on the restored database with the same PII key, the
//! finished case, the ended benefit and every audit chain are there, and a new case completes.
//!
//! Runs only with `CIVIL_TEST_PG` (the drill is about PostgreSQL's own tools); `.ci/run` sets it.

mod common;

use std::process::Command;

use auth::Role;
use common::*;
use contracts::civil::onematter::v1 as pb;
use kit::config::Secret;

/// libpq URL of another database on the same server.
fn database_url(base: &str, database: &str) -> String {
    let cut = base
        .rfind('/')
        .expect("a database URL ends with /<database>");
    format!("{}/{database}", &base[..cut])
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What an after-death case left behind: the finished case, what the bureaus held before the
/// death, and the funeral's death case.
struct Finished {
    case: pb::Case,
    seeded: Seeded,
    death_case: String,
}

/// Runs an after-death case to its end on `suite`, as the funeral home and the son would
/// (tests/tests/after_death.rs); `earlier` names the cases the suite already holds.
async fn after_death_case(
    suite: &kit::testing::TestSuite,
    people: &People,
    son: &str,
    earlier: &[String],
) -> Finished {
    let staff = Staff::of(suite);
    let seeded = seed(suite, &staff, people).await;
    let death = register_death(suite, &staff, people).await;
    let son_token = suite.token_for(son, &[Role::Citizen], COUNTY);
    let started = wait_for_cases(suite, &staff, earlier.len() + 1).await;
    let case = started
        .into_iter()
        .find(|c| !earlier.contains(&c.name))
        .expect("the death started a new case");
    let joined = onematter(suite)
        .start_case(suite.request(people.start_case(&format!("{son}-join")), &son_token))
        .await
        .expect("the family joins")
        .into_inner();
    assert_eq!(joined.name, case.name);
    let done = settle(suite, &son_token, &joined.name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:#?}");
    Finished {
        case: done,
        seeded,
        death_case: death.name,
    }
}

#[tokio::test]
async fn a_backup_restored_into_a_fresh_database_brings_the_suite_back_whole() {
    let Ok(pg) = std::env::var("CIVIL_TEST_PG") else {
        eprintln!("restore drill: CIVIL_TEST_PG not set, nothing to drill (SQLite run)");
        return;
    };
    let pii_key = "7f".repeat(32);
    let outside = Outside::start().await;
    let source = spawn_suite(&outside, |c| c.pii_key = Some(Secret(pii_key.clone()))).await;
    let source_config = source.config.clone();
    let prefix = source_config.db_schema_prefix.clone();
    let first_people = People::new(1);
    let first = after_death_case(&source, &first_people, "citizen-drill-son-1", &[]).await;
    let names: Vec<String> = suite::ALL.iter().map(|d| d.name.to_owned()).collect();
    // The state the backup holds: after the stop (a stopping service still writes, e.g. it
    // signs its audit head).
    source.stop().await;
    let before = suite::restore_check::check(&source_config, &names)
        .await
        .expect("check the source");
    assert!(
        before.iter().all(|r| r.ok()),
        "{}",
        suite::restore_check::render(&before)
    );

    // Back up only this test's schemas, restore them into a database of their own.
    let dump = tempfile::NamedTempFile::new().expect("temp file");
    run(Command::new("pg_dump")
        .arg("--format=custom")
        .arg("--no-owner")
        .arg(format!("--schema={prefix}*"))
        .arg(format!("--file={}", dump.path().display()))
        .arg(&pg));
    let fresh = format!("drill_{}", &prefix.trim_end_matches('_'));
    let admin = database_url(&pg, "postgres");
    run(Command::new("psql").args([
        &admin,
        "-qc",
        &format!("DROP DATABASE IF EXISTS {fresh} WITH (FORCE)"),
    ]));
    run(Command::new("psql").args([&admin, "-qc", &format!("CREATE DATABASE {fresh}")]));
    let restored_url = database_url(&pg, &fresh);
    run(Command::new("pg_restore")
        .arg("--no-owner")
        .arg(format!("--dbname={restored_url}"))
        .arg(dump.path()));

    // The operator's check on the restored database: all good, and the same rows.
    let mut restored_config = source_config.clone();
    restored_config.database_url = Some(Secret(restored_url.clone()));
    let after = suite::restore_check::check(&restored_config, &names)
        .await
        .expect("check the restore");
    assert!(
        after.iter().all(|r| r.ok()),
        "{}",
        suite::restore_check::render(&after)
    );
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            b.tables, a.tables,
            "{}: rows per table after the restore",
            b.service
        );
        assert_eq!(b.audit_rows, a.audit_rows, "{}: audit rows", b.service);
    }

    // The suite on the restored database: the finished case is there for the family, every
    // audit chain verifies, and a new case runs to its end.
    let restored = spawn_suite(&outside, |c| {
        c.pii_key = Some(Secret(pii_key.clone()));
        c.database_url = Some(Secret(restored_url.clone()));
        c.db_schema_prefix = prefix.clone();
    })
    .await;
    let son = restored.token_for("citizen-drill-son-1", &[Role::Citizen], COUNTY);
    let case = get_case(&restored, &son, &first.case.name).await;
    assert_eq!(case.state(), pb::CaseState::Completed);
    assert_eq!(case.steps.len(), first.case.steps.len());
    // Every bureau's part of it, read back through their RPCs (the ended benefit, the widow,
    // the stopped allowance, ...): the sealed identity numbers open and their indexes match.
    assert_after_death_effects(
        &restored,
        &Staff::of(&restored),
        &first_people,
        &first.seeded,
        &first.death_case,
    )
    .await;
    for service in &names {
        let db = restored.db(service).await;
        auth::audit::verify(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{service}: audit chain after restore: {e}"));
    }
    let second = after_death_case(
        &restored,
        &People::new(2),
        "citizen-drill-son-2",
        std::slice::from_ref(&first.case.name),
    )
    .await;
    assert_ne!(second.case.name, first.case.name);
    restored.stop().await;
    // The stopped suite's pools close lazily; the drill's database goes regardless.
    run(Command::new("psql").args([
        &admin,
        "-qc",
        &format!("DROP DATABASE {fresh} WITH (FORCE)"),
    ]));
}
