//! The admin overlay: changes made through clusapi that CTDB knows nothing
//! about (created groups and resources, renames, descriptions, private
//! property overrides, online/offline/failed states), kept on top of the
//! derived model and serialisable so a backend can persist it.
//!
//! Every edit is validated against the [`ClusterState`] built from the same
//! overlay, so the simulated and the ctdb backend share one set of rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::BackendError;
use crate::ids::{names_equal, object_guid};
use crate::model::{ClusterState, GroupKind, GroupState, PropValue, ResourceKind, ResourceState};

/// A group created through clusapi.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedGroup {
    pub id: String,
    pub name: String,
    /// Owner chosen by a move; `None` = the leader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
    /// Preferred owners (pnns, in preference order) set by ApiSetGroupNodeList; `None` = every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_owners: Option<Vec<u32>>,
}

/// A resource created through clusapi.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedResource {
    pub id: String,
    pub name: String,
    /// Canonical resource type name.
    pub type_name: String,
    pub group_id: String,
    /// Resource ids this one depends on.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Possible owners (pnns) edited by ApiAdd/RemoveResourceNode; `None` = every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_owners: Option<Vec<u32>>,
}

/// One private property override.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropEntry {
    pub name: String,
    pub value: PropValue,
}

/// A state request for one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceRequest {
    Online,
    Offline,
    Fail,
}

/// Admin changes layered over the CTDB-derived model. Keys are object ids. Every field may be
/// missing from a stored overlay (files written before it existed) and then starts empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Overlay {
    /// Serial for the next created object's id.
    pub next_serial: u64,
    pub groups: Vec<CreatedGroup>,
    pub resources: Vec<CreatedResource>,
    /// Name overrides of derived groups, resources and networks.
    pub names: BTreeMap<String, String>,
    /// Descriptions of any object (node, group, resource, network, netinterface).
    pub descriptions: BTreeMap<String, String>,
    /// Private property overrides per resource, merged by name over the derived ones.
    pub private_props: BTreeMap<String, Vec<PropEntry>>,
    /// Resource state overrides (see [`Overlay::set_resource_state`]).
    pub resource_states: BTreeMap<String, ResourceState>,
    /// Group state overrides; only consulted for groups without resources.
    pub group_states: BTreeMap<String, GroupState>,
    /// The admin property store: values clusapi keeps for properties CTDB has no notion of
    /// (e.g. a group's `Priority`, a node's `NodeWeight`, private properties of objects other
    /// than resources), by opaque object key (see [`Overlay::set_admin_props`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub admin_props: BTreeMap<String, Vec<PropEntry>>,
}

fn check_name(name: &str) -> Result<(), BackendError> {
    if name.trim().is_empty() {
        return Err(BackendError::InvalidParameter("empty name".into()));
    }
    Ok(())
}

/// Whether resource `from` depends on `to`, directly or through other resources.
fn depends_on(s: &ClusterState, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen: Vec<String> = Vec::new();
    while let Some(cur) = stack.pop() {
        if seen.contains(&cur) {
            continue;
        }
        let Some(r) = s.resource_by_id(&cur) else {
            continue;
        };
        if r.dependencies.iter().any(|d| names_equal(d, to)) {
            return true;
        }
        stack.extend(r.dependencies.iter().cloned());
        seen.push(cur);
    }
    false
}

/// The resources of `id`'s group connected to it by dependencies (either direction),
/// including `id` itself.
fn dependency_tree(s: &ClusterState, id: &str) -> Vec<String> {
    let Some(start) = s.resource_by_id(id) else {
        return Vec::new();
    };
    let group = start.group_id.clone();
    let mut tree = vec![start.id.clone()];
    let mut i = 0;
    while i < tree.len() {
        let cur = tree[i].clone();
        i += 1;
        let Some(r) = s.resource_by_id(&cur) else {
            continue;
        };
        let neighbours = r.dependencies.iter().filter_map(|d| s.resource_by_id(d)).chain(s.dependents_of(&r.id));
        for n in neighbours {
            if names_equal(&n.group_id, &group) && !tree.contains(&n.id) {
                tree.push(n.id.clone());
            }
        }
    }
    tree
}

fn check_nodes(s: &ClusterState, pnns: &[u32]) -> Result<(), BackendError> {
    match pnns.iter().find(|&&p| s.node_by_pnn(p).is_none()) {
        Some(&p) => Err(BackendError::NodeNotFound(p)),
        None => Ok(()),
    }
}

fn dedup(pnns: &[u32]) -> Vec<u32> {
    let mut v: Vec<u32> = Vec::with_capacity(pnns.len());
    for &p in pnns {
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v
}

impl Overlay {
    /// Parses an overlay from its TOML form.
    pub fn from_toml(text: &str) -> Result<Self, BackendError> {
        toml::from_str(text).map_err(|e| BackendError::Storage(format!("bad overlay file: {e}")))
    }

    /// The TOML form.
    pub fn to_toml(&self) -> Result<String, BackendError> {
        toml::to_string(self).map_err(|e| BackendError::Storage(format!("cannot encode overlay: {e}")))
    }

    fn new_id(&mut self, s: &ClusterState, kind: &str) -> String {
        let id = object_guid(&s.cluster.instance_id, kind, &self.next_serial.to_string());
        self.next_serial += 1;
        id
    }

    /// Removes the created object `id` (a group or a resource) and every override keyed by it.
    fn forget(&mut self, id: &str) {
        self.groups.retain(|c| c.id != id);
        self.resources.retain(|c| c.id != id);
        self.names.remove(id);
        self.descriptions.remove(id);
        self.private_props.remove(id);
        self.resource_states.remove(id);
        self.group_states.remove(id);
        let scoped = format!("{id}\\");
        self.admin_props.retain(|k, _| k != id && !k.starts_with(&scoped));
    }

    /// Stores (`Some`) or removes (`None`) admin property values under the opaque object key
    /// `key`; names match case-insensitively, a stored name keeps its first spelling. The key
    /// is not checked against the model: clusapi derives keys from object ids (`<id>`, and
    /// `<id>\Parameters` for private properties), so [`Overlay`]'s forgetting of a deleted
    /// object's id removes its keys too. An empty key is `InvalidParameter`.
    pub fn set_admin_props(&mut self, key: &str, props: &[(String, Option<PropValue>)]) -> Result<(), BackendError> {
        if key.is_empty() {
            return Err(BackendError::InvalidParameter("empty property store key".into()));
        }
        let list = self.admin_props.entry(key.to_owned()).or_default();
        for (name, value) in props {
            let slot = list.iter().position(|e| names_equal(&e.name, name));
            match (slot, value) {
                (Some(i), Some(v)) => list[i].value = v.clone(),
                (None, Some(v)) => list.push(PropEntry { name: name.clone(), value: v.clone() }),
                (Some(i), None) => {
                    list.remove(i);
                }
                (None, None) => {}
            }
        }
        if list.is_empty() {
            self.admin_props.remove(key);
        }
        Ok(())
    }

    /// Creates an empty group; returns its id.
    pub fn create_group(&mut self, s: &ClusterState, name: &str) -> Result<String, BackendError> {
        check_name(name)?;
        if s.find_group_by_name(name).is_some() {
            return Err(BackendError::ObjectAlreadyExists(name.into()));
        }
        let id = self.new_id(s, "created-group");
        self.groups.push(CreatedGroup { id: id.clone(), name: name.into(), owner: None, preferred_owners: None });
        Ok(id)
    }

    /// Deletes a created, empty group.
    pub fn delete_group(&mut self, s: &ClusterState, id: &str) -> Result<(), BackendError> {
        let g = s.group_by_id(id).ok_or_else(|| BackendError::GroupNotFound(id.into()))?;
        if g.kind != GroupKind::Created {
            return Err(BackendError::CoreResource(g.name.clone()));
        }
        if !g.resource_ids.is_empty() {
            return Err(BackendError::GroupNotEmpty(g.name.clone()));
        }
        self.forget(&g.id);
        Ok(())
    }

    /// Renames any group; renaming to its own name (any case) succeeds.
    pub fn rename_group(&mut self, s: &ClusterState, id: &str, new_name: &str) -> Result<(), BackendError> {
        let found = s.group_by_id(id).map(|g| g.id.as_str()).ok_or_else(|| BackendError::GroupNotFound(id.into()));
        self.rename(found, new_name, s.find_group_by_name(new_name).map(|g| g.id.as_str()))
    }

    /// Sets the owner of a created group (derived groups follow CTDB).
    pub fn set_created_group_owner(&mut self, s: &ClusterState, id: &str, pnn: u32) -> Result<(), BackendError> {
        let g = s.group_by_id(id).ok_or_else(|| BackendError::GroupNotFound(id.into()))?;
        let c = self
            .groups
            .iter_mut()
            .find(|c| c.id == g.id)
            .ok_or(BackendError::Unsupported("only created groups have an admin-chosen owner"))?;
        c.owner = Some(pnn);
        Ok(())
    }

    /// Creates a resource in `group_id`; returns its id. The type name is
    /// matched case-insensitively and stored in canonical spelling. Every
    /// resource not itself a Network Name depends on "Cluster Name", so
    /// ApiGetResourceNetworkName succeeds for it.
    pub fn create_resource(
        &mut self,
        s: &ClusterState,
        group_id: &str,
        name: &str,
        type_name: &str,
    ) -> Result<String, BackendError> {
        check_name(name)?;
        let g = s.group_by_id(group_id).ok_or_else(|| BackendError::GroupNotFound(group_id.into()))?;
        let t = s.find_resource_type(type_name).ok_or_else(|| BackendError::ResourceTypeNotFound(type_name.into()))?;
        if s.find_resource_by_name(name).is_some() {
            return Err(BackendError::ObjectAlreadyExists(name.into()));
        }
        let dependencies = if names_equal(&t.name, crate::model::type_names::NETWORK_NAME) {
            Vec::new()
        } else {
            s.cluster_name_resource().map(|r| vec![r.id.clone()]).unwrap_or_default()
        };
        let (gid, tname) = (g.id.clone(), t.name.clone());
        let id = self.new_id(s, "created-resource");
        self.resources.push(CreatedResource {
            id: id.clone(),
            name: name.into(),
            type_name: tname,
            group_id: gid,
            dependencies,
            possible_owners: None,
        });
        Ok(id)
    }

    /// Deletes a created resource nothing depends on.
    pub fn delete_resource(&mut self, s: &ClusterState, id: &str) -> Result<(), BackendError> {
        let r = s.resource_by_id(id).ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        if r.kind != ResourceKind::Created {
            return Err(BackendError::CoreResource(r.name.clone()));
        }
        if let Some(d) = s.dependents_of(&r.id).next() {
            return Err(BackendError::InvalidState(format!("resource {:?} depends on {:?}", d.name, r.name)));
        }
        self.forget(&r.id);
        Ok(())
    }

    /// Renames any resource; renaming to its own name (any case) succeeds.
    pub fn rename_resource(&mut self, s: &ClusterState, id: &str, new_name: &str) -> Result<(), BackendError> {
        let found =
            s.resource_by_id(id).map(|r| r.id.as_str()).ok_or_else(|| BackendError::ResourceNotFound(id.into()));
        self.rename(found, new_name, s.find_resource_by_name(new_name).map(|r| r.id.as_str()))
    }

    /// Applies an online/offline/fail request to one resource.
    ///
    /// Offline and Fail are stored as overrides. Online stores `Online` for a
    /// created resource and clears the override of a derived one, which then
    /// shows what CTDB says again (an unassigned IP stays Offline).
    pub fn set_resource_state(&mut self, s: &ClusterState, id: &str, req: ResourceRequest) -> Result<(), BackendError> {
        let r = s.resource_by_id(id).ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        let (rid, created) = (r.id.clone(), r.is_created());
        match req {
            ResourceRequest::Offline => {
                self.resource_states.insert(rid, ResourceState::Offline);
            }
            ResourceRequest::Fail => {
                self.resource_states.insert(rid, ResourceState::Failed);
            }
            ResourceRequest::Online if created => {
                self.resource_states.insert(rid, ResourceState::Online);
            }
            ResourceRequest::Online => {
                self.resource_states.remove(&rid);
            }
        }
        Ok(())
    }

    /// Brings every resource of a group online or offline (and remembers the
    /// request for an empty group).
    pub fn set_group_state(&mut self, s: &ClusterState, id: &str, online: bool) -> Result<(), BackendError> {
        let g = s.group_by_id(id).ok_or_else(|| BackendError::GroupNotFound(id.into()))?;
        let req = if online { ResourceRequest::Online } else { ResourceRequest::Offline };
        for rid in g.resource_ids.clone() {
            self.set_resource_state(s, &rid, req)?;
        }
        let state = if online { GroupState::Online } else { GroupState::Offline };
        self.group_states.insert(g.id.clone(), state);
        Ok(())
    }

    /// Sets the description of any object by id (node id or GUID).
    pub fn set_description(&mut self, s: &ClusterState, id: &str, description: &str) -> Result<(), BackendError> {
        let key = if let Some(n) = s.node_by_id(id) {
            n.id.clone()
        } else if let Some(g) = s.group_by_id(id) {
            g.id.clone()
        } else if let Some(r) = s.resource_by_id(id) {
            r.id.clone()
        } else if let Some(n) = s.network_by_id(id) {
            n.id.clone()
        } else if let Some(i) = s.netinterface_by_id(id) {
            i.id.clone()
        } else {
            return Err(BackendError::ResourceNotFound(id.into()));
        };
        if description.is_empty() {
            self.descriptions.remove(&key);
        } else {
            self.descriptions.insert(key, description.into());
        }
        Ok(())
    }

    /// Replaces the dependency list of a created resource (ids of resources it depends on).
    /// Every dependency must exist and differ from the resource; cycles are refused, and so is
    /// a list that leaves no Network Name in the resource's dependency chain (every resource
    /// keeps one, so ApiGetResourceNetworkName answers for all of them). The dependencies of
    /// resources mirroring CTDB state are part of the mapping and fixed.
    pub fn set_resource_dependencies(
        &mut self,
        s: &ClusterState,
        id: &str,
        dependencies: &[String],
    ) -> Result<(), BackendError> {
        let r = s.resource_by_id(id).ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        let mut canonical: Vec<String> = Vec::with_capacity(dependencies.len());
        for d in dependencies {
            let dep = s.resource_by_id(d).ok_or_else(|| BackendError::ResourceNotFound(d.clone()))?;
            if dep.id == r.id {
                return Err(BackendError::InvalidParameter(format!("{:?} cannot depend on itself", r.name)));
            }
            if depends_on(s, &dep.id, &r.id) {
                return Err(BackendError::InvalidParameter(format!("{:?} already depends on {:?}", dep.name, r.name)));
            }
            if !canonical.contains(&dep.id) {
                canonical.push(dep.id.clone());
            }
        }
        if !self.resources.iter().any(|c| c.id == r.id) {
            return Err(BackendError::Unsupported("the dependencies of resources mirroring CTDB state are fixed"));
        }
        let is_network_name = names_equal(&r.type_name, crate::model::type_names::NETWORK_NAME);
        let reaches_network_name = canonical.iter().any(|d| s.network_name_resource(d).is_some());
        if !is_network_name && !reaches_network_name {
            return Err(BackendError::InvalidState(format!(
                "{:?} must keep a Network Name resource in its dependency chain",
                r.name
            )));
        }
        if let Some(c) = self.resources.iter_mut().find(|c| c.id == r.id) {
            c.dependencies = canonical;
        }
        Ok(())
    }

    /// Replaces the possible owners of a created resource (every pnn must be a node). The
    /// possible owners of resources mirroring CTDB state follow CTDB's interfaces.
    pub fn set_resource_possible_owners(
        &mut self,
        s: &ClusterState,
        id: &str,
        pnns: &[u32],
    ) -> Result<(), BackendError> {
        let r = s.resource_by_id(id).ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        check_nodes(s, pnns)?;
        let c = self.resources.iter_mut().find(|c| c.id == r.id).ok_or(BackendError::Unsupported(
            "the possible owners of resources mirroring CTDB state follow CTDB's interfaces",
        ))?;
        c.possible_owners = Some(dedup(pnns));
        Ok(())
    }

    /// Replaces the preferred owners of a created group (every pnn must be a node). Groups
    /// mirroring CTDB state are placed by CTDB, which has no preference list.
    pub fn set_group_preferred_owners(&mut self, s: &ClusterState, id: &str, pnns: &[u32]) -> Result<(), BackendError> {
        let g = s.group_by_id(id).ok_or_else(|| BackendError::GroupNotFound(id.into()))?;
        check_nodes(s, pnns)?;
        let c = self.groups.iter_mut().find(|c| c.id == g.id).ok_or(BackendError::Unsupported(
            "groups mirroring CTDB state are placed by CTDB, which has no preferred owners",
        ))?;
        c.preferred_owners = Some(dedup(pnns));
        Ok(())
    }

    /// Moves a created resource, with every resource of its group it is connected to by
    /// dependencies, to another group (ApiChangeResourceGroup). Moving within the same group
    /// succeeds without change; a tree holding a resource mirroring CTDB state gives
    /// `CoreResource`.
    pub fn change_resource_group(&mut self, s: &ClusterState, id: &str, group_id: &str) -> Result<(), BackendError> {
        let r = s.resource_by_id(id).ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        let target = s.group_by_id(group_id).ok_or_else(|| BackendError::GroupNotFound(group_id.into()))?;
        if names_equal(&r.group_id, &target.id) {
            return Ok(());
        }
        let tree = dependency_tree(s, &r.id);
        if let Some(core) = tree.iter().filter_map(|t| s.resource_by_id(t)).find(|t| !t.is_created()) {
            return Err(BackendError::CoreResource(core.name.clone()));
        }
        let gid = target.id.clone();
        for c in self.resources.iter_mut().filter(|c| tree.contains(&c.id)) {
            c.group_id = gid.clone();
        }
        Ok(())
    }

    /// Renames a network; renaming to its own name (any case) succeeds.
    pub fn rename_network(&mut self, s: &ClusterState, id: &str, new_name: &str) -> Result<(), BackendError> {
        let found = s
            .network_by_id(id)
            .map(|n| n.id.as_str())
            .ok_or_else(|| BackendError::InvalidParameter(format!("network {id:?} not found")));
        self.rename(found, new_name, s.find_network_by_name(new_name).map(|n| n.id.as_str()))
    }

    /// Renames the object `found` (its id, or why looking it up failed) to `new_name`, which
    /// `holder` (the object of the same class that has that name now, any case) must be the
    /// same object or none. The checks come in this order: the name, the object, the holder.
    /// A created group or resource keeps its name in its own record; any other object gets a
    /// name override.
    fn rename(
        &mut self,
        found: Result<&str, BackendError>,
        new_name: &str,
        holder: Option<&str>,
    ) -> Result<(), BackendError> {
        check_name(new_name)?;
        let id = found?;
        if holder.is_some_and(|h| h != id) {
            return Err(BackendError::ObjectAlreadyExists(new_name.into()));
        }
        let groups = self.groups.iter_mut().map(|c| (&c.id, &mut c.name));
        match groups.chain(self.resources.iter_mut().map(|c| (&c.id, &mut c.name))).find(|(cid, _)| *cid == id) {
            Some((_, name)) => *name = new_name.into(),
            None => {
                self.names.insert(id.into(), new_name.into());
            }
        }
        Ok(())
    }

    /// Merges private property values into resource `id` (same name replaces).
    pub fn set_private_props(
        &mut self,
        s: &ClusterState,
        id: &str,
        props: &[(String, PropValue)],
    ) -> Result<(), BackendError> {
        let r = s.resource_by_id(id).ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        let list = self.private_props.entry(r.id.clone()).or_default();
        for (name, value) in props {
            match list.iter_mut().find(|e| names_equal(&e.name, name)) {
                Some(e) => e.value = value.clone(),
                None => list.push(PropEntry { name: name.clone(), value: value.clone() }),
            }
        }
        Ok(())
    }
}
