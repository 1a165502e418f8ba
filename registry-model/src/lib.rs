//! `registry-model`: the data formats and the synthetic cluster registry that
//! `clusapid` serves over MS-CMRP (clusapi v3).
//!
//! This crate owns:
//!
//! * [`proplist`]: the CLUSPROP property-list / value-list codec
//!   ([MS-CMRP] 2.2.3.10 PROPERTY_LIST, 2.2.3.10.1 Property Value,
//!   2.2.2.3 CLUSTER_PROPERTY_SYNTAX), MULTI_SZ / UTF-16 string helpers and
//!   property tables used to validate `*_SET_COMMON_PROPERTIES` input.
//! * [`value`]: registry values ([MS-RRP] 2.2.5 / 3.1.1.5 value types) and
//!   their UTF-16 / MULTI_SZ encodings.
//! * [`path`]: key paths and names, the size limits and [`RegError`].
//! * [`tree`]: the in-memory cluster registry ([MS-CMRP] 3.1.1.2) with
//!   derived (read-only, rebuilt from the cluster model) and stored
//!   (admin-written) layers, plus the [`tree::ClusterRegistry`] facade.
//! * [`stored`]: the persisted admin layer ([`stored::StoredTree`]) with
//!   crash-safe save / strict load.
//! * [`security`]: self-relative security descriptors ([MS-DTYP] 2.4.2 SID,
//!   2.4.4 ACE, 2.4.5 ACL, 2.4.6 SECURITY_DESCRIPTOR): the default key
//!   descriptor, a validator for peer-supplied descriptors, and filtering by
//!   SECURITY_INFORMATION.
//! * [`win32`]: the Win32 error codes this crate's errors map to.
//!
//! Nothing in this crate panics on peer-supplied bytes: every parser is
//! bounds-checked and returns a typed error with a `win32_code()`.
//!
//! Modules depend one way: `win32` ← `security` ← `path`; `path`, `value` ←
//! `proplist`; `path`, `value` ← `stored` ← `tree`.

pub mod path;
pub mod proplist;
pub mod security;
pub mod stored;
pub mod tree;
pub mod value;
pub mod win32;

pub use proplist::{
    multi_sz_decode, multi_sz_encode, utf16z_decode, utf16z_encode, validate_set, Format, PropListError, PropValue,
    Property, PropertyDef, PropertyList, PropertyTable, ValueItem, ValueList,
};
pub use security::{SdError, SecurityDescriptor};
pub use stored::{StoreError, StoredTree};
pub use tree::{ClusterRegistry, Key, KeyInfo, Origin, RegError, Registry};
pub use value::RegValue;
