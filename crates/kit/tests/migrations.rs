//! Upgrades (docs/operations/upgrade.md, Operations issue item 3): a store's migrations run
//! twice without harm, and during a rolling update a replica of the older release still opens a
//! database the newer release has migrated. SQLite by default, PostgreSQL with `CIVIL_TEST_PG`.

use std::borrow::Cow;

use kit::store::Db;
use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

fn migration(version: i64, description: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(description),
        MigrationType::Simple,
        sql.into_sql_str(),
        false,
    )
}

/// Release 1 carries two migrations; release 2 adds a nullable column (expand only).
fn release_1() -> Migrator {
    Migrator::with_migrations(vec![
        migration(
            1,
            "init",
            "CREATE TABLE parcels (id TEXT PRIMARY KEY, holder TEXT NOT NULL)",
        ),
        migration(
            2,
            "index",
            "CREATE INDEX parcels_holder ON parcels (holder)",
        ),
    ])
}

fn release_2() -> Migrator {
    let mut all: Vec<Migration> = release_1().iter().cloned().collect();
    all.push(migration(
        3,
        "note",
        "ALTER TABLE parcels ADD COLUMN note TEXT",
    ));
    Migrator::with_migrations(all)
}

async fn applied(db: &Db) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&db.pool)
        .await
        .expect("migration history")
}

#[tokio::test]
async fn migrations_run_twice_apply_each_file_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kit::testing::test_config(dir.path());
    let first = Db::open(&config, "upgrade", &release_1())
        .await
        .expect("first run");
    sqlx::query("INSERT INTO parcels (id, holder) VALUES ('p1', 'h1')")
        .execute(&first.pool)
        .await
        .expect("row");
    first.pool.close().await;
    // The migration Job, then a starting replica: the second run changes nothing.
    let second = Db::open(&config, "upgrade", &release_1())
        .await
        .expect("second run");
    assert_eq!(applied(&second).await, vec![1, 2]);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM parcels")
        .fetch_one(&second.pool)
        .await
        .expect("count");
    assert_eq!(rows, 1, "data kept");
    second.pool.close().await;
}

#[tokio::test]
async fn an_old_replica_opens_a_database_a_newer_release_has_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kit::testing::test_config(dir.path());
    // The migration Job of release 2 ran first.
    let new = Db::open(&config, "rolling", &release_2())
        .await
        .expect("release 2 migrates");
    sqlx::query("INSERT INTO parcels (id, holder, note) VALUES ('p1', 'h1', 'new column')")
        .execute(&new.pool)
        .await
        .expect("row");
    new.pool.close().await;

    // A replica of release 1, not yet rolled, restarts: it opens and reads what it knows.
    let old = Db::open(&config, "rolling", &release_1())
        .await
        .expect("an old replica starts on the newer schema");
    assert_eq!(applied(&old).await, vec![1, 2, 3], "nothing undone");
    let holder: String = sqlx::query_scalar("SELECT holder FROM parcels WHERE id = 'p1'")
        .fetch_one(&old.pool)
        .await
        .expect("reads");
    assert_eq!(holder, "h1");
    old.pool.close().await;

    // And release 2 again (the next pod of the roll) is a no-op.
    let again = Db::open(&config, "rolling", &release_2())
        .await
        .expect("release 2 again");
    assert_eq!(applied(&again).await, vec![1, 2, 3]);
    again.pool.close().await;
}

#[tokio::test]
async fn a_store_behind_the_binary_is_brought_up_to_date_on_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kit::testing::test_config(dir.path());
    Db::open(&config, "behind", &release_1())
        .await
        .expect("release 1")
        .pool
        .close()
        .await;
    let db = Db::open(&config, "behind", &release_2())
        .await
        .expect("release 2");
    assert_eq!(applied(&db).await, vec![1, 2, 3]);
    sqlx::query("UPDATE parcels SET note = 'x'")
        .execute(&db.pool)
        .await
        .expect("the new column exists");
    db.pool.close().await;
}
