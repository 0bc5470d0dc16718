use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::StoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Tuning of a store connection.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections for reads (and, on PostgreSQL, for writes too).
    pub max_connections: u32,
    /// PostgreSQL only: the schema to work in (created if missing). Tests use one per test.
    pub schema: Option<String>,
    /// Run migrations on connect.
    pub migrate: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            schema: None,
            migrate: true,
        }
    }
}

/// The storage of one Safeguard node.
///
/// On SQLite, writes go through a pool of exactly one connection, so they queue in the process
/// instead of failing with "database is locked"; reads use the other pool, which WAL lets run
/// beside the writer. On PostgreSQL both pools are the same.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
    backend: Backend,
}

impl Store {
    /// The default database of a data folder: SQLite at `DIR/safeguard.db`.
    pub fn default_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("safeguard.db").display())
    }

    /// Connects to `url` (`sqlite://PATH` or `postgres://…`) and, unless told not to, brings the
    /// schema up to date.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let store = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let connect = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
                let write = sqlite_pool(1).connect_with(connect.clone()).await?;
                // The writer creates the file and switches it to WAL before readers open it.
                let read = sqlite_pool(options.max_connections.max(1))
                    .connect_with(connect)
                    .await?;
                Self {
                    read,
                    write,
                    backend,
                }
            }
            Backend::Postgres => {
                let connect = AnyConnectOptions::from_str(url)?.disable_statement_logging();
                if let Some(schema) = &options.schema {
                    if !schema
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(StoreError::UnsupportedUrl(format!(
                            "schema name {schema:?}"
                        )));
                    }
                    let admin = AnyPoolOptions::new()
                        .max_connections(1)
                        .connect_with(connect.clone())
                        .await?;
                    admin
                        .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                        .await?;
                    admin.close().await;
                }
                let schema = options.schema.clone();
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(move |conn, _meta| {
                        let schema = schema.clone();
                        Box::pin(async move {
                            if let Some(schema) = schema {
                                conn.execute(format!("SET search_path TO {schema}").as_str())
                                    .await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_with(connect)
                    .await?;
                Self {
                    read: pool.clone(),
                    write: pool,
                    backend,
                }
            }
        };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies the migrations not yet applied. Safe to call on every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.write).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.write).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers once the database accepts a query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Runs one statement as is. For administration and tests (tampering with the audit log to
    /// show it is caught, dropping a test schema); application code uses the typed methods.
    pub async fn execute_admin(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(self.write.execute(sql).await?.rows_affected())
    }

    /// Bytes used by each table and index, largest first (benchmarks and capacity planning).
    /// SQLite reads its `dbstat` table (a full scan of the file: seconds on a large database);
    /// PostgreSQL sums `pg_relation_size` over the current schema.
    pub async fn storage_by_table(&self) -> Result<Vec<(String, i64)>, StoreError> {
        use sqlx::Row;
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name, CAST(SUM(pgsize) AS BIGINT) AS bytes FROM dbstat GROUP BY name \
                 ORDER BY bytes DESC"
            }
            Backend::Postgres => {
                "SELECT c.relname AS name, CAST(pg_relation_size(c.oid) AS BIGINT) AS bytes \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i') ORDER BY bytes DESC"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("bytes")?)))
            .collect()
    }

    /// Closes every connection, waiting for running queries.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

fn sqlite_pool(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(60))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers run beside the writer; FULL makes every commit durable on disk
                // before it returns, so an acknowledged report survives a crash or power loss.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA busy_timeout = 30000").await?;
                Ok(())
            })
        })
}
