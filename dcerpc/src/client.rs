//! The client side of a connection-oriented DCE/RPC connection, sans I/O: bind (with NTLMSSP
//! or SPNEGO at any level), the third leg (auth3 or alter_context), requests fragmented and
//! sealed like Windows sends them, and responses reassembled and unsealed.
//!
//! Used by the integration tests and the load generator; it follows the same rules the server
//! enforces, so the two are tested against each other in memory.

use auth::{Initiator, Step};
use idl::ByteOrder;

use crate::pdu::{self, auth_level, pfc, PacketType, SecTrailer, SyntaxId};
use crate::server::SIG_LEN;

/// Client-side failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("pdu: {0}")]
    Pdu(#[from] pdu::PduError),
    #[error("bind refused (reason {0})")]
    BindNak(u16),
    #[error("authentication: {0}")]
    Auth(String),
    #[error("unexpected {0:?}")]
    Unexpected(PacketType),
    #[error("bad response verifier: {0}")]
    Verifier(String),
}

/// What a fragment produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// Nothing yet (an intermediate fragment, or an auth leg was written to the output).
    Pending,
    /// Bound (and authenticated, if asked): the results per context.
    Bound { assoc_group_id: u32, results: Vec<pdu::ContextResult> },
    /// A complete response stub.
    Response { call_id: u32, stub: Vec<u8> },
    /// A fault.
    Fault { call_id: u32, status: u32 },
}

struct ClientAuth {
    initiator: Initiator,
    auth_type: u8,
    level: u8,
    context_id: u32,
}

impl ClientAuth {
    /// The sec_trailer of a bind, alter_context or auth3: their bodies end 4-aligned, so
    /// there is no pad.
    fn trailer(&self) -> SecTrailer {
        SecTrailer {
            auth_type: self.auth_type,
            auth_level: self.level,
            auth_pad_length: 0,
            auth_context_id: self.context_id,
        }
    }
}

/// One client connection.
pub struct ClientConnection {
    auth: Option<ClientAuth>,
    next_call_id: u32,
    max_frag: u16,
    contexts: Vec<(u16, SyntaxId)>,
    assoc_group_id: u32,
    pending_bind: Option<(u32, Vec<pdu::ContextResult>)>,
    reassembly: Option<(u32, Vec<u8>)>,
    header_sign: bool,
}

impl ClientConnection {
    /// A connection without authentication.
    pub fn anonymous() -> Self {
        Self {
            auth: None,
            next_call_id: 1,
            max_frag: pdu::MAX_FRAG,
            contexts: Vec::new(),
            assoc_group_id: 0,
            pending_bind: None,
            reassembly: None,
            header_sign: false,
        }
    }

    /// A connection that authenticates with `initiator` at `level`.
    pub fn authenticated(initiator: Initiator, level: u8) -> Self {
        let auth_type = initiator.auth_type().as_u8();
        let mut c = Self::anonymous();
        c.auth = Some(ClientAuth { initiator, auth_type, level, context_id: 1 });
        c
    }

    /// The negotiated fragment size.
    pub fn max_frag(&self) -> u16 {
        self.max_frag
    }

    /// Writes a bind for the given contexts (each offered with NDR 2.0).
    pub fn bind(&mut self, contexts: &[(u16, SyntaxId)], assoc_group_id: u32, out: &mut Vec<u8>) {
        self.contexts = contexts.to_vec();
        self.assoc_group_id = assoc_group_id;
        let token = self.auth.as_mut().map(|a| a.initiator.first());
        let mut flags = pfc::FIRST_FRAG | pfc::LAST_FRAG;
        if self.auth.is_some() {
            flags |= pfc::SUPPORT_HEADER_SIGN;
        }
        self.write_bind(PacketType::Bind, flags, token.as_deref(), out);
    }

    fn write_bind(&mut self, ptype: PacketType, flags: u8, token: Option<&[u8]>, out: &mut Vec<u8>) {
        let call_id = self.next_call_id;
        self.next_call_id += 1;
        let start = pdu::write_header(out, ptype, flags, call_id);
        out.extend_from_slice(&self.max_frag.to_le_bytes());
        out.extend_from_slice(&self.max_frag.to_le_bytes());
        out.extend_from_slice(&self.assoc_group_id.to_le_bytes());
        out.push(u8::try_from(self.contexts.len()).unwrap_or(0));
        out.extend_from_slice(&[0, 0, 0]);
        for (id, s) in &self.contexts {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&s.uuid.to_le_bytes());
            out.extend_from_slice(&s.version.to_le_bytes());
            let t = SyntaxId::ndr20();
            out.extend_from_slice(&t.uuid.to_le_bytes());
            out.extend_from_slice(&t.version.to_le_bytes());
        }
        let mut al = 0;
        if let (Some(a), Some(tok)) = (&self.auth, token) {
            pdu::write_sec_trailer(out, &a.trailer());
            out.extend_from_slice(tok);
            al = u16::try_from(tok.len()).unwrap_or(0);
        }
        pdu::finish_pdu(out, start, al);
    }

    fn write_auth3(&mut self, token: &[u8], out: &mut Vec<u8>) {
        let Some(a) = &self.auth else { return };
        let call_id = self.next_call_id;
        self.next_call_id += 1;
        let start = pdu::write_header(out, PacketType::Auth3, pfc::FIRST_FRAG | pfc::LAST_FRAG, call_id);
        out.extend_from_slice(&self.max_frag.to_le_bytes());
        out.extend_from_slice(&self.max_frag.to_le_bytes());
        pdu::write_sec_trailer(out, &a.trailer());
        out.extend_from_slice(token);
        pdu::finish_pdu(out, start, u16::try_from(token.len()).unwrap_or(0));
    }

    /// Writes a request, fragmented to the negotiated size and protected at the bound level.
    /// Returns its call id.
    pub fn request(&mut self, context_id: u16, opnum: u16, stub: &[u8], out: &mut Vec<u8>) -> u32 {
        let call_id = self.next_call_id;
        self.next_call_id += 1;
        let protect = self
            .auth
            .as_ref()
            .filter(|a| a.level >= auth_level::PKT_INTEGRITY)
            .map(|a| (a.auth_type, a.level, a.context_id));
        let head = pdu::HEADER_LEN + pdu::REQUEST_HDR_LEN;
        let max = usize::from(self.max_frag);
        let chunk_max = match protect {
            Some(_) => (max - head - pdu::SEC_TRAILER_LEN - SIG_LEN) / pdu::AUTH_PAD_ALIGN * pdu::AUTH_PAD_ALIGN,
            None => (max - head) / 8 * 8,
        };
        let mut off = 0;
        loop {
            let chunk = (stub.len() - off).min(chunk_max);
            let flags = pfc::fragment(off, chunk, stub.len());
            let start = pdu::write_header(out, PacketType::Request, flags, call_id);
            out.extend_from_slice(&u32::try_from(stub.len() - off).unwrap_or(0).to_le_bytes());
            out.extend_from_slice(&context_id.to_le_bytes());
            out.extend_from_slice(&opnum.to_le_bytes());
            out.extend_from_slice(&stub[off..off + chunk]);
            if let Some((auth_type, level, ctx)) = protect {
                let pad = (pdu::AUTH_PAD_ALIGN - chunk % pdu::AUTH_PAD_ALIGN) % pdu::AUTH_PAD_ALIGN;
                out.extend(std::iter::repeat_n(0u8, pad));
                pdu::write_sec_trailer(
                    out,
                    &SecTrailer { auth_type, auth_level: level, auth_pad_length: pad as u8, auth_context_id: ctx },
                );
                let sign_len = out.len() - start;
                out.extend_from_slice(&[0u8; SIG_LEN]);
                pdu::finish_pdu(out, start, SIG_LEN as u16);
                let frag = &mut out[start..];
                if let Some(s) = self.auth.as_mut().and_then(|a| a.initiator.session_mut()) {
                    let sig = if level == auth_level::PKT_PRIVACY {
                        s.seal(frag, head..head + chunk + pad, sign_len)
                    } else {
                        s.sign(&frag[..sign_len])
                    };
                    frag[sign_len..].copy_from_slice(&sig);
                }
            } else {
                pdu::finish_pdu(out, start, 0);
            }
            off += chunk;
            if off >= stub.len() {
                break;
            }
        }
        call_id
    }

    /// Processes one complete fragment from the server; may append a PDU to `out` (auth legs).
    pub fn handle_fragment(&mut self, frag: &mut [u8], out: &mut Vec<u8>) -> Result<ClientEvent, ClientError> {
        let h = pdu::parse_header(frag)?;
        match h.ptype {
            PacketType::BindNak => {
                let r = frag.get(16..18).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
                Err(ClientError::BindNak(r))
            }
            PacketType::BindAck | PacketType::AlterContextResp => {
                let parts = pdu::auth_parts(frag, &h)?;
                let ack = pdu::parse_bind_ack(frag, &h, parts.map_or(frag.len(), |a| a.trailer_offset))?;
                if h.ptype == PacketType::BindAck {
                    self.max_frag = ack.max_xmit_frag.min(self.max_frag);
                    self.assoc_group_id = ack.assoc_group_id;
                    self.header_sign = h.pfc_flags & pfc::SUPPORT_HEADER_SIGN != 0;
                    self.pending_bind = Some((ack.assoc_group_id, ack.results.clone()));
                }
                let Some(a) = self.auth.as_mut() else {
                    return Ok(ClientEvent::Bound { assoc_group_id: ack.assoc_group_id, results: ack.results });
                };
                if a.initiator.is_done() {
                    let (g, r) = self.pending_bind.take().unwrap_or((ack.assoc_group_id, ack.results));
                    return Ok(ClientEvent::Bound { assoc_group_id: g, results: r });
                }
                let Some(p) = parts else {
                    return Err(ClientError::Auth("server sent no auth token".into()));
                };
                match a.initiator.step(&frag[p.value_offset..]).map_err(|e| ClientError::Auth(e.to_string()))? {
                    Step::Done(Some(tok)) if h.ptype == PacketType::BindAck => {
                        self.write_auth3(&tok, out);
                        let (g, r) = self.pending_bind.take().unwrap_or_default();
                        Ok(ClientEvent::Bound { assoc_group_id: g, results: r })
                    }
                    Step::Done(_) => {
                        let (g, r) = self.pending_bind.take().unwrap_or_default();
                        Ok(ClientEvent::Bound { assoc_group_id: g, results: r })
                    }
                    Step::Continue(tok) => {
                        self.write_bind(PacketType::AlterContext, pfc::FIRST_FRAG | pfc::LAST_FRAG, Some(&tok), out);
                        Ok(ClientEvent::Pending)
                    }
                }
            }
            PacketType::Fault => {
                let r = pdu::parse_response(frag, &h)?;
                self.reassembly = None;
                Ok(ClientEvent::Fault { call_id: h.call_id, status: r.status })
            }
            PacketType::Response => {
                let r = pdu::parse_response(frag, &h)?;
                let _ = r;
                let stub_off = pdu::HEADER_LEN + pdu::RESPONSE_HDR_LEN;
                let parts = pdu::auth_parts(frag, &h)?;
                let end = match (parts, self.auth.as_mut()) {
                    (Some(p), Some(a)) if a.level >= auth_level::PKT_INTEGRITY => {
                        if p.trailer_offset < stub_off
                            || usize::from(p.trailer.auth_pad_length) > p.trailer_offset - stub_off
                        {
                            return Err(ClientError::Verifier("bad trailer".into()));
                        }
                        let sig = frag[p.value_offset..].to_vec();
                        let s = a.initiator.session_mut().ok_or_else(|| ClientError::Verifier("no session".into()))?;
                        let res = if a.level == auth_level::PKT_PRIVACY {
                            s.unseal(frag, stub_off..p.trailer_offset, p.value_offset, &sig)
                        } else {
                            s.verify(&frag[..p.value_offset], &sig)
                        };
                        res.map_err(|e| ClientError::Verifier(e.to_string()))?;
                        p.trailer_offset - usize::from(p.trailer.auth_pad_length)
                    }
                    (None, Some(a)) if a.level >= auth_level::PKT_INTEGRITY => {
                        return Err(ClientError::Verifier("response without verifier".into()));
                    }
                    (p, _) => p.map_or(frag.len(), |p| p.trailer_offset),
                };
                if end < stub_off {
                    return Err(ClientError::Verifier("short response".into()));
                }
                let data = &frag[stub_off..end];
                if h.pfc_flags & pfc::FIRST_FRAG != 0 {
                    self.reassembly = Some((h.call_id, data.to_vec()));
                } else if let Some((id, buf)) = self.reassembly.as_mut() {
                    if *id != h.call_id {
                        return Err(ClientError::Unexpected(PacketType::Response));
                    }
                    buf.extend_from_slice(data);
                }
                if h.pfc_flags & pfc::LAST_FRAG != 0 {
                    let (call_id, stub) =
                        self.reassembly.take().ok_or(ClientError::Unexpected(PacketType::Response))?;
                    return Ok(ClientEvent::Response { call_id, stub });
                }
                Ok(ClientEvent::Pending)
            }
            other => Err(ClientError::Unexpected(other)),
        }
    }

    /// Byte order of responses from clusapid (always little-endian).
    pub fn order(&self) -> ByteOrder {
        ByteOrder::Little
    }
}
