-- The after-acknowledgement pipeline (engine::pipeline): the PDQ of each stored image and the
-- near-duplicate group it was filed in, so that linking by PDQ group gives the same key before
-- and after a restart and in every worker process. A group is named by its representative PDQ:
-- the first image of the group seen (rows where pdq = group_pdq are the representatives).
CREATE TABLE blob_pdq (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 BLOB NOT NULL UNIQUE,
    pdq BLOB NOT NULL,
    quality INTEGER NOT NULL,
    group_pdq BLOB NOT NULL,
    hashed_at INTEGER NOT NULL
);
