//! The server side of one connection-oriented DCE/RPC connection, sans I/O ([C706] 12,
//! [MS-RPCE] 3.3.1.5).
//!
//! The driver hands in complete fragments ([`ServerConnection::handle_fragment`], framed with
//! [`crate::pdu::frame_length`]) and writes out whatever the connection appended to its output
//! buffer. When a request is complete the connection returns a [`Call`]; the driver executes
//! it (possibly concurrently with later PDUs) and gives the result back through
//! [`ServerConnection::encode_response`] or [`ServerConnection::encode_fault`], which fragment
//! and seal it. Nothing here blocks or touches a socket.
//!
//! Invariants:
//! - Every request on an authenticated connection carries a verifier that is checked (and
//!   unsealed at PKT_PRIVACY) before its stub is looked at; a bad one ends the connection.
//! - A request for an interface whose minimum level the connection does not reach is faulted
//!   with access denied without executing; a connection that never authenticated is then
//!   closed (Samba's behaviour), the server keeps serving others.
//! - Reassembled requests are bounded by [`ServerConfig::max_request`].

use std::sync::Arc;

use auth::{Acceptor, AcceptorConfig, AuthType, Mechanisms, Step};
use idl::{ByteOrder, Guid};

use crate::assoc::{AssociationGroup, Associations};
use crate::pdu::{self, auth_level, fault, nak, pfc, reason, result, PacketType, SecTrailer, SyntaxId};

mod strict;

/// Signature length of NTLMSSP ([MS-NLMP] 2.2.2.9.1). Kerberos verifiers are longer; their
/// length comes from the security context.
pub const SIG_LEN: usize = 16;

/// One interface served on an endpoint.
#[derive(Clone, Debug)]
pub struct InterfaceSpec {
    pub name: &'static str,
    pub uuid: Guid,
    pub major: u16,
    pub minor: u16,
    /// Lowest auth level a call on this interface is executed at.
    pub min_auth_level: u8,
}

/// Randomness and time for the NTLM challenge, injected so tests are deterministic.
pub trait Entropy: Send + Sync {
    /// An 8-byte server challenge.
    fn challenge(&self) -> [u8; 8];
    /// Current time as a Windows FILETIME.
    fn now_filetime(&self) -> u64;
}

/// System randomness and clock.
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn challenge(&self) -> [u8; 8] {
        rand::random()
    }
    fn now_filetime(&self) -> u64 {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (d.as_secs() + 11_644_473_600) * 10_000_000 + u64::from(d.subsec_nanos() / 100)
    }
}

/// What an endpoint serves and how.
pub struct ServerConfig {
    pub interfaces: Vec<InterfaceSpec>,
    /// The secondary address announced in bind_ack (the port number as text).
    pub sec_addr: String,
    /// Largest reassembled request stub accepted.
    pub max_request: usize,
    pub acceptor: AcceptorConfig,
    /// How clients authenticate: the NTLM credential check and, optionally, Kerberos.
    pub mechanisms: Mechanisms,
    pub entropy: Arc<dyn Entropy>,
}

impl ServerConfig {
    /// Whether the authentication legs (bind, alter_context, auth3 with an auth trailer) may
    /// block: the driver then runs [`ServerConnection::handle_fragment`] for them off its
    /// event loop.
    pub fn blocking_auth(&self) -> bool {
        self.mechanisms.blocking()
    }
}

/// A complete request ready to be executed.
#[derive(Debug, Clone)]
pub struct Call {
    pub call_id: u32,
    pub context_id: u16,
    /// Index into [`ServerConfig::interfaces`].
    pub interface: usize,
    pub opnum: u16,
    pub object: Option<Guid>,
    pub order: ByteOrder,
    pub stub: Vec<u8>,
}

/// What the driver must do after a fragment.
#[derive(Debug)]
pub enum Next {
    /// Write the output, read on.
    Continue,
    /// Write the output, then execute this call.
    Call(Call),
    /// The client orphaned this call: drop its result if it is still running.
    Orphaned(u32),
    /// Write the output, then close the connection.
    Close(CloseReason),
}

/// Why the server closes a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    #[error("bind refused: {0}")]
    BindRefused(&'static str),
    #[error("request not authenticated at the level the interface requires")]
    AccessDenied,
    #[error("bad verifier: {0}")]
    BadVerifier(String),
    #[error("request larger than {0} bytes")]
    TooLarge(usize),
}

/// Who is on the other end, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub domain: String,
    pub workstation: String,
    pub auth_type: u8,
    pub auth_level: u8,
    /// The caller's security identifiers (`S-1-...`, user first) from a domain logon; empty
    /// for local accounts.
    pub sids: Vec<String>,
    /// The mechanism that authenticated the caller.
    pub mechanism: auth::Mechanism,
}

/// Where a connection's authentication stands ([`ServerConnection::auth_progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProgress {
    /// More legs expected.
    InProgress,
    /// The caller is authenticated.
    Done,
    /// The exchange failed; calls are refused.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStatus {
    InProgress,
    Done,
    Failed,
}

struct AuthState {
    auth_type: u8,
    level: u8,
    context_id: u32,
    acceptor: Acceptor,
    status: AuthStatus,
}

struct Reassembly {
    call_id: u32,
    context_id: u16,
    opnum: u16,
    object: Option<Guid>,
    order: ByteOrder,
    stub: Vec<u8>,
}

/// State of one server connection.
pub struct ServerConnection {
    cfg: Arc<ServerConfig>,
    assocs: Arc<Associations>,
    group: Option<Arc<AssociationGroup>>,
    /// Largest fragment we send (the client's receive size).
    max_xmit: u16,
    bound: bool,
    contexts: Vec<(u16, usize)>,
    auth: Option<AuthState>,
    reassembly: Option<Reassembly>,
    header_sign: bool,
    features: u16,
    principal: Option<Principal>,
    /// A finished call's stub buffer, reused by the next request ([`ServerConnection::recycle`]).
    spare: Vec<u8>,
    /// Call ids handed to the driver and not answered yet (see `strict`).
    in_flight: Vec<u32>,
}

/// Largest buffer kept for reuse between calls; bigger ones are freed so an idle connection
/// holds little memory.
pub const RECYCLE_MAX: usize = 16 * 1024;

impl ServerConnection {
    /// A fresh connection.
    pub fn new(cfg: Arc<ServerConfig>, assocs: Arc<Associations>) -> Self {
        Self {
            cfg,
            assocs,
            group: None,
            max_xmit: pdu::MAX_FRAG,
            bound: false,
            contexts: Vec::new(),
            auth: None,
            reassembly: None,
            header_sign: false,
            features: 0,
            principal: None,
            spare: Vec::new(),
            in_flight: Vec::new(),
        }
    }

    /// Gives back the stub buffer of a finished [`Call`], so the next request is reassembled
    /// into it instead of a new allocation (buffers above [`RECYCLE_MAX`] are dropped).
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() <= RECYCLE_MAX && buf.capacity() > self.spare.capacity() {
            buf.clear();
            self.spare = buf;
        }
    }

    /// The association group, once bound.
    pub fn group(&self) -> Option<&Arc<AssociationGroup>> {
        self.group.as_ref()
    }

    /// The authenticated caller, if any.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// Auth type and level asked for at bind (even if authentication did not finish).
    pub fn auth_info(&self) -> Option<(u8, u8)> {
        self.auth.as_ref().map(|a| (a.auth_type, a.level))
    }

    /// Where authentication stands: `None` when the bind carried no auth trailer.
    pub fn auth_progress(&self) -> Option<AuthProgress> {
        self.auth.as_ref().map(|a| match a.status {
            AuthStatus::InProgress => AuthProgress::InProgress,
            AuthStatus::Done => AuthProgress::Done,
            AuthStatus::Failed => AuthProgress::Failed,
        })
    }

    /// Whether header signing was negotiated ([MS-RPCE] 2.2.2.3 PFC_SUPPORT_HEADER_SIGN).
    pub fn header_signing(&self) -> bool {
        self.header_sign
    }

    /// Effective protection level of calls on this connection.
    pub fn effective_level(&self) -> u8 {
        match &self.auth {
            Some(a) if a.status == AuthStatus::Done => a.level,
            _ => auth_level::NONE,
        }
    }

    /// Processes one complete fragment; appends any reply PDUs to `out`.
    pub fn handle_fragment(&mut self, frag: &mut [u8], out: &mut Vec<u8>) -> Next {
        let h = match pdu::parse_header(frag) {
            Ok(h) => h,
            Err(pdu::PduError::Version(..)) if frag.get(2) == Some(&(PacketType::Bind as u8)) => {
                let call_id = frag.get(12..16).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                pdu::encode_bind_nak(out, call_id, nak::PROTOCOL_VERSION_NOT_SUPPORTED);
                return Next::Close(CloseReason::BindRefused("protocol version"));
            }
            Err(e) => return Next::Close(CloseReason::Protocol(e.to_string())),
        };
        match h.ptype {
            PacketType::Bind => self.on_bind(frag, &h, out),
            PacketType::AlterContext => self.on_alter(frag, &h, out),
            PacketType::Auth3 => self.on_auth3(frag, &h),
            PacketType::Request => self.on_request(frag, &h, out),
            PacketType::CoCancel => Next::Continue,
            PacketType::Orphaned => {
                if self.reassembly.as_ref().is_some_and(|r| r.call_id == h.call_id) {
                    self.reassembly = None;
                }
                self.call_finished(h.call_id);
                Next::Orphaned(h.call_id)
            }
            other => Next::Close(CloseReason::Protocol(format!("unexpected {other:?} from client"))),
        }
    }

    /// Evaluates the presentation contexts of a bind or alter_context.
    fn negotiate_contexts(&mut self, bind: &pdu::Bind) -> Vec<pdu::ContextResult> {
        let mut results = Vec::with_capacity(bind.contexts.len());
        for c in &bind.contexts {
            // [MS-RPCE] 3.3.1.5.3: bind time feature negotiation
            if let Some(bits) = c.transfer_syntaxes.first().and_then(SyntaxId::feature_bits) {
                let supported = bits & pdu::btfn::KEEP_CONNECTION_ON_ORPHAN;
                self.features = supported;
                results.push(pdu::ContextResult {
                    result: result::NEGOTIATE_ACK,
                    reason: supported,
                    transfer_syntax: SyntaxId::default(),
                });
                continue;
            }
            let iface = self.cfg.interfaces.iter().position(|i| {
                i.uuid == c.abstract_syntax.uuid
                    && i.major == c.abstract_syntax.major()
                    && c.abstract_syntax.minor() <= i.minor
            });
            let Some(iface) = iface else {
                results.push(pdu::ContextResult {
                    result: result::PROVIDER_REJECTION,
                    reason: reason::ABSTRACT_SYNTAX_NOT_SUPPORTED,
                    transfer_syntax: SyntaxId::default(),
                });
                continue;
            };
            if !c.transfer_syntaxes.iter().any(|t| *t == SyntaxId::ndr20()) {
                // NDR64 only (or something unknown): [C706] provider rejection
                results.push(pdu::ContextResult {
                    result: result::PROVIDER_REJECTION,
                    reason: reason::PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED,
                    transfer_syntax: SyntaxId::default(),
                });
                continue;
            }
            match self.contexts.iter().find(|(id, _)| *id == c.context_id) {
                Some((_, bound)) if *bound != iface => {
                    // a context id may not be rebound to another interface
                    results.push(pdu::ContextResult {
                        result: result::PROVIDER_REJECTION,
                        reason: reason::NOT_SPECIFIED,
                        transfer_syntax: SyntaxId::default(),
                    });
                    continue;
                }
                Some(_) => {}
                None => {
                    if self.contexts.len() >= 64 {
                        results.push(pdu::ContextResult {
                            result: result::PROVIDER_REJECTION,
                            reason: reason::LOCAL_LIMIT_EXCEEDED,
                            transfer_syntax: SyntaxId::default(),
                        });
                        continue;
                    }
                    self.contexts.push((c.context_id, iface));
                }
            }
            results.push(pdu::ContextResult {
                result: result::ACCEPTANCE,
                reason: 0,
                transfer_syntax: SyntaxId::ndr20(),
            });
        }
        results
    }

    fn new_acceptor(&self, auth_type: u8) -> Option<Acceptor> {
        let t = AuthType::from_u8(auth_type)?;
        match Acceptor::new(
            t,
            self.cfg.acceptor.clone(),
            &self.cfg.mechanisms,
            self.cfg.entropy.challenge(),
            self.cfg.entropy.now_filetime(),
        ) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::debug!(auth_type, error = %e, "No acceptor for this authentication type");
                None
            }
        }
    }

    fn on_bind(&mut self, frag: &[u8], h: &pdu::Header, out: &mut Vec<u8>) -> Next {
        if self.bound {
            pdu::encode_bind_nak(out, h.call_id, nak::REASON_NOT_SPECIFIED);
            return Next::Close(CloseReason::BindRefused("second bind on a connection"));
        }
        let auth = match pdu::auth_parts(frag, h) {
            Ok(a) => a,
            Err(_) => {
                pdu::encode_bind_nak(out, h.call_id, nak::REASON_NOT_SPECIFIED);
                return Next::Close(CloseReason::BindRefused("malformed auth trailer"));
            }
        };
        let body_end = auth.map_or(frag.len(), |a| a.trailer_offset);
        let bind = match pdu::parse_bind(frag, h, body_end) {
            Ok(b) => b,
            Err(_) => {
                pdu::encode_bind_nak(out, h.call_id, nak::REASON_NOT_SPECIFIED);
                return Next::Close(CloseReason::BindRefused("malformed bind"));
            }
        };
        if let Err(r) = self.check_bind_pdu(auth.as_ref(), &bind) {
            pdu::encode_bind_nak(out, h.call_id, u16::try_from(r.status).unwrap_or(nak::REASON_NOT_SPECIFIED));
            return Next::Close(r.reason);
        }
        if bind.max_xmit_frag < pdu::MIN_FRAG || bind.max_recv_frag < pdu::MIN_FRAG {
            pdu::encode_bind_nak(out, h.call_id, nak::LOCAL_LIMIT_EXCEEDED);
            return Next::Close(CloseReason::BindRefused("fragment size below 1432"));
        }
        let group = if bind.assoc_group_id == 0 {
            match self.assocs.try_create() {
                Some(g) => g,
                None => {
                    pdu::encode_bind_nak(out, h.call_id, nak::LOCAL_LIMIT_EXCEEDED);
                    return Next::Close(CloseReason::BindRefused("association limit reached"));
                }
            }
        } else {
            match self.assocs.join(bind.assoc_group_id) {
                Some(g) => g,
                None => {
                    pdu::encode_bind_nak(out, h.call_id, nak::REASON_NOT_SPECIFIED);
                    return Next::Close(CloseReason::BindRefused("unknown association group"));
                }
            }
        };
        // Samba's rule: one size for both directions, the smallest of the client's two and ours.
        let size = bind.max_xmit_frag.min(bind.max_recv_frag).min(pdu::MAX_FRAG);
        self.max_xmit = size;

        let mut token = None;
        let mut trailer = None;
        if let Some(a) = auth {
            let t = a.trailer;
            let level_ok =
                matches!(t.auth_level, auth_level::CONNECT | auth_level::PKT_INTEGRITY | auth_level::PKT_PRIVACY);
            let Some(mut acceptor) = self.new_acceptor(t.auth_type) else {
                pdu::encode_bind_nak(out, h.call_id, nak::AUTHENTICATION_TYPE_NOT_RECOGNIZED);
                return Next::Close(CloseReason::BindRefused("authentication type not supported"));
            };
            if !level_ok {
                pdu::encode_bind_nak(out, h.call_id, nak::REASON_NOT_SPECIFIED);
                return Next::Close(CloseReason::BindRefused("authentication level not supported"));
            }
            let status = match acceptor.step(&frag[a.value_offset..]) {
                Ok(Step::Continue(tok)) => {
                    token = Some(tok);
                    AuthStatus::InProgress
                }
                Ok(Step::Done(tok)) => {
                    token = tok;
                    AuthStatus::Done
                }
                Err(e) => {
                    tracing::debug!(error = %e, "Bind authentication refused");
                    pdu::encode_bind_nak(out, h.call_id, nak::AUTHENTICATION_TYPE_NOT_RECOGNIZED);
                    return Next::Close(CloseReason::AuthFailed(e.to_string()));
                }
            };
            if h.pfc_flags & pfc::SUPPORT_HEADER_SIGN != 0 {
                self.header_sign = true;
            }
            trailer = Some(SecTrailer {
                auth_type: t.auth_type,
                auth_level: t.auth_level,
                auth_pad_length: 0,
                auth_context_id: t.auth_context_id,
            });
            self.auth = Some(AuthState {
                auth_type: t.auth_type,
                level: t.auth_level,
                context_id: t.auth_context_id,
                acceptor,
                status,
            });
            if status == AuthStatus::Done {
                self.finish_auth();
            }
        }
        let results = self.negotiate_contexts(&bind);
        self.bound = true;
        let ack = pdu::BindAck {
            max_xmit_frag: size,
            max_recv_frag: size,
            assoc_group_id: group.id(),
            sec_addr: self.cfg.sec_addr.clone(),
            results,
        };
        self.group = Some(group);
        let mut flags = pfc::FIRST_FRAG | pfc::LAST_FRAG;
        if self.header_sign {
            flags |= pfc::SUPPORT_HEADER_SIGN;
        }
        if h.pfc_flags & pfc::CONC_MPX != 0 {
            flags |= pfc::CONC_MPX;
        }
        let auth_part = trailer.as_ref().map(|t| (t, token.as_deref().unwrap_or(&[])));
        pdu::encode_bind_ack(out, PacketType::BindAck, flags, h.call_id, &ack, auth_part);
        Next::Continue
    }

    fn finish_auth(&mut self) {
        if let Some(a) = &self.auth {
            if let auth::Acceptor::Spnego(s) = &a.acceptor {
                if let Some(e) = s.kerberos_fallback() {
                    tracing::warn!(
                        error = %e,
                        "Kerberos offered first but not accepted; the client fell back to NTLM \
                         (README \"Joining a domain\": SPNs and keytab)"
                    );
                }
            }
            if let Some(u) = a.acceptor.user() {
                self.principal = Some(Principal {
                    user: u.user,
                    domain: u.domain,
                    workstation: u.workstation,
                    auth_type: a.auth_type,
                    auth_level: a.level,
                    sids: u.sids,
                    mechanism: u.mechanism,
                });
            }
        }
    }

    fn on_auth3(&mut self, frag: &[u8], h: &pdu::Header) -> Next {
        let Ok(Some(a)) = pdu::auth_parts(frag, h) else {
            return Next::Close(CloseReason::Protocol("auth3 without auth trailer".into()));
        };
        if let Err(r) = self.check_auth3_pdu(&a) {
            return Next::Close(r);
        }
        let Some(st) = self.auth.as_mut() else {
            return Next::Close(CloseReason::Protocol("auth3 without authentication in progress".into()));
        };
        if st.status != AuthStatus::InProgress
            || a.trailer.auth_type != st.auth_type
            || a.trailer.auth_context_id != st.context_id
        {
            return Next::Close(CloseReason::Protocol("auth3 does not match the bind".into()));
        }
        match st.acceptor.step(&frag[a.value_offset..]) {
            Ok(Step::Done(_)) => {
                st.status = AuthStatus::Done;
                self.finish_auth();
                Next::Continue
            }
            Ok(Step::Continue(_)) => {
                // auth3 has no reply, so a mechanism that wants another leg cannot finish here
                st.status = AuthStatus::Failed;
                Next::Continue
            }
            Err(e) => {
                // [MS-RPCE] 3.3.1.5.? no reply to auth3; the next request is refused.
                tracing::debug!(error = %e, "Auth3 refused");
                st.status = AuthStatus::Failed;
                Next::Continue
            }
        }
    }

    fn on_alter(&mut self, frag: &[u8], h: &pdu::Header, out: &mut Vec<u8>) -> Next {
        if !self.bound {
            return Next::Close(CloseReason::Protocol("alter_context before bind".into()));
        }
        let Ok(auth) = pdu::auth_parts(frag, h) else {
            pdu::encode_fault(out, h.call_id, 0, fault::NCA_S_PROTO_ERROR, true);
            return Next::Close(CloseReason::Protocol("malformed alter_context auth trailer".into()));
        };
        let body_end = auth.map_or(frag.len(), |a| a.trailer_offset);
        let Ok(bind) = pdu::parse_bind(frag, h, body_end) else {
            pdu::encode_fault(out, h.call_id, 0, fault::NCA_S_PROTO_ERROR, true);
            return Next::Close(CloseReason::Protocol("malformed alter_context".into()));
        };
        if let Err(r) = self.check_fragment_size(h).and_then(|()| self.check_bind_pdu(auth.as_ref(), &bind)) {
            pdu::encode_fault(out, h.call_id, 0, fault::NCA_S_PROTO_ERROR, true);
            return Next::Close(r.reason);
        }
        let mut token = None;
        let mut trailer = None;
        if let Some(a) = auth {
            let Some(st) = self.auth.as_mut() else {
                pdu::encode_fault(out, h.call_id, 0, fault::ACCESS_DENIED, true);
                return Next::Close(CloseReason::AccessDenied);
            };
            if a.trailer.auth_type != st.auth_type || a.trailer.auth_context_id != st.context_id {
                pdu::encode_fault(out, h.call_id, 0, fault::ACCESS_DENIED, true);
                return Next::Close(CloseReason::AuthFailed("alter_context names another security context".into()));
            }
            if st.status == AuthStatus::InProgress {
                match st.acceptor.step(&frag[a.value_offset..]) {
                    Ok(Step::Continue(tok)) => token = Some(tok),
                    Ok(Step::Done(tok)) => {
                        token = tok;
                        st.status = AuthStatus::Done;
                    }
                    Err(e) => {
                        st.status = AuthStatus::Failed;
                        pdu::encode_fault(out, h.call_id, 0, fault::ACCESS_DENIED, true);
                        return Next::Close(CloseReason::AuthFailed(e.to_string()));
                    }
                }
                trailer = Some(SecTrailer {
                    auth_type: st.auth_type,
                    auth_level: st.level,
                    auth_pad_length: 0,
                    auth_context_id: st.context_id,
                });
                if st.status == AuthStatus::Done {
                    self.finish_auth();
                }
            } else if st.status == AuthStatus::Failed {
                pdu::encode_fault(out, h.call_id, 0, fault::ACCESS_DENIED, true);
                return Next::Close(CloseReason::AccessDenied);
            }
        }
        let results = self.negotiate_contexts(&bind);
        let ack = pdu::BindAck {
            max_xmit_frag: self.max_xmit,
            max_recv_frag: self.max_xmit,
            assoc_group_id: self.group.as_ref().map_or(0, |g| g.id()),
            sec_addr: String::new(),
            results,
        };
        let auth_part = trailer.as_ref().map(|t| (t, token.as_deref().unwrap_or(&[])));
        pdu::encode_bind_ack(
            out,
            PacketType::AlterContextResp,
            pfc::FIRST_FRAG | pfc::LAST_FRAG,
            h.call_id,
            &ack,
            auth_part,
        );
        Next::Continue
    }

    /// Checks and removes the verifier of a request fragment; returns the stub range.
    fn check_verifier(
        &mut self,
        frag: &mut [u8],
        h: &pdu::Header,
        stub_offset: usize,
    ) -> Result<(usize, usize), CloseReason> {
        let parts = pdu::auth_parts(frag, h).map_err(|e| CloseReason::Protocol(e.to_string()))?;
        let st = match self.auth.as_mut() {
            Some(st) if st.status == AuthStatus::Done && st.level >= auth_level::PKT_INTEGRITY => st,
            _ => {
                // no per-message protection: any verifier is ignored and not removed
                let end = parts.map_or(frag.len(), |a| a.trailer_offset);
                if end < stub_offset {
                    return Err(CloseReason::Protocol("auth trailer overlaps the request header".into()));
                }
                return Ok((stub_offset, end));
            }
        };
        let Some(a) = parts else {
            return Err(CloseReason::BadVerifier("request without verifier".into()));
        };
        let header_sign = self.header_sign;
        let Some(mut protection) = st.acceptor.protection() else {
            return Err(CloseReason::BadVerifier("no session keys".into()));
        };
        if a.trailer.auth_type != st.auth_type
            || a.trailer.auth_level != st.level
            || a.trailer.auth_context_id != st.context_id
            || !protection.plausible_sig_len(frag.len() - a.value_offset)
        {
            return Err(CloseReason::BadVerifier("verifier does not match the security context".into()));
        }
        if a.trailer_offset < stub_offset {
            return Err(CloseReason::Protocol("auth trailer overlaps the request header".into()));
        }
        let pad = usize::from(a.trailer.auth_pad_length);
        if pad > a.trailer_offset - stub_offset {
            return Err(CloseReason::Protocol("auth pad longer than the stub".into()));
        }
        let sig = frag[a.value_offset..].to_vec();
        let layout = auth::Layout::new(stub_offset..a.trailer_offset, a.value_offset, header_sign);
        let res = if st.level == auth_level::PKT_PRIVACY {
            protection.unseal(frag, &layout, &sig)
        } else {
            protection.verify(frag, &layout, &sig)
        };
        res.map_err(|e| CloseReason::BadVerifier(e.to_string()))?;
        Ok((stub_offset, a.trailer_offset - pad))
    }

    fn on_request(&mut self, frag: &mut [u8], h: &pdu::Header, out: &mut Vec<u8>) -> Next {
        if !self.bound {
            pdu::encode_fault(out, h.call_id, 0, fault::NCA_S_PROTO_ERROR, true);
            return Next::Close(CloseReason::Protocol("request before bind".into()));
        }
        let req = match pdu::parse_request(frag, h) {
            Ok(r) => r,
            Err(e) => {
                pdu::encode_fault(out, h.call_id, 0, fault::NCA_S_PROTO_ERROR, true);
                return Next::Close(CloseReason::Protocol(e.to_string()));
            }
        };
        if let Some(st) = &self.auth {
            if st.status != AuthStatus::Done {
                pdu::encode_fault(out, h.call_id, req.context_id, fault::ACCESS_DENIED, true);
                return Next::Close(CloseReason::AuthFailed("request before authentication completed".into()));
            }
        }
        if let Err(r) = self.check_request(frag, h, &req) {
            self.reassembly = None;
            pdu::encode_fault(out, h.call_id, req.context_id, r.status, true);
            return Next::Close(r.reason);
        }
        let (start, end) = match self.check_verifier(frag, h, req.stub_offset) {
            Ok(r) => r,
            Err(e) => {
                let status = if matches!(e, CloseReason::BadVerifier(_)) {
                    fault::SEC_PKG_ERROR
                } else {
                    fault::NCA_S_PROTO_ERROR
                };
                pdu::encode_fault(out, h.call_id, req.context_id, status, true);
                return Next::Close(e);
            }
        };
        let first = h.pfc_flags & pfc::FIRST_FRAG != 0;
        let last = h.pfc_flags & pfc::LAST_FRAG != 0;
        if first {
            if self.reassembly.is_some() {
                pdu::encode_fault(out, h.call_id, req.context_id, fault::NCA_S_PROTO_ERROR, true);
                return Next::Close(CloseReason::Protocol("new call while a fragmented one is incomplete".into()));
            }
            let hint = usize::try_from(req.alloc_hint).unwrap_or(0).min(self.cfg.max_request).min(1 << 16);
            let mut stub = std::mem::take(&mut self.spare);
            stub.clear();
            stub.reserve(hint.max(end - start));
            stub.extend_from_slice(&frag[start..end]);
            self.reassembly = Some(Reassembly {
                call_id: h.call_id,
                context_id: req.context_id,
                opnum: req.opnum,
                object: req.object,
                order: h.order(),
                stub,
            });
        } else {
            match self.reassembly.as_mut() {
                Some(r) if r.call_id == h.call_id => {
                    if r.stub.len() + (end - start) > self.cfg.max_request {
                        self.reassembly = None;
                        pdu::encode_fault(out, h.call_id, req.context_id, fault::NCA_S_PROTO_ERROR, true);
                        return Next::Close(CloseReason::TooLarge(self.cfg.max_request));
                    }
                    r.stub.extend_from_slice(&frag[start..end]);
                }
                _ => {
                    pdu::encode_fault(out, h.call_id, req.context_id, fault::NCA_S_PROTO_ERROR, true);
                    return Next::Close(CloseReason::Protocol("fragment of an unknown call".into()));
                }
            }
        }
        if !last {
            return Next::Continue;
        }
        let Some(r) = self.reassembly.take() else {
            return Next::Continue;
        };
        let Some(&(_, iface)) = self.contexts.iter().find(|(id, _)| *id == r.context_id) else {
            pdu::encode_fault(out, r.call_id, r.context_id, fault::NCA_S_UNK_IF, true);
            return Next::Continue;
        };
        let need = self.cfg.interfaces[iface].min_auth_level;
        if self.effective_level() < need {
            pdu::encode_fault(out, r.call_id, r.context_id, fault::ACCESS_DENIED, true);
            if self.effective_level() <= auth_level::CONNECT && self.principal.is_none() {
                return Next::Close(CloseReason::AccessDenied);
            }
            return Next::Continue;
        }
        self.call_started(r.call_id);
        Next::Call(Call {
            call_id: r.call_id,
            context_id: r.context_id,
            interface: iface,
            opnum: r.opnum,
            object: r.object,
            order: r.order,
            stub: r.stub,
        })
    }

    /// Appends the response PDUs of a call: fragmented to the negotiated size, each fragment
    /// signed and (at PKT_PRIVACY) sealed in place. If the security context cannot protect a
    /// fragment, what was appended is removed and a fault (`SEC_PKG_ERROR`) goes out instead.
    pub fn encode_response(&mut self, call_id: u32, context_id: u16, stub: &[u8], out: &mut Vec<u8>) {
        self.call_finished(call_id);
        let begin = out.len();
        if let Err(e) = self.try_encode_response(call_id, context_id, stub, out) {
            tracing::warn!(error = %e, "Cannot protect a response");
            out.truncate(begin);
            pdu::encode_fault(out, call_id, context_id, fault::SEC_PKG_ERROR, false);
        }
    }

    fn try_encode_response(
        &mut self,
        call_id: u32,
        context_id: u16,
        stub: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), auth::AuthError> {
        let header_sign = self.header_sign;
        let mut protect = match self.auth.as_mut() {
            Some(a) if a.status == AuthStatus::Done && a.level >= auth_level::PKT_INTEGRITY => {
                let (auth_type, level, ctx) = (a.auth_type, a.level, a.context_id);
                a.acceptor.protection().map(|p| (auth_type, level, ctx, p))
            }
            _ => None,
        };
        let head = pdu::HEADER_LEN + pdu::RESPONSE_HDR_LEN;
        let max = usize::from(self.max_xmit);
        let chunk_max = match protect.as_mut() {
            Some((_, level, _, p)) => {
                let room = max - head - pdu::SEC_TRAILER_LEN;
                let sig_max = p.sig_len(*level == auth_level::PKT_PRIVACY, room)?;
                room.saturating_sub(sig_max) / pdu::AUTH_PAD_ALIGN * pdu::AUTH_PAD_ALIGN
            }
            None => (max - head) / 8 * 8,
        };
        if chunk_max == 0 {
            return Err(auth::AuthError::Unsupported("verifier larger than the fragment size"));
        }
        let mut off = 0usize;
        loop {
            let chunk = (stub.len() - off).min(chunk_max);
            let flags = pfc::fragment(off, chunk, stub.len());
            let start = pdu::write_header(out, PacketType::Response, flags, call_id);
            let alloc_hint = u32::try_from(stub.len() - off).unwrap_or(u32::MAX);
            out.extend_from_slice(&alloc_hint.to_le_bytes());
            out.extend_from_slice(&context_id.to_le_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&stub[off..off + chunk]);
            if let Some((auth_type, level, ctx, p)) = protect.as_mut() {
                let sealed = *level == auth_level::PKT_PRIVACY;
                let pad = (pdu::AUTH_PAD_ALIGN - chunk % pdu::AUTH_PAD_ALIGN) % pdu::AUTH_PAD_ALIGN;
                out.extend(std::iter::repeat_n(0u8, pad));
                let t = SecTrailer {
                    auth_type: *auth_type,
                    auth_level: *level,
                    auth_pad_length: u8::try_from(pad).unwrap_or(0),
                    auth_context_id: *ctx,
                };
                pdu::write_sec_trailer(out, &t);
                let sign_len = out.len() - start;
                let sig_len = p.sig_len(sealed, chunk + pad)?;
                let auth_len = u16::try_from(sig_len).map_err(|_| auth::AuthError::Unsupported("verifier length"))?;
                out.extend(std::iter::repeat_n(0u8, sig_len));
                pdu::finish_pdu(out, start, auth_len);
                let frag = &mut out[start..];
                let layout = auth::Layout::new(head..head + chunk + pad, sign_len, header_sign);
                let mut sig = vec![0u8; sig_len];
                if sealed {
                    p.seal(&mut frag[..sign_len], &layout, &mut sig)?;
                } else {
                    p.sign(&frag[..sign_len], &layout, &mut sig)?;
                }
                frag[sign_len..sign_len + sig_len].copy_from_slice(&sig);
            } else {
                pdu::finish_pdu(out, start, 0);
            }
            off += chunk;
            if off >= stub.len() {
                break;
            }
        }
        Ok(())
    }

    /// Appends a fault PDU for a call.
    pub fn encode_fault(&mut self, call_id: u32, context_id: u16, status: u32, out: &mut Vec<u8>) {
        self.call_finished(call_id);
        pdu::encode_fault(out, call_id, context_id, status, false);
    }
}
