//! The old `kit::idempotency::once` (still used by services not yet on `kit::rpc`) is scoped to
//! the caller the auth layer serves and seals what it stores (Defects #12 item 3, Pipeline #13
//! item 7a).

use std::sync::Arc;

use auth::{Principal, Role};
use contracts::civil::common::v1::Date;
use kit::pii::Sealer;
use kit::store::Db;
use sqlx::Row;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations");

fn caller(subject: &str) -> Arc<Principal> {
    Arc::new(Principal {
        subject: subject.into(),
        name: subject.into(),
        roles: vec![Role::Registrar],
        region: "330723".into(),
        organisation: None,
        on_behalf_of: None,
        profile: None,
        id_number: None,
    })
}

/// Books day `day` once per request id; answers with the number of bookings made so far.
async fn book(db: &Db, who: &str, request_id: &str, day: i32) -> Date {
    let req = Date {
        year: 2026,
        month: 5,
        day,
    };
    let sealer = Sealer::new(&[9; 32]);
    let work = kit::idempotency::once(db, "Book", request_id, &req, |tx| {
        Box::pin(async move {
            sqlx::query("INSERT INTO bookings (id, day) VALUES ($1, $2)")
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(i64::from(day))
                .execute(&mut *tx)
                .await?;
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM bookings")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            Ok(Date {
                year: 2026,
                month: 5,
                day: i32::try_from(n).unwrap_or(0),
            })
        })
    });
    auth::layer::as_caller(caller(who), kit::idempotency::with_sealer(sealer, work))
        .await
        .expect("booked")
}

#[tokio::test]
async fn another_caller_reusing_a_request_id_gets_its_own_answer_and_the_stored_one_is_sealed() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = kit::testing::test_config(dir.path());
    let db = Db::open(&config, "kitonce", &MIGRATIONS)
        .await
        .expect("store opens");
    let first = book(&db, "clerk-a", "req-1", 20).await;
    assert_eq!(first.day, 1);
    assert_eq!(
        book(&db, "clerk-a", "req-1", 20).await,
        first,
        "the same caller's retry"
    );
    let other = book(&db, "clerk-b", "req-1", 20).await;
    assert_eq!(other.day, 2, "another caller's request runs as its own");
    let stored: Vec<String> = sqlx::query("SELECT response FROM idempotency_keys")
        .fetch_all(&db.pool)
        .await
        .expect("rows")
        .iter()
        .map(|r| r.try_get("response").expect("response"))
        .collect();
    assert_eq!(stored.len(), 2);
    assert!(
        stored.iter().all(|s| s.starts_with("sealed:")),
        "{stored:?}"
    );
}
