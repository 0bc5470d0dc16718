//! One module per subcommand.

mod geo;
mod hash;

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
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Folder holding the database, the evidence vault and the keys.
    #[arg(
        long,
        global = true,
        env = "SAFEGUARD_DATA_DIR",
        default_value = "data"
    )]
    pub data_dir: PathBuf,
    /// Database URL (sqlite://… or postgres://…); defaults to SQLite in the data folder.
    #[arg(long, global = true, env = "SAFEGUARD_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hash media files: MD5, SHA-1, SHA-256, PDQ, and vPDQ for videos.
    Hash(hash::HashArgs),
    /// Geolocate IP addresses.
    Geo(geo::GeoArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Hash(args) => hash::run(&cli.global, args),
        Command::Geo(args) => geo::run(&cli.global, args),
    }
}
