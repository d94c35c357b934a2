//! The one neutral vocabulary between the supervisor and every screen (local console,
//! SSH console, CLI, later the HTTP API): snapshots, notices, requests with the identity
//! of who asked, and their outcomes. Neither `runtime/` nor `tui/` owns it; both depend on
//! it. Everything here is serde and versioned on the wire.

pub mod drill;
pub mod fault;
pub mod notice;
pub mod request;
pub mod screen;
pub mod volume;
pub mod wire;

pub use crate::core::identity;
pub use crate::core::identity::{Identity, Origin, Role};
pub use crate::core::snapshot::Snapshot;
pub use notice::Notice;
pub use request::Request;
