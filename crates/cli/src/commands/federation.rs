//! `safeguard federation init|peer-add|deconflict|outbox`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use safeguard_federation::{Deliver, FederationConfig, PeerConfig};

use super::{background, runtime, GlobalArgs};

#[derive(Debug, clap::Subcommand)]
pub enum FederationCommand {
    /// Write a new federation file for this instance.
    Init {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// This instance's name in the federation (letters, digits, '-', '_', '.').
        #[arg(long)]
        instance: String,
        /// The local organisation that receives what peers send.
        #[arg(long)]
        org: String,
        /// The deconfliction key the federation agreed on (64 hex digits).
        #[arg(long)]
        federation_key: Option<String>,
        /// Forward received referrals along their route automatically.
        #[arg(long)]
        auto_forward: bool,
    },
    /// Add (or replace) a peer in a federation file.
    PeerAdd {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// The peer's instance name.
        #[arg(long)]
        name: String,
        /// Its base URL (https://…; http:// on loopback only).
        #[arg(long)]
        url: String,
        /// Its public signing key (`safeguard keys signing` there).
        #[arg(long)]
        public_key: String,
        /// The API token this instance uses at the peer (read from standard input when absent).
        #[arg(long)]
        token: Option<String>,
        /// The local organisation standing for the peer.
        #[arg(long)]
        org: String,
        /// What the peer receives: referral (an intermediary) or package (a national agency).
        #[arg(long, default_value = "referral")]
        deliver: String,
    },
    /// Exchange keyed identifiers with a peer and record what both hold (on both sides).
    Deconflict {
        #[arg(long, env = "SAFEGUARD_FEDERATION", value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        peer: String,
    },
    /// Share one of this instance's hash sets (owned by its organisation and marked shared) with
    /// a peer: queued in the outbox, delivered by the federation worker of `serve`/`worker`.
    ShareHashSet {
        #[arg(long, env = "SAFEGUARD_FEDERATION", value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        peer: String,
        /// The hash set's name.
        #[arg(long)]
        set: String,
    },
    /// List deliveries to peers (JSON lines, newest first).
    Outbox {
        /// Only those not delivered yet.
        #[arg(long)]
        pending: bool,
    },
}

pub async fn run(global: GlobalArgs, cmd: FederationCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FederationCommand::Init {
            file,
            instance,
            org,
            federation_key,
            auto_forward,
        } => {
            if file.exists() {
                anyhow::bail!("{} exists already; use peer-add", file.display());
            }
            let config = FederationConfig {
                instance,
                org,
                federation_key,
                auto_forward,
                poll_ms: 500,
                peers: Vec::new(),
            };
            let text = config.to_toml()?;
            FederationConfig::parse(&text, &file.display().to_string())?;
            std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
            println!("wrote {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        FederationCommand::PeerAdd {
            file,
            name,
            url,
            public_key,
            token,
            org,
            deliver,
        } => {
            let config = FederationConfig::load(&file)?;
            let token = match token {
                Some(t) => t,
                None => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim().to_owned()
                }
            };
            let deliver = match deliver.as_str() {
                "referral" => Deliver::Referral,
                "package" => Deliver::Package,
                other => anyhow::bail!("--deliver {other:?}: expected referral or package"),
            };
            let config = config.with_peer(PeerConfig {
                name: name.clone(),
                url,
                public_key,
                token,
                org,
                deliver,
            })?;
            std::fs::write(&file, config.to_toml()?)
                .with_context(|| format!("writing {}", file.display()))?;
            println!("peer {name} added to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        FederationCommand::Deconflict { file, peer } => {
            let store = runtime::open_store(&global).await?;
            let federation = background::load_federation(&global, &store, &file).await?;
            let shared = federation.deconflict_with(&store, &peer).await?;
            for s in &shared {
                println!("{}", serde_json::to_string(s)?);
            }
            eprintln!("{} identifier(s) shared with {peer}", shared.len());
            Ok(ExitCode::SUCCESS)
        }
        FederationCommand::ShareHashSet { file, peer, set } => {
            let store = runtime::open_store(&global).await?;
            let federation = background::load_federation(&global, &store, &file).await?;
            let stored = store
                .hash_set_by_name(&set)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no hash set named {set:?}"))?;
            let shared = federation.share_hash_set(&store, &peer, stored.id).await?;
            println!("{}", serde_json::to_string(&shared)?);
            if !shared.queued {
                eprintln!(
                    "this content of {set:?} was already queued for {peer}: nothing new to send"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        FederationCommand::Outbox { pending } => {
            let store = runtime::open_store(&global).await?;
            for mut item in store.outbox(pending, 1_000).await? {
                item.body = None;
                println!("{}", serde_json::to_string(&item)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
