//! A sealed, counter-signed audit head kept outside the instance makes deleting the log's tail
//! detectable, on both databases' worth of SQL (SQLite here; the chain code is shared).

#![allow(clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use safeguard_domain::audit::AuditEvent;
use safeguard_engine::audit_seal::{self, SealPolicy};
use safeguard_store::{Store, StoreOptions};

fn event(n: usize) -> AuditEvent {
    AuditEvent {
        actor_user: None,
        actor: "analyst".into(),
        action: "report.read".into(),
        object_kind: "report".into(),
        object_id: n.to_string(),
        detail: String::new(),
    }
}

#[tokio::test]
async fn deleting_the_tail_after_a_counter_signed_head_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
        .await
        .unwrap();
    for n in 0..10 {
        store.append_audit(&event(n)).await.unwrap();
    }
    let (instance, oversight) = (
        SigningKey::from_bytes(&[4; 32]),
        SigningKey::from_bytes(&[5; 32]),
    );
    let mut sealed = audit_seal::seal(&instance, store.audit_head().await.unwrap(), 1_700_000_000);
    audit_seal::counter_sign(&mut sealed, &oversight, "oversight").unwrap();
    let policy = SealPolicy {
        instance_keys: vec![instance.verifying_key()],
        trusted_counter_signers: vec![oversight.verifying_key()],
        require_counter_signature: true,
    };
    audit_seal::verify(&sealed, &policy).unwrap();
    // More entries later: the kept head is still inside the chain.
    store.append_audit(&event(10)).await.unwrap();
    let ok = store.verify_audit_against(&sealed.head).await.unwrap();
    assert!(ok.broken.is_none(), "{:?}", ok.broken);

    // Someone with the database deletes the last entries, the sealed one included, and rewrites
    // the stored head to match: the rest of the chain is internally consistent, so only the head
    // kept outside shows it.
    let cut = sealed.head.seq - 2;
    store
        .execute_admin(&format!("DELETE FROM audit_log WHERE seq > {cut}"))
        .await
        .unwrap();
    store
        .execute_admin(&format!(
            "UPDATE audit_head SET seq = {cut}, hash = (SELECT hash FROM audit_log WHERE seq = {cut}) WHERE id = 1"
        ))
        .await
        .unwrap();
    let alone = store.verify_audit().await.unwrap();
    assert!(
        alone.broken.is_none(),
        "a truncated chain verifies on its own"
    );
    let against = store.verify_audit_against(&sealed.head).await.unwrap();
    assert!(
        against.broken.is_some(),
        "the counter-signed head shows the cut"
    );

    // A head re-sealed by the instance over the truncated chain has no valid counter-signature.
    let mut resealed =
        audit_seal::seal(&instance, store.audit_head().await.unwrap(), 1_700_000_500);
    resealed.counter_signatures = sealed.counter_signatures.clone();
    assert!(audit_seal::verify(&resealed, &policy).is_err());
}
