//! Domain logons on an Active Directory member: NTLM pass-through and name/SID lookups through
//! winbindd ([`wbc`]), the Kerberos acceptor over MIT GSSAPI ([`gss`]), both libraries opened at
//! run time ([`dl`]), and SIDs in string form ([`sid`]).
//!
//! Nothing here runs unless the configuration says `logon = "winbind"` (or names a keytab);
//! every call may block on winbindd or the keytab, so callers keep them off the async runtime.

pub mod dl;
pub mod gss;
pub mod sid;
pub mod wbc;

pub use sid::Sid;
pub use wbc::{Winbind, WinbindVerifier};
