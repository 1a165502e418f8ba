//! The cluster model of clusapid: how a Samba/CTDB cluster looks as a Windows
//! failover cluster.
//!
//! * [`raw`]: what CTDB reports (node map and flags, public IPs, interfaces).
//! * [`model`]: the Windows objects clusapi serves ([`ClusterState`]).
//! * [`mapping`]: the single CTDB → Windows mapping ([`mapping::build`]).
//! * [`overlay`]: admin changes made through clusapi, kept over the mapping.
//! * [`presentation`]: the Windows version presented, node naming, host names, drains.
//! * [`events`]: change events and the snapshot diff that produces them.
//! * [`error`]: [`BackendError`] and its Win32 codes.
//! * [`backend`]: the [`ClusterBackend`] trait.
//! * [`simulated`]: an in-process CTDB look-alike backend.
//! * [`state_file`]: the state file (overlay) and registry blob on disk, written crash-safely.
//! * [`ctdb`]: the backend driving a real ctdbd over its Unix socket.
//! * `conformance` (tests / `test-util` feature): checks for any backend.

pub mod backend;
pub mod ctdb;
pub mod error;
pub mod events;
pub mod ids;
pub mod mapping;
pub mod model;
pub mod overlay;
pub mod presentation;
pub mod raw;
pub mod simulated;
pub mod state_file;
mod wire;

#[cfg(any(test, feature = "test-util"))]
pub mod conformance;

pub use backend::{
    BackendError, BackendResult, BackendStats, BlobUpdate, BoxFuture, ClusterBackend, Destination, OverlayEdit,
    PeerMessage,
};
pub use ctdb::{CtdbBackend, CtdbConfig};
pub use events::ClusterEvent;
pub use model::{
    ClusterInfo, ClusterState, Group, GroupKind, GroupState, NetInterface, NetInterfaceState, Network, NetworkRole,
    NetworkState, Node, NodeState, PropValue, Resource, ResourceKind, ResourceState, ResourceType,
};
pub use overlay::Overlay;
pub use presentation::{Drain, DrainStatus, NodeHostName, NodeNaming, WindowsVersion};
pub use raw::{CtdbInterface, CtdbNodeFlags, CtdbNodeInfo, PublicIp, RawCluster, Share};
pub use simulated::{SimConfig, SimulatedCluster};
