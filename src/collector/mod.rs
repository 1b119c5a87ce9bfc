//! lokiwrap-collector: the server that receives reports, scrubs and validates them again,
//! de-duplicates them by fingerprint and files one GitHub issue per fingerprint. The request
//! path only writes to the store; a single background worker makes every GitHub call.

pub mod hotfix;
