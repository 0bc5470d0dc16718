//! A fresh database per test: a SQLite file in a temporary folder, or a PostgreSQL schema of its
//! own that is dropped when the test ends (even when it fails).

use safeguard_store::{Store, StoreOptions};

pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
            .await
            .expect("SQLite store");
        Self {
            store,
            _dir: Some(dir),
            pg_schema: None,
        }
    }

    /// `None` when no PostgreSQL is configured for tests (`SAFEGUARD_TEST_POSTGRES_URL`).
    pub async fn postgres() -> Option<Self> {
        let Ok(url) = std::env::var("SAFEGUARD_TEST_POSTGRES_URL") else {
            eprintln!(
                "SKIPPED: SAFEGUARD_TEST_POSTGRES_URL is not set, PostgreSQL store test not run"
            );
            return None;
        };
        let schema = format!("sg_test_{}", uuid::Uuid::new_v4().simple());
        let options = StoreOptions {
            schema: Some(schema.clone()),
            ..StoreOptions::default()
        };
        let store = Store::connect(&url, options)
            .await
            .expect("PostgreSQL store (is it running?)");
        Some(Self {
            store,
            _dir: None,
            pg_schema: Some((url, schema)),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((url, schema)) = self.pg_schema.take() else {
            return;
        };
        // Drop runs outside async: a short-lived runtime on its own thread removes the schema.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(store) = Store::connect(
                    &url,
                    StoreOptions {
                        migrate: false,
                        ..StoreOptions::default()
                    },
                )
                .await
                {
                    let _ = store
                        .execute_admin(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                    store.close().await;
                }
            });
        })
        .join();
    }
}

/// Runs a scenario on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::TestDb::sqlite().await;
                    super::$name(&db.store).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::support::TestDb::postgres().await {
                        super::$name(&db.store).await;
                    }
                }
            )+
        }
    };
}
