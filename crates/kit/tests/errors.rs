//! A lost database answers UNAVAILABLE with RetryInfo (standard clients retry it), never
//! INTERNAL. SQLite always, PostgreSQL when `CIVIL_TEST_PG` is set.

use std::time::Duration;

use kit::store::Db;
use tonic::Code;
use tonic_types::StatusExt;

static NO_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations");

fn assert_unavailable_with_retry_info(status: &tonic::Status) {
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let retry = status
        .get_details_retry_info()
        .expect("RetryInfo tells the client when to retry");
    assert!(retry.retry_delay.is_some_and(|d| d > Duration::ZERO));
}

#[tokio::test]
async fn a_closed_pool_answers_unavailable_with_retry_info() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = kit::testing::test_config(dir.path());
    let db = Db::open(&config, "kittest", &NO_MIGRATIONS)
        .await
        .expect("store opens");
    db.pool.close().await;
    let err = sqlx::query("SELECT 1")
        .execute(&db.pool)
        .await
        .expect_err("closed");
    assert_unavailable_with_retry_info(&kit::to_status(kit::ServiceError::from(err)));
}

#[tokio::test]
async fn a_database_on_a_dead_port_answers_unavailable_not_internal() {
    sqlx::any::install_default_drivers();
    // Nothing listens on port 1: connecting fails with an I/O error or the pool times out.
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy("postgres://postgres@127.0.0.1:1/test")
        .expect("lazy pool");
    let err = sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .expect_err("nobody listens");
    assert_unavailable_with_retry_info(&kit::to_status(kit::ServiceError::from(err)));
}

#[tokio::test]
async fn a_lost_connection_wrapped_in_anyhow_is_still_unavailable() {
    let err = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("loading the benefit");
    assert_unavailable_with_retry_info(&kit::to_status(kit::ServiceError::Internal(err)));
}

#[tokio::test]
async fn a_bad_query_stays_internal() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = kit::testing::test_config(dir.path());
    let db = Db::open(&config, "kittest", &NO_MIGRATIONS)
        .await
        .expect("store opens");
    let err = sqlx::query("SELECT no_such_column FROM bookings")
        .execute(&db.pool)
        .await
        .expect_err("bad query");
    assert_eq!(
        kit::to_status(kit::ServiceError::from(err)).code(),
        Code::Internal
    );
}
