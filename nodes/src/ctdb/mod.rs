//! The real CTDB backend: [`CtdbBackend`] talks to ctdbd over its Unix
//! socket, the way smbd and the `ctdb` tool do.
//!
//! * [`protocol`]: sans-I/O codecs for packets and control payloads.
//! * [`client`]: the async socket connection (request ids, timeouts,
//!   messages, reconnect back-off).
//! * [`pdb`]: clusapid's persistent database `clusapid.tdb` (snapshots,
//!   optimistic TRANS3_COMMIT transactions).
//! * [`arrivals`]: sans-I/O: a moving address is published on its new node
//!   once that node's TAKE_IP says it serves it.
//! * [`backend`]: the [`ClusterBackend`](crate::ClusterBackend)
//!   implementation (polling, change events, actions, overlay).

pub mod arrivals;
pub mod backend;
pub mod client;
pub mod pdb;
pub mod protocol;

pub use backend::{CtdbBackend, CtdbConfig, DbStats};
pub use client::{Backoff, ClientError, Connection};
