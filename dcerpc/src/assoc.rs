//! Association groups and their context-handle tables ([MS-RPCE] 3.3.1.1.1, [C706] 12.4.2).
//!
//! Context handles belong to an association group, not to one TCP connection: a client may
//! join the group from several connections (the `assoc_group_id` of a bind). A group lives as
//! long as one of its connections does; when the last one closes, the group and every handle
//! in it are dropped, which is how handles are freed when the association ends.
//!
//! A handle is an opaque random GUID mapped to a typed value. A lookup with the wrong type
//! fails exactly like an unknown handle (ERROR_INVALID_HANDLE for the caller).

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use idl::{ContextHandle, Guid};

/// Most handles one association group may hold (bounds what a peer can make us keep).
pub const MAX_HANDLES_PER_GROUP: usize = 65_536;

/// How much the association groups of a server may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssocLimits {
    /// Groups alive at once.
    pub groups: usize,
    /// Context handles per group.
    pub handles_per_group: usize,
}

impl Default for AssocLimits {
    fn default() -> Self {
        AssocLimits { groups: usize::MAX, handles_per_group: MAX_HANDLES_PER_GROUP }
    }
}

/// Every live association group of a server.
#[derive(Default)]
pub struct Associations {
    groups: Mutex<HashMap<u32, Weak<AssociationGroup>>>,
    limits: AssocLimits,
}

impl Associations {
    /// A new directory.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A new directory with limits.
    pub fn with_limits(limits: AssocLimits) -> Arc<Self> {
        Arc::new(Associations { groups: Mutex::default(), limits })
    }

    /// The limits in force.
    pub fn limits(&self) -> AssocLimits {
        self.limits
    }

    /// Creates a group with a fresh non-zero id, or `None` when [`AssocLimits::groups`] are
    /// alive already.
    pub fn try_create(self: &Arc<Self>) -> Option<Arc<AssociationGroup>> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        if groups.len() >= self.limits.groups {
            // entries of dropped groups are removed on drop; count only live ones
            if groups.values().filter(|w| w.strong_count() > 0).count() >= self.limits.groups {
                tracing::warn!(limit = self.limits.groups, "Association limit reached: bind refused");
                return None;
            }
        }
        drop(groups);
        Some(self.create())
    }

    /// Creates a group with a fresh non-zero id (no limit on the number of groups).
    pub fn create(self: &Arc<Self>) -> Arc<AssociationGroup> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let id = loop {
            let id: u32 = rand::random::<u32>() & 0x7fff_ffff;
            if id != 0 && !groups.contains_key(&id) {
                break id;
            }
        };
        let g = Arc::new(AssociationGroup {
            id,
            handles: Mutex::new(HashMap::new()),
            parent: Arc::downgrade(self),
            max_handles: self.limits.handles_per_group,
            pending: Arc::new(AtomicUsize::new(0)),
        });
        groups.insert(id, Arc::downgrade(&g));
        g
    }

    /// Joins an existing group.
    pub fn join(&self, id: u32) -> Option<Arc<AssociationGroup>> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.get(&id).and_then(Weak::upgrade)
    }

    /// Number of live groups (for metrics and leak tests).
    pub fn len(&self) -> usize {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.values().filter(|w| w.strong_count() > 0).count()
    }

    /// Context handles held by all live groups (for metrics).
    pub fn handle_total(&self) -> usize {
        let live: Vec<Arc<AssociationGroup>> = {
            let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
            groups.values().filter_map(Weak::upgrade).collect()
        };
        live.iter().map(|g| g.handle_count()).sum()
    }

    /// Whether there is no live group.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

type HandleValue = Arc<dyn Any + Send + Sync>;

/// One association group and its handles.
pub struct AssociationGroup {
    id: u32,
    handles: Mutex<HashMap<Guid, HandleValue>>,
    parent: Weak<Associations>,
    max_handles: usize,
    /// Calls of this group waiting for an event (see [`AssociationGroup::try_wait`]).
    pending: Arc<AtomicUsize>,
}

/// One waiting call of an association group; dropping it ends the wait.
pub struct PendingCall {
    counter: Arc<AtomicUsize>,
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
    }
}

impl AssociationGroup {
    /// The group's id as sent in bind_ack.
    pub fn id(&self) -> u32 {
        self.id
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<Guid, HandleValue>> {
        self.handles.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a value and returns the new handle, or `None` when the group holds
    /// [`AssocLimits::handles_per_group`] handles already.
    pub fn insert<T: Any + Send + Sync>(&self, value: T) -> Option<ContextHandle> {
        let mut t = self.table();
        if t.len() >= self.max_handles {
            tracing::warn!(group = self.id, limit = self.max_handles, "Handle limit of an association reached");
            return None;
        }
        let uuid = loop {
            let g = Guid::new_v4(rand::random());
            if !g.is_nil() && !t.contains_key(&g) {
                break g;
            }
        };
        t.insert(uuid, Arc::new(value));
        Some(ContextHandle { attributes: 0, uuid })
    }

    /// Looks a handle up with its expected type.
    pub fn get<T: Any + Send + Sync>(&self, h: &ContextHandle) -> Option<Arc<T>> {
        if h.attributes != 0 {
            return None;
        }
        let v = self.table().get(&h.uuid).cloned()?;
        v.downcast::<T>().ok()
    }

    /// Removes a handle of the expected type; false if unknown or of another type.
    pub fn remove<T: Any + Send + Sync>(&self, h: &ContextHandle) -> bool {
        let mut t = self.table();
        match t.get(&h.uuid) {
            Some(v) if v.is::<T>() && h.attributes == 0 => {
                t.remove(&h.uuid);
                true
            }
            _ => false,
        }
    }

    /// Number of open handles.
    pub fn handle_count(&self) -> usize {
        self.table().len()
    }

    /// Counts one more waiting call, unless `limit` of them wait already.
    pub fn try_wait(&self, limit: usize) -> Option<PendingCall> {
        let mut n = self.pending.load(Ordering::Acquire);
        loop {
            if n >= limit {
                return None;
            }
            match self.pending.compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(PendingCall { counter: self.pending.clone() }),
                Err(now) => n = now,
            }
        }
    }

    /// Calls of this group waiting now.
    pub fn waiting(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

impl Drop for AssociationGroup {
    fn drop(&mut self) {
        if let Some(p) = self.parent.upgrade() {
            let mut groups = p.groups.lock().unwrap_or_else(|e| e.into_inner());
            if groups.get(&self.id).is_some_and(|w| w.strong_count() == 0) {
                groups.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_on_groups_handles_and_waiting_calls() {
        let a = Associations::with_limits(AssocLimits { groups: 2, handles_per_group: 3 });
        let g1 = a.try_create().unwrap();
        let g2 = a.try_create().unwrap();
        assert!(a.try_create().is_none());
        drop(g2);
        let g3 = a.try_create().expect("a dropped group frees its place");
        for i in 0..3u32 {
            assert!(g1.insert(i).is_some());
        }
        assert!(g1.insert(9u32).is_none());
        assert_eq!(g3.handle_count(), 0);
        let w1 = g1.try_wait(2).unwrap();
        let _w2 = g1.try_wait(2).unwrap();
        assert!(g1.try_wait(2).is_none());
        assert_eq!(g1.waiting(), 2);
        drop(w1);
        assert!(g1.try_wait(2).is_some());
    }

    #[test]
    fn handles_are_typed_and_die_with_the_group() {
        let a = Associations::new();
        let g = a.create();
        let id = g.id();
        let h = g.insert(42u32).unwrap();
        assert_eq!(*g.get::<u32>(&h).unwrap(), 42);
        assert!(g.get::<String>(&h).is_none());
        assert!(!g.remove::<String>(&h));
        let g2 = a.join(id).unwrap();
        assert_eq!(g2.handle_count(), 1);
        let other = a.create();
        other.insert(1u8).unwrap();
        other.insert(2u8).unwrap();
        assert_eq!(a.handle_total(), 3, "the handles of every live group");
        drop(other);
        assert_eq!(a.handle_total(), 1, "a dropped group's handles are gone");
        drop(g);
        assert!(a.join(id).is_some());
        drop(g2);
        assert!(a.join(id).is_none());
        assert!(a.is_empty());
    }

    #[test]
    fn remove_and_null() {
        let a = Associations::new();
        let g = a.create();
        let h = g.insert("x".to_string()).unwrap();
        assert!(g.remove::<String>(&h));
        assert!(g.get::<String>(&h).is_none());
        assert!(g.get::<String>(&ContextHandle::NULL).is_none());
    }
}
