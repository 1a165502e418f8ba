//! [`BackendError`], why a backend operation failed, with its single mapping to Win32 error
//! codes; the bottom of the crate (the raw CTDB state, the overlay and the backends use it).

/// Win32 error codes returned by [`BackendError::win32_code`].
pub mod win32 {
    pub const ERROR_NOT_SUPPORTED: u32 = 50;
    pub const ERROR_INVALID_PARAMETER: u32 = 87;
    pub const ERROR_DIR_NOT_EMPTY: u32 = 145;
    pub const ERROR_INTERNAL_ERROR: u32 = 1359;
    pub const ERROR_RESOURCE_NOT_FOUND: u32 = 5007;
    pub const ERROR_OBJECT_ALREADY_EXISTS: u32 = 5010;
    pub const ERROR_GROUP_NOT_FOUND: u32 = 5013;
    pub const ERROR_INVALID_STATE: u32 = 5023;
    pub const ERROR_CORE_RESOURCE: u32 = 5026;
    pub const ERROR_CLUSTER_NODE_NOT_FOUND: u32 = 5042;
    pub const ERROR_CLUSTER_NODE_DOWN: u32 = 5050;
    pub const ERROR_CLUSTER_NODE_NOT_READY: u32 = 5072;
    pub const ERROR_CLUSTER_NODE_NOT_PAUSED: u32 = 5058;
    pub const ERROR_CLUSTER_NODE_PAUSED: u32 = 5070;
    pub const ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND: u32 = 5078;
    pub const ERROR_CLUSTER_NODE_EVACUATION_IN_PROGRESS: u32 = 5962;
}

/// Why a backend operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("node {0} not found")]
    NodeNotFound(u32),
    #[error("node {0} is not paused")]
    NodeNotPaused(u32),
    /// The target node is paused (cannot take groups or IPs).
    #[error("node {0} is paused")]
    NodePaused(u32),
    /// The node is down (disconnected, banned or stopped).
    #[error("node {0} is down")]
    NodeDown(u32),
    #[error("no other node is up")]
    NoOtherNodeUp,
    /// A drain of the node is already in progress.
    #[error("node {0} is already draining")]
    DrainInProgress(u32),
    #[error("group {0:?} not found")]
    GroupNotFound(String),
    /// Unknown resource (or, for `move_ip`, unknown public IP).
    #[error("resource {0:?} not found")]
    ResourceNotFound(String),
    #[error("resource type {0:?} not found")]
    ResourceTypeNotFound(String),
    #[error("object {0:?} already exists")]
    ObjectAlreadyExists(String),
    /// The object mirrors CTDB state (or is core) and cannot be deleted.
    #[error("{0:?} is a core object mirroring CTDB state")]
    CoreResource(String),
    #[error("group {0:?} still contains resources")]
    GroupNotEmpty(String),
    #[error("invalid state: {0}")]
    InvalidState(String),
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// The backing ctdbd cannot be reached.
    #[error("cluster backend unavailable: {0}")]
    Unavailable(String),
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// A CTDB command failed.
    #[error("ctdb: {0}")]
    Ctdb(String),
    /// Persisting the overlay failed.
    #[error("state storage: {0}")]
    Storage(String),
}

impl BackendError {
    /// The Win32 error code a clusapi method returns for this error.
    ///
    /// `Unavailable` maps to ERROR_CLUSTER_NODE_NOT_READY (5072): the node the
    /// client talks to cannot reach its ctdbd, so it cannot act for the cluster
    /// now — one of the codes on which [MS-CMRP] 3.2.4.6 clients reconnect to
    /// another node, which is what they should do then (and only then: no other
    /// error maps to a reconnect code). `NoOtherNodeUp` maps to
    /// ERROR_CLUSTER_NODE_DOWN (5050) as PauseNodeEx does without a drain
    /// target. `GroupNotEmpty` is ERROR_DIR_NOT_EMPTY (145), what
    /// DeleteClusterGroup documents. `Ctdb`/`Storage` are ERROR_INTERNAL_ERROR.
    pub fn win32_code(&self) -> u32 {
        use win32::*;
        match self {
            BackendError::NodeNotFound(_) => ERROR_CLUSTER_NODE_NOT_FOUND,
            BackendError::NodeNotPaused(_) => ERROR_CLUSTER_NODE_NOT_PAUSED,
            BackendError::NodePaused(_) => ERROR_CLUSTER_NODE_PAUSED,
            BackendError::NodeDown(_) | BackendError::NoOtherNodeUp => ERROR_CLUSTER_NODE_DOWN,
            BackendError::DrainInProgress(_) => ERROR_CLUSTER_NODE_EVACUATION_IN_PROGRESS,
            BackendError::GroupNotFound(_) => ERROR_GROUP_NOT_FOUND,
            BackendError::ResourceNotFound(_) => ERROR_RESOURCE_NOT_FOUND,
            BackendError::ResourceTypeNotFound(_) => ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND,
            BackendError::ObjectAlreadyExists(_) => ERROR_OBJECT_ALREADY_EXISTS,
            BackendError::CoreResource(_) => ERROR_CORE_RESOURCE,
            BackendError::GroupNotEmpty(_) => ERROR_DIR_NOT_EMPTY,
            BackendError::InvalidState(_) => ERROR_INVALID_STATE,
            BackendError::InvalidParameter(_) => ERROR_INVALID_PARAMETER,
            BackendError::Unavailable(_) => ERROR_CLUSTER_NODE_NOT_READY,
            BackendError::Unsupported(_) => ERROR_NOT_SUPPORTED,
            BackendError::Ctdb(_) | BackendError::Storage(_) => ERROR_INTERNAL_ERROR,
        }
    }
}

/// Result of a backend operation.
pub type BackendResult<T> = Result<T, BackendError>;
