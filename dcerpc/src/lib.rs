//! Connection-oriented DCE/RPC ([C706] chapter 12, [MS-RPCE]) without I/O: PDU codecs
//! ([`pdu`]), the server connection state machine ([`server`]), the client one used by tests
//! and the load generator ([`client`]), and association groups with their context handles
//! ([`assoc`]).
//!
//! Drivers (the tokio server in `clusapid`, the test clients) frame PDUs with
//! [`pdu::frame_length`], feed whole fragments in, and write out what comes back.

pub mod assoc;
pub mod client;
pub mod pdu;
pub mod server;

pub use assoc::{AssocLimits, AssociationGroup, Associations, PendingCall};
pub use server::{AuthProgress, Call, CloseReason, InterfaceSpec, Next, Principal, ServerConfig, ServerConnection};
