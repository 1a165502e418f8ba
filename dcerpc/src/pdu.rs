//! Connection-oriented DCE/RPC PDUs ([C706] 12.6, [MS-RPCE] 2.2.2): the common header, the
//! bodies of every PDU type a server receives or sends, and the authentication trailer.
//!
//! Parsing borrows from the input; encoding appends to a caller-provided buffer. The header's
//! integers are read in the sender's data representation (`drep`); everything clusapid writes
//! is little-endian. Every length field is checked against the fragment before use.

use idl::{ByteOrder, Guid};

/// Size of the common header: rpc_vers 1 + rpc_vers_minor 1 + PTYPE 1 + pfc_flags 1 + drep 4 +
/// frag_length 2 + auth_length 2 + call_id 4.
pub const HEADER_LEN: usize = 1 + 1 + 1 + 1 + 4 + 2 + 2 + 4;
/// Size of the request header after the common header: alloc_hint 4 + p_cont_id 2 + opnum 2.
pub const REQUEST_HDR_LEN: usize = 4 + 2 + 2;
/// Size of the response header after the common header: alloc_hint 4 + p_cont_id 2 +
/// cancel_count 1 + reserved 1.
pub const RESPONSE_HDR_LEN: usize = 4 + 2 + 1 + 1;
/// Size of the sec_trailer: auth_type 1 + auth_level 1 + auth_pad_length 1 + auth_reserved 1 +
/// auth_context_id 4.
pub const SEC_TRAILER_LEN: usize = 1 + 1 + 1 + 1 + 4;
/// Stub + auth padding is a multiple of this ([MS-RPCE] 2.2.2.11).
pub const AUTH_PAD_ALIGN: usize = 16;
/// Smallest fragment size every implementation must accept ([C706] 12.6.3.1).
pub const MIN_FRAG: u16 = 1432;
/// What clusapid offers as max_xmit_frag / max_recv_frag (Samba's and Windows' value).
pub const MAX_FRAG: u16 = 5840;

/// PDU types ([C706] 12.6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    Request = 0,
    Response = 2,
    Fault = 3,
    Bind = 11,
    BindAck = 12,
    BindNak = 13,
    AlterContext = 14,
    AlterContextResp = 15,
    Auth3 = 16,
    Shutdown = 17,
    CoCancel = 18,
    Orphaned = 19,
}

impl PacketType {
    /// Every connection-oriented type: the table [`from_u8`](Self::from_u8) looks the PTYPE
    /// octet up in, so each number is written once, in the declaration.
    pub const ALL: [Self; 12] = [
        Self::Request,
        Self::Response,
        Self::Fault,
        Self::Bind,
        Self::BindAck,
        Self::BindNak,
        Self::AlterContext,
        Self::AlterContextResp,
        Self::Auth3,
        Self::Shutdown,
        Self::CoCancel,
        Self::Orphaned,
    ];

    /// From the PTYPE octet; connectionless-only and unknown types give `None`.
    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as u8 == v)
    }
}

/// pfc_flags bits ([C706] 12.6.3.1, [MS-RPCE] 2.2.2.3).
pub mod pfc {
    /// First fragment of a call.
    pub const FIRST_FRAG: u8 = 0x01;
    /// Last fragment of a call.
    pub const LAST_FRAG: u8 = 0x02;
    /// Cancel pending (requests) / header signing supported (bind, bind_ack; [MS-RPCE] 2.2.2.3).
    pub const PENDING_CANCEL: u8 = 0x04;
    /// Same bit as PENDING_CANCEL, meaning "supports header signing" in bind PDUs.
    pub const SUPPORT_HEADER_SIGN: u8 = 0x04;
    /// Concurrent multiplexing.
    pub const CONC_MPX: u8 = 0x10;
    /// The call did not execute (faults).
    pub const DID_NOT_EXECUTE: u8 = 0x20;
    /// Maybe semantics.
    pub const MAYBE: u8 = 0x40;
    /// An object UUID follows the request header.
    pub const OBJECT_UUID: u8 = 0x80;

    /// The fragment flags of the stub piece `off..off + chunk` of a `total`-byte stub:
    /// FIRST_FRAG on the piece at offset 0, LAST_FRAG on the piece that reaches the end.
    pub fn fragment(off: usize, chunk: usize, total: usize) -> u8 {
        let mut flags = 0;
        if off == 0 {
            flags |= FIRST_FRAG;
        }
        if off + chunk == total {
            flags |= LAST_FRAG;
        }
        flags
    }
}

/// Fault status codes ([C706] appendix E and [MS-ERREF] 2.2 for the Win32 values Windows sends).
pub mod fault {
    /// Operation number out of range.
    pub const NCA_S_OP_RNG_ERROR: u32 = 0x1c01_0002;
    /// Unknown interface.
    pub const NCA_S_UNK_IF: u32 = 0x1c01_0003;
    /// Protocol error.
    pub const NCA_S_PROTO_ERROR: u32 = 0x1c01_000b;
    /// Presentation context mismatch.
    pub const NCA_S_FAULT_CONTEXT_MISMATCH: u32 = 0x1c00_001a;
    /// Call cancelled.
    pub const NCA_S_FAULT_CANCEL: u32 = 0x1c00_000d;
    /// Access denied (ERROR_ACCESS_DENIED as a fault, as Windows and Samba send it).
    pub const ACCESS_DENIED: u32 = 0x0000_0005;
    /// RPC_X_BAD_STUB_DATA: the stub could not be unmarshalled.
    pub const NCA_S_FAULT_NDR: u32 = 0x0000_06f7;
    /// RPC_S_SEC_PKG_ERROR: security package error (bad signature, sealing failure).
    pub const SEC_PKG_ERROR: u32 = 0x0000_0721;
    /// RPC_S_SERVER_TOO_BUSY: the server takes no more calls now (a call refused by a limit).
    pub const SERVER_TOO_BUSY: u32 = 0x0000_06bb;
    /// RPC_S_UNSUPPORTED_AUTHN_LEVEL.
    pub const UNSUPPORTED_AUTHN_LEVEL: u32 = 0x0000_071d;
}

/// Presentation-context results ([C706] 12.6.3.1 p_cont_def_result_t, [MS-RPCE] 2.2.2.4).
pub mod result {
    pub const ACCEPTANCE: u16 = 0;
    pub const USER_REJECTION: u16 = 1;
    pub const PROVIDER_REJECTION: u16 = 2;
    /// [MS-RPCE] 2.2.2.4: bind time feature negotiation acknowledgement.
    pub const NEGOTIATE_ACK: u16 = 3;
}

/// Provider reasons ([C706] p_provider_reason_t).
pub mod reason {
    pub const NOT_SPECIFIED: u16 = 0;
    pub const ABSTRACT_SYNTAX_NOT_SUPPORTED: u16 = 1;
    pub const PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED: u16 = 2;
    pub const LOCAL_LIMIT_EXCEEDED: u16 = 3;
}

/// bind_nak reasons ([C706] p_reject_reason_t).
pub mod nak {
    pub const REASON_NOT_SPECIFIED: u16 = 0;
    pub const TEMPORARY_CONGESTION: u16 = 1;
    pub const LOCAL_LIMIT_EXCEEDED: u16 = 2;
    pub const PROTOCOL_VERSION_NOT_SUPPORTED: u16 = 4;
    pub const AUTHENTICATION_TYPE_NOT_RECOGNIZED: u16 = 8;
    pub const INVALID_CHECKSUM: u16 = 9;
}

/// Authentication levels ([MS-RPCE] 2.2.1.1.8).
pub mod auth_level {
    pub const NONE: u8 = 1;
    pub const CONNECT: u8 = 2;
    pub const CALL: u8 = 3;
    pub const PKT: u8 = 4;
    pub const PKT_INTEGRITY: u8 = 5;
    pub const PKT_PRIVACY: u8 = 6;
}

/// Bind time feature negotiation bits ([MS-RPCE] 2.2.2.14).
pub mod btfn {
    /// First 8 octets of the feature-negotiation "transfer syntax" UUID: 6cb71c2c-9812-4540.
    pub const UUID_PREFIX: [u8; 8] = [0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45];
    pub const SECURITY_CONTEXT_MULTIPLEXING: u16 = 0x01;
    pub const KEEP_CONNECTION_ON_ORPHAN: u16 = 0x02;
}

/// Why a PDU could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("pdu truncated: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("unsupported rpc version {0}.{1}")]
    Version(u8, u8),
    #[error("unknown packet type {0}")]
    UnknownType(u8),
    #[error("frag_length {frag} does not match the {len} bytes given")]
    FragLength { frag: u16, len: usize },
    #[error("auth_length {0} does not fit the fragment")]
    AuthLength(u16),
    #[error("auth_pad_length {0} larger than the body")]
    AuthPad(u8),
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// The common header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub ptype: PacketType,
    pub pfc_flags: u8,
    pub drep: [u8; 4],
    pub frag_length: u16,
    pub auth_length: u16,
    pub call_id: u32,
}

impl Header {
    /// Integer byte order the sender used.
    pub fn order(&self) -> ByteOrder {
        drep_order(self.drep)
    }
}

/// Byte order named by a drep.
pub fn drep_order(drep: [u8; 4]) -> ByteOrder {
    if drep[0] & 0x10 != 0 {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    }
}

/// The drep clusapid sends: little-endian integers, ASCII characters, IEEE floats.
pub const DREP_LE: [u8; 4] = [0x10, 0, 0, 0];

/// A bounds-checked cursor over a PDU, honouring the sender's byte order.
struct Cur<'a> {
    b: &'a [u8],
    p: usize,
    order: ByteOrder,
}

impl<'a> Cur<'a> {
    /// A cursor at the end of the common header of `h`'s fragment `buf`.
    fn after_header(buf: &'a [u8], h: &Header) -> Self {
        Cur { b: buf, p: HEADER_LEN, order: h.order() }
    }
    /// A cursor over the body of `h`'s fragment `buf`: after the common header, up to
    /// `body_end` (where the auth trailer starts); `what` names the body in the error.
    fn body(buf: &'a [u8], h: &Header, body_end: usize, what: &'static str) -> Result<Self, PduError> {
        let body = buf.get(..body_end).ok_or(PduError::Malformed(what))?;
        Ok(Self::after_header(body, h))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], PduError> {
        let end = self.p.checked_add(n).ok_or(PduError::Malformed("length overflow"))?;
        let s = self.b.get(self.p..end).ok_or(PduError::Truncated { need: end, have: self.b.len() })?;
        self.p = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, PduError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, PduError> {
        let s = self.take(2)?;
        Ok(match self.order {
            ByteOrder::Little => u16::from_le_bytes([s[0], s[1]]),
            ByteOrder::Big => u16::from_be_bytes([s[0], s[1]]),
        })
    }
    fn u32(&mut self) -> Result<u32, PduError> {
        let s = self.take(4)?;
        Ok(match self.order {
            ByteOrder::Little => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
            ByteOrder::Big => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        })
    }
    fn align(&mut self, n: usize) -> Result<(), PduError> {
        let pad = (n - self.p % n) % n;
        self.take(pad).map(|_| ())
    }
    fn guid(&mut self) -> Result<Guid, PduError> {
        let s = self.take(16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(s);
        Ok(Guid::from_bytes(&a, self.order))
    }
    /// A `p_syntax_id_t`.
    fn syntax_id(&mut self) -> Result<SyntaxId, PduError> {
        Ok(SyntaxId { uuid: self.guid()?, version: self.u32()? })
    }
    /// `(max_xmit_frag, max_recv_frag, assoc_group_id)`, which bind and bind_ack bodies (and
    /// their alter_context forms) open with ([C706] 12.6.4.3, 12.6.4.4).
    fn assoc_fields(&mut self) -> Result<(u16, u16, u32), PduError> {
        Ok((self.u16()?, self.u16()?, self.u32()?))
    }
    /// `(alloc_hint, p_cont_id)`, which request, response and fault headers open with
    /// ([C706] 12.6.4.7, 12.6.4.9, 12.6.4.10).
    fn call_fields(&mut self) -> Result<(u32, u16), PduError> {
        Ok((self.u32()?, self.u16()?))
    }
}

/// Reads the fragment length from the first 16 bytes of a stream, so a transport can frame
/// PDUs. `None` until 16 bytes are there.
pub fn frame_length(buf: &[u8]) -> Option<usize> {
    if buf.len() < HEADER_LEN {
        return None;
    }
    let drep = [buf[4], buf[5], buf[6], buf[7]];
    let v = match drep_order(drep) {
        ByteOrder::Little => u16::from_le_bytes([buf[8], buf[9]]),
        ByteOrder::Big => u16::from_be_bytes([buf[8], buf[9]]),
    };
    Some(usize::from(v))
}

/// Parses the common header of one complete fragment and checks frag_length against it.
pub fn parse_header(buf: &[u8]) -> Result<Header, PduError> {
    if buf.len() < HEADER_LEN {
        return Err(PduError::Truncated { need: HEADER_LEN, have: buf.len() });
    }
    let (vers, minor) = (buf[0], buf[1]);
    if vers != 5 || minor > 1 {
        return Err(PduError::Version(vers, minor));
    }
    let ptype = PacketType::from_u8(buf[2]).ok_or(PduError::UnknownType(buf[2]))?;
    let drep = [buf[4], buf[5], buf[6], buf[7]];
    let mut c = Cur { b: buf, p: 8, order: drep_order(drep) };
    let frag_length = c.u16()?;
    let auth_length = c.u16()?;
    let call_id = c.u32()?;
    if usize::from(frag_length) != buf.len() {
        return Err(PduError::FragLength { frag: frag_length, len: buf.len() });
    }
    Ok(Header { ptype, pfc_flags: buf[3], drep, frag_length, auth_length, call_id })
}

/// The sec_trailer that precedes the auth value ([MS-RPCE] 2.2.2.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SecTrailer {
    pub auth_type: u8,
    pub auth_level: u8,
    pub auth_pad_length: u8,
    pub auth_context_id: u32,
}

/// Where the authentication parts of a fragment are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthParts {
    pub trailer: SecTrailer,
    /// Offset of the sec_trailer in the fragment.
    pub trailer_offset: usize,
    /// Offset of the auth value (trailer_offset + 8); it runs to the end of the fragment.
    pub value_offset: usize,
}

/// Locates and parses the authentication trailer of a fragment whose auth_length is non-zero.
pub fn auth_parts(buf: &[u8], h: &Header) -> Result<Option<AuthParts>, PduError> {
    if h.auth_length == 0 {
        return Ok(None);
    }
    let al = usize::from(h.auth_length);
    let value_offset = buf.len().checked_sub(al).ok_or(PduError::AuthLength(h.auth_length))?;
    let trailer_offset = value_offset.checked_sub(SEC_TRAILER_LEN).ok_or(PduError::AuthLength(h.auth_length))?;
    if trailer_offset < HEADER_LEN {
        return Err(PduError::AuthLength(h.auth_length));
    }
    let mut c = Cur { b: buf, p: trailer_offset, order: h.order() };
    let auth_type = c.u8()?;
    let auth_level = c.u8()?;
    let auth_pad_length = c.u8()?;
    let _reserved = c.u8()?;
    let auth_context_id = c.u32()?;
    Ok(Some(AuthParts {
        trailer: SecTrailer { auth_type, auth_level, auth_pad_length, auth_context_id },
        trailer_offset,
        value_offset,
    }))
}

/// `p_syntax_id_t`: interface or transfer syntax UUID and version (major in the low 16 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SyntaxId {
    pub uuid: Guid,
    pub version: u32,
}

impl SyntaxId {
    /// Major version.
    pub fn major(&self) -> u16 {
        (self.version & 0xffff) as u16
    }
    /// Minor version.
    pub fn minor(&self) -> u16 {
        (self.version >> 16) as u16
    }
    /// From major/minor.
    pub fn new(uuid: Guid, major: u16, minor: u16) -> Self {
        SyntaxId { uuid, version: u32::from(major) | (u32::from(minor) << 16) }
    }
    /// NDR 2.0.
    pub fn ndr20() -> Self {
        SyntaxId::new(idl::NDR20_UUID, 2, 0)
    }
    /// Whether this is a bind time feature negotiation syntax ([MS-RPCE] 2.2.2.14).
    pub fn feature_bits(&self) -> Option<u16> {
        let b = self.uuid.to_le_bytes();
        if b[..8] == btfn::UUID_PREFIX && self.version == 1 {
            Some(u16::from_le_bytes([b[8], b[9]]))
        } else {
            None
        }
    }
    fn write(&self, o: &mut Vec<u8>) {
        o.extend_from_slice(&self.uuid.to_le_bytes());
        o.extend_from_slice(&self.version.to_le_bytes());
    }
}

/// `p_cont_elem_t`: one presentation context of a bind / alter_context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextElem {
    pub context_id: u16,
    pub abstract_syntax: SyntaxId,
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// bind / alter_context body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    pub contexts: Vec<ContextElem>,
}

/// Parses a bind or alter_context body (the bytes after the header, up to the auth trailer).
pub fn parse_bind(buf: &[u8], h: &Header, body_end: usize) -> Result<Bind, PduError> {
    let mut c = Cur::body(buf, h, body_end, "bind body")?;
    let (max_xmit_frag, max_recv_frag, assoc_group_id) = c.assoc_fields()?;
    let n = c.u8()?;
    c.take(3)?;
    let mut contexts = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let context_id = c.u16()?;
        let n_ts = c.u8()?;
        c.u8()?;
        let abstract_syntax = c.syntax_id()?;
        if n_ts == 0 {
            return Err(PduError::Malformed("context without transfer syntax"));
        }
        let mut transfer_syntaxes = Vec::with_capacity(usize::from(n_ts));
        for _ in 0..n_ts {
            transfer_syntaxes.push(c.syntax_id()?);
        }
        contexts.push(ContextElem { context_id, abstract_syntax, transfer_syntaxes });
    }
    Ok(Bind { max_xmit_frag, max_recv_frag, assoc_group_id, contexts })
}

impl Bind {
    /// Bytes the body takes after the common header: max_xmit_frag, max_recv_frag,
    /// assoc_group_id, the context count with its padding, and every context element.
    pub fn wire_len(&self) -> usize {
        12 + self.contexts.iter().map(|c| 4 + 20 + 20 * c.transfer_syntaxes.len()).sum::<usize>()
    }
}

// ------------------------------------------------------------------------- validation ---
//
// Checks of what a header field claims against what the fragment holds, beyond what parsing
// needs ([C706] 12.6, [MS-RPCE] 2.2.2.11). The server calls them before acting on a PDU.

/// Checks the auth trailer's placement: the sec_trailer starts on a 4-byte boundary
/// ([MS-RPCE] 2.2.2.11 pads to it), and the auth_pad_length octets before it lie after
/// `content_end`, the end of what the PDU type's body holds (the bind's context list, the
/// request header, auth3's 4 octets), so the padding never reaches back into the body or the
/// header.
pub fn check_auth_placement(a: &AuthParts, content_end: usize) -> Result<(), PduError> {
    if !a.trailer_offset.is_multiple_of(4) {
        return Err(PduError::Malformed("sec_trailer not 4-byte aligned"));
    }
    let room =
        a.trailer_offset.checked_sub(content_end).ok_or(PduError::Malformed("auth trailer overlaps the body"))?;
    if usize::from(a.trailer.auth_pad_length) > room {
        return Err(PduError::AuthPad(a.trailer.auth_pad_length));
    }
    Ok(())
}

/// One `p_result_t` of a bind_ack / alter_context_resp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextResult {
    pub result: u16,
    pub reason: u16,
    pub transfer_syntax: SyntaxId,
}

/// bind_ack / alter_context_resp body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindAck {
    pub max_xmit_frag: u16,
    pub max_recv_frag: u16,
    pub assoc_group_id: u32,
    /// Secondary address (the port as a string); empty in alter_context_resp.
    pub sec_addr: String,
    pub results: Vec<ContextResult>,
}

/// Writes the common header; frag_length and auth_length are patched by [`finish_pdu`].
pub fn write_header(o: &mut Vec<u8>, ptype: PacketType, flags: u8, call_id: u32) -> usize {
    let start = o.len();
    o.extend_from_slice(&[5, 0, ptype as u8, flags]);
    o.extend_from_slice(&DREP_LE);
    o.extend_from_slice(&[0, 0, 0, 0]);
    o.extend_from_slice(&call_id.to_le_bytes());
    start
}

/// Patches frag_length and auth_length of the PDU that starts at `start`.
pub fn finish_pdu(o: &mut [u8], start: usize, auth_length: u16) {
    let len = u16::try_from(o.len() - start).unwrap_or(u16::MAX);
    o[start + 8..start + 10].copy_from_slice(&len.to_le_bytes());
    o[start + 10..start + 12].copy_from_slice(&auth_length.to_le_bytes());
}

/// Appends a sec_trailer.
pub fn write_sec_trailer(o: &mut Vec<u8>, t: &SecTrailer) {
    o.extend_from_slice(&[t.auth_type, t.auth_level, t.auth_pad_length, 0]);
    o.extend_from_slice(&t.auth_context_id.to_le_bytes());
}

/// Encodes a bind_ack or alter_context_resp, with an optional auth trailer + token.
pub fn encode_bind_ack(
    o: &mut Vec<u8>,
    ptype: PacketType,
    flags: u8,
    call_id: u32,
    ack: &BindAck,
    auth: Option<(&SecTrailer, &[u8])>,
) {
    let start = write_header(o, ptype, flags, call_id);
    o.extend_from_slice(&ack.max_xmit_frag.to_le_bytes());
    o.extend_from_slice(&ack.max_recv_frag.to_le_bytes());
    o.extend_from_slice(&ack.assoc_group_id.to_le_bytes());
    if ack.sec_addr.is_empty() {
        o.extend_from_slice(&0u16.to_le_bytes());
    } else {
        let n = u16::try_from(ack.sec_addr.len() + 1).unwrap_or(0);
        o.extend_from_slice(&n.to_le_bytes());
        o.extend_from_slice(ack.sec_addr.as_bytes());
        o.push(0);
    }
    while !(o.len() - start).is_multiple_of(4) {
        o.push(0);
    }
    o.push(u8::try_from(ack.results.len()).unwrap_or(0));
    o.extend_from_slice(&[0, 0, 0]);
    for r in &ack.results {
        o.extend_from_slice(&r.result.to_le_bytes());
        o.extend_from_slice(&r.reason.to_le_bytes());
        r.transfer_syntax.write(o);
    }
    let mut auth_len = 0;
    if let Some((t, token)) = auth {
        write_sec_trailer(o, t);
        o.extend_from_slice(token);
        auth_len = u16::try_from(token.len()).unwrap_or(0);
    }
    finish_pdu(o, start, auth_len);
}

/// Parses a bind_ack / alter_context_resp body (client side).
pub fn parse_bind_ack(buf: &[u8], h: &Header, body_end: usize) -> Result<BindAck, PduError> {
    let mut c = Cur::body(buf, h, body_end, "bind_ack body")?;
    let (max_xmit_frag, max_recv_frag, assoc_group_id) = c.assoc_fields()?;
    let n = usize::from(c.u16()?);
    let sec_addr = c.take(n)?;
    let sec_addr = String::from_utf8_lossy(sec_addr.strip_suffix(&[0]).unwrap_or(sec_addr)).into_owned();
    c.align(4)?;
    let nres = c.u8()?;
    c.take(3)?;
    let mut results = Vec::new();
    for _ in 0..nres {
        let result = c.u16()?;
        let reason = c.u16()?;
        let transfer_syntax = c.syntax_id()?;
        results.push(ContextResult { result, reason, transfer_syntax });
    }
    Ok(BindAck { max_xmit_frag, max_recv_frag, assoc_group_id, sec_addr, results })
}

/// Encodes a bind_nak ([C706] 12.6.4.4) with the supported-versions list (5.0).
pub fn encode_bind_nak(o: &mut Vec<u8>, call_id: u32, reason: u16) {
    let start = write_header(o, PacketType::BindNak, pfc::FIRST_FRAG | pfc::LAST_FRAG, call_id);
    o.extend_from_slice(&reason.to_le_bytes());
    // p_rt_versions_supported_t: one entry, 5.0
    o.extend_from_slice(&[1, 5, 0]);
    // pad to a 4-byte multiple
    while !(o.len() - start).is_multiple_of(4) {
        o.push(0);
    }
    finish_pdu(o, start, 0);
}

/// Encodes a fault PDU ([C706] 12.6.4.7). `did_not_execute` sets PFC_DID_NOT_EXECUTE.
pub fn encode_fault(o: &mut Vec<u8>, call_id: u32, context_id: u16, status: u32, did_not_execute: bool) {
    let mut flags = pfc::FIRST_FRAG | pfc::LAST_FRAG;
    if did_not_execute {
        flags |= pfc::DID_NOT_EXECUTE;
    }
    let start = write_header(o, PacketType::Fault, flags, call_id);
    o.extend_from_slice(&0u32.to_le_bytes()); // alloc_hint
    o.extend_from_slice(&context_id.to_le_bytes());
    o.push(0); // cancel_count
    o.push(0); // reserved (flags in [MS-RPCE])
    o.extend_from_slice(&status.to_le_bytes());
    o.extend_from_slice(&0u32.to_le_bytes()); // reserved
    finish_pdu(o, start, 0);
}

/// The fixed part of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHdr {
    pub alloc_hint: u32,
    pub context_id: u16,
    pub opnum: u16,
    pub object: Option<Guid>,
    /// Offset of the stub in the fragment.
    pub stub_offset: usize,
}

/// Parses the fixed part of a request.
pub fn parse_request(buf: &[u8], h: &Header) -> Result<RequestHdr, PduError> {
    let mut c = Cur::after_header(buf, h);
    let (alloc_hint, context_id) = c.call_fields()?;
    let opnum = c.u16()?;
    let object = if h.pfc_flags & pfc::OBJECT_UUID != 0 { Some(c.guid()?) } else { None };
    Ok(RequestHdr { alloc_hint, context_id, opnum, object, stub_offset: c.p })
}

/// The fixed part of a response or fault (client side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHdr {
    pub alloc_hint: u32,
    pub context_id: u16,
    pub cancel_count: u8,
    /// Fault status (faults only).
    pub status: u32,
}

/// Parses a response or fault fixed part.
pub fn parse_response(buf: &[u8], h: &Header) -> Result<ResponseHdr, PduError> {
    let mut c = Cur::after_header(buf, h);
    let (alloc_hint, context_id) = c.call_fields()?;
    let cancel_count = c.u8()?;
    c.u8()?;
    let status = if h.ptype == PacketType::Fault { c.u32()? } else { 0 };
    Ok(ResponseHdr { alloc_hint, context_id, cancel_count, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptype_octets() {
        for t in PacketType::ALL {
            assert_eq!(PacketType::from_u8(t as u8), Some(t), "{t:?}");
        }
        // connectionless-only (request 0 apart) and undefined types
        let known: Vec<u8> = (0..=255).filter(|v| PacketType::from_u8(*v).is_some()).collect();
        assert_eq!(known, [0, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    }

    fn bind_bytes(order_le: bool) -> Vec<u8> {
        // a bind with two contexts: clusapi/NDR20 and clusapi/[NDR64, feature negotiation]
        let mut o = vec![5, 0, 11, 3];
        o.extend_from_slice(if order_le { &[0x10, 0, 0, 0] } else { &[0, 0, 0, 0] });
        let put16 =
            |o: &mut Vec<u8>, v: u16| o.extend_from_slice(&if order_le { v.to_le_bytes() } else { v.to_be_bytes() });
        let put32 =
            |o: &mut Vec<u8>, v: u32| o.extend_from_slice(&if order_le { v.to_le_bytes() } else { v.to_be_bytes() });
        put16(&mut o, 0);
        put16(&mut o, 0);
        put32(&mut o, 7);
        put16(&mut o, 5840);
        put16(&mut o, 5840);
        put32(&mut o, 0);
        o.extend_from_slice(&[1, 0, 0, 0]);
        put16(&mut o, 0);
        o.extend_from_slice(&[1, 0]);
        // a GUID's first three fields follow the byte order, its last eight octets do not
        let put_guid = |o: &mut Vec<u8>, g: Guid| {
            let mut b = g.to_le_bytes();
            if !order_le {
                b[0..4].reverse();
                b[4..6].reverse();
                b[6..8].reverse();
            }
            o.extend_from_slice(&b);
        };
        put_guid(&mut o, Guid::parse("b97db8b2-4c63-11cf-bff6-08002be23f2f"));
        put32(&mut o, 3);
        put_guid(&mut o, idl::NDR20_UUID);
        put32(&mut o, 2);
        let n = o.len() as u16;
        if order_le {
            o[8..10].copy_from_slice(&n.to_le_bytes());
        } else {
            o[8..10].copy_from_slice(&n.to_be_bytes());
        }
        o
    }

    #[test]
    fn parse_bind_both_byte_orders() {
        for le in [true, false] {
            let b = bind_bytes(le);
            assert_eq!(frame_length(&b), Some(b.len()));
            let h = parse_header(&b).unwrap();
            assert_eq!(h.ptype, PacketType::Bind);
            assert_eq!(h.call_id, 7);
            let bind = parse_bind(&b, &h, b.len()).unwrap();
            assert_eq!(bind.max_xmit_frag, 5840);
            assert_eq!(bind.contexts.len(), 1);
            assert_eq!(bind.contexts[0].abstract_syntax.major(), 3);
            assert_eq!(bind.contexts[0].abstract_syntax.uuid, Guid::parse("b97db8b2-4c63-11cf-bff6-08002be23f2f"));
            assert_eq!(bind.contexts[0].transfer_syntaxes[0], SyntaxId::ndr20());
            // every truncation is an error, never a panic
            for n in 0..b.len() {
                let _ = parse_header(&b[..n]).and_then(|h| parse_bind(&b[..n], &h, n));
            }
        }
    }

    #[test]
    fn bind_ack_roundtrip() {
        let ack = BindAck {
            max_xmit_frag: 5840,
            max_recv_frag: 5840,
            assoc_group_id: 0x1234,
            sec_addr: "4135".into(),
            results: vec![
                ContextResult { result: 0, reason: 0, transfer_syntax: SyntaxId::ndr20() },
                ContextResult { result: 2, reason: 2, transfer_syntax: SyntaxId::default() },
            ],
        };
        let mut o = Vec::new();
        let t = SecTrailer { auth_type: 10, auth_level: 6, auth_pad_length: 0, auth_context_id: 1 };
        encode_bind_ack(&mut o, PacketType::BindAck, 3, 2, &ack, Some((&t, b"token")));
        let h = parse_header(&o).unwrap();
        let ap = auth_parts(&o, &h).unwrap().unwrap();
        assert_eq!(ap.trailer, t);
        assert_eq!(&o[ap.value_offset..], b"token");
        assert_eq!(ap.trailer_offset % 4, 0);
        assert_eq!(parse_bind_ack(&o, &h, ap.trailer_offset).unwrap(), ack);
    }

    #[test]
    fn fault_and_nak_layout() {
        let mut o = Vec::new();
        encode_fault(&mut o, 9, 1, fault::NCA_S_OP_RNG_ERROR, true);
        assert_eq!(o.len(), 32);
        let h = parse_header(&o).unwrap();
        assert_eq!(h.ptype, PacketType::Fault);
        let r = parse_response(&o, &h).unwrap();
        assert_eq!(r.status, fault::NCA_S_OP_RNG_ERROR);
        let mut o = Vec::new();
        encode_bind_nak(&mut o, 1, nak::PROTOCOL_VERSION_NOT_SUPPORTED);
        assert_eq!(parse_header(&o).unwrap().frag_length as usize, o.len());
        assert_eq!(o.len() % 4, 0);
    }

    #[test]
    fn bad_headers() {
        assert!(matches!(parse_header(&[4, 0, 0, 0]), Err(PduError::Truncated { .. })));
        let mut b = bind_bytes(true);
        b[0] = 4;
        assert_eq!(parse_header(&b), Err(PduError::Version(4, 0)));
        let mut b = bind_bytes(true);
        b[2] = 99;
        assert_eq!(parse_header(&b), Err(PduError::UnknownType(99)));
        let mut b = bind_bytes(true);
        b[10] = 0xff; // auth_length larger than the fragment
        let h = parse_header(&b).unwrap();
        assert!(auth_parts(&b, &h).is_err());
    }
}
