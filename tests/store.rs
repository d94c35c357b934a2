//! Both checkpoint stores against the real thing: the NAS store on a real filesystem (and a
//! tiny tmpfs that fills up), the S3 store on a real `s3s-fs` server on loopback (which
//! goes away and comes back, loses bytes on disk, and refuses a wrong secret). The
//! contract every store keeps is one generic body run against both.
//!
//! The parts: `common` (data, streams, put and get), `contract` (the generic body),
//! `nas_store`, `s3_store` (each store's own tests) and `throughput` (MB/s, printed).

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/s3.rs"]
mod s3;

#[path = "store/common.rs"]
mod common;
#[path = "store/contract.rs"]
mod contract;
#[path = "store/nas_store.rs"]
mod nas_store;
#[path = "store/s3_store.rs"]
mod s3_store;
#[path = "store/throughput.rs"]
mod throughput;
