//! Security identifiers in their string form ([MS-DTYP] 2.4.2.1, `S-1-5-21-...`): parsing,
//! printing, the well-known SIDs clusapid puts into every domain token, and the conversion to
//! the binary SID of security descriptors (`registry_model::security::Sid`).

use std::fmt;
use std::str::FromStr;

/// A SID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    pub revision: u8,
    /// IdentifierAuthority, a 48-bit value.
    pub authority: u64,
    pub subs: Vec<u32>,
}

/// Why a string is not a SID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SID: {0:?}")]
pub struct BadSid(pub String);

/// Most sub-authorities a SID has ([MS-DTYP] 2.4.2.2).
pub const MAX_SUB_AUTHORITIES: usize = 15;

impl Sid {
    pub fn new(revision: u8, authority: u64, subs: &[u32]) -> Sid {
        Sid { revision, authority, subs: subs.to_vec() }
    }

    /// This SID with one more sub-authority.
    pub fn with_rid(&self, rid: u32) -> Sid {
        let mut s = self.clone();
        s.subs.push(rid);
        s
    }

    /// The binary SID of security descriptors.
    pub fn to_model(&self) -> registry_model::security::Sid {
        registry_model::security::Sid::new(self.authority, &self.subs)
    }

    /// From the binary SID of security descriptors.
    pub fn from_model(s: &registry_model::security::Sid) -> Sid {
        let mut a = [0u8; 8];
        a[2..].copy_from_slice(&s.authority);
        Sid::new(1, u64::from_be_bytes(a), &s.sub_authorities)
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // [MS-DTYP] 2.4.2.1: authorities of 2^32 and more are written in hex
        if self.authority >= 1 << 32 {
            write!(f, "S-{}-{:#014X}", self.revision, self.authority)?;
        } else {
            write!(f, "S-{}-{}", self.revision, self.authority)?;
        }
        for s in &self.subs {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl FromStr for Sid {
    type Err = BadSid;

    fn from_str(s: &str) -> Result<Sid, BadSid> {
        let bad = || BadSid(s.to_owned());
        let rest = s.strip_prefix("S-").or_else(|| s.strip_prefix("s-")).ok_or_else(bad)?;
        let mut parts = rest.split('-');
        let revision: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if revision != 1 {
            return Err(bad());
        }
        let a = parts.next().ok_or_else(bad)?;
        let authority = match a.strip_prefix("0x").or_else(|| a.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).map_err(|_| bad())?,
            None => a.parse::<u64>().map_err(|_| bad())?,
        };
        if authority >= 1 << 48 {
            return Err(bad());
        }
        let subs: Vec<u32> = parts.map(|p| p.parse::<u32>().map_err(|_| bad())).collect::<Result<_, _>>()?;
        if subs.len() > MAX_SUB_AUTHORITIES {
            return Err(bad());
        }
        Ok(Sid { revision, authority, subs })
    }
}

/// S-1-5-32, the BUILTIN domain.
pub fn builtin_domain() -> Sid {
    Sid::new(1, 5, &[32])
}

/// S-1-5-32-544, BUILTIN\Administrators.
pub fn builtin_administrators() -> Sid {
    Sid::new(1, 5, &[32, 544])
}

/// S-1-1-0, Everyone.
pub fn everyone() -> Sid {
    Sid::new(1, 1, &[0])
}

/// S-1-5-2, NT AUTHORITY\NETWORK.
pub fn network() -> Sid {
    Sid::new(1, 5, &[2])
}

/// S-1-5-11, NT AUTHORITY\Authenticated Users.
pub fn authenticated_users() -> Sid {
    Sid::new(1, 5, &[11])
}

/// The well-known names an access list may use without winbindd ([MS-DTYP] 2.4.2.4),
/// matched case-insensitively.
pub fn well_known(name: &str) -> Option<Sid> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_str() {
        "builtin\\administrators" => builtin_administrators(),
        "builtin\\users" => Sid::new(1, 5, &[32, 545]),
        "builtin\\guests" => Sid::new(1, 5, &[32, 546]),
        "everyone" | "\\everyone" => everyone(),
        "nt authority\\authenticated users" => authenticated_users(),
        "nt authority\\network" => network(),
        "nt authority\\system" => Sid::new(1, 5, &[18]),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        for s in ["S-1-5-21-204471008-2431811987-2932024094-1103", "S-1-1-0", "S-1-5-32-544", "S-1-5"] {
            assert_eq!(s.parse::<Sid>().unwrap().to_string(), s);
        }
        assert_eq!("s-1-5-11".parse::<Sid>().unwrap(), authenticated_users());
        let big: Sid = "S-1-0x0000DEADBEEF-1".parse().unwrap();
        assert_eq!(big.authority, 0xdead_beef);
        assert_eq!(big.to_string(), "S-1-3735928559-1");
        assert_eq!(Sid::new(1, 1 << 40, &[7]).to_string(), "S-1-0x010000000000-7");
        for bad in [
            "",
            "S-1",
            "S-2-5-32",
            "S-1-x-3",
            "S-1-5--3",
            "S-1-5-4294967296",
            "S-1-281474976710656",
            "LAB\\Cluster Admins",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
        ] {
            assert!(bad.parse::<Sid>().is_err(), "{bad}");
        }
    }

    #[test]
    fn model_round_trip_and_well_known() {
        let s: Sid = "S-1-5-21-1-2-3-513".parse().unwrap();
        let m = s.to_model();
        assert_eq!(m.to_string(), "S-1-5-21-1-2-3-513");
        assert_eq!(Sid::from_model(&m), s);
        assert_eq!(well_known("builtin\\Administrators"), Some(builtin_administrators()));
        assert_eq!(well_known("LAB\\Domain Users"), None);
        assert_eq!(builtin_domain().with_rid(544), builtin_administrators());
    }
}
