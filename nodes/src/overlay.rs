//! The admin overlay: changes made through clusapi that CTDB knows nothing
//! about (created groups and resources, renames, descriptions, private
//! property overrides, online/offline/failed states), kept on top of the
//! derived model and serialisable so a backend can persist it.
//!
//! Every edit is validated against the [`ClusterState`] built from the same
//! overlay, so the simulated and the ctdb backend share one set of rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::backend::BackendError;
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

/// Admin changes layered over the CTDB-derived model. Keys are object ids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlay {
    /// Serial for the next created object's id.
    #[serde(default)]
    pub next_serial: u64,
    #[serde(default)]
    pub groups: Vec<CreatedGroup>,
    #[serde(default)]
    pub resources: Vec<CreatedResource>,
    /// Name overrides of derived groups and resources.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Descriptions of any object (node, group, resource, network, netinterface).
    #[serde(default)]
    pub descriptions: BTreeMap<String, String>,
    /// Private property overrides per resource, merged by name over the derived ones.
    #[serde(default)]
    pub private_props: BTreeMap<String, Vec<PropEntry>>,
    /// Resource state overrides (see [`Overlay::set_resource_state`]).
    #[serde(default)]
    pub resource_states: BTreeMap<String, ResourceState>,
    /// Group state overrides; only consulted for groups without resources.
    #[serde(default)]
    pub group_states: BTreeMap<String, GroupState>,
}

fn check_name(name: &str) -> Result<(), BackendError> {
    if name.trim().is_empty() {
        return Err(BackendError::InvalidParameter("empty name".into()));
    }
    Ok(())
}

impl Overlay {
    /// Parses an overlay from its TOML form.
    pub fn from_toml(text: &str) -> Result<Self, BackendError> {
        toml::from_str(text).map_err(|e| BackendError::Storage(format!("bad overlay file: {e}")))
    }

    /// The TOML form.
    pub fn to_toml(&self) -> Result<String, BackendError> {
        toml::to_string(self)
            .map_err(|e| BackendError::Storage(format!("cannot encode overlay: {e}")))
    }

    fn new_id(&mut self, s: &ClusterState, kind: &str) -> String {
        let id = object_guid(&s.cluster.instance_id, kind, &self.next_serial.to_string());
        self.next_serial += 1;
        id
    }

    /// Removes every override keyed by `id`.
    fn forget(&mut self, id: &str) {
        self.names.remove(id);
        self.descriptions.remove(id);
        self.private_props.remove(id);
        self.resource_states.remove(id);
        self.group_states.remove(id);
    }

    /// Creates an empty group; returns its id.
    pub fn create_group(&mut self, s: &ClusterState, name: &str) -> Result<String, BackendError> {
        check_name(name)?;
        if s.find_group_by_name(name).is_some() {
            return Err(BackendError::ObjectAlreadyExists(name.into()));
        }
        let id = self.new_id(s, "created-group");
        self.groups.push(CreatedGroup {
            id: id.clone(),
            name: name.into(),
            owner: None,
        });
        Ok(id)
    }

    /// Deletes a created, empty group.
    pub fn delete_group(&mut self, s: &ClusterState, id: &str) -> Result<(), BackendError> {
        let g = s
            .group_by_id(id)
            .ok_or_else(|| BackendError::GroupNotFound(id.into()))?;
        if g.kind != GroupKind::Created {
            return Err(BackendError::CoreResource(g.name.clone()));
        }
        if !g.resource_ids.is_empty() {
            return Err(BackendError::GroupNotEmpty(g.name.clone()));
        }
        let gid = g.id.clone();
        self.groups.retain(|c| c.id != gid);
        self.forget(&gid);
        Ok(())
    }

    /// Renames any group; renaming to its own name (any case) succeeds.
    pub fn rename_group(
        &mut self,
        s: &ClusterState,
        id: &str,
        new_name: &str,
    ) -> Result<(), BackendError> {
        check_name(new_name)?;
        let g = s
            .group_by_id(id)
            .ok_or_else(|| BackendError::GroupNotFound(id.into()))?;
        if let Some(other) = s.find_group_by_name(new_name) {
            if other.id != g.id {
                return Err(BackendError::ObjectAlreadyExists(new_name.into()));
            }
        }
        match self.groups.iter_mut().find(|c| c.id == g.id) {
            Some(c) => c.name = new_name.into(),
            None => {
                self.names.insert(g.id.clone(), new_name.into());
            }
        }
        Ok(())
    }

    /// Sets the owner of a created group (derived groups follow CTDB).
    pub fn set_created_group_owner(
        &mut self,
        s: &ClusterState,
        id: &str,
        pnn: u32,
    ) -> Result<(), BackendError> {
        let g = s
            .group_by_id(id)
            .ok_or_else(|| BackendError::GroupNotFound(id.into()))?;
        let c = self
            .groups
            .iter_mut()
            .find(|c| c.id == g.id)
            .ok_or(BackendError::Unsupported(
                "only created groups have an admin-chosen owner",
            ))?;
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
        let g = s
            .group_by_id(group_id)
            .ok_or_else(|| BackendError::GroupNotFound(group_id.into()))?;
        let t = s
            .find_resource_type(type_name)
            .ok_or_else(|| BackendError::ResourceTypeNotFound(type_name.into()))?;
        if s.find_resource_by_name(name).is_some() {
            return Err(BackendError::ObjectAlreadyExists(name.into()));
        }
        let dependencies = if names_equal(&t.name, crate::model::type_names::NETWORK_NAME) {
            Vec::new()
        } else {
            s.cluster_name_resource()
                .map(|r| vec![r.id.clone()])
                .unwrap_or_default()
        };
        let (gid, tname) = (g.id.clone(), t.name.clone());
        let id = self.new_id(s, "created-resource");
        self.resources.push(CreatedResource {
            id: id.clone(),
            name: name.into(),
            type_name: tname,
            group_id: gid,
            dependencies,
        });
        Ok(id)
    }

    /// Deletes a created resource nothing depends on.
    pub fn delete_resource(&mut self, s: &ClusterState, id: &str) -> Result<(), BackendError> {
        let r = s
            .resource_by_id(id)
            .ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        if r.kind != ResourceKind::Created {
            return Err(BackendError::CoreResource(r.name.clone()));
        }
        if let Some(d) = s.dependents_of(&r.id).next() {
            return Err(BackendError::InvalidState(format!(
                "resource {:?} depends on {:?}",
                d.name, r.name
            )));
        }
        let rid = r.id.clone();
        self.resources.retain(|c| c.id != rid);
        self.forget(&rid);
        Ok(())
    }

    /// Renames any resource; renaming to its own name (any case) succeeds.
    pub fn rename_resource(
        &mut self,
        s: &ClusterState,
        id: &str,
        new_name: &str,
    ) -> Result<(), BackendError> {
        check_name(new_name)?;
        let r = s
            .resource_by_id(id)
            .ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        if let Some(other) = s.find_resource_by_name(new_name) {
            if other.id != r.id {
                return Err(BackendError::ObjectAlreadyExists(new_name.into()));
            }
        }
        match self.resources.iter_mut().find(|c| c.id == r.id) {
            Some(c) => c.name = new_name.into(),
            None => {
                self.names.insert(r.id.clone(), new_name.into());
            }
        }
        Ok(())
    }

    /// Applies an online/offline/fail request to one resource.
    ///
    /// Offline and Fail are stored as overrides. Online stores `Online` for a
    /// created resource and clears the override of a derived one, which then
    /// shows what CTDB says again (an unassigned IP stays Offline).
    pub fn set_resource_state(
        &mut self,
        s: &ClusterState,
        id: &str,
        req: ResourceRequest,
    ) -> Result<(), BackendError> {
        let r = s
            .resource_by_id(id)
            .ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
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
    pub fn set_group_state(
        &mut self,
        s: &ClusterState,
        id: &str,
        online: bool,
    ) -> Result<(), BackendError> {
        let g = s
            .group_by_id(id)
            .ok_or_else(|| BackendError::GroupNotFound(id.into()))?;
        let req = if online {
            ResourceRequest::Online
        } else {
            ResourceRequest::Offline
        };
        for rid in g.resource_ids.clone() {
            self.set_resource_state(s, &rid, req)?;
        }
        let state = if online {
            GroupState::Online
        } else {
            GroupState::Offline
        };
        self.group_states.insert(g.id.clone(), state);
        Ok(())
    }

    /// Sets the description of any object by id (node id or GUID).
    pub fn set_description(
        &mut self,
        s: &ClusterState,
        id: &str,
        description: &str,
    ) -> Result<(), BackendError> {
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

    /// Merges private property values into resource `id` (same name replaces).
    pub fn set_private_props(
        &mut self,
        s: &ClusterState,
        id: &str,
        props: &[(String, PropValue)],
    ) -> Result<(), BackendError> {
        let r = s
            .resource_by_id(id)
            .ok_or_else(|| BackendError::ResourceNotFound(id.into()))?;
        let list = self.private_props.entry(r.id.clone()).or_default();
        for (name, value) in props {
            match list.iter_mut().find(|e| names_equal(&e.name, name)) {
                Some(e) => e.value = value.clone(),
                None => list.push(PropEntry {
                    name: name.clone(),
                    value: value.clone(),
                }),
            }
        }
        Ok(())
    }
}
