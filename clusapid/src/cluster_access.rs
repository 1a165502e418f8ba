//! The cluster security descriptor ([MS-CMRP] 3.1.1.3): who gets "All", "Read" or nothing
//! through clusapi when they log on with a domain account.
//!
//! The access list has two sources:
//! - the configuration (`full_access`, `read_access`, `deny_access`: names such as
//!   `LAB\Cluster Admins` or SIDs), by default full access for `BUILTIN\Administrators` alone,
//!   as a Windows cluster's default descriptor does; names are resolved through winbindd (by a
//!   background task, so names that cannot be resolved yet are retried);
//! - edits made with `CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS` ([MS-CMRP] 3.1.4.3.7.21;
//!   Grant-/Block-/Remove-ClusterAccess), kept in the cluster registry (root value
//!   [`EDITS_VALUE`], so they are the same on every node and survive restarts). An edit for a
//!   SID replaces the configured entries of the same kind for that SID (allowed, or denied), or
//!   removes all of them (delete).
//!
//! ACE masks are the CLUSAPI_* rights: READ 0x1, CHANGE 0x2 (ALL 0x3), NO_ACCESS 0x4.
//! Evaluation against a caller's token (its SIDs): denied entries first — any denied entry with
//! READ or NO_ACCESS for a SID of the token means no access, one with CHANGE only caps the
//! caller at "Read" — then the allowed entries: CHANGE gives "All", READ gives "Read". The
//! descriptor built from the list (owner and group BUILTIN\Administrators, deny ACEs before
//! allow ACEs) is what clients read as the root value `Security Descriptor`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use registry_model::security::{Ace, Acl, SecurityDescriptor, SE_DACL_PRESENT};

use crate::accounts::AccessLevel;
use crate::domain::sid::{self, Sid};

/// CLUSAPI_READ_ACCESS.
pub const READ: u32 = 0x1;
/// CLUSAPI_CHANGE_ACCESS.
pub const CHANGE: u32 = 0x2;
/// CLUSAPI_ALL_ACCESS.
pub const ALL: u32 = READ | CHANGE;
/// CLUSAPI_NO_ACCESS.
pub const NO_ACCESS: u32 = 0x4;

/// The cluster registry root value that keeps the edits (REG_MULTI_SZ, one `SID:kind:mask`
/// per edit, in order).
pub const EDITS_VALUE: &str = "ClusapidAccountAccess";

/// ACCESS_DENIED_ACE_TYPE ([MS-DTYP] 2.4.4.1).
const ACCESS_DENIED_ACE_TYPE: u8 = 0x01;

/// Allowed or denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Allow,
    Deny,
}

/// One entry of the effective access list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub sid: Sid,
    pub kind: Kind,
    pub mask: u32,
}

/// One CLUSCTL_CLUSTER_SET_ACCOUNT_ACCESS change (`AccountAccessType`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// CLUSTER_SET_ACCESS_TYPE_ALLOWED (0).
    Allow(Sid, u32),
    /// CLUSTER_SET_ACCESS_TYPE_DENIED (1).
    Deny(Sid, u32),
    /// CLUSTER_DELETE_ACCESS_CONTROL_ENTRY (2).
    Delete(Sid),
}

/// Why an edit is not acceptable (ERROR_INVALID_PARAMETER).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("AccountAccessType {0} is none of 0, 1, 2")]
    BadType(u32),
    #[error("AccountAccessMask {0:#x} is not a CLUSAPI_* access")]
    BadMask(u32),
    #[error("malformed stored edit {0:?}")]
    Stored(String),
}

impl Edit {
    /// From the three properties of the control code.
    pub fn new(sid: Sid, mask: u32, access_type: u32) -> Result<Edit, EditError> {
        if access_type != 2 && (mask == 0 || mask & !(ALL | NO_ACCESS) != 0) {
            return Err(EditError::BadMask(mask));
        }
        match access_type {
            0 => Ok(Edit::Allow(sid, mask)),
            1 => Ok(Edit::Deny(sid, mask)),
            2 => Ok(Edit::Delete(sid)),
            t => Err(EditError::BadType(t)),
        }
    }

    /// The stored form, `SID:allow:3`.
    pub fn to_line(&self) -> String {
        match self {
            Edit::Allow(s, m) => format!("{s}:allow:{m}"),
            Edit::Deny(s, m) => format!("{s}:deny:{m}"),
            Edit::Delete(s) => format!("{s}:delete:0"),
        }
    }

    /// Parses the stored form.
    pub fn from_line(line: &str) -> Result<Edit, EditError> {
        let bad = || EditError::Stored(line.to_owned());
        let mut p = line.split(':');
        let (Some(s), Some(k), Some(m), None) = (p.next(), p.next(), p.next(), p.next()) else {
            return Err(bad());
        };
        let sid: Sid = s.parse().map_err(|_| bad())?;
        let mask: u32 = m.parse().map_err(|_| bad())?;
        let t = match k {
            "allow" => 0,
            "deny" => 1,
            "delete" => 2,
            _ => return Err(bad()),
        };
        Edit::new(sid, mask, t).map_err(|_| bad())
    }

    fn sid(&self) -> &Sid {
        match self {
            Edit::Allow(s, _) | Edit::Deny(s, _) | Edit::Delete(s) => s,
        }
    }
}

/// Parses the stored edits; malformed lines are skipped (and reported).
pub fn parse_edits(lines: &[String]) -> (Vec<Edit>, Vec<EditError>) {
    let mut edits = Vec::new();
    let mut errors = Vec::new();
    for l in lines.iter().filter(|l| !l.is_empty()) {
        match Edit::from_line(l) {
            Ok(e) => edits.push(e),
            Err(e) => errors.push(e),
        }
    }
    (edits, errors)
}

/// Appends `edit` to a stored list, dropping earlier edits it makes irrelevant (every earlier
/// edit of its SID for a delete; the earlier one of the same kind otherwise), so the list stays
/// as short as the set of SIDs ever edited.
pub fn push_edit(list: &mut Vec<Edit>, edit: Edit) {
    let sid = edit.sid().clone();
    list.retain(|e| {
        e.sid() != &sid
            || !matches!(
                (&edit, e),
                (Edit::Delete(_), _) | (Edit::Allow(..), Edit::Allow(..)) | (Edit::Deny(..), Edit::Deny(..))
            )
    });
    list.push(edit);
}

/// The access list: configured entries with the edits applied, deny entries first.
pub fn effective(configured: &[Entry], edits: &[Edit]) -> Vec<Entry> {
    let mut list: Vec<Entry> = configured.to_vec();
    for e in edits {
        match e {
            Edit::Allow(s, m) => {
                list.retain(|x| !(x.sid == *s && x.kind == Kind::Allow));
                list.push(Entry { sid: s.clone(), kind: Kind::Allow, mask: *m });
            }
            Edit::Deny(s, m) => {
                list.retain(|x| !(x.sid == *s && x.kind == Kind::Deny));
                list.push(Entry { sid: s.clone(), kind: Kind::Deny, mask: *m });
            }
            Edit::Delete(s) => list.retain(|x| x.sid != *s),
        }
    }
    let (mut deny, allow): (Vec<Entry>, Vec<Entry>) = list.into_iter().partition(|e| e.kind == Kind::Deny);
    deny.extend(allow);
    deny
}

/// What `token` is entitled to under `list`.
pub fn evaluate(list: &[Entry], token: &[Sid]) -> Option<AccessLevel> {
    let has: HashSet<&Sid> = token.iter().collect();
    let mut denied = 0u32;
    let mut allowed = 0u32;
    for e in list.iter().filter(|e| has.contains(&e.sid)) {
        match e.kind {
            Kind::Deny => denied |= e.mask,
            Kind::Allow => allowed |= e.mask,
        }
    }
    if denied & (READ | NO_ACCESS) != 0 || (allowed & NO_ACCESS) == allowed {
        // a deny of reading (or of everything) wins; an allow of "no access" allows nothing
        return None;
    }
    if allowed & CHANGE != 0 && denied & CHANGE == 0 {
        Some(AccessLevel::Full)
    } else if allowed & (READ | CHANGE) != 0 {
        Some(AccessLevel::ReadOnly)
    } else {
        None
    }
}

/// The self-relative descriptor of a list.
pub fn descriptor(list: &[Entry]) -> Vec<u8> {
    let aces = list
        .iter()
        .map(|e| {
            let mut a = Ace::allowed(0, e.mask, &e.sid.to_model());
            if e.kind == Kind::Deny {
                a.ace_type = ACCESS_DENIED_ACE_TYPE;
            }
            a
        })
        .collect();
    SecurityDescriptor {
        control: SE_DACL_PRESENT,
        owner: Some(sid::builtin_administrators().to_model()),
        group: Some(sid::builtin_administrators().to_model()),
        sacl: None,
        dacl: Some(Acl { revision: 2, aces }),
    }
    .to_self_relative()
}

/// One configured entry: the name as written and, once known, its SID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configured {
    pub name: String,
    pub kind: Kind,
    pub mask: u32,
    pub sid: Option<Sid>,
}

/// The daemon's cluster access state: configured entries (resolved over time), the edits of
/// the cluster registry, and a generation that changes whenever the effective list does.
#[derive(Debug)]
pub struct ClusterAccess {
    configured: RwLock<Vec<Configured>>,
    edits: RwLock<Vec<Edit>>,
    /// Which version of the stored cluster registry the edits were read from.
    edits_stamp: AtomicU64,
    generation: AtomicU64,
}

impl Default for ClusterAccess {
    /// Full access for BUILTIN\Administrators only.
    fn default() -> Self {
        ClusterAccess::new(&["BUILTIN\\Administrators".to_string()], &[], &[])
    }
}

impl ClusterAccess {
    /// From the configuration's three lists; SIDs and well-known names resolve at once.
    pub fn new(full: &[String], read: &[String], deny: &[String]) -> ClusterAccess {
        let mut configured = Vec::new();
        for (names, kind, mask) in [(deny, Kind::Deny, ALL), (full, Kind::Allow, ALL), (read, Kind::Allow, READ)] {
            for n in names {
                let sid = n.parse::<Sid>().ok().or_else(|| sid::well_known(n));
                configured.push(Configured { name: n.clone(), kind, mask, sid });
            }
        }
        ClusterAccess {
            configured: RwLock::new(configured),
            edits: RwLock::new(Vec::new()),
            edits_stamp: AtomicU64::new(0),
            generation: AtomicU64::new(1),
        }
    }

    /// Changes whenever the effective list may have changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Names still without a SID.
    pub fn unresolved(&self) -> Vec<String> {
        let c = self.configured.read().unwrap_or_else(PoisonError::into_inner);
        c.iter().filter(|e| e.sid.is_none()).map(|e| e.name.clone()).collect()
    }

    /// Records the SID of a configured name.
    pub fn resolved(&self, name: &str, sid: Sid) {
        let mut c = self.configured.write().unwrap_or_else(PoisonError::into_inner);
        let mut changed = false;
        for e in c.iter_mut().filter(|e| e.name == name && e.sid.is_none()) {
            e.sid = Some(sid.clone());
            changed = true;
        }
        drop(c);
        if changed {
            self.bump();
        }
    }

    /// The stamp given with the edits last read from the cluster registry.
    pub fn edits_stamp(&self) -> u64 {
        self.edits_stamp.load(Ordering::Acquire)
    }

    /// Replaces the edits with those read from version `stamp` of the cluster registry.
    pub fn set_edits_at(&self, edits: Vec<Edit>, stamp: u64) {
        self.set_edits(edits);
        self.edits_stamp.store(stamp, Ordering::Release);
    }

    /// Replaces the edits (as just written to the cluster registry).
    pub fn set_edits(&self, edits: Vec<Edit>) {
        let mut e = self.edits.write().unwrap_or_else(PoisonError::into_inner);
        if *e != edits {
            *e = edits;
            drop(e);
            self.bump();
        }
    }

    /// The effective list.
    pub fn list(&self) -> Vec<Entry> {
        let c = self.configured.read().unwrap_or_else(PoisonError::into_inner);
        let entries: Vec<Entry> = c
            .iter()
            .filter_map(|e| e.sid.as_ref().map(|s| Entry { sid: s.clone(), kind: e.kind, mask: e.mask }))
            .collect();
        drop(c);
        let edits = self.edits.read().unwrap_or_else(PoisonError::into_inner);
        effective(&entries, &edits)
    }

    /// Configured deny names still without a SID.
    pub fn unresolved_denials(&self) -> Vec<String> {
        let c = self.configured.read().unwrap_or_else(PoisonError::into_inner);
        c.iter().filter(|e| e.sid.is_none() && e.kind == Kind::Deny).map(|e| e.name.clone()).collect()
    }

    /// What a caller with these SIDs (string form) is entitled to; unparsable SIDs are ignored.
    /// Nothing while a configured deny name is unresolved: a denial that cannot be applied yet
    /// must not let its members in, so domain logons wait for it (fail closed).
    pub fn entitlement(&self, sids: &[String]) -> Option<AccessLevel> {
        if !self.unresolved_denials().is_empty() {
            return None;
        }
        let token: Vec<Sid> = sids.iter().filter_map(|s| s.parse().ok()).collect();
        evaluate(&self.list(), &token)
    }

    /// The descriptor clients read.
    pub fn descriptor(&self) -> Vec<u8> {
        descriptor(&self.list())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Sid {
        x.parse().unwrap()
    }

    const ADMINS: &str = "S-1-5-21-9-9-9-1106"; // Cluster Admins
    const DENY: &str = "S-1-5-21-9-9-9-1107"; // Cluster Deny
    const USERS: &str = "S-1-5-21-9-9-9-513"; // Domain Users

    fn lab() -> ClusterAccess {
        ClusterAccess::new(&["BUILTIN\\Administrators".into(), ADMINS.into()], &[USERS.into()], &[DENY.into()])
    }

    fn token(extra: &[&str]) -> Vec<String> {
        let mut t = vec!["S-1-5-21-9-9-9-1103".to_string(), USERS.to_string(), "S-1-5-11".into()];
        t.extend(extra.iter().map(|x| x.to_string()));
        t
    }

    #[test]
    fn the_lab_configuration() {
        let a = lab();
        assert!(a.unresolved().is_empty());
        assert_eq!(a.entitlement(&token(&[ADMINS])), Some(AccessLevel::Full));
        assert_eq!(a.entitlement(&token(&[])), Some(AccessLevel::ReadOnly));
        assert_eq!(a.entitlement(&token(&[DENY])), None);
        assert_eq!(a.entitlement(&token(&[DENY, ADMINS])), None, "deny wins over full");
        assert_eq!(a.entitlement(&["S-1-5-32-544".into()]), Some(AccessLevel::Full));
        assert_eq!(a.entitlement(&["S-1-5-21-1-1-1-500".into(), "S-1-5-11".into()]), None);
        assert_eq!(a.entitlement(&[]), None);
        assert_eq!(ClusterAccess::default().entitlement(&token(&[ADMINS])), None);
    }

    #[test]
    fn names_resolve_later() {
        let a = ClusterAccess::new(&["LAB\\Cluster Admins".into()], &[], &["LAB\\Cluster Deny".into()]);
        assert_eq!(a.unresolved(), vec!["LAB\\Cluster Deny".to_string(), "LAB\\Cluster Admins".to_string()]);
        assert_eq!(a.entitlement(&token(&[ADMINS])), None);
        let g = a.generation();
        a.resolved("LAB\\Cluster Admins", s(ADMINS));
        assert!(a.generation() > g);
        assert_eq!(a.unresolved(), vec!["LAB\\Cluster Deny".to_string()]);
        assert_eq!(a.entitlement(&token(&[ADMINS])), None, "fail closed while a denial is unresolved");
        a.resolved("LAB\\Cluster Deny", s(DENY));
        assert!(a.unresolved().is_empty());
        assert_eq!(a.entitlement(&token(&[ADMINS])), Some(AccessLevel::Full));
        assert_eq!(a.entitlement(&token(&[ADMINS, DENY])), None);
    }

    #[test]
    fn edits_change_the_list_like_grant_block_remove() {
        let a = lab();
        let plain = token(&[]);
        let me = "S-1-5-21-9-9-9-1103";
        // Grant-ClusterAccess -Full
        let mut edits = Vec::new();
        push_edit(&mut edits, Edit::new(s(me), ALL, 0).unwrap());
        a.set_edits(edits.clone());
        assert_eq!(a.entitlement(&plain), Some(AccessLevel::Full));
        // Grant-ClusterAccess -ReadOnly replaces the allowed entry
        push_edit(&mut edits, Edit::new(s(me), READ, 0).unwrap());
        assert_eq!(edits.len(), 1);
        a.set_edits(edits.clone());
        assert_eq!(a.entitlement(&plain), Some(AccessLevel::ReadOnly));
        // Block-ClusterAccess
        push_edit(&mut edits, Edit::new(s(me), NO_ACCESS, 1).unwrap());
        a.set_edits(edits.clone());
        assert_eq!(a.entitlement(&plain), None);
        // Remove-ClusterAccess: all entries of the SID go, the group's read access remains
        push_edit(&mut edits, Edit::new(s(me), 0, 2).unwrap());
        assert_eq!(edits.len(), 1);
        a.set_edits(edits.clone());
        assert_eq!(a.entitlement(&plain), Some(AccessLevel::ReadOnly));
        // deleting a configured SID removes the configured entry too
        push_edit(&mut edits, Edit::new(s(USERS), 0, 2).unwrap());
        a.set_edits(edits.clone());
        assert_eq!(a.entitlement(&plain), None);
        // a deny of CHANGE only caps at read
        let mut e2 = Vec::new();
        push_edit(&mut e2, Edit::new(s(ADMINS), CHANGE, 1).unwrap());
        a.set_edits(e2);
        assert_eq!(a.entitlement(&token(&[ADMINS])), Some(AccessLevel::ReadOnly));
        // stored form round trip; bad lines are reported, not fatal
        let lines: Vec<String> = edits.iter().map(Edit::to_line).chain(["garbage".to_string()]).collect();
        let (back, errors) = parse_edits(&lines);
        assert_eq!(back, edits);
        assert_eq!(errors.len(), 1);
        assert!(Edit::new(s(me), 8, 0).is_err());
        assert!(Edit::new(s(me), 0, 0).is_err());
        assert!(Edit::new(s(me), 3, 7).is_err());
        assert!(Edit::from_line("S-1-5-1:allow:9").is_err());
    }

    #[test]
    fn the_descriptor_reflects_the_list() {
        let a = lab();
        let sd = SecurityDescriptor::parse(&a.descriptor()).unwrap();
        assert_eq!(sd.owner, Some(sid::builtin_administrators().to_model()));
        let aces = sd.dacl.unwrap().aces;
        let got: Vec<(u8, u32, String)> = aces
            .iter()
            .map(|a| {
                let (sid, _) = registry_model::security::Sid::parse(&a.body[4..]).unwrap();
                (a.ace_type, a.mask().unwrap(), sid.to_string())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, ALL, DENY.to_string()),
                (0, ALL, "S-1-5-32-544".to_string()),
                (0, ALL, ADMINS.to_string()),
                (0, READ, USERS.to_string()),
            ]
        );
    }
}
