//! Fixture shared by the dcerpc integration tests: deterministic entropy, a server
//! configuration with one sealed and one open interface, and an NTLM initiator for alice.

#![allow(dead_code)]

use std::sync::Arc;

use auth::{AcceptorConfig, AuthType, ClientSecret, Initiator, NtlmInitiator, StaticCredentials};
use dcerpc::pdu::auth_level;
use dcerpc::server::{Entropy, InterfaceSpec, ServerConfig};
use idl::Guid;

/// Fixed server challenge and clock, so runs are repeatable.
pub struct Fixed;
impl Entropy for Fixed {
    fn challenge(&self) -> [u8; 8] {
        [1, 2, 3, 4, 5, 6, 7, 8]
    }
    fn now_filetime(&self) -> u64 {
        133_000_000_000_000_000
    }
}

/// The interface that requires PKT_PRIVACY (clusapi's UUID).
pub const SEALED: Guid = Guid::parse("b97db8b2-4c63-11cf-bff6-08002be23f2f");
/// The interface open to unauthenticated binds (epm's UUID).
pub const OPEN: Guid = Guid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0fa");

/// A server that knows alice and offers `sealed_name` (SEALED, v3.0, PKT_PRIVACY) and
/// `open_name` (OPEN, v3.0, no authentication).
pub fn config(
    sealed_name: &'static str,
    open_name: &'static str,
    max_request: usize,
    dns_computer: &str,
) -> Arc<ServerConfig> {
    Arc::new(ServerConfig {
        interfaces: vec![
            InterfaceSpec {
                name: sealed_name,
                uuid: SEALED,
                major: 3,
                minor: 0,
                min_auth_level: auth_level::PKT_PRIVACY,
            },
            InterfaceSpec { name: open_name, uuid: OPEN, major: 3, minor: 0, min_auth_level: auth_level::NONE },
        ],
        sec_addr: "4135".into(),
        max_request,
        acceptor: AcceptorConfig {
            netbios_computer: "NODE0".into(),
            netbios_domain: "CLUSTER".into(),
            dns_computer: dns_computer.into(),
            dns_domain: String::new(),
        },
        mechanisms: auth::Mechanisms::local(Arc::new(StaticCredentials::new().with_password("alice", "Passw0rd-1"))),
        entropy: Arc::new(Fixed),
    })
}

/// An initiator for alice (workstation WS, fixed client challenge and session key).
pub fn initiator(kind: AuthType, password: &str) -> Initiator {
    Initiator::new(
        kind,
        NtlmInitiator::new("alice", "WORKGROUP", ClientSecret::Password(password.into()), "WS", [9; 8], [7; 16]),
    )
}
