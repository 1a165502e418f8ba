//! Raw CTDB inputs: what a backend reads from ctdbd (node map, public IPs,
//! interfaces, Samba shares), before any mapping onto Windows objects.
//!
//! The flag values are CTDB's `NODE_FLAGS_*` from `ctdb/protocol/protocol.h`.

use std::fmt;
use std::net::IpAddr;
use std::ops::{BitAnd, BitOr, BitOrAssign};

use serde::{Deserialize, Serialize};

use crate::error::{BackendError, BackendResult};
use crate::presentation::{Drain, DrainStatus, NodeHostName, NodeNaming, WindowsVersion};

/// CTDB node flags (`struct ctdb_node_and_flags.flags`), plus one marker bit of
/// our own ([`CtdbNodeFlags::UNKNOWN`]) for a node whose state could not be read.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CtdbNodeFlags(pub u32);

impl CtdbNodeFlags {
    /// No flag set: the node is healthy and active (`ctdb status` prints "OK").
    pub const OK: Self = Self(0);
    /// `NODE_FLAGS_DISCONNECTED`: the node is not connected to the cluster.
    pub const DISCONNECTED: Self = Self(0x0000_0001);
    /// `NODE_FLAGS_UNHEALTHY`: monitoring says the node is unhealthy.
    pub const UNHEALTHY: Self = Self(0x0000_0002);
    /// `NODE_FLAGS_PERMANENTLY_DISABLED`: an administrator ran `ctdb disable`.
    pub const PERMANENTLY_DISABLED: Self = Self(0x0000_0004);
    /// `NODE_FLAGS_BANNED`: the recovery daemon banned the node.
    pub const BANNED: Self = Self(0x0000_0008);
    /// `NODE_FLAGS_DELETED`: the node was removed from the nodes file.
    pub const DELETED: Self = Self(0x0000_0010);
    /// `NODE_FLAGS_STOPPED`: an administrator ran `ctdb stop`.
    pub const STOPPED: Self = Self(0x0000_0020);
    /// `NODE_FLAGS_DISABLED` = UNHEALTHY | PERMANENTLY_DISABLED.
    pub const DISABLED: Self = Self(0x0000_0006);
    /// `NODE_FLAGS_INACTIVE` = DELETED | DISCONNECTED | BANNED | STOPPED (0x39).
    ///
    /// Older CTDB releases defined it without DELETED and STOPPED; current
    /// `protocol.h` includes both, and so does this crate.
    pub const INACTIVE: Self = Self(0x0000_0039);
    /// Not a CTDB flag: set by a backend when the node's flags could not be
    /// read. Bit 31 is unused by CTDB's node flags.
    pub const UNKNOWN: Self = Self(0x8000_0000);

    /// Raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// True if every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if any bit of `other` is set.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// True when no flag is set.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// Self with the bits of `other` set.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Self with the bits of `other` cleared.
    pub const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// True if the node may host public IPs under CTDB's rules: connected,
    /// not banned, stopped, deleted, disabled or unhealthy, and known.
    pub const fn can_host_ips(self) -> bool {
        !self.intersects(Self(Self::INACTIVE.0 | Self::DISABLED.0 | Self::UNKNOWN.0))
    }
}

impl BitOr for CtdbNodeFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for CtdbNodeFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for CtdbNodeFlags {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl fmt::Display for CtdbNodeFlags {
    /// `ctdb status` style: "OK", or the set flags joined by `|`
    /// ("DISCONNECTED|INACTIVE"), PERMANENTLY_DISABLED printed as "DISABLED".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(CtdbNodeFlags, &str); 7] = [
            (CtdbNodeFlags::UNKNOWN, "UNKNOWN"),
            (CtdbNodeFlags::DISCONNECTED, "DISCONNECTED"),
            (CtdbNodeFlags::UNHEALTHY, "UNHEALTHY"),
            (CtdbNodeFlags::PERMANENTLY_DISABLED, "DISABLED"),
            (CtdbNodeFlags::BANNED, "BANNED"),
            (CtdbNodeFlags::DELETED, "DELETED"),
            (CtdbNodeFlags::STOPPED, "STOPPED"),
        ];
        if self.is_ok() {
            return f.write_str("OK");
        }
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if self.intersects(Self::INACTIVE) {
            if !first {
                f.write_str("|")?;
            }
            f.write_str("INACTIVE")?;
            first = false;
        }
        let known = Self::INACTIVE.0 | Self::DISABLED.0 | Self::UNKNOWN.0;
        let rest = self.0 & !known;
        if rest != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CtdbNodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CtdbNodeFlags({:#x}: {})", self.0, self)
    }
}

/// One entry of CTDB's node map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtdbNodeInfo {
    /// Physical node number (0-based).
    pub pnn: u32,
    /// The node's private (cluster) address from the nodes file.
    pub address: IpAddr,
    pub flags: CtdbNodeFlags,
}

/// One public IP address (`ctdb ip -v`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIp {
    pub addr: IpAddr,
    /// Prefix length from the public_addresses file.
    pub prefix_len: u8,
    /// Hosting node; `None` when unassigned (CTDB prints -1).
    pub pnn: Option<u32>,
    /// Interfaces the address may be placed on.
    pub interfaces: Vec<String>,
}

/// One CTDB-managed network interface of a node (`ctdb ifaces`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtdbInterface {
    pub name: String,
    pub link_up: bool,
    /// Number of public IPs currently using the interface.
    pub references: u32,
}

/// Everything the mapping needs from CTDB and Samba, gathered at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawCluster {
    /// NetBIOS name of the clustered Samba server.
    pub cluster_name: String,
    /// The node this daemon runs on.
    pub this_pnn: u32,
    /// CTDB leader (recovery master), if known.
    pub leader: Option<u32>,
    /// Database generation; changes with every recovery.
    pub generation: u32,
    /// Recovery mode is ACTIVE (a recovery is in progress).
    pub recovery_mode_active: bool,
    pub nodes: Vec<CtdbNodeInfo>,
    pub public_ips: Vec<PublicIp>,
    /// Interfaces per node: `(pnn, interface)`.
    pub interfaces: Vec<(u32, CtdbInterface)>,
    /// The shares the clustered Samba serves.
    pub shares: Vec<Share>,
    /// The Windows version the cluster presents (configuration, not CTDB).
    #[serde(default)]
    pub windows_version: WindowsVersion,
    /// How nodes are named (configuration).
    #[serde(default)]
    pub node_naming: NodeNaming,
    /// The host names nodes' clusapids published, one per pnn at most.
    #[serde(default)]
    pub host_names: Vec<NodeHostName>,
    /// Node drains started through this daemon, one per pnn at most.
    #[serde(default)]
    pub drains: Vec<Drain>,
}

/// A share the clustered Samba serves: a section of its configuration (smb.conf, or the
/// clustered registry configuration `net conf` edits), as the File Server role reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ShareRepr")]
pub struct Share {
    /// The section name (what clients connect to).
    pub name: String,
    /// The `path` parameter (empty when unknown).
    pub path: String,
    /// The `comment` parameter.
    pub comment: String,
}

/// What a stored [`Share`] looks like: a table, or (state files written before shares had a
/// path and comment) only its name.
#[derive(Deserialize)]
#[serde(untagged)]
enum ShareRepr {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        path: String,
        #[serde(default)]
        comment: String,
    },
}

impl From<ShareRepr> for Share {
    fn from(r: ShareRepr) -> Share {
        match r {
            ShareRepr::Name(name) => Share::named(name),
            ShareRepr::Full { name, path, comment } => Share { name, path, comment },
        }
    }
}

impl Share {
    /// A share known only by name.
    pub fn named(name: impl Into<String>) -> Share {
        Share { name: name.into(), ..Share::default() }
    }
}

impl RawCluster {
    /// Records that node `pnn` starts draining (towards `target`, if given): its
    /// NodeDrainStatus is InProgress until [`end_drain`](Self::end_drain). A drain already in
    /// progress is `DrainInProgress`; an unknown node `NodeNotFound`.
    pub fn begin_drain(&mut self, pnn: u32, target: Option<u32>) -> BackendResult<()> {
        if !self.nodes.iter().any(|n| n.pnn == pnn && !n.flags.contains(CtdbNodeFlags::DELETED)) {
            return Err(BackendError::NodeNotFound(pnn));
        }
        if self.drains.iter().any(|d| d.pnn == pnn && d.status == DrainStatus::InProgress) {
            return Err(BackendError::DrainInProgress(pnn));
        }
        self.drains.retain(|d| d.pnn != pnn);
        self.drains.push(Drain { pnn, target, status: DrainStatus::InProgress });
        Ok(())
    }

    /// Ends the drain of `pnn`: Completed when `ok`, else Failed (no-op without one).
    pub fn end_drain(&mut self, pnn: u32, ok: bool) {
        if let Some(d) = self.drains.iter_mut().find(|d| d.pnn == pnn) {
            d.status = if ok { DrainStatus::Completed } else { DrainStatus::Failed };
        }
    }

    /// Forgets the drain of `pnn` (the node was resumed).
    pub fn clear_drain(&mut self, pnn: u32) {
        self.drains.retain(|d| d.pnn != pnn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_read_as_names_or_tables() {
        #[derive(Deserialize)]
        struct Doc {
            shares: Vec<Share>,
        }
        let d: Doc = toml::from_str(
            r#"shares = ["old", { name = "new", path = "/srv/new", comment = "c" }, { name = "bare" }]"#,
        )
        .expect("parse");
        assert_eq!(
            d.shares,
            [
                Share::named("old"),
                Share { name: "new".into(), path: "/srv/new".into(), comment: "c".into() },
                Share::named("bare")
            ]
        );
    }

    #[test]
    fn flag_values_match_ctdb() {
        assert_eq!(CtdbNodeFlags::DISABLED, CtdbNodeFlags::UNHEALTHY | CtdbNodeFlags::PERMANENTLY_DISABLED);
        assert_eq!(
            CtdbNodeFlags::INACTIVE,
            CtdbNodeFlags::DELETED | CtdbNodeFlags::DISCONNECTED | CtdbNodeFlags::BANNED | CtdbNodeFlags::STOPPED
        );
    }

    #[test]
    fn display_like_ctdb_status() {
        assert_eq!(CtdbNodeFlags::OK.to_string(), "OK");
        assert_eq!(CtdbNodeFlags::DISCONNECTED.to_string(), "DISCONNECTED|INACTIVE");
        assert_eq!(CtdbNodeFlags::PERMANENTLY_DISABLED.to_string(), "DISABLED");
        assert_eq!(CtdbNodeFlags(0x100).to_string(), "0x100");
    }

    #[test]
    fn drains() {
        let mut raw = RawCluster {
            nodes: vec![CtdbNodeInfo { pnn: 1, address: IpAddr::from([127, 0, 0, 2]), flags: CtdbNodeFlags::OK }],
            ..RawCluster::default()
        };
        assert_eq!(raw.begin_drain(7, None), Err(BackendError::NodeNotFound(7)));
        raw.begin_drain(1, Some(0)).unwrap();
        assert_eq!(raw.begin_drain(1, None), Err(BackendError::DrainInProgress(1)));
        raw.end_drain(1, false);
        assert_eq!(raw.drains, vec![Drain { pnn: 1, target: Some(0), status: DrainStatus::Failed }]);
        raw.begin_drain(1, None).unwrap();
        raw.end_drain(1, true);
        assert_eq!(raw.drains[0].status, DrainStatus::Completed);
        raw.clear_drain(1);
        assert!(raw.drains.is_empty());
    }

    #[test]
    fn hosting_rules() {
        assert!(CtdbNodeFlags::OK.can_host_ips());
        for f in [
            CtdbNodeFlags::DISCONNECTED,
            CtdbNodeFlags::UNHEALTHY,
            CtdbNodeFlags::PERMANENTLY_DISABLED,
            CtdbNodeFlags::BANNED,
            CtdbNodeFlags::STOPPED,
            CtdbNodeFlags::DELETED,
            CtdbNodeFlags::UNKNOWN,
        ] {
            assert!(!f.can_host_ips(), "{f:?}");
        }
    }
}
