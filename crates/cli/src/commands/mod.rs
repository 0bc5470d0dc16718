//! One module per subcommand. Each parses its arguments and calls library code.

mod accounts;
mod audit;
mod background;
mod bench;
mod demo;
mod export;
mod federation;
mod geo;
mod hash;
mod import;
mod known_common;
mod matching;
mod package;
mod retention;
mod route;
mod runtime;
mod serve;
mod submit;
mod vault;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Safeguard: cross-border handling of online child sexual exploitation reports.
#[derive(Debug, Parser)]
#[command(name = "safeguard", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Folder holding the database, the evidence vault and the keys.
    #[arg(
        long,
        global = true,
        env = "SAFEGUARD_DATA_DIR",
        default_value = "data"
    )]
    pub data_dir: PathBuf,
    /// Database URL (sqlite://PATH or postgres://…); defaults to SQLite in the data folder.
    #[arg(long, global = true, env = "SAFEGUARD_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Fill a fresh database with fictional demo data, then run the server.
    Demo(demo::DemoArgs),
    /// Bring the database schema up to date.
    Migrate,
    /// Manage organisations.
    #[command(subcommand)]
    Org(accounts::OrgCommand),
    /// Manage users.
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(accounts::TokenCommand),
    /// Check or export the hash-chained audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Hash media files: MD5, SHA-1, SHA-256, PDQ, and vPDQ for videos.
    Hash(hash::HashArgs),
    /// Geolocate IP addresses.
    Geo(geo::GeoArgs),
    /// Import a hash set (VICS, ICSE or a hash list) into the known-material database.
    Import(import::ImportArgs),
    /// Export known material as VICS, ICSE or a hash list, by hash set and/or series.
    Export(export::ExportArgs),
    /// Match files against the known-material database (one JSON line per file).
    Match(matching::MatchArgs),
    /// Check or re-key the evidence vault.
    #[command(subcommand)]
    Vault(vault::VaultCommand),
    /// Send a report to a server speaking the CyberTipline Reporting API.
    Submit(submit::SubmitArgs),
    /// Load generators.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Intelligence packages: build, verify, export.
    #[command(subcommand)]
    Package(package::PackageCommand),
    /// The instance's keys.
    #[command(subcommand)]
    Keys(package::KeysCommand),
    /// Cross-checking: link reports, manage the exclusion list.
    #[command(subcommand)]
    Link(package::LinkCommand),
    /// Find candidate jurisdictions, set priorities and create referrals.
    Route(route::RouteArgs),
    /// Run background jobs only (no HTTP): one of several nodes on one PostgreSQL database.
    Worker(worker::WorkerArgs),
    /// The job queue by kind; re-queue parked jobs.
    Jobs(worker::JobsArgs),
    /// Federation with peer instances: files, peers, deconfliction, the outbox.
    #[command(subcommand)]
    Federation(federation::FederationCommand),
    /// Retention periods per data class, and the purge of what they make due.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.global;
    match cli.command {
        Command::Serve(args) => runtime::block_on(serve::run(global, args)),
        Command::Demo(args) => runtime::block_on(demo::run(global, args)),
        Command::Migrate => runtime::block_on(async move {
            let store = runtime::open_store(&global).await?;
            store.migrate().await?;
            println!("database schema is up to date");
            Ok(ExitCode::SUCCESS)
        }),
        Command::Org(cmd) => runtime::block_on(accounts::org(global, cmd)),
        Command::User(cmd) => runtime::block_on(accounts::user(global, cmd)),
        Command::Token(cmd) => runtime::block_on(accounts::token(global, cmd)),
        Command::Audit(cmd) => runtime::block_on(audit::run(global, cmd)),
        Command::Hash(args) => hash::run(&global, args),
        Command::Geo(args) => geo::run(&global, args),
        Command::Import(args) => runtime::block_on(import::run(global, args)),
        Command::Export(args) => runtime::block_on(export::run(global, args)),
        Command::Match(args) => runtime::block_on(matching::run(global, args)),
        Command::Vault(cmd) => vault::run(&global, cmd),
        Command::Submit(args) => runtime::block_on(submit::run(args)),
        Command::Bench(cmd) => runtime::block_on(bench::run(global, cmd)),
        Command::Package(cmd) => runtime::block_on(package::package(global, cmd)),
        Command::Keys(cmd) => package::keys(&global, cmd),
        Command::Link(cmd) => runtime::block_on(package::link(global, cmd)),
        Command::Route(args) => runtime::block_on(route::run(global, args)),
        Command::Worker(args) => runtime::block_on(worker::run(global, args)),
        Command::Jobs(args) => runtime::block_on(worker::jobs(global, args)),
        Command::Federation(cmd) => runtime::block_on(federation::run(global, cmd)),
        Command::Retention(cmd) => runtime::block_on(retention::run(global, cmd)),
    }
}
