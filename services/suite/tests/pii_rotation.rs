//! PII key rotation (docs/operations/keys.md, Operations issue item 4): identity numbers sealed
//! under key A through the social-organisation service's own RPCs stay readable and findable
//! while B replaces A, `civil pii-reseal` moves every sealed value to B in batches (and a second
//! run finds nothing to do), and after A is removed everything still reads and no value sealed
//! under A is left. SQLite by default, PostgreSQL with `CIVIL_TEST_PG`.

use contracts::civil::common::v1::{Date, PersonRef};
use contracts::civil::socialorg::v1 as pb;
use contracts::civil::socialorg::v1::social_org_service_client::SocialOrgServiceClient;
use kit::config::{Config, Secret};
use kit::pii::Sealer;
use kit::testing::{Role, TestSuite};
use sqlx::Row;
use suite::pii_reseal::{TableReport, reseal, reseal_store};

const COUNTY: &str = "330723";
const KEY_A: [u8; 32] = [0xA1; 32];
const KEY_B: [u8; 32] = [0xB2; 32];

fn id(first17: &str) -> String {
    format!("{first17}{}", civil_id::IdNumber::check_char(first17))
}

fn group(request_id: &str, name: &str, rep: &str) -> pb::RegisterOrganisationRequest {
    let date = |y, m, d| {
        Some(Date {
            year: y,
            month: m,
            day: d,
        })
    };
    pb::RegisterOrganisationRequest {
        request_id: request_id.into(),
        kind: pb::OrganisationKind::SocialGroup.into(),
        field: pb::ActivityField::Other.into(),
        name: name.into(),
        region_code: COUNTY.into(),
        address: "武义县壶山街道解放路12号".into(),
        legal_representative: Some(PersonRef {
            id_number: id(rep),
            name: "王建国".into(),
        }),
        supervisory_unit: "武义县文联".into(),
        individual_members: 60,
        unit_members: 0,
        funds_fen: 3_000_000,
        public_fundraising: false,
        application_received_on: date(2024, 3, 1),
        decided_on: date(2024, 4, 3),
    }
}

/// The social-organisation service on `base`'s store, with these PII keys.
async fn start(
    base: &Config,
    current: [u8; 32],
    previous: Option<[u8; 32]>,
    index: Option<[u8; 32]>,
) -> TestSuite {
    let base = base.clone();
    kit::testing::spawn_with(&[socialorg::SERVICE], move |c| {
        *c = base;
        c.extra.insert("socialorg_sweep".into(), "off".into());
        c.pii_key = Some(Secret(hex::encode(current)));
        c.pii_key_previous = previous.map(|k| Secret(hex::encode(k)));
        c.pii_index_key = index.map(|k| Secret(hex::encode(k)));
    })
    .await
}

struct Callers {
    officer: String,
    service: String,
}

fn callers(suite: &TestSuite) -> Callers {
    Callers {
        officer: suite.token_for("officer-rotation", &[Role::SocialOrgOfficer], COUNTY),
        service: suite.token_for("svc-onematter", &[Role::Service], COUNTY),
    }
}

fn client(suite: &TestSuite) -> SocialOrgServiceClient<tonic::transport::Channel> {
    SocialOrgServiceClient::new(suite.channel.clone())
}

/// What a clerk checks: the organisation shows its representative, a lookup by his identity
/// number finds it, and a retried registration answers as the first time.
async fn assert_reads(
    suite: &TestSuite,
    first: &pb::RegisterOrganisationRequest,
    org: &pb::Organisation,
) {
    let who = callers(suite);
    let got = client(suite)
        .get_organisation(suite.request(
            pb::GetOrganisationRequest {
                organisation_id: org.organisation_id.clone(),
            },
            &who.service,
        ))
        .await
        .expect("reads")
        .into_inner();
    let rep = got.legal_representative.expect("representative");
    assert_eq!(
        rep.id_number,
        first.legal_representative.as_ref().expect("rep").id_number
    );
    assert_eq!(rep.name, "王建国");
    let found = client(suite)
        .list_by_legal_representative(suite.request(
            pb::ListByLegalRepresentativeRequest {
                id_number: rep.id_number.clone(),
            },
            &who.service,
        ))
        .await
        .expect("lookup")
        .into_inner();
    assert_eq!(
        found
            .organisations
            .iter()
            .map(|o| o.organisation_id.as_str())
            .collect::<Vec<_>>(),
        vec![org.organisation_id.as_str()],
        "the blind index still finds him"
    );
    let replay = client(suite)
        .register_organisation(suite.request(first.clone(), &who.officer))
        .await
        .expect("replay answers")
        .into_inner();
    assert_eq!(replay.organisation_id, org.organisation_id);
}

/// Every sealed value of the store, as (table.column, text).
async fn sealed_values(config: &Config) -> Vec<(String, String)> {
    let db = kit::store::Db::connect(config, "socialorg")
        .await
        .expect("store");
    let mut out = Vec::new();
    for (table, columns) in [
        ("organisations", vec!["rep_id_sealed", "rep_name_sealed"]),
        ("organisation_changes", vec!["from_sealed", "to_sealed"]),
    ] {
        for column in columns {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {column} FROM {table}")))
                .fetch_all(&db.pool)
                .await
                .expect("select");
            for r in rows {
                let v: String = r.try_get(0).expect("text");
                if !v.is_empty() {
                    out.push((format!("{table}.{column}"), v));
                }
            }
        }
    }
    for r in sqlx::query("SELECT response FROM idempotency_keys")
        .fetch_all(&db.pool)
        .await
        .expect("select")
    {
        let v: String = r.try_get(0).expect("text");
        let sealed = v
            .strip_prefix("sealed:v1:")
            .expect("stored answers are sealed");
        out.push(("idempotency_keys.response".into(), sealed.to_owned()));
    }
    db.pool.close().await;
    out
}

fn table<'a>(reports: &'a [TableReport], name: &str) -> &'a TableReport {
    reports
        .iter()
        .find(|r| r.table == name)
        .unwrap_or_else(|| panic!("{name} in {reports:#?}"))
}

#[tokio::test]
async fn a_pii_key_rotation_keeps_every_identity_number_readable_and_leaves_none_under_the_old_key()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let base = kit::testing::test_config(dir.path());

    // Key A: two organisations, one of which changes its legal representative.
    let suite = start(&base, KEY_A, None, None).await;
    let who = callers(&suite);
    let first = group(
        &uuid::Uuid::now_v7().to_string(),
        "武义县象棋协会",
        "33072319700101006",
    );
    let org = client(&suite)
        .register_organisation(suite.request(first.clone(), &who.officer))
        .await
        .expect("registered")
        .into_inner();
    let other = client(&suite)
        .register_organisation(suite.request(
            group(
                &uuid::Uuid::now_v7().to_string(),
                "武义县围棋协会",
                "33072319700202003",
            ),
            &who.officer,
        ))
        .await
        .expect("registered")
        .into_inner();
    client(&suite)
        .change_organisation(suite.request(
            pb::ChangeOrganisationRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                organisation_id: other.organisation_id.clone(),
                new_legal_representative: Some(PersonRef {
                    id_number: id("33072319800303004"),
                    name: "李明".into(),
                }),
                changed_on: Some(Date {
                    year: 2024,
                    month: 6,
                    day: 1,
                }),
                reason: "换届".into(),
                ..Default::default()
            },
            &who.officer,
        ))
        .await
        .expect("changed");
    assert_reads(&suite, &first, &org).await;
    suite.stop().await;
    let under_a = sealed_values(&base).await;
    assert!(under_a.len() >= 8, "{under_a:?}");
    let only_a = Sealer::new(&KEY_A);
    assert!(under_a.iter().all(|(_, v)| only_a.open(v).is_ok()));

    // Rotation: B seals, A still opens, the index stays keyed by A.
    let suite = start(&base, KEY_B, Some(KEY_A), Some(KEY_A)).await;
    assert_reads(&suite, &first, &org).await;
    let mut rotating = base.clone();
    rotating.pii_key = Some(Secret(hex::encode(KEY_B)));
    rotating.pii_key_previous = Some(Secret(hex::encode(KEY_A)));
    rotating.pii_index_key = Some(Secret(hex::encode(KEY_A)));
    let reports = reseal(&rotating, &["socialorg".to_owned()])
        .await
        .expect("re-seal");
    let orgs = table(&reports, "organisations");
    assert_eq!(
        (orgs.values, orgs.resealed, orgs.unreadable),
        (4, 4, 0),
        "{reports:#?}"
    );
    let changes = table(&reports, "organisation_changes");
    assert!(changes.resealed >= 2, "{reports:#?}");
    let keys = table(&reports, "idempotency_keys");
    assert!(
        keys.resealed >= 3 && keys.resealed == keys.values,
        "{reports:#?}"
    );
    assert!(
        reports
            .iter()
            .all(|r| r.resealed == r.values && r.unreadable == 0)
    );
    // Safe to run again: nothing left to do.
    let again = reseal(&rotating, &["socialorg".to_owned()])
        .await
        .expect("re-seal again");
    assert!(
        again.iter().all(|r| r.resealed == 0 && r.unreadable == 0),
        "{again:#?}"
    );
    assert_eq!(table(&again, "organisations").values, 4);
    assert_reads(&suite, &first, &org).await;
    suite.stop().await;

    // A removed: only B (and the index key A) configured; everything still reads.
    let suite = start(&base, KEY_B, None, Some(KEY_A)).await;
    assert_reads(&suite, &first, &org).await;
    suite.stop().await;
    let after = sealed_values(&base).await;
    assert!(after.len() >= under_a.len());
    let only_b = Sealer::new(&KEY_B);
    for (column, v) in &after {
        assert!(
            only_a.open(v).is_err(),
            "{column}: a value under the old key is left"
        );
        assert!(only_b.open(v).is_ok(), "{column}: opens with the new key");
    }
}

/// The walk pages by the primary key (here a composite one) in batches of 500, in any table
/// with a `*_sealed` column, and leaves empty and NULL values alone.
#[tokio::test]
async fn pii_reseal_walks_a_table_in_batches_by_its_primary_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kit::testing::test_config(dir.path());
    let db = kit::store::Db::connect(&config, "resealtest")
        .await
        .expect("store");
    sqlx::query(
        "CREATE TABLE people (part TEXT NOT NULL, n BIGINT NOT NULL, id_sealed TEXT,
         note TEXT NOT NULL, PRIMARY KEY (part, n))",
    )
    .execute(&db.pool)
    .await
    .expect("table");
    let old = Sealer::new(&KEY_A);
    let rows: u32 = 1_203;
    let mut tx = db.begin().await.expect("tx");
    for i in 0..rows {
        let sealed = match i % 100 {
            0 => None,
            1 => Some(String::new()),
            _ => Some(old.seal(&format!("number {i}"))),
        };
        sqlx::query("INSERT INTO people (part, n, id_sealed, note) VALUES ($1, $2, $3, 'x')")
            .bind(if i % 2 == 0 { "even" } else { "odd" })
            .bind(i64::from(i))
            .bind(sealed)
            .execute(&mut *tx)
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
    let rotating = Sealer::with_keys(&KEY_B, Some(&KEY_A), None);
    let reports = reseal_store(&db, "resealtest", &rotating)
        .await
        .expect("re-seal");
    let people = table(&reports, "people");
    let expected = u64::from(rows) - 2 * 13;
    assert_eq!((people.values, people.resealed), (expected, expected));
    let again = reseal_store(&db, "resealtest", &rotating)
        .await
        .expect("again");
    assert_eq!(table(&again, "people").resealed, 0);
    let only_b = Sealer::new(&KEY_B);
    for r in sqlx::query("SELECT n, id_sealed FROM people WHERE id_sealed <> ''")
        .fetch_all(&db.pool)
        .await
        .expect("select")
    {
        let n: i64 = r.try_get(0).expect("n");
        let v: String = r.try_get(1).expect("sealed");
        assert_eq!(only_b.open(&v).expect("under B"), format!("number {n}"));
    }
    if db.dialect == kit::store::Dialect::Postgres {
        let _ = sqlx::query("DROP TABLE people").execute(&db.pool).await;
    }
    db.pool.close().await;
}
