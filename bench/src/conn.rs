//! One client connection over tokio, driving the project's sans-I/O
//! [`dcerpc::client::ClientConnection`]: TCP connect, bind with NTLMSSP (bind / bind_ack /
//! auth3) or SPNEGO (bind / bind_ack / alter_context / alter_context_resp) at the asked level,
//! then requests with one call outstanding.

use std::net::SocketAddr;

use auth::{AuthType, ClientSecret, Initiator, NtlmInitiator};
use dcerpc::client::{ClientConnection, ClientEvent};
use dcerpc::pdu::{self, result, SyntaxId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// Why a connection or a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// connect, read or write failed, or the peer closed.
    Io(String),
    /// The bind was refused or authentication failed.
    Bind(String),
    /// A fault PDU.
    Fault(u32),
    /// A malformed or unexpected PDU.
    Protocol(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Io(e) => write!(f, "i/o: {e}"),
            Failure::Bind(e) => write!(f, "bind: {e}"),
            Failure::Fault(s) => write!(f, "fault 0x{s:08x}"),
            Failure::Protocol(e) => write!(f, "protocol: {e}"),
        }
    }
}

/// A bound connection.
pub struct Conn {
    stream: TcpStream,
    cc: ClientConnection,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
}

impl Conn {
    /// TCP connect, bind `syntax` as context 0 and authenticate.
    pub async fn open(addr: SocketAddr, nodelay: bool, auth: &AuthCfg, syntax: SyntaxId) -> Result<Conn, Failure> {
        let stream = TcpStream::connect(addr).await.map_err(|e| Failure::Io(format!("connect {addr}: {e}")))?;
        stream.set_nodelay(nodelay).map_err(|e| Failure::Io(e.to_string()))?;
        let mut c = Conn { stream, cc: auth.client(), rbuf: Vec::with_capacity(8192), wbuf: Vec::with_capacity(8192) };
        c.cc.bind(&[(0, syntax)], 0, &mut c.wbuf);
        c.flush().await?;
        loop {
            let len = c.read_frag().await?;
            let ev = c.cc.handle_fragment(&mut c.rbuf[..len], &mut c.wbuf);
            c.consume(len);
            // the third leg (auth3, alter_context) if any
            c.flush().await?;
            match ev.map_err(|e| Failure::Bind(e.to_string()))? {
                ClientEvent::Pending => continue,
                ClientEvent::Bound { results, .. } => {
                    return match results.first() {
                        Some(r) if r.result == result::ACCEPTANCE => Ok(c),
                        Some(r) => {
                            Err(Failure::Bind(format!("context rejected: result {} reason {}", r.result, r.reason)))
                        }
                        None => Err(Failure::Bind("no context result".into())),
                    };
                }
                ClientEvent::Fault { status, .. } => return Err(Failure::Bind(format!("fault 0x{status:08x}"))),
                ClientEvent::Response { .. } => return Err(Failure::Protocol("response to a bind".into())),
            }
        }
    }

    /// One request; returns the response stub.
    pub async fn call(&mut self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, Failure> {
        let id = self.cc.request(0, opnum, stub, &mut self.wbuf);
        self.flush().await?;
        loop {
            let len = self.read_frag().await?;
            let ev = self.cc.handle_fragment(&mut self.rbuf[..len], &mut self.wbuf);
            self.consume(len);
            match ev.map_err(|e| Failure::Protocol(e.to_string()))? {
                ClientEvent::Pending => continue,
                ClientEvent::Response { call_id, stub } if call_id == id => return Ok(stub),
                ClientEvent::Fault { status, .. } => return Err(Failure::Fault(status)),
                other => return Err(Failure::Protocol(format!("unexpected {other:?}"))),
            }
        }
    }

    async fn flush(&mut self) -> Result<(), Failure> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf).await.map_err(|e| Failure::Io(format!("write: {e}")))?;
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Reads until one whole fragment is at the start of `rbuf`; returns its length.
    async fn read_frag(&mut self) -> Result<usize, Failure> {
        loop {
            if let Some(len) = pdu::frame_length(&self.rbuf) {
                if len < pdu::HEADER_LEN {
                    return Err(Failure::Protocol(format!("fragment length {len}")));
                }
                if self.rbuf.len() >= len {
                    return Ok(len);
                }
            }
            if self.rbuf.capacity() - self.rbuf.len() < 4096 {
                self.rbuf.reserve(8192);
            }
            match self.stream.read_buf(&mut self.rbuf).await {
                Ok(0) => return Err(Failure::Io("closed by the server".into())),
                Ok(_) => {}
                Err(e) => return Err(Failure::Io(format!("read: {e}"))),
            }
        }
    }

    fn consume(&mut self, len: usize) {
        if len == self.rbuf.len() {
            self.rbuf.clear();
        } else {
            self.rbuf.drain(..len);
        }
    }
}
