//! `safeguard audit verify|head`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use safeguard_domain::audit::ChainHead;

use super::{runtime, GlobalArgs};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every entry of the chain; exit 1 if any was edited, inserted or removed.
    Verify {
        /// A head exported earlier (`safeguard audit head`): also proves no entry up to it was
        /// removed from the end.
        #[arg(long)]
        head: Option<PathBuf>,
    },
    /// Print the chain's head as JSON, to keep or have counter-signed elsewhere.
    Head,
}

pub async fn run(global: GlobalArgs, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = runtime::open_store(&global).await?;
    match cmd {
        AuditCommand::Head => {
            println!("{}", serde_json::to_string(&store.audit_head().await?)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { head } => {
            let result = match head {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let exported: ChainHead = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not an exported head", path.display()))?;
                    store.verify_audit_against(&exported).await?
                }
                None => store.verify_audit().await?,
            };
            match result.broken {
                None => {
                    println!(
                        "audit log intact: {} entries, head {} {}",
                        result.entries,
                        result.head.seq,
                        hex_head(&result.head)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    println!(
                        "audit log BROKEN: {broken} ({} entries verified before it)",
                        result.entries
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

fn hex_head(head: &ChainHead) -> String {
    head.hash.iter().map(|b| format!("{b:02x}")).collect()
}
