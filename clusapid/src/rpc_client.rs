//! A DCE/RPC client connection over tokio, for clusapid's own client commands (`clusapid
//! witness watch`) and for the load generator in `bench/`: the sans-I/O
//! [`dcerpc::client::ClientConnection`] driven over TCP, with the endpoint mapper lookup that
//! finds a dynamic endpoint. One call outstanding at a time.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use auth::{AuthType, ClientSecret, Initiator, NtlmInitiator};
use dcerpc::client::{ClientConnection, ClientEvent};
use dcerpc::pdu::{self, result, SyntaxId};
use idl::epm::{Epmapper, EptMapRequest, EptMapResponse, TcpTower, Tower, Twr};
use idl::{ByteOrder, ContextHandle, Guid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection or a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcFailure {
    /// connect, read or write failed, or the server closed.
    #[error("{0}")]
    Io(String),
    /// The bind was refused or the authentication failed.
    #[error("bind refused: {0}")]
    Bind(String),
    /// The call ended with a fault PDU.
    #[error("fault 0x{0:08x}")]
    Fault(u32),
    /// A malformed or unexpected PDU, or an undecodable stub.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Credentials for NTLMSSP (in SPNEGO) at packet privacy.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: String,
    pub domain: String,
    pub password: String,
}

impl Credentials {
    /// `[DOMAIN\]USER%PASSWORD`.
    pub fn parse(s: &str) -> Option<Credentials> {
        let (who, password) = s.split_once('%')?;
        let (domain, user) = who.split_once(['\\', '/']).unwrap_or(("", who));
        (!user.is_empty()).then(|| Credentials { user: user.into(), domain: domain.into(), password: password.into() })
    }
}

/// A bound connection.
pub struct RpcConnection {
    stream: TcpStream,
    cc: ClientConnection,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    peer: SocketAddr,
}

impl RpcConnection {
    /// Connects to `addr` and binds `syntax` as context 0, anonymously or with `creds`
    /// (SPNEGO, packet privacy).
    pub async fn open(addr: SocketAddr, creds: Option<&Credentials>, syntax: SyntaxId) -> Result<Self, RpcFailure> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| RpcFailure::Io(format!("connect {addr}: timed out")))?
            .map_err(|e| RpcFailure::Io(format!("connect {addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let cc = match creds {
            None => ClientConnection::anonymous(),
            Some(c) => {
                let ntlm = NtlmInitiator::new(
                    &c.user,
                    &c.domain,
                    ClientSecret::Password(c.password.clone()),
                    &crate::config::hostname().to_uppercase(),
                    rand::random(),
                    rand::random(),
                );
                ClientConnection::authenticated(Initiator::new(AuthType::Spnego, ntlm), pdu::auth_level::PKT_PRIVACY)
            }
        };
        Self::bind(stream, cc, syntax).await
    }

    /// Binds `syntax` as context 0 over a connected `stream`, authenticating as `cc` was made
    /// to: bind / bind_ack, then auth3 (NTLMSSP) or alter_context (SPNEGO) when it has a
    /// third leg.
    pub async fn bind(stream: TcpStream, cc: ClientConnection, syntax: SyntaxId) -> Result<Self, RpcFailure> {
        let peer = stream.peer_addr().map_err(|e| RpcFailure::Io(format!("peer address: {e}")))?;
        let mut c = RpcConnection { stream, cc, rbuf: Vec::with_capacity(8192), wbuf: Vec::with_capacity(8192), peer };
        c.cc.bind(&[(0, syntax)], 0, &mut c.wbuf);
        c.flush().await?;
        loop {
            let ev = c.next_event().await.map_err(|e| match e {
                RpcFailure::Protocol(e) => RpcFailure::Bind(e),
                e => e,
            })?;
            // the third leg (auth3, alter_context) if any
            c.flush().await?;
            match ev {
                ClientEvent::Pending => continue,
                ClientEvent::Bound { results, .. } => {
                    return match results.first() {
                        Some(r) if r.result == result::ACCEPTANCE => Ok(c),
                        Some(r) => Err(RpcFailure::Bind(format!(
                            "context rejected (result {}, reason {})",
                            r.result, r.reason
                        ))),
                        None => Err(RpcFailure::Bind("no context result".into())),
                    };
                }
                ClientEvent::Fault { status, .. } => return Err(RpcFailure::Bind(format!("fault 0x{status:08x}"))),
                ClientEvent::Response { .. } => return Err(RpcFailure::Protocol("a response to the bind".into())),
            }
        }
    }

    /// The server's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// One request on context 0; the response stub. Answers to earlier calls whose caller
    /// gave up waiting (a dropped future) are skipped.
    pub async fn call(&mut self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, RpcFailure> {
        let id = self.cc.request(0, opnum, stub, &mut self.wbuf);
        self.flush().await?;
        loop {
            match self.next_event().await? {
                ClientEvent::Pending => continue,
                ClientEvent::Response { call_id, stub } if call_id == id => return Ok(stub),
                ClientEvent::Fault { call_id, status } if call_id == id || call_id == 0 => {
                    return Err(RpcFailure::Fault(status))
                }
                ClientEvent::Response { call_id, .. } | ClientEvent::Fault { call_id, .. } if call_id < id => continue,
                other => return Err(RpcFailure::Protocol(format!("unexpected {other:?}"))),
            }
        }
    }

    async fn flush(&mut self) -> Result<(), RpcFailure> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf).await.map_err(|e| RpcFailure::Io(format!("write: {e}")))?;
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Reads one whole fragment and hands it to the connection machine (a malformed one is a
    /// [`RpcFailure::Protocol`]); what the machine answers is left in the write buffer.
    async fn next_event(&mut self) -> Result<ClientEvent, RpcFailure> {
        let len = loop {
            if let Some(len) = pdu::frame_length(&self.rbuf) {
                if len < pdu::HEADER_LEN {
                    return Err(RpcFailure::Protocol(format!("fragment length {len}")));
                }
                if self.rbuf.len() >= len {
                    break len;
                }
            }
            if self.rbuf.capacity() - self.rbuf.len() < 4096 {
                self.rbuf.reserve(8192);
            }
            match self.stream.read_buf(&mut self.rbuf).await {
                Ok(0) => return Err(RpcFailure::Io("closed by the server".into())),
                Ok(_) => {}
                Err(e) => return Err(RpcFailure::Io(format!("read: {e}"))),
            }
        };
        let ev = self.cc.handle_fragment(&mut self.rbuf[..len], &mut self.wbuf);
        if len == self.rbuf.len() {
            self.rbuf.clear();
        } else {
            self.rbuf.drain(..len);
        }
        ev.map_err(|e| RpcFailure::Protocol(e.to_string()))
    }
}

/// The TCP port the endpoint mapper on `host`:`epm_port` gives for interface `uuid` `major.minor`.
pub async fn map_endpoint(host: IpAddr, epm_port: u16, uuid: Guid, major: u16, minor: u16) -> Result<u16, RpcFailure> {
    let syntax = SyntaxId::new(Epmapper::UUID, Epmapper::VERSION_MAJOR, Epmapper::VERSION_MINOR);
    let mut c = RpcConnection::open(SocketAddr::new(host, epm_port), None, syntax).await?;
    let tower = Tower::ncacn_ip_tcp(&TcpTower {
        interface: (uuid, major, minor),
        transfer: (idl::NDR20_UUID, 2),
        port: 0,
        ip: [0; 4],
    });
    let req = EptMapRequest {
        object: Some(Guid::NIL),
        map_tower: Some(Twr(tower.to_bytes())),
        entry_handle: ContextHandle::NULL,
        max_towers: 4,
    };
    let stub = c.call(EptMapRequest::OPNUM, &req.to_stub()).await?;
    let r = EptMapResponse::decode_stub(&stub, ByteOrder::Little)
        .map_err(|e| RpcFailure::Protocol(format!("ept_map reply: {e:?}")))?;
    r.towers
        .towers
        .iter()
        .flatten()
        .filter_map(|t| Tower::parse(&t.0))
        .filter(|t| t.is_ncacn_ip_tcp())
        .find_map(|t| Some(u16::from_be_bytes(t.floors[3].rhs.get(..2)?.try_into().ok()?)))
        .ok_or_else(|| RpcFailure::Protocol(format!("the endpoint mapper on {host} has no endpoint for {uuid:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials() {
        let c = Credentials::parse("LAB\\alice%Pw%1").unwrap();
        assert_eq!((c.domain.as_str(), c.user.as_str(), c.password.as_str()), ("LAB", "alice", "Pw%1"));
        let c = Credentials::parse("bob%x").unwrap();
        assert_eq!((c.domain.as_str(), c.user.as_str()), ("", "bob"));
        assert!(Credentials::parse("nopassword").is_none());
        assert!(Credentials::parse("%x").is_none());
    }
}
