// Rebuild when a migration is added or changed: `sqlx::migrate!` embeds the folders at compile
// time, and cargo does not otherwise know they are inputs.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
