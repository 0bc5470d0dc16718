//! What the known-material commands share: who the local operator acts for.

use anyhow::Context;
use safeguard_engine::known::Operator;
use safeguard_store::Store;

/// The local operator, acting for `--org` or else the instance's hotline (or coordinator).
pub async fn operator_for(store: &Store, org: Option<&str>) -> anyhow::Result<Operator> {
    let org = match org {
        Some(name) => store
            .org_by_name(name)
            .await
            .with_context(|| format!("no organisation {name:?}"))?,
        None => store.home_org().await?.context(
            "no hotline or coordinator organisation exists: create one or name it with --org",
        )?,
    };
    Ok(Operator {
        user: None,
        name: "cli".into(),
        org: org.id,
    })
}
