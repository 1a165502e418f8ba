//! How the bench's client connections authenticate, and how one is opened: TCP connect, then
//! clusapid's own client connection ([`clusapid::rpc_client::RpcConnection`], the project's
//! sans-I/O [`dcerpc::client::ClientConnection`] over tokio) binds with NTLMSSP (bind /
//! bind_ack / auth3) or SPNEGO (bind / bind_ack / alter_context / alter_context_resp) at the
//! asked level; requests then go one call outstanding at a time.

use std::net::SocketAddr;

use auth::{AuthType, ClientSecret, Initiator, NtlmInitiator};
pub use clusapid::rpc_client::{RpcConnection, RpcFailure};
use dcerpc::client::ClientConnection;
use dcerpc::pdu::SyntaxId;
use tokio::net::TcpStream;

/// How a connection authenticates.
#[derive(Clone, Debug)]
pub struct AuthCfg {
    /// `None` = anonymous.
    pub kind: Option<AuthType>,
    pub level: u8,
    pub user: String,
    pub domain: String,
    pub nt_hash: [u8; 16],
    pub workstation: String,
}

impl AuthCfg {
    fn client(&self) -> ClientConnection {
        match self.kind {
            None => ClientConnection::anonymous(),
            Some(kind) => {
                let ntlm = NtlmInitiator::new(
                    &self.user,
                    &self.domain,
                    ClientSecret::NtHash(self.nt_hash),
                    &self.workstation,
                    rand::random(),
                    rand::random(),
                );
                ClientConnection::authenticated(Initiator::new(kind, ntlm), self.level)
            }
        }
    }
}

/// TCP connect (no time limit: a server whose listen queue overflows is measured, not cut
/// short), `TCP_NODELAY` as asked, then bind `syntax` as context 0 and authenticate.
pub async fn open(
    addr: SocketAddr,
    nodelay: bool,
    auth: &AuthCfg,
    syntax: SyntaxId,
) -> Result<RpcConnection, RpcFailure> {
    let stream = TcpStream::connect(addr).await.map_err(|e| RpcFailure::Io(format!("connect {addr}: {e}")))?;
    stream.set_nodelay(nodelay).map_err(|e| RpcFailure::Io(e.to_string()))?;
    RpcConnection::bind(stream, auth.client(), syntax).await
}
