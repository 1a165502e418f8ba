//! clusapid: a server for the Failover Cluster Management API (MS-CMRP "clusapi" v3) over
//! sealed `ncacn_ip_tcp` DCE/RPC, presenting a Samba/CTDB cluster as a Windows failover
//! cluster.
//!
//! - [`transport`]: TCP listeners and connection tasks (the only I/O).
//! - [`services`]: the RPC interfaces (endpoint mapper, clusapi) over the cluster model.
//! - [`daemon`]: wiring of backend, accounts, endpoints; `demo` and `serve`.
//! - [`accounts`], [`config`]: the accounts file and the TOML settings.
//! - [`admin`]: the administration socket (`clusapid witness ...`).
//! - [`check`]: `clusapid check`, the preflight of a node.
//! - [`shares`]: the File Server role's shares, from Samba's configuration, kept current.
//! - [`witness_cli`], [`rpc_client`]: `clusapid witness ...` (administration and a witness
//!   client) and the client connection it uses.
//! - [`memory`]: giving freed heap back to the system.
//! - [`sdnotify`]: telling systemd the ports are bound (`Type=notify`).
//! - [`metrics`], [`status`], [`http`]: the status and metrics endpoint (`metrics_listen`).
//! - [`logging`]: log format and colour (`--log-format`, no colour codes off a terminal).
//! - [`domain`], [`cluster_access`]: domain logons (winbindd, Kerberos) and the cluster
//!   security descriptor that decides what domain accounts may do.

pub mod accounts;
pub mod admin;
pub mod check;
pub mod cluster_access;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod http;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod rpc_client;
pub mod sdnotify;
pub mod services;
pub mod shares;
pub mod status;
pub mod transport;
pub mod witness_cli;
