//! clusapid: a server for the Failover Cluster Management API (MS-CMRP "clusapi" v3) over
//! sealed `ncacn_ip_tcp` DCE/RPC, presenting a Samba/CTDB cluster as a Windows failover
//! cluster.
//!
//! - [`transport`]: TCP listeners and connection tasks (the only I/O).
//! - [`services`]: the RPC interfaces (endpoint mapper, clusapi) over the cluster model.
//! - [`daemon`]: wiring of backend, accounts, endpoints; `demo` and `serve`.
//! - [`accounts`], [`config`]: the accounts file and the TOML settings.

pub mod accounts;
pub mod config;
pub mod daemon;
pub mod memory;
pub mod services;
pub mod transport;
