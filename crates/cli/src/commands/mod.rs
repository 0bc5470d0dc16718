//! One module per subcommand. Each parses its arguments and calls library code.

mod accounts;
mod audit;
mod demo;
mod geo;
mod hash;
mod route;
mod runtime;
mod serve;

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
    /// Find candidate jurisdictions, set priorities and create referrals.
    Route(route::RouteArgs),
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
        Command::Route(args) => runtime::block_on(route::run(global, args)),
    }
}
