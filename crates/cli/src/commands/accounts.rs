//! `safeguard org`, `safeguard user`, `safeguard token`.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use safeguard_domain::account::{OrgKind, Role};
use safeguard_engine::accounts;

use super::{runtime, GlobalArgs};

const ACTOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Add an organisation.
    Add {
        name: String,
        #[arg(long)]
        kind: OrgKind,
        /// ISO 3166-1 alpha-2 country it acts for (agencies).
        #[arg(long)]
        country: Option<String>,
    },
    /// List organisations.
    List,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is the first line of standard input.
    Add {
        #[arg(long)]
        org: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an API token for a user and print it (it is shown only once).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

pub async fn org(global: GlobalArgs, cmd: OrgCommand) -> anyhow::Result<ExitCode> {
    let store = runtime::open_store(&global).await?;
    match cmd {
        OrgCommand::Add {
            name,
            kind,
            country,
        } => {
            let org = accounts::add_org(&store, &name, kind, country.as_deref(), ACTOR).await?;
            println!(
                "organisation {} ({}) added with id {}",
                org.name, org.kind, org.id.0
            );
        }
        OrgCommand::List => {
            for org in store.list_orgs().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    org.id.0,
                    org.kind,
                    org.country.as_deref().unwrap_or("-"),
                    org.name
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn user(global: GlobalArgs, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let UserCommand::Add {
        org,
        role,
        username,
        password_stdin: _,
    } = cmd;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    let store = runtime::open_store(&global).await?;
    let user = accounts::add_user(&store, &org, &username, role, password, ACTOR).await?;
    println!(
        "user {} ({}) added to {org} with id {}",
        user.username, user.role, user.id.0
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn token(global: GlobalArgs, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create { username, label } = cmd;
    let store = runtime::open_store(&global).await?;
    let issued = accounts::create_token(&store, &username, &label, ACTOR).await?;
    println!("{}", issued.token);
    Ok(ExitCode::SUCCESS)
}
