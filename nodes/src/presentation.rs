//! How the cluster presents itself beyond what CTDB reports: the Windows Server version it
//! claims to run ([`WindowsVersion`]), how its nodes are named ([`NodeNaming`]), the host
//! names nodes published ([`NodeHostName`]) and the node drains administrators started
//! ([`Drain`], [`DrainStatus`]).
//!
//! The version numbers are those [MS-CMRP] gives: `dwClusterHighestVersion` values of
//! CLUSTER_OPERATIONAL_VERSION_INFO (2.2.3.3: 0x00082580, 0x00090003, 0x000a0003, 0x000b0003,
//! 0x000c0004; the upper word is the cluster software's major version, the lower its minor,
//! "upgrade", version) and the OS versions `lpwMajorVersion`/`lpwMinorVersion`/
//! `lpwBuildNumber` of ApiGetClusterVersion2. Which product each table value belongs to is a
//! product behavior note of the spec we could not read; the README says how they were paired.

use serde::{Deserialize, Serialize};

use crate::wire::wire_enum;

/// A Windows Server release whose failover cluster clusapid presents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WindowsVersion {
    /// Windows Server 2012 R2: OS 6.3.9600, cluster version 0x00082580.
    #[serde(rename = "2012r2")]
    Ws2012R2,
    /// Windows Server 2016: OS 10.0.14393, cluster version 0x00090003.
    #[serde(rename = "2016")]
    Ws2016,
    /// Windows Server 2019: OS 10.0.17763, cluster version 0x000a0003.
    #[serde(rename = "2019")]
    Ws2019,
    /// Windows Server 2022 (the default): OS 10.0.20348, cluster version 0x000b0003.
    #[default]
    #[serde(rename = "2022")]
    Ws2022,
    /// Windows Server 2025: OS 10.0.26100, cluster version 0x000c0004.
    #[serde(rename = "2025")]
    Ws2025,
}

impl WindowsVersion {
    /// Every version, oldest first.
    pub const ALL: [WindowsVersion; 5] = [
        WindowsVersion::Ws2012R2,
        WindowsVersion::Ws2016,
        WindowsVersion::Ws2019,
        WindowsVersion::Ws2022,
        WindowsVersion::Ws2025,
    ];

    /// The configuration spelling: `2012r2`, `2016`, `2019`, `2022`, `2025`.
    pub const fn name(self) -> &'static str {
        match self {
            WindowsVersion::Ws2012R2 => "2012r2",
            WindowsVersion::Ws2016 => "2016",
            WindowsVersion::Ws2019 => "2019",
            WindowsVersion::Ws2022 => "2022",
            WindowsVersion::Ws2025 => "2025",
        }
    }

    /// The product name.
    pub const fn product(self) -> &'static str {
        match self {
            WindowsVersion::Ws2012R2 => "Windows Server 2012 R2",
            WindowsVersion::Ws2016 => "Windows Server 2016",
            WindowsVersion::Ws2019 => "Windows Server 2019",
            WindowsVersion::Ws2022 => "Windows Server 2022",
            WindowsVersion::Ws2025 => "Windows Server 2025",
        }
    }

    /// Parses a configuration spelling (case-insensitive; `2012R2` and `2012-r2` too).
    pub fn parse(s: &str) -> Option<WindowsVersion> {
        let s: String = s.trim().chars().filter(|c| *c != '-' && *c != ' ').collect::<String>().to_lowercase();
        WindowsVersion::ALL.into_iter().find(|v| v.name() == s)
    }

    /// OS major, minor and build number (ApiGetClusterVersion2's `lpwMajorVersion`,
    /// `lpwMinorVersion`, `lpwBuildNumber`; the nodes' MajorVersion, MinorVersion,
    /// BuildNumber).
    pub const fn os_version(self) -> (u16, u16, u16) {
        match self {
            WindowsVersion::Ws2012R2 => (6, 3, 9600),
            WindowsVersion::Ws2016 => (10, 0, 14393),
            WindowsVersion::Ws2019 => (10, 0, 17763),
            WindowsVersion::Ws2022 => (10, 0, 20348),
            WindowsVersion::Ws2025 => (10, 0, 26100),
        }
    }

    /// The cluster software version: `dwClusterHighestVersion` = `dwClusterLowestVersion` of a
    /// cluster whose nodes all run this version, and every node's NodeHighestVersion /
    /// NodeLowestVersion ([MS-CMRP] 2.2.3.3).
    pub const fn cluster_version(self) -> u32 {
        match self {
            WindowsVersion::Ws2012R2 => 0x0008_2580,
            WindowsVersion::Ws2016 => 0x0009_0003,
            WindowsVersion::Ws2019 => 0x000a_0003,
            WindowsVersion::Ws2022 => 0x000b_0003,
            WindowsVersion::Ws2025 => 0x000c_0004,
        }
    }

    /// The cluster software major version (upper word of [`Self::cluster_version`]).
    pub const fn cluster_major(self) -> u16 {
        (self.cluster_version() >> 16) as u16
    }

    /// The cluster software minor ("upgrade") version (lower word of [`Self::cluster_version`]).
    pub const fn upgrade_version(self) -> u16 {
        self.cluster_version() as u16
    }

    /// The cluster common property `ClusterFunctionalLevel` (the cluster major version of a
    /// cluster whose nodes all run this version); the property exists from Windows Server 2016
    /// on, so 2012 R2 has none.
    pub const fn functional_level(self) -> Option<u32> {
        match self {
            WindowsVersion::Ws2012R2 => None,
            v => Some(v.cluster_major() as u32),
        }
    }

    /// Whether this version has what `other` introduced.
    pub fn at_least(self, other: WindowsVersion) -> bool {
        self >= other
    }
}

impl std::fmt::Display for WindowsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How clusapi names the cluster's nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeNaming {
    /// `CTDB_NODE_<pnn>`, Samba's convention (the default).
    #[default]
    Ctdb,
    /// The host name each node's clusapid published ([`NodeHostName`]); a node that has not
    /// published one yet keeps `CTDB_NODE_<pnn>`.
    Hostname,
}

impl NodeNaming {
    /// Parses the configuration spelling `ctdb` or `hostname`.
    pub fn parse(s: &str) -> Option<NodeNaming> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ctdb" => Some(NodeNaming::Ctdb),
            "hostname" => Some(NodeNaming::Hostname),
            _ => None,
        }
    }
}

/// The host name a node's clusapid published for its node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeHostName {
    pub pnn: u32,
    /// The host name (first label), e.g. `fs1`.
    pub host_name: String,
    /// The fully qualified name, e.g. `fs1.example.com` (the host name when no domain is known).
    pub fqdn: String,
}

impl NodeHostName {
    /// The record a node publishes: `host_name`, a newline, `fqdn`.
    pub fn encode(&self) -> Vec<u8> {
        format!("{}\n{}", self.host_name, self.fqdn).into_bytes()
    }

    /// Parses a published record; `None` unless it is two non-empty lines of printable text
    /// that fit a DNS name (253 characters).
    pub fn decode(pnn: u32, bytes: &[u8]) -> Option<NodeHostName> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (host, fqdn) = text.split_once('\n')?;
        let ok = |s: &str| !s.is_empty() && s.len() <= 253 && s.chars().all(|c| c.is_ascii_graphic());
        (ok(host) && ok(fqdn)).then(|| NodeHostName { pnn, host_name: host.to_owned(), fqdn: fqdn.to_owned() })
    }
}

wire_enum!(
    /// CLUSTER_NODE_DRAIN_STATUS: the node common property `NodeDrainStatus`.
    #[derive(Default)]
    DrainStatus {
        #[default]
        NotInitiated = 0,
        InProgress = 1,
        Completed = 2,
        Failed = 3,
    }
);

/// A drain an administrator started (ApiPauseNodeEx with `bDrainNode`,
/// ApiPauseNodeWithDrainTarget), as the backend that runs it records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drain {
    pub pnn: u32,
    /// The node the groups are to move to, when one was named.
    pub target: Option<u32>,
    /// InProgress until the pause completed, then Completed or Failed.
    pub status: DrainStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_the_spec_values() {
        use WindowsVersion as V;
        assert_eq!(V::default(), V::Ws2022);
        assert_eq!(V::Ws2022.os_version(), (10, 0, 20348));
        assert_eq!(V::Ws2022.cluster_version(), 0x000b_0003);
        assert_eq!((V::Ws2022.cluster_major(), V::Ws2022.upgrade_version()), (11, 3));
        assert_eq!(V::Ws2012R2.cluster_version(), (8 << 16) | 9600);
        assert_eq!(V::Ws2012R2.functional_level(), None);
        assert_eq!(V::Ws2016.functional_level(), Some(9));
        assert_eq!(V::Ws2025.functional_level(), Some(12));
        // majors differ by one from one release to the next, and the OS major is 10 from 2016 on
        for w in V::ALL.windows(2) {
            assert_eq!(w[0].cluster_major() + 1, w[1].cluster_major());
            assert!(w[1].at_least(w[0]) && !w[0].at_least(w[1]));
            assert_eq!(w[1].os_version().0, 10);
        }
    }

    #[test]
    fn spellings() {
        for v in WindowsVersion::ALL {
            assert_eq!(WindowsVersion::parse(v.name()), Some(v));
            let toml = format!("v = \"{}\"", v.name());
            #[derive(Deserialize)]
            struct T {
                v: WindowsVersion,
            }
            assert_eq!(toml::from_str::<T>(&toml).unwrap().v, v);
        }
        assert_eq!(WindowsVersion::parse("2012R2"), Some(WindowsVersion::Ws2012R2));
        assert_eq!(WindowsVersion::parse("2012-r2"), Some(WindowsVersion::Ws2012R2));
        assert_eq!(WindowsVersion::parse("2008"), None);
        assert_eq!(NodeNaming::parse("HostName"), Some(NodeNaming::Hostname));
        assert_eq!(NodeNaming::parse("dns"), None);
    }

    #[test]
    fn host_name_records() {
        let h = NodeHostName { pnn: 2, host_name: "fs3".into(), fqdn: "fs3.example.com".into() };
        assert_eq!(NodeHostName::decode(2, &h.encode()), Some(h));
        for bad in [&b""[..], b"fs3", b"\nx", b"a b\nc", b"a\n", &[0xff, b'\n', b'a']] {
            assert_eq!(NodeHostName::decode(0, bad), None, "{bad:?}");
        }
    }
}
