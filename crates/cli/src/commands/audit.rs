//! `safeguard audit verify|head|countersign`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use safeguard_domain::audit::ChainHead;
use safeguard_engine::audit_seal::{self, SealPolicy, SealedHead};

use super::{runtime, GlobalArgs};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every entry of the chain; exit 1 if any was edited, inserted or removed.
    Verify {
        /// A head exported earlier (`safeguard audit head`): also proves no entry up to it was
        /// removed from the end.
        /// Accepts a plain head or a sealed one (`audit head --sealed`, possibly counter-signed),
        /// whose signatures are then checked too.
        #[arg(long)]
        head: Option<PathBuf>,
        /// A counter-signer's public key (64 hex digits) that must have signed the head; repeat
        /// for several. Implies that a counter-signature is required.
        #[arg(long = "counter-signer", value_name = "HEX")]
        counter_signers: Vec<String>,
    },
    /// Print the chain's head as JSON, to keep or have counter-signed elsewhere.
    Head {
        /// Seal it with the instance signing key (DATA/keys/signing.key).
        #[arg(long)]
        sealed: bool,
    },
    /// Counter-sign a sealed head with another party's Ed25519 key (created if absent, mode
    /// 0600); prints the head with the added signature. Run by the party that keeps it.
    Countersign {
        /// The sealed head (`audit head --sealed`).
        #[arg(long)]
        head: PathBuf,
        /// The counter-signer's key file (32-byte seed, hex).
        #[arg(long)]
        key: PathBuf,
        /// Who signs (e.g. the oversight body's name).
        #[arg(long)]
        signer: String,
    },
}

/// The instance's public keys: the current signing key's and any retired ones kept by
/// `safeguard keys rotate` (DATA/keys/retired/*.pub).
pub fn instance_public_keys(global: &GlobalArgs) -> anyhow::Result<Vec<audit_seal::VerifyingKey>> {
    let keys_dir = global.data_dir.join("keys");
    let mut out = Vec::new();
    let current = keys_dir.join("signing.key");
    if current.exists() {
        let (key, _) = safeguard_engine::packages::load_or_create_signing_key(&current)?;
        out.push(key.verifying_key());
    }
    if let Ok(entries) = std::fs::read_dir(keys_dir.join("retired")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "pub") {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                out.push(
                    safeguard_engine::packages::parse_public_key(&text)
                        .with_context(|| format!("{}", path.display()))?,
                );
            }
        }
    }
    Ok(out)
}

pub async fn run(global: GlobalArgs, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    if let AuditCommand::Countersign { head, key, signer } = &cmd {
        let text =
            std::fs::read_to_string(head).with_context(|| format!("reading {}", head.display()))?;
        let mut sealed: SealedHead = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a sealed head", head.display()))?;
        let (key, created) = safeguard_engine::packages::load_or_create_signing_key(key)?;
        if created {
            eprintln!(
                "created counter-signing key; its public key: {}",
                hex::encode(key.verifying_key().to_bytes())
            );
        }
        audit_seal::counter_sign(&mut sealed, &key, signer)?;
        println!("{}", serde_json::to_string_pretty(&sealed)?);
        return Ok(ExitCode::SUCCESS);
    }
    let store = runtime::open_store(&global).await?;
    match cmd {
        AuditCommand::Countersign { .. } => unreachable!("handled above"),
        AuditCommand::Head { sealed } => {
            let head = store.audit_head().await?;
            if sealed {
                let path = global.data_dir.join("keys").join("signing.key");
                let (key, _) = safeguard_engine::packages::load_or_create_signing_key(&path)?;
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let sealed = audit_seal::seal(&key, head, now);
                println!("{}", serde_json::to_string_pretty(&sealed)?);
            } else {
                println!("{}", serde_json::to_string(&head)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify {
            head,
            counter_signers,
        } => {
            let result = match head {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let exported: ChainHead = match serde_json::from_str::<SealedHead>(&text) {
                        Ok(sealed) => {
                            let trusted = counter_signers
                                .iter()
                                .map(|k| safeguard_engine::packages::parse_public_key(k))
                                .collect::<Result<Vec<_>, _>>()?;
                            let policy = SealPolicy {
                                instance_keys: instance_public_keys(&global)?,
                                require_counter_signature: !trusted.is_empty(),
                                trusted_counter_signers: trusted,
                            };
                            if let Err(e) = audit_seal::verify(&sealed, &policy) {
                                println!("sealed head REFUSED: {e}");
                                return Ok(ExitCode::FAILURE);
                            }
                            println!(
                                "sealed head signatures valid ({} counter-signature(s))",
                                sealed.counter_signatures.len()
                            );
                            sealed.head
                        }
                        Err(_) => serde_json::from_str(&text).with_context(|| {
                            format!("{} is not an exported head", path.display())
                        })?,
                    };
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
