//! Sans-I/O codecs for the part of ctdbd's Unix-socket protocol this backend
//! speaks: the packet header, CTDB_REQ_CONTROL / CTDB_REPLY_CONTROL,
//! CTDB_REQ_MESSAGE, and the control and message payloads listed below.
//!
//! Wire facts (all integers little-endian, i.e. host order on the platforms
//! ctdbd runs on; structures are C structs with natural alignment):
//!
//! * Header, 32 bytes: `length` (whole packet, padded), `magic` "CTDB"
//!   (0x43544442), `version` 1, `generation`, `operation`, `destnode`,
//!   `srcnode`, `reqid`. Packets are padded with zeros to a multiple of 8.
//! * REQ_CONTROL: header, `opcode` u32, pad u32, `srvid` u64, `client_id` u32,
//!   `flags` u32, `datalen` u32, data (data at offset 60).
//! * REPLY_CONTROL: header, `status` i32, `datalen` u32, `errorlen` u32, data,
//!   then the error text (data at offset 44).
//! * REQ_MESSAGE: header, `srvid` u64, `datalen` u32, data (offset 44).
//! * `ctdb_sock_addr`: a 28-byte union of `sockaddr_in` / `sockaddr_in6`;
//!   family u16 (host order, AF_INET = 2, AF_INET6 = 10), port u16 (network
//!   order), then the address in network order.
//! * `ctdb_node_and_flags` (36 bytes): pnn u32, flags u32, sock addr.
//!   `ctdb_node_map`: num u32 + entries.
//! * `ctdb_public_ip` (32 bytes): pnn u32, sock addr. `ctdb_public_ip_list`:
//!   num u32 + entries.
//! * `ctdb_iface` (24 bytes): name `char[18]` (NUL padded), link_state u16,
//!   references u32. `ctdb_iface_list`: num u32 + entries.
//! * `ctdb_public_ip_info`: public_ip (32), active_idx u32, num u32, ifaces.
//! * `ctdb_vnn_map`: generation u32, size u32, map `u32[size]`.
//! * `ctdb_node_flag_change` (12 bytes): pnn, new_flags, old_flags.
//! * `ctdb_srvid_message` (16 bytes): pnn u32, pad u32, srvid u64.
//!
//! Persistent databases (see [`super::pdb`]):
//!
//! * `ctdb_ltdb_header` (24 bytes), in front of every record value in a
//!   database: `rsn` u64 (record sequence number), `dmaster` u32,
//!   `reserved1` u32, `flags` u32, 4 bytes of padding.
//! * `ctdb_rec_data` (no padding): `length` u32 (the whole structure),
//!   `reqid` u32, `keylen` u32, `datalen` u32, key, data. Where a record
//!   carries its ltdb header (TRANS3_COMMIT, traverse messages) the header
//!   is the first 24 bytes of `data` and counts in `datalen`.
//! * `ctdb_rec_buffer` (`ctdb_marshall_buffer`): `db_id` u32, `count` u32,
//!   then `count` `ctdb_rec_data` back to back.
//! * `ctdb_traverse_start` (16 bytes): `db_id` u32, `reqid` u32, `srvid` u64.
//! * `ctdb_dbid_map`: num u32, entries of `db_id` u32, `flags` u8, 3 pad.
//! * DB_ATTACH_PERSISTENT takes the NUL-terminated name and answers the
//!   db_id (u32); GETDBPATH takes a db_id (u32) and answers a NUL-terminated
//!   path; GET_DB_SEQNUM takes the db_id padded to 8 bytes and answers a u64
//!   (the value of the `__db_sequence_number__` record).
//!
//! Decoders never panic: every length is checked against the bytes present
//! before anything is read or allocated, and counts are bounded by the data
//! that could hold them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// "CTDB" as the header's magic field.
pub const CTDB_MAGIC: u32 = 0x4354_4442;
/// Protocol version in every header.
pub const CTDB_PROTOCOL: u32 = 1;
/// Size of the packet header.
pub const HEADER_LEN: usize = 32;
/// Packets are padded to this alignment.
pub const PACKET_ALIGN: usize = 8;
/// Largest packet this client accepts from ctdbd (node maps, IP lists and
/// interface lists of even very large clusters are far smaller).
pub const MAX_PACKET_LEN: usize = 4 * 1024 * 1024;

/// `enum ctdb_operation`.
pub mod operation {
    pub const REQ_CALL: u32 = 0;
    pub const REPLY_CALL: u32 = 1;
    pub const REQ_DMASTER: u32 = 2;
    pub const REPLY_DMASTER: u32 = 3;
    pub const REPLY_ERROR: u32 = 4;
    pub const REQ_MESSAGE: u32 = 5;
    pub const REQ_CONTROL: u32 = 7;
    pub const REPLY_CONTROL: u32 = 8;
    pub const REQ_KEEPALIVE: u32 = 9;
    pub const REQ_TUNNEL: u32 = 10;
}

/// Destination node on the Unix socket: the local daemon.
pub const CTDB_CURRENT_NODE: u32 = 0xF000_0001;
/// Broadcast to all nodes, active or not.
pub const CTDB_BROADCAST_ALL: u32 = 0xF000_0002;
/// Broadcast to the nodes of the current vnn map.
pub const CTDB_BROADCAST_ACTIVE: u32 = 0xF000_0003;
/// Broadcast to all connected nodes.
pub const CTDB_BROADCAST_CONNECTED: u32 = 0xF000_0004;
/// "No node" (a public IP hosted nowhere reports this pnn).
pub const CTDB_UNKNOWN_PNN: u32 = 0xFFFF_FFFF;

/// Control opcodes (`enum ctdb_controls`) used here.
pub mod opcode {
    pub const GETVNNMAP: u32 = 5;
    pub const GETDBPATH: u32 = 4;
    pub const GET_DBMAP: u32 = 9;
    pub const GET_RECMODE: u32 = 15;
    /// Starts a traverse; the records arrive as messages to a srvid.
    pub const TRAVERSE_START: u32 = 20;
    pub const REGISTER_SRVID: u32 = 23;
    pub const DEREGISTER_SRVID: u32 = 24;
    /// Obsolete since CTDB 4.17 (answers -1); the leader is learnt from
    /// `CTDB_SRVID_LEADER` broadcasts instead.
    pub const GET_RECMASTER: u32 = 31;
    pub const GET_PNN: u32 = 35;
    pub const MODIFY_FLAGS: u32 = 52;
    pub const DB_ATTACH_PERSISTENT: u32 = 61;
    pub const RELEASE_IP: u32 = 88;
    pub const TAKEOVER_IP: u32 = 89;
    pub const GET_PUBLIC_IPS: u32 = 90;
    pub const GET_NODEMAP: u32 = 91;
    pub const STOP_NODE: u32 = 101;
    pub const CONTINUE_NODE: u32 = 102;
    /// Commits a record buffer to a persistent database on every active node.
    pub const TRANS3_COMMIT: u32 = 119;
    pub const GET_DB_SEQNUM: u32 = 120;
    pub const GET_PUBLIC_IP_INFO: u32 = 123;
    pub const GET_IFACES: u32 = 124;
    pub const GET_RUNSTATE: u32 = 138;
    pub const DISABLE_NODE: u32 = 157;
    pub const ENABLE_NODE: u32 = 158;
}

/// Message ports (srvids) used here.
pub mod srvid {
    /// The leader broadcasts its pnn (u32) here about once a second.
    pub const LEADER: u64 = 0xF101_0000_0000_0000;
    /// Sent to clients when the cluster has been reconfigured (recovery).
    pub const RECONFIGURE: u64 = 0xF200_0000_0000_0000;
    /// Sent to local clients when a public IP is released (NUL-terminated text).
    pub const RELEASE_IP: u64 = 0xF300_0000_0000_0000;
    /// Sent to local clients when a public IP is taken over (NUL-terminated text).
    pub const TAKE_IP: u64 = 0xF301_0000_0000_0000;
    /// Node flag changes (obsolete in current CTDB, harmless to listen to).
    pub const SET_NODE_FLAGS: u64 = 0xF400_0000_0000_0000;
    /// Asks the recovery daemon to push node flags to other nodes.
    pub const PUSH_NODE_FLAGS: u64 = 0xF900_0000_0000_0000;
    /// Asks the leader for a takeover run (payload `ctdb_srvid_message`);
    /// the reply (an i32 status) goes to the srvid in the payload.
    pub const TAKEOVER_RUN: u64 = 0xFB00_0000_0000_0000;
    /// Disables the recovery daemon's public-IP consistency check for a
    /// number of seconds (payload u32), as `ctdb moveip` does first.
    pub const DISABLE_IP_CHECK: u64 = 0xFC00_0000_0000_0000;
    /// Range reserved for CTDB client code (top 8 bits).
    pub const CLIENT_RANGE: u64 = 0xBE00_0000_0000_0000;
}

/// `CTDB_CTRL_FLAG_NOREPLY`.
pub const CTRL_FLAG_NOREPLY: u32 = 1;
/// GET_PUBLIC_IPS: only addresses this node could host right now.
pub const PUBLIC_IP_FLAGS_ONLY_AVAILABLE: u32 = 0x0001_0000;

/// `CTDB_RECOVERY_ACTIVE` as returned by GET_RECMODE.
pub const RECOVERY_ACTIVE: i32 = 1;

/// Key of the record holding a persistent database's sequence number
/// (the NUL is part of the key).
pub const DB_SEQNUM_KEY: &[u8] = b"__db_sequence_number__\0";
/// `CTDB_DB_FLAGS_PERSISTENT` in a `ctdb_dbid`.
pub const DB_FLAGS_PERSISTENT: u8 = 0x01;
/// Size of `ctdb_ltdb_header`.
pub const LTDB_HEADER_LEN: usize = 24;
/// Fixed part of `ctdb_rec_data` (length, reqid, keylen, datalen).
pub const REC_DATA_FIXED_LEN: usize = 16;
/// Size of a `ctdb_dbid` entry.
pub const DBID_LEN: usize = 8;

/// Interface name field size (`CTDB_IFACE_SIZE + 2`).
pub const IFACE_NAME_LEN: usize = 18;
/// Size of `ctdb_sock_addr`.
pub const SOCK_ADDR_LEN: usize = 28;
/// Size of `ctdb_node_and_flags`.
pub const NODE_AND_FLAGS_LEN: usize = 8 + SOCK_ADDR_LEN;
/// Size of `ctdb_public_ip`.
pub const PUBLIC_IP_LEN: usize = 4 + SOCK_ADDR_LEN;
/// Size of `ctdb_iface`.
pub const IFACE_LEN: usize = 24;

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Why bytes from ctdbd could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the structure needs.
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    BadMagic(u32),
    BadVersion(u32),
    /// The header's length field is impossible or over [`MAX_PACKET_LEN`].
    BadLength(u32),
    /// An address family other than AF_INET / AF_INET6.
    BadFamily(u16),
    /// A reply of a different operation than expected.
    UnexpectedOperation(u32),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { what, need, have } => {
                write!(f, "truncated {what}: need {need} bytes, have {have}")
            }
            DecodeError::BadMagic(m) => write!(f, "bad magic {m:#010x}"),
            DecodeError::BadVersion(v) => write!(f, "unsupported protocol version {v}"),
            DecodeError::BadLength(l) => write!(f, "bad packet length {l}"),
            DecodeError::BadFamily(fam) => write!(f, "unknown address family {fam}"),
            DecodeError::UnexpectedOperation(op) => write!(f, "unexpected operation {op}"),
        }
    }
}

impl std::error::Error for DecodeError {}

type DResult<T> = Result<T, DecodeError>;

/// A bounds-checked little-endian reader.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, pos: 0, what }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn bytes(&mut self, n: usize) -> DResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                what: self.what,
                need: self.pos.saturating_add(n),
                have: self.buf.len(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> DResult<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    fn u16(&mut self) -> DResult<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> DResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn i32(&mut self) -> DResult<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> DResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a count of `elem_len`-byte elements and checks that that many
    /// elements fit in what is left, so the caller may allocate for them.
    fn count(&mut self, elem_len: usize) -> DResult<usize> {
        let n = self.u32()? as usize;
        let need = n.saturating_mul(elem_len);
        if need > self.remaining() {
            return Err(DecodeError::Truncated {
                what: self.what,
                need: self.pos.saturating_add(need),
                have: self.buf.len(),
            });
        }
        Ok(n)
    }

    /// A counted list: the count (checked as [`Reader::count`] does for `elem_len`-byte
    /// elements), then each element read with `elem`.
    fn list<T>(&mut self, elem_len: usize, mut elem: impl FnMut(&mut Self) -> DResult<T>) -> DResult<Vec<T>> {
        let n = self.count(elem_len)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(elem(self)?);
        }
        Ok(out)
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A counted list as [`Reader::list`] reads it: the count, then each element written by `elem`.
fn put_list<T>(out: &mut Vec<u8>, items: &[T], mut elem: impl FnMut(&T, &mut Vec<u8>)) {
    put_u32(out, items.len() as u32);
    for i in items {
        elem(i, out);
    }
}

// ---------------------------------------------------------------- header ----

/// `struct ctdb_req_header`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub length: u32,
    pub generation: u32,
    pub operation: u32,
    pub destnode: u32,
    pub srcnode: u32,
    pub reqid: u32,
}

impl Header {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.length);
        put_u32(out, CTDB_MAGIC);
        put_u32(out, CTDB_PROTOCOL);
        put_u32(out, self.generation);
        put_u32(out, self.operation);
        put_u32(out, self.destnode);
        put_u32(out, self.srcnode);
        put_u32(out, self.reqid);
    }

    /// Decodes and validates a header (magic, version, length bounds).
    pub fn decode(buf: &[u8]) -> DResult<Header> {
        let mut r = Reader::new(buf, "packet header");
        let length = r.u32()?;
        let magic = r.u32()?;
        if magic != CTDB_MAGIC {
            return Err(DecodeError::BadMagic(magic));
        }
        let version = r.u32()?;
        if version != CTDB_PROTOCOL {
            return Err(DecodeError::BadVersion(version));
        }
        let h = Header {
            length,
            generation: r.u32()?,
            operation: r.u32()?,
            destnode: r.u32()?,
            srcnode: r.u32()?,
            reqid: r.u32()?,
        };
        check_length(length)?;
        Ok(h)
    }
}

fn check_length(length: u32) -> DResult<usize> {
    let len = length as usize;
    if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&len) {
        return Err(DecodeError::BadLength(length));
    }
    Ok(len)
}

/// How many bytes the packet starting at `buf` occupies, once its first four
/// bytes (the length field) are present. `Ok(None)`: not enough bytes yet.
pub fn packet_length(buf: &[u8]) -> DResult<Option<usize>> {
    match buf.get(..4) {
        None => Ok(None),
        Some(b) => {
            let mut a = [0u8; 4];
            a.copy_from_slice(b);
            check_length(u32::from_le_bytes(a)).map(Some)
        }
    }
}

/// Pads a packet under construction to [`PACKET_ALIGN`] and stores its length.
fn finish_packet(mut out: Vec<u8>) -> Vec<u8> {
    let padded = out.len().div_ceil(PACKET_ALIGN) * PACKET_ALIGN;
    out.resize(padded, 0);
    let len = u32::try_from(padded).unwrap_or(u32::MAX).to_le_bytes();
    out[..4].copy_from_slice(&len);
    out
}

// --------------------------------------------------------------- control ----

/// A control request (`CTDB_REQ_CONTROL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReqControl {
    pub destnode: u32,
    pub srcnode: u32,
    pub reqid: u32,
    pub opcode: u32,
    /// The srvid argument (REGISTER_SRVID passes the port to register here).
    pub srvid: u64,
    pub client_id: u32,
    pub flags: u32,
    pub data: Vec<u8>,
}

impl ReqControl {
    /// A control with no srvid, flags or data.
    pub fn new(destnode: u32, opcode: u32) -> Self {
        Self {
            destnode,
            srcnode: CTDB_CURRENT_NODE,
            reqid: 0,
            opcode,
            srvid: 0,
            client_id: 0,
            flags: 0,
            data: Vec::new(),
        }
    }

    /// The padded wire form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.data.len());
        Header {
            length: 0,
            generation: 0,
            operation: operation::REQ_CONTROL,
            destnode: self.destnode,
            srcnode: self.srcnode,
            reqid: self.reqid,
        }
        .encode(&mut out);
        put_u32(&mut out, self.opcode);
        put_u32(&mut out, 0);
        put_u64(&mut out, self.srvid);
        put_u32(&mut out, self.client_id);
        put_u32(&mut out, self.flags);
        put_u32(&mut out, u32::try_from(self.data.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(&self.data);
        finish_packet(out)
    }

    /// Decodes a control request (used by tests and fake daemons).
    pub fn decode(buf: &[u8]) -> DResult<ReqControl> {
        let h = Header::decode(buf)?;
        if h.operation != operation::REQ_CONTROL {
            return Err(DecodeError::UnexpectedOperation(h.operation));
        }
        let pkt = packet_slice(buf, &h)?;
        let mut r = Reader::new(&pkt[HEADER_LEN..], "control request");
        let opcode = r.u32()?;
        let _pad = r.u32()?;
        let srvid = r.u64()?;
        let client_id = r.u32()?;
        let flags = r.u32()?;
        let datalen = r.u32()? as usize;
        let data = r.bytes(datalen)?.to_vec();
        Ok(ReqControl {
            destnode: h.destnode,
            srcnode: h.srcnode,
            reqid: h.reqid,
            opcode,
            srvid,
            client_id,
            flags,
            data,
        })
    }
}

/// A control reply (`CTDB_REPLY_CONTROL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyControl {
    pub reqid: u32,
    /// The header's generation (ctdbd fills in the current one).
    pub generation: u32,
    pub status: i32,
    pub data: Vec<u8>,
    /// Error text, if ctdbd sent one (trailing NULs removed, lossy UTF-8).
    pub errmsg: Option<String>,
}

impl ReplyControl {
    /// Decodes a reply; the header must say REPLY_CONTROL.
    pub fn decode(buf: &[u8]) -> DResult<ReplyControl> {
        let h = Header::decode(buf)?;
        if h.operation != operation::REPLY_CONTROL {
            return Err(DecodeError::UnexpectedOperation(h.operation));
        }
        let pkt = packet_slice(buf, &h)?;
        let mut r = Reader::new(&pkt[HEADER_LEN..], "control reply");
        let status = r.i32()?;
        let datalen = r.u32()? as usize;
        let errorlen = r.u32()? as usize;
        let data = r.bytes(datalen)?.to_vec();
        let err = r.bytes(errorlen)?;
        let err = trim_nul(err);
        let errmsg = (!err.is_empty()).then(|| String::from_utf8_lossy(err).into_owned());
        Ok(ReplyControl { reqid: h.reqid, generation: h.generation, status, data, errmsg })
    }

    /// Encodes a reply (used by tests and fake daemons).
    pub fn encode(&self) -> Vec<u8> {
        let err = self.errmsg.as_deref().unwrap_or("").as_bytes();
        let mut out = Vec::with_capacity(48 + self.data.len() + err.len());
        Header {
            length: 0,
            generation: self.generation,
            operation: operation::REPLY_CONTROL,
            destnode: 0,
            srcnode: 0,
            reqid: self.reqid,
        }
        .encode(&mut out);
        out.extend_from_slice(&self.status.to_le_bytes());
        put_u32(&mut out, u32::try_from(self.data.len()).unwrap_or(u32::MAX));
        put_u32(&mut out, u32::try_from(err.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(&self.data);
        out.extend_from_slice(err);
        finish_packet(out)
    }
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// The bytes of the packet `h` describes (checked against `buf`).
fn packet_slice<'a>(buf: &'a [u8], h: &Header) -> DResult<&'a [u8]> {
    let len = check_length(h.length)?;
    buf.get(..len).ok_or(DecodeError::Truncated { what: "packet", need: len, have: buf.len() })
}

// --------------------------------------------------------------- message ----

/// A message (`CTDB_REQ_MESSAGE`) to or from a srvid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReqMessage {
    pub destnode: u32,
    pub srcnode: u32,
    pub reqid: u32,
    pub srvid: u64,
    pub data: Vec<u8>,
}

impl ReqMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.data.len());
        Header {
            length: 0,
            generation: 0,
            operation: operation::REQ_MESSAGE,
            destnode: self.destnode,
            srcnode: self.srcnode,
            reqid: self.reqid,
        }
        .encode(&mut out);
        put_u64(&mut out, self.srvid);
        put_u32(&mut out, u32::try_from(self.data.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(&self.data);
        finish_packet(out)
    }

    pub fn decode(buf: &[u8]) -> DResult<ReqMessage> {
        let h = Header::decode(buf)?;
        if h.operation != operation::REQ_MESSAGE {
            return Err(DecodeError::UnexpectedOperation(h.operation));
        }
        let pkt = packet_slice(buf, &h)?;
        let mut r = Reader::new(&pkt[HEADER_LEN..], "message");
        let srvid = r.u64()?;
        let datalen = r.u32()? as usize;
        let data = r.bytes(datalen)?.to_vec();
        Ok(ReqMessage { destnode: h.destnode, srcnode: h.srcnode, reqid: h.reqid, srvid, data })
    }
}

/// A decoded packet from ctdbd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    Reply(ReplyControl),
    Message(ReqMessage),
    /// Any other operation (ignored by this client).
    Other {
        operation: u32,
        reqid: u32,
    },
}

/// Decodes one whole packet (as framed by [`packet_length`]).
pub fn decode_packet(buf: &[u8]) -> DResult<Packet> {
    let h = Header::decode(buf)?;
    match h.operation {
        operation::REPLY_CONTROL => ReplyControl::decode(buf).map(Packet::Reply),
        operation::REQ_MESSAGE => ReqMessage::decode(buf).map(Packet::Message),
        op => Ok(Packet::Other { operation: op, reqid: h.reqid }),
    }
}

// -------------------------------------------------------------- payloads ----

/// Decodes a `ctdb_sock_addr` (28 bytes).
pub fn decode_sock_addr(buf: &[u8]) -> DResult<IpAddr> {
    let mut r = Reader::new(buf, "sock addr");
    let raw = r.bytes(SOCK_ADDR_LEN)?;
    sock_addr_from(raw)
}

fn sock_addr_from(raw: &[u8]) -> DResult<IpAddr> {
    let mut r = Reader::new(raw, "sock addr");
    let family = r.u16()?;
    let _port = r.u16()?;
    match family {
        AF_INET => {
            let a: [u8; 4] = r.array()?;
            Ok(IpAddr::V4(Ipv4Addr::from(a)))
        }
        AF_INET6 => {
            let _flowinfo = r.u32()?;
            let a: [u8; 16] = r.array()?;
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        }
        f => Err(DecodeError::BadFamily(f)),
    }
}

/// Encodes `addr` as a `ctdb_sock_addr` (port 0).
pub fn encode_sock_addr(addr: IpAddr, out: &mut Vec<u8>) {
    let start = out.len();
    match addr {
        IpAddr::V4(a) => {
            put_u16(out, AF_INET);
            put_u16(out, 0);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            put_u16(out, AF_INET6);
            put_u16(out, 0);
            put_u32(out, 0);
            out.extend_from_slice(&a.octets());
        }
    }
    out.resize(start + SOCK_ADDR_LEN, 0);
}

/// One `ctdb_node_and_flags`. `addr` is `None` for an unknown address family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAndFlags {
    pub pnn: u32,
    pub flags: u32,
    pub addr: Option<IpAddr>,
}

/// Decodes a `ctdb_node_map` (GET_NODEMAP reply).
pub fn decode_node_map(buf: &[u8]) -> DResult<Vec<NodeAndFlags>> {
    Reader::new(buf, "node map").list(NODE_AND_FLAGS_LEN, |r| {
        let pnn = r.u32()?;
        let flags = r.u32()?;
        let addr = sock_addr_from(r.bytes(SOCK_ADDR_LEN)?).ok();
        Ok(NodeAndFlags { pnn, flags, addr })
    })
}

/// Encodes a `ctdb_node_map` (for tests and fake daemons).
pub fn encode_node_map(nodes: &[NodeAndFlags]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + nodes.len() * NODE_AND_FLAGS_LEN);
    put_list(&mut out, nodes, |n, out| {
        put_u32(out, n.pnn);
        put_u32(out, n.flags);
        match n.addr {
            Some(a) => encode_sock_addr(a, out),
            None => out.resize(out.len() + SOCK_ADDR_LEN, 0),
        }
    });
    out
}

/// `ctdb_vnn_map` (GETVNNMAP reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VnnMap {
    pub generation: u32,
    pub map: Vec<u32>,
}

pub fn decode_vnn_map(buf: &[u8]) -> DResult<VnnMap> {
    let mut r = Reader::new(buf, "vnn map");
    let generation = r.u32()?;
    let map = r.list(4, Reader::u32)?;
    Ok(VnnMap { generation, map })
}

pub fn encode_vnn_map(v: &VnnMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 4 * v.map.len());
    put_u32(&mut out, v.generation);
    put_list(&mut out, &v.map, |m, out| put_u32(out, *m));
    out
}

/// One `ctdb_public_ip`: the address and the node hosting it
/// (`CTDB_UNKNOWN_PNN` when none). `addr` is `None` for an unknown family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicIpEntry {
    pub pnn: u32,
    pub addr: Option<IpAddr>,
}

/// Encodes a `ctdb_public_ip` (RELEASE_IP / TAKEOVER_IP argument).
pub fn encode_public_ip(pnn: u32, addr: IpAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(PUBLIC_IP_LEN);
    put_u32(&mut out, pnn);
    encode_sock_addr(addr, &mut out);
    out
}

/// Decodes a `ctdb_public_ip` (32 bytes).
pub fn decode_public_ip(buf: &[u8]) -> DResult<PublicIpEntry> {
    let mut r = Reader::new(buf, "public ip");
    let pnn = r.u32()?;
    let addr = sock_addr_from(r.bytes(SOCK_ADDR_LEN)?).ok();
    Ok(PublicIpEntry { pnn, addr })
}

/// Decodes a `ctdb_public_ip_list` (GET_PUBLIC_IPS reply).
pub fn decode_public_ip_list(buf: &[u8]) -> DResult<Vec<PublicIpEntry>> {
    Reader::new(buf, "public ip list").list(PUBLIC_IP_LEN, |r| decode_public_ip(r.bytes(PUBLIC_IP_LEN)?))
}

pub fn encode_public_ip_list(ips: &[(u32, IpAddr)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + ips.len() * PUBLIC_IP_LEN);
    put_list(&mut out, ips, |&(pnn, addr), out| out.extend_from_slice(&encode_public_ip(pnn, addr)));
    out
}

/// One `ctdb_iface`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    pub name: String,
    pub link_up: bool,
    pub references: u32,
}

fn decode_iface(r: &mut Reader<'_>) -> DResult<Iface> {
    let name = trim_nul(r.bytes(IFACE_NAME_LEN)?);
    let name = String::from_utf8_lossy(name).into_owned();
    let link_state = r.u16()?;
    let references = r.u32()?;
    Ok(Iface { name, link_up: link_state != 0, references })
}

fn encode_iface(i: &Iface, out: &mut Vec<u8>) {
    let mut name = [0u8; IFACE_NAME_LEN];
    let b = i.name.as_bytes();
    let n = b.len().min(IFACE_NAME_LEN - 2);
    name[..n].copy_from_slice(&b[..n]);
    out.extend_from_slice(&name);
    put_u16(out, u16::from(i.link_up));
    put_u32(out, i.references);
}

/// Decodes a `ctdb_iface_list` (GET_IFACES reply).
pub fn decode_iface_list(buf: &[u8]) -> DResult<Vec<Iface>> {
    Reader::new(buf, "interface list").list(IFACE_LEN, decode_iface)
}

pub fn encode_iface_list(ifaces: &[Iface]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + ifaces.len() * IFACE_LEN);
    put_list(&mut out, ifaces, encode_iface);
    out
}

/// `ctdb_public_ip_info` (GET_PUBLIC_IP_INFO reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicIpInfo {
    pub ip: PublicIpEntry,
    /// Index of the interface the address is on (meaningful when hosted).
    pub active_idx: u32,
    /// Interfaces the address may use.
    pub ifaces: Vec<Iface>,
}

pub fn decode_public_ip_info(buf: &[u8]) -> DResult<PublicIpInfo> {
    let mut r = Reader::new(buf, "public ip info");
    let ip = decode_public_ip(r.bytes(PUBLIC_IP_LEN)?)?;
    let active_idx = r.u32()?;
    let ifaces = r.list(IFACE_LEN, decode_iface)?;
    Ok(PublicIpInfo { ip, active_idx, ifaces })
}

pub fn encode_public_ip_info(info: &PublicIpInfo) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, info.ip.pnn);
    match info.ip.addr {
        Some(a) => encode_sock_addr(a, &mut out),
        None => out.resize(out.len() + SOCK_ADDR_LEN, 0),
    }
    put_u32(&mut out, info.active_idx);
    put_list(&mut out, &info.ifaces, encode_iface);
    out
}

/// `ctdb_node_flag_change` (MODIFY_FLAGS argument; SET_NODE_FLAGS payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeFlagChange {
    pub pnn: u32,
    pub new_flags: u32,
    pub old_flags: u32,
}

impl NodeFlagChange {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12);
        put_u32(&mut out, self.pnn);
        put_u32(&mut out, self.new_flags);
        put_u32(&mut out, self.old_flags);
        out
    }

    pub fn decode(buf: &[u8]) -> DResult<Self> {
        let mut r = Reader::new(buf, "node flag change");
        Ok(Self { pnn: r.u32()?, new_flags: r.u32()?, old_flags: r.u32()? })
    }
}

/// `ctdb_srvid_message`: "reply to `srvid` on node `pnn`" (TAKEOVER_RUN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrvidMessage {
    pub pnn: u32,
    pub srvid: u64,
}

impl SrvidMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        put_u32(&mut out, self.pnn);
        put_u32(&mut out, 0);
        put_u64(&mut out, self.srvid);
        out
    }

    pub fn decode(buf: &[u8]) -> DResult<Self> {
        let mut r = Reader::new(buf, "srvid message");
        let pnn = r.u32()?;
        let _pad = r.u32()?;
        Ok(Self { pnn, srvid: r.u64()? })
    }
}

/// A u32 payload (LEADER broadcasts, DISABLE_IP_CHECK timeouts).
pub fn decode_u32(buf: &[u8]) -> DResult<u32> {
    Reader::new(buf, "u32").u32()
}

/// An i32 payload (the status a TAKEOVER_RUN reply carries).
pub fn decode_i32(buf: &[u8]) -> DResult<i32> {
    Reader::new(buf, "i32").i32()
}

/// Text payload of TAKE_IP / RELEASE_IP notifications (NUL-terminated).
pub fn decode_text(buf: &[u8]) -> String {
    String::from_utf8_lossy(trim_nul(buf)).into_owned()
}

// ------------------------------------------------------ persistent dbs ----

/// `ctdb_ltdb_header`: what ctdbd keeps in front of each record's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LtdbHeader {
    /// Record sequence number; every update of a persistent record must
    /// raise it (ctdbd refuses a different value with an RSN not above the
    /// stored one).
    pub rsn: u64,
    pub dmaster: u32,
    pub flags: u32,
}

impl LtdbHeader {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.rsn);
        put_u32(out, self.dmaster);
        put_u32(out, 0); // reserved1
        put_u32(out, self.flags);
        put_u32(out, 0); // padding to 8
    }

    pub fn decode(buf: &[u8]) -> DResult<LtdbHeader> {
        let mut r = Reader::new(buf, "ltdb header");
        let rsn = r.u64()?;
        let dmaster = r.u32()?;
        let _reserved = r.u32()?;
        let flags = r.u32()?;
        let _pad = r.u32()?;
        Ok(LtdbHeader { rsn, dmaster, flags })
    }
}

/// One `ctdb_rec_data`. `data` is as on the wire: for records of a
/// database it starts with the [`LtdbHeader`] (see [`RecData::split_header`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecData {
    pub reqid: u32,
    pub key: Vec<u8>,
    pub data: Vec<u8>,
}

impl RecData {
    /// A record whose data is `header` followed by `value`.
    pub fn with_header(reqid: u32, key: &[u8], header: &LtdbHeader, value: &[u8]) -> RecData {
        let mut data = Vec::with_capacity(LTDB_HEADER_LEN + value.len());
        header.encode(&mut data);
        data.extend_from_slice(value);
        RecData { reqid, key: key.to_vec(), data }
    }

    /// Bytes this record occupies on the wire.
    pub fn wire_len(&self) -> usize {
        REC_DATA_FIXED_LEN + self.key.len() + self.data.len()
    }

    /// The empty record (no key, no data) that ends a traverse.
    pub fn is_end_marker(&self) -> bool {
        self.key.is_empty() && self.data.is_empty()
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, u32::try_from(self.wire_len()).unwrap_or(u32::MAX));
        put_u32(out, self.reqid);
        put_u32(out, u32::try_from(self.key.len()).unwrap_or(u32::MAX));
        put_u32(out, u32::try_from(self.data.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.data);
    }

    /// Decodes one record at the start of `buf`; returns it and the bytes
    /// it used (`16 + keylen + datalen`; the length field is not trusted).
    pub fn decode(buf: &[u8]) -> DResult<(RecData, usize)> {
        let mut r = Reader::new(buf, "record");
        let _length = r.u32()?;
        let reqid = r.u32()?;
        let keylen = r.u32()? as usize;
        let datalen = r.u32()? as usize;
        let key = r.bytes(keylen)?.to_vec();
        let data = r.bytes(datalen)?.to_vec();
        Ok((RecData { reqid, key, data }, r.pos))
    }

    /// The ltdb header and the value after it.
    pub fn split_header(&self) -> DResult<(LtdbHeader, &[u8])> {
        let header = LtdbHeader::decode(&self.data)?;
        Ok((header, &self.data[LTDB_HEADER_LEN..]))
    }
}

/// `ctdb_rec_buffer`: records of one database (TRANS3_COMMIT argument).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecBuffer {
    pub db_id: u32,
    pub records: Vec<RecData>,
}

impl RecBuffer {
    pub fn encode(&self) -> Vec<u8> {
        let len = 8 + self.records.iter().map(RecData::wire_len).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        put_u32(&mut out, self.db_id);
        put_u32(&mut out, u32::try_from(self.records.len()).unwrap_or(u32::MAX));
        for r in &self.records {
            r.encode(&mut out);
        }
        out
    }

    pub fn decode(buf: &[u8]) -> DResult<RecBuffer> {
        let mut r = Reader::new(buf, "record buffer");
        let db_id = r.u32()?;
        let n = r.count(REC_DATA_FIXED_LEN)?;
        let mut records = Vec::with_capacity(n);
        let mut rest = &buf[r.pos..];
        for _ in 0..n {
            let (rec, used) = RecData::decode(rest)?;
            rest = &rest[used..];
            records.push(rec);
        }
        Ok(RecBuffer { db_id, records })
    }
}

/// `ctdb_traverse_start` (TRAVERSE_START argument): traverse `db_id`,
/// sending each record (tagged `reqid`) as a message to `srvid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraverseStart {
    pub db_id: u32,
    pub reqid: u32,
    pub srvid: u64,
}

impl TraverseStart {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        put_u32(&mut out, self.db_id);
        put_u32(&mut out, self.reqid);
        put_u64(&mut out, self.srvid);
        out
    }

    pub fn decode(buf: &[u8]) -> DResult<Self> {
        let mut r = Reader::new(buf, "traverse start");
        Ok(Self { db_id: r.u32()?, reqid: r.u32()?, srvid: r.u64()? })
    }
}

/// One `ctdb_dbid` of a `ctdb_dbid_map` (GET_DBMAP reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbIdEntry {
    pub db_id: u32,
    pub flags: u8,
}

impl DbIdEntry {
    pub fn persistent(&self) -> bool {
        self.flags & DB_FLAGS_PERSISTENT != 0
    }
}

pub fn decode_dbid_map(buf: &[u8]) -> DResult<Vec<DbIdEntry>> {
    Reader::new(buf, "db map").list(DBID_LEN, |r| {
        let db_id = r.u32()?;
        let flags = r.bytes(1)?[0];
        let _pad = r.bytes(3)?;
        Ok(DbIdEntry { db_id, flags })
    })
}

pub fn encode_dbid_map(dbs: &[DbIdEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + dbs.len() * DBID_LEN);
    put_list(&mut out, dbs, |d, out| {
        put_u32(out, d.db_id);
        out.extend_from_slice(&[d.flags, 0, 0, 0]);
    });
    out
}

/// A database name as DB_ATTACH_PERSISTENT takes it (NUL-terminated).
pub fn encode_db_name(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out
}

/// The GET_DB_SEQNUM argument: the db_id padded to 8 bytes.
pub fn encode_db_seqnum_request(db_id: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    put_u32(&mut out, db_id);
    put_u32(&mut out, 0);
    out
}

/// A u64 payload (GET_DB_SEQNUM reply, the sequence number record).
pub fn decode_u64(buf: &[u8]) -> DResult<u64> {
    Reader::new(buf, "u64").u64()
}

#[cfg(test)]
mod tests;
