//! Independent replay of the pcaps in `captures/`: a check of every byte clusapid sent that
//! does not depend on tshark (whose NTLMSSP decryption desynchronises on some connections, see
//! captures/README.md).
//!
//! The pipeline, each step failing loudly rather than guessing:
//! 1. [`read_pcap`]: the classic libpcap file format (either byte order, micro- or nanosecond
//!    timestamps), link type EN10MB only, no record cut by the snap length.
//! 2. [`tcp_segment`] / [`reassemble`]: Ethernet → IPv4 (header checksum checked, no
//!    fragments) → TCP; each connection's two byte streams rebuilt in sequence-number order from
//!    its SYN / SYN-ACK. Retransmitted or overlapping bytes must repeat what was already seen; a
//!    hole in a stream (or before its FIN) is an error.
//! 3. [`split_pdus`]: the streams cut into DCE/RPC fragments with `dcerpc::pdu::frame_length`;
//!    a stream must end on a fragment boundary.
//! 4. [`replay_connection`]: the NTLMSSP session recovered from the captured handshake and the
//!    known password (NTOWFv2, NTProofStr against the *recorded* server challenge, key exchange,
//!    the AUTHENTICATE MIC over the recorded three messages, the SPNEGO mechListMICs), with an
//!    implementation of MS-NLMP 3.4 written here ([`ObserverSession`]: RC4, SIGNKEY, SEALKEY,
//!    MAC) on top of nothing but MD4/MD5/HMAC-MD5. The project's own `auth::NtlmSession` runs
//!    alongside on every fragment and must agree, and the project's `auth::Acceptor`, given the
//!    recorded challenge and timestamp, must reproduce the server's recorded tokens
//!    byte for byte and derive the same session key.
//! 5. Every request and response fragment unsealed and its signature verified, fragments
//!    reassembled per call, the stubs decoded with the project's codecs ([`decode_stub`]); faults,
//!    fragment sizes, auth lengths and padding checked.
//!
//! Problems found in step 4/5 are collected (with frame numbers) rather than stopping at the
//! first, so a failing run shows everything that is wrong.

mod stubs;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use auth::crypto::{hmac_md5, md4, md5};
use auth::ntlm::flags::{
    NTLMSSP_NEGOTIATE_128, NTLMSSP_NEGOTIATE_56, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
    NTLMSSP_NEGOTIATE_KEY_EXCH, NTLMSSP_NEGOTIATE_SEAL, NTLMSSP_NEGOTIATE_SIGN, NTLMSSP_NEGOTIATE_UNICODE,
};
use auth::ntlm::messages::{self as ntlm_msg, av_id, AuthenticateMessage, ChallengeMessage, NegotiateMessage};
use auth::{spnego, AcceptorConfig, AuthType, NtlmSession, Role, StaticCredentials};
use dcerpc::pdu::{self, auth_level, pfc, Header, PacketType};
use idl::ByteOrder;

pub use stubs::{check_tables, decode as decode_stub, Decoded, Iface, MAX_TRAILING};

// ---------------------------------------------------------------------------------------------
// Sidecar
// ---------------------------------------------------------------------------------------------

/// The sidecar `NAME.ports` of a capture: `key=value` lines (`#` comments), e.g. `clusapi`,
/// `epmapper`, `user`, `password`, `tshark_quirk_limits_decoding`.
pub fn read_sidecar(pcap: &Path) -> Result<BTreeMap<String, String>, String> {
    let p = pcap.with_extension("ports");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// pcap
// ---------------------------------------------------------------------------------------------

/// One pcap record.
#[derive(Clone, Debug)]
pub struct Packet {
    /// 1-based record number (tshark's `frame.number`).
    pub number: u32,
    /// Timestamp in microseconds since the epoch.
    pub ts_micros: u64,
    /// File offset of the first byte of `data`.
    pub file_offset: usize,
    /// The captured link-layer frame.
    pub data: Vec<u8>,
}

/// LINKTYPE_ETHERNET.
pub const LINKTYPE_EN10MB: u32 = 1;

/// Parses a classic libpcap file. Only Ethernet captures are accepted, and no record may be cut
/// by the snap length.
pub fn read_pcap(file: &[u8]) -> Result<Vec<Packet>, String> {
    let magic: [u8; 4] = file.get(..4).and_then(|m| m.try_into().ok()).ok_or("pcap: file shorter than its magic")?;
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        [0x0a, 0x0d, 0x0d, 0x0a] => return Err("pcap: this is pcapng; record with tcpdump -w (classic pcap)".into()),
        m => return Err(format!("pcap: unknown magic {m:02x?}")),
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b: [u8; 2] = file.get(o..o + 2)?.try_into().ok()?;
        Some(if le { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = file.get(o..o + 4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let hdr = |o: usize| u32_at(o).ok_or_else(|| "pcap: truncated global header".to_string());
    let (major, minor) = (u16_at(4).ok_or("pcap: truncated global header")?, u16_at(6).unwrap_or(0));
    if major != 2 {
        return Err(format!("pcap: version {major}.{minor}, expected 2.x"));
    }
    let snaplen = hdr(16)?;
    let linktype = hdr(20)? & 0x0fff_ffff;
    if linktype != LINKTYPE_EN10MB {
        return Err(format!("pcap: link type {linktype}, only EN10MB (1) is supported"));
    }
    let mut packets = Vec::new();
    let mut off = 24;
    let mut number = 0u32;
    while off < file.len() {
        number += 1;
        let rec = |o: usize| u32_at(off + o).ok_or_else(|| format!("pcap: record {number} header truncated at {off}"));
        let (sec, frac, incl, orig) = (rec(0)?, rec(4)?, rec(8)? as usize, rec(12)? as usize);
        let data_off = off + 16;
        let data = file
            .get(data_off..data_off + incl)
            .ok_or_else(|| format!("pcap: record {number} truncated ({incl} bytes announced at {data_off})"))?;
        if incl != orig {
            return Err(format!(
                "pcap: record {number} was cut to {incl} of {orig} bytes (snap length {snaplen}); record with -s 0"
            ));
        }
        let frac_us = if nanos { u64::from(frac) / 1000 } else { u64::from(frac) };
        packets.push(Packet {
            number,
            ts_micros: u64::from(sec) * 1_000_000 + frac_us,
            file_offset: data_off,
            data: data.to_vec(),
        });
        off = data_off + incl;
    }
    Ok(packets)
}

// ---------------------------------------------------------------------------------------------
// Ethernet / IPv4 / TCP
// ---------------------------------------------------------------------------------------------

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// One TCP segment.
#[derive(Clone, Debug)]
pub struct Segment {
    pub frame: u32,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    pub flags: u8,
    pub payload: Vec<u8>,
    /// File offset of the first payload byte.
    pub payload_file_offset: usize,
}

fn be16(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([b[o], b[o + 1]])
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Decodes an Ethernet / IPv4 / TCP frame. Anything else is an error: the captures are taken
/// with a `tcp port ...` filter on 127.0.0.1.
pub fn tcp_segment(p: &Packet) -> Result<Segment, String> {
    let n = p.number;
    let d = &p.data;
    if d.len() < 14 {
        return Err(format!("frame {n}: shorter than an Ethernet header"));
    }
    let ethertype = be16(d, 12);
    if ethertype != 0x0800 {
        return Err(format!("frame {n}: ethertype {ethertype:#06x}, only IPv4 (0x0800) is supported"));
    }
    let ip = &d[14..];
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return Err(format!("frame {n}: not an IPv4 header"));
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(be16(ip, 2));
    if ihl < 20 || total < ihl || total > ip.len() {
        return Err(format!("frame {n}: IPv4 lengths (ihl {ihl}, total {total}) do not fit the {} bytes", ip.len()));
    }
    let sum: u32 = ip[..ihl].chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    if (folded & 0xffff) + (folded >> 16) != 0xffff {
        return Err(format!("frame {n}: bad IPv4 header checksum"));
    }
    if be16(ip, 6) & 0x3fff != 0 {
        return Err(format!("frame {n}: IPv4 fragment (not supported)"));
    }
    if ip[9] != 6 {
        return Err(format!("frame {n}: IP protocol {}, not TCP", ip[9]));
    }
    let src_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst_ip = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let tcp = &ip[ihl..total];
    if tcp.len() < 20 {
        return Err(format!("frame {n}: truncated TCP header"));
    }
    let doff = usize::from(tcp[12] >> 4) * 4;
    if doff < 20 || doff > tcp.len() {
        return Err(format!("frame {n}: TCP data offset {doff} out of range"));
    }
    Ok(Segment {
        frame: n,
        src: SocketAddrV4::new(src_ip, be16(tcp, 0)),
        dst: SocketAddrV4::new(dst_ip, be16(tcp, 2)),
        seq: be32(tcp, 4),
        flags: tcp[13],
        payload: tcp[doff..].to_vec(),
        payload_file_offset: p.file_offset + 14 + ihl + doff,
    })
}

/// A contiguous run of stream bytes that arrived in one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Stream offset of the run's first byte.
    pub offset: usize,
    pub frame: u32,
    /// File offset of the run's first byte (in the pcap).
    pub file_offset: usize,
}

/// One direction of a TCP connection, in order.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    pub bytes: Vec<u8>,
    /// Where each byte came from, in stream order.
    pub chunks: Vec<Chunk>,
    /// Data segments seen (with payload).
    pub segments: usize,
    /// Segments whose bytes had all been seen before (retransmissions).
    pub duplicates: usize,
    pub fin: bool,
}

impl Stream {
    fn chunk_at(&self, offset: usize) -> Option<&Chunk> {
        let i = self.chunks.partition_point(|c| c.offset <= offset);
        i.checked_sub(1).map(|i| &self.chunks[i])
    }

    /// The frame that carried stream byte `offset`.
    pub fn frame_at(&self, offset: usize) -> u32 {
        self.chunk_at(offset).map_or(0, |c| c.frame)
    }

    /// The pcap file offset of stream byte `offset`.
    pub fn file_offset_at(&self, offset: usize) -> Option<usize> {
        self.chunk_at(offset).map(|c| c.file_offset + (offset - c.offset))
    }
}

/// Which TCP connection: its two ends and the frames it spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnId {
    /// The side that sent the SYN.
    pub client: SocketAddrV4,
    pub server: SocketAddrV4,
    pub first_frame: u32,
    pub last_frame: u32,
}

/// One TCP connection, both directions reassembled.
#[derive(Clone, Debug)]
pub struct TcpConnection {
    pub id: ConnId,
    pub c2s: Stream,
    pub s2c: Stream,
    pub reset: bool,
}

#[derive(Default)]
struct ConnBuilder {
    client: Option<SocketAddrV4>,
    server: Option<SocketAddrV4>,
    isn: [Option<u32>; 2],
    segs: [Vec<Segment>; 2],
    fin: [Option<u32>; 2],
    first_frame: u32,
    last_frame: u32,
    reset: bool,
}

fn assemble(dir: &str, isn: u32, segs: &mut [Segment], fin: Option<u32>) -> Result<Stream, String> {
    let base = isn.wrapping_add(1);
    segs.sort_by_key(|s| (s.seq.wrapping_sub(base), s.frame));
    let mut st = Stream::default();
    for s in segs.iter() {
        if s.payload.is_empty() {
            continue;
        }
        if s.flags & tcp_flags::SYN != 0 {
            return Err(format!("{dir}: frame {}: SYN with data (not supported)", s.frame));
        }
        st.segments += 1;
        let off = s.seq.wrapping_sub(base) as usize;
        let next = st.bytes.len();
        if off > next {
            return Err(format!(
                "{dir}: {} bytes missing at stream offset {next} (next data at {off}, frame {}): the capture lost \
                 packets",
                off - next,
                s.frame
            ));
        }
        let end = off + s.payload.len();
        let overlap = next.min(end) - off;
        if st.bytes[off..off + overlap] != s.payload[..overlap] {
            return Err(format!("{dir}: frame {} retransmits stream offset {off} with different bytes", s.frame));
        }
        if end > next {
            st.chunks.push(Chunk { offset: next, frame: s.frame, file_offset: s.payload_file_offset + (next - off) });
            st.bytes.extend_from_slice(&s.payload[next - off..]);
        } else {
            st.duplicates += 1;
        }
    }
    if let Some(f) = fin {
        let fin_off = f.wrapping_sub(base) as usize;
        if fin_off != st.bytes.len() {
            return Err(format!(
                "{dir}: FIN at stream offset {fin_off} but only {} bytes seen: the capture lost packets",
                st.bytes.len()
            ));
        }
        st.fin = true;
    }
    Ok(st)
}

/// Groups segments into connections (a SYN starts one) and reassembles both directions.
/// Segments of a connection whose SYN was not captured are an error.
pub fn reassemble(segments: &[Segment]) -> Result<Vec<TcpConnection>, String> {
    let mut builders: Vec<ConnBuilder> = Vec::new();
    let mut open: HashMap<(SocketAddrV4, SocketAddrV4), usize> = HashMap::new();
    let key = |a: SocketAddrV4, b: SocketAddrV4| if (a.ip(), a.port()) <= (b.ip(), b.port()) { (a, b) } else { (b, a) };
    for s in segments {
        let k = key(s.src, s.dst);
        let syn = s.flags & tcp_flags::SYN != 0;
        let ack = s.flags & tcp_flags::ACK != 0;
        if syn && !ack {
            // a SYN retransmission keeps the connection; a new ISN starts a new one
            let same =
                open.get(&k).is_some_and(|&i| builders[i].isn[0] == Some(s.seq) && builders[i].client == Some(s.src));
            if !same {
                open.insert(k, builders.len());
                builders.push(ConnBuilder {
                    client: Some(s.src),
                    server: Some(s.dst),
                    isn: [Some(s.seq), None],
                    first_frame: s.frame,
                    ..ConnBuilder::default()
                });
            }
        }
        let Some(&i) = open.get(&k) else {
            return Err(format!(
                "frame {}: {} -> {} belongs to a connection whose SYN was not captured",
                s.frame, s.src, s.dst
            ));
        };
        let b = &mut builders[i];
        let dir = usize::from(Some(s.src) != b.client);
        if syn && ack {
            if dir != 1 {
                return Err(format!("frame {}: SYN-ACK from the client side", s.frame));
            }
            match b.isn[1] {
                Some(isn) if isn != s.seq => {
                    return Err(format!("frame {}: second SYN-ACK with another sequence number", s.frame))
                }
                _ => b.isn[1] = Some(s.seq),
            }
        }
        if s.flags & tcp_flags::FIN != 0 {
            let f = s.seq.wrapping_add(s.payload.len() as u32);
            if b.fin[dir].is_some_and(|x| x != f) {
                return Err(format!("frame {}: FIN at another sequence number than before", s.frame));
            }
            b.fin[dir] = Some(f);
        }
        if s.flags & tcp_flags::RST != 0 {
            b.reset = true;
        }
        b.last_frame = s.frame;
        if !s.payload.is_empty() {
            if b.isn[dir].is_none() {
                return Err(format!("frame {}: data from the server before its SYN-ACK", s.frame));
            }
            b.segs[dir].push(s.clone());
        }
    }
    let mut out = Vec::new();
    for mut b in builders {
        let (client, server) = (
            b.client.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
            b.server.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
        );
        let [c_segs, s_segs] = &mut b.segs;
        let c2s = assemble(&format!("{client} -> {server}"), b.isn[0].unwrap_or(0), c_segs, b.fin[0])?;
        let s2c = match b.isn[1] {
            Some(isn) => assemble(&format!("{server} -> {client}"), isn, s_segs, b.fin[1])?,
            None => Stream::default(),
        };
        out.push(TcpConnection {
            id: ConnId { client, server, first_frame: b.first_frame, last_frame: b.last_frame },
            c2s,
            s2c,
            reset: b.reset,
        });
    }
    Ok(out)
}

/// pcap → packets → segments → connections.
pub fn connections(file: &[u8]) -> Result<(Vec<Packet>, Vec<TcpConnection>), String> {
    let packets = read_pcap(file)?;
    let segments = packets.iter().map(tcp_segment).collect::<Result<Vec<_>, _>>()?;
    let conns = reassemble(&segments)?;
    Ok((packets, conns))
}

// ---------------------------------------------------------------------------------------------
// DCE/RPC framing
// ---------------------------------------------------------------------------------------------

/// One DCE/RPC fragment as it was on the wire.
#[derive(Clone, Debug)]
pub struct RawPdu {
    /// Stream offset of its first byte.
    pub offset: usize,
    /// Frame of its first byte.
    pub first_frame: u32,
    /// Frame that completed it.
    pub frame: u32,
    pub bytes: Vec<u8>,
}

/// Cuts a stream into fragments; it must end exactly on a fragment boundary.
pub fn split_pdus(s: &Stream) -> Result<Vec<RawPdu>, String> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < s.bytes.len() {
        let rest = &s.bytes[off..];
        let at = s.frame_at(off);
        let Some(n) = pdu::frame_length(rest) else {
            return Err(format!("frame {at}: the stream ends with {} bytes, less than a PDU header", rest.len()));
        };
        if n < pdu::HEADER_LEN {
            return Err(format!("frame {at}: frag_length {n} is shorter than the header"));
        }
        if n > rest.len() {
            return Err(format!("frame {at}: PDU of {n} bytes, but the stream ends after {}", rest.len()));
        }
        out.push(RawPdu { offset: off, first_frame: at, frame: s.frame_at(off + n - 1), bytes: rest[..n].to_vec() });
        off += n;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// NTLM, from the specification (MS-NLMP 3.3.2, 3.4)
// ---------------------------------------------------------------------------------------------

/// RC4, written out (it is ten lines; the project's is in `auth::crypto`).
#[derive(Clone)]
struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    fn new(key: &[u8]) -> Rc4 {
        let mut s = [0u8; 256];
        for (i, v) in s.iter_mut().enumerate() {
            *v = i as u8;
        }
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
            s.swap(i, usize::from(j));
        }
        Rc4 { s, i: 0, j: 0 }
    }

    fn apply(&mut self, data: &mut [u8]) {
        for b in data {
            self.i = self.i.wrapping_add(1);
            self.j = self.j.wrapping_add(self.s[usize::from(self.i)]);
            self.s.swap(usize::from(self.i), usize::from(self.j));
            let k = self.s[usize::from(self.s[usize::from(self.i)].wrapping_add(self.s[usize::from(self.j)]))];
            *b ^= k;
        }
    }
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn from_utf16le(b: &[u8]) -> String {
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

/// The receiving end of one direction of an NTLMv2 session with extended session security, as
/// a passive observer holding the ExportedSessionKey sees it (MS-NLMP 3.4.4.2, 3.4.5.2-3).
#[derive(Clone)]
pub struct ObserverSession {
    sign_key: [u8; 16],
    rc4: Rc4,
    seq: u32,
    key_exch: bool,
}

impl ObserverSession {
    /// `client_to_server` picks the direction's magic constants.
    pub fn new(exported: &[u8; 16], flags: u32, client_to_server: bool) -> ObserverSession {
        let (sign_magic, seal_magic): (&[u8], &[u8]) = if client_to_server {
            (
                b"session key to client-to-server signing key magic constant\0",
                b"session key to client-to-server sealing key magic constant\0",
            )
        } else {
            (
                b"session key to server-to-client signing key magic constant\0",
                b"session key to server-to-client sealing key magic constant\0",
            )
        };
        let seal_base: &[u8] = if flags & NTLMSSP_NEGOTIATE_128 != 0 {
            exported
        } else if flags & NTLMSSP_NEGOTIATE_56 != 0 {
            &exported[..7]
        } else {
            &exported[..5]
        };
        ObserverSession {
            sign_key: md5(&[exported, sign_magic]),
            rc4: Rc4::new(&md5(&[seal_base, seal_magic])),
            seq: 0,
            key_exch: flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0,
        }
    }

    /// The next sequence number this direction expects.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The signature MAC() would produce over `msg` with the current sequence number; the
    /// checksum goes through the direction's RC4 handle (advancing it unless `keep_rc4`).
    fn mac(&mut self, msg: &[u8], keep_rc4: bool) -> [u8; 16] {
        let seq = self.seq.to_le_bytes();
        let digest = hmac_md5(&self.sign_key, &[&seq, msg]);
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&digest[..8]);
        if self.key_exch {
            if keep_rc4 {
                self.rc4.clone().apply(&mut checksum);
            } else {
                self.rc4.apply(&mut checksum);
            }
        }
        self.seq = self.seq.wrapping_add(1);
        let mut sig = [0u8; 16];
        sig[0] = 1;
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&seq);
        sig
    }

    /// A SPNEGO mechListMIC: consumes a sequence number, leaves the RC4 state (MS-SPNG 3.3.5.1).
    pub fn verify_mech_list_mic(&mut self, mech_types: &[u8], mic: &[u8]) -> bool {
        self.mac(mech_types, true) == mic
    }

    /// A signed (integrity-only) message.
    pub fn verify(&mut self, msg: &[u8], sig: &[u8]) -> bool {
        self.mac(msg, false) == sig
    }

    /// A sealed message: decrypts `buf[data]` in place, then checks `sig` over `buf[..sign_len]`.
    pub fn unseal(&mut self, buf: &mut [u8], data: Range<usize>, sign_len: usize, sig: &[u8]) -> bool {
        self.rc4.apply(&mut buf[data]);
        self.mac(&buf[..sign_len], false) == sig
    }
}

/// The handshake of one authenticated connection, as recorded.
#[derive(Clone, Debug, Default)]
pub struct Handshake {
    pub auth_type: u8,
    pub level: u8,
    pub context_id: u32,
    /// Raw auth values, in order, per direction.
    pub client_tokens: Vec<Vec<u8>>,
    pub server_tokens: Vec<Vec<u8>>,
    pub negotiate: Vec<u8>,
    pub challenge: Vec<u8>,
    pub authenticate: Vec<u8>,
    /// SPNEGO: the client's mechTypes as sent, and both mechListMICs.
    pub mech_types: Option<Vec<u8>>,
    pub client_mic: Option<Vec<u8>>,
    pub server_mic: Option<Vec<u8>>,
    /// SPNEGO: the server's last negState.
    pub final_state: Option<u8>,
}

/// What the handshake verification established.
#[derive(Clone, Debug)]
pub struct AuthInfo {
    pub auth_type: u8,
    pub level: u8,
    pub context_id: u32,
    pub user: String,
    pub domain: String,
    pub workstation: String,
    /// The domain string that made NTProofStr verify (clients differ in what they feed NTOWFv2).
    pub ntowf_domain: String,
    /// Negotiated flags (CHALLENGE ∩ AUTHENTICATE).
    pub flags: u32,
    pub exported_key: [u8; 16],
    /// The AUTHENTICATE carried a MIC, and it verified.
    pub ntlm_mic: bool,
    /// Both SPNEGO mechListMICs were present and verified.
    pub mech_list_mics: bool,
    /// The bind offered, and the bind_ack acknowledged, header signing.
    pub header_sign: bool,
    /// The client's NTLMv2 timestamp equals the one in the recorded CHALLENGE.
    pub timestamp_echoed: bool,
}

/// Verifies the recorded NTLM exchange with the password and derives the ExportedSessionKey.
pub fn verify_ntlm(hs: &Handshake, creds: &Credentials) -> Result<AuthInfo, String> {
    NegotiateMessage::parse(&hs.negotiate).map_err(|e| format!("NEGOTIATE: {e}"))?;
    let chal = ChallengeMessage::parse(&hs.challenge).map_err(|e| format!("CHALLENGE: {e}"))?;
    let auth = AuthenticateMessage::parse(&hs.authenticate).map_err(|e| format!("AUTHENTICATE: {e}"))?;
    let unicode = chal.flags & NTLMSSP_NEGOTIATE_UNICODE != 0;
    let text = |b: &[u8]| if unicode { from_utf16le(b) } else { String::from_utf8_lossy(b).into_owned() };
    let (user, domain, workstation) = (text(&auth.user), text(&auth.domain), text(&auth.workstation));
    if !user.eq_ignore_ascii_case(&creds.user) {
        return Err(format!("AUTHENTICATE is for user {user:?}, the sidecar names {:?}", creds.user));
    }
    if auth.nt_response.len() <= 24 {
        return Err(format!("AUTHENTICATE carries a {}-byte NT response: not NTLMv2", auth.nt_response.len()));
    }
    let resp = ntlm_msg::NtlmV2Response::parse(&auth.nt_response).map_err(|e| format!("NTLMv2 response: {e}"))?;
    // NTOWFv2 = HMAC_MD5(MD4(UNICODE(password)), UNICODE(Uppercase(user) ‖ domain))
    let nt_hash = md4(&utf16le(&creds.password));
    let mut found = None;
    for d in [domain.clone(), String::new(), domain.to_uppercase()] {
        let response_key = hmac_md5(&nt_hash, &[&utf16le(&(user.to_uppercase() + &d))]);
        let proof = hmac_md5(&response_key, &[&chal.server_challenge, resp.temp]);
        if proof == resp.nt_proof_str {
            found = Some((d, response_key));
            break;
        }
    }
    let Some((ntowf_domain, response_key)) = found else {
        return Err(format!(
            "NTProofStr of {user}\\{domain} does not verify with the sidecar's password against the recorded server \
             challenge {:02x?}",
            chal.server_challenge
        ));
    };
    let session_base_key = hmac_md5(&response_key, &[&resp.nt_proof_str]);
    let flags = chal.flags & auth.flags;
    if flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
        return Err(format!("negotiated flags {flags:#010x} lack extended session security"));
    }
    let need = match hs.level {
        auth_level::PKT_PRIVACY => NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_SIGN,
        auth_level::PKT_INTEGRITY => NTLMSSP_NEGOTIATE_SIGN,
        _ => 0,
    };
    if flags & need != need {
        return Err(format!("negotiated flags {flags:#010x} do not cover auth level {}", hs.level));
    }
    // NTLMv2: KeyExchangeKey = SessionBaseKey; with KEY_EXCH the client's random key, RC4-wrapped
    let exported: [u8; 16] = if flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0 {
        let mut k: [u8; 16] = auth
            .encrypted_random_session_key
            .as_slice()
            .try_into()
            .map_err(|_| "EncryptedRandomSessionKey is not 16 bytes".to_string())?;
        Rc4::new(&session_base_key).apply(&mut k);
        k
    } else {
        session_base_key
    };
    let ntlm_mic = ntlm_msg::av_flags(&resp.av_pairs) & ntlm_msg::AV_FLAG_MIC_PRESENT != 0;
    if ntlm_mic {
        let mic = auth.mic.ok_or("MsvAvFlags announce a MIC the AUTHENTICATE is too short for")?;
        let mut zeroed = hs.authenticate.clone();
        zeroed[ntlm_msg::MIC_OFFSET..ntlm_msg::MIC_OFFSET + 16].fill(0);
        if hmac_md5(&exported, &[&hs.negotiate, &hs.challenge, &zeroed]) != mic {
            return Err(
                "the AUTHENTICATE MIC does not verify over the recorded NEGOTIATE, CHALLENGE and AUTHENTICATE".into()
            );
        }
    }
    let chal_pairs = ntlm_msg::parse_av_pairs(&chal.target_info).map_err(|e| format!("CHALLENGE target info: {e}"))?;
    let timestamp_echoed = ntlm_msg::av_timestamp(&chal_pairs).is_some_and(|t| t == resp.timestamp);
    Ok(AuthInfo {
        auth_type: hs.auth_type,
        level: hs.level,
        context_id: hs.context_id,
        user,
        domain,
        workstation,
        ntowf_domain,
        flags,
        exported_key: exported,
        ntlm_mic,
        mech_list_mics: false,
        header_sign: false,
        timestamp_echoed,
    })
}

/// Replays the recorded client tokens through the project's `auth::Acceptor`, constructed with
/// the recorded server challenge, timestamp and names: it must answer every leg with exactly
/// the recorded server token, and end with the same ExportedSessionKey.
pub fn acceptor_cross_check(hs: &Handshake, creds: &Credentials, exported: &[u8; 16]) -> Result<(), String> {
    let chal = ChallengeMessage::parse(&hs.challenge).map_err(|e| e.to_string())?;
    let pairs = ntlm_msg::parse_av_pairs(&chal.target_info).map_err(|e| e.to_string())?;
    let s = |id| ntlm_msg::find_av(&pairs, id).map(from_utf16le).unwrap_or_default();
    let config = AcceptorConfig {
        netbios_computer: s(av_id::MSV_AV_NB_COMPUTER_NAME),
        netbios_domain: s(av_id::MSV_AV_NB_DOMAIN_NAME),
        dns_computer: s(av_id::MSV_AV_DNS_COMPUTER_NAME),
        dns_domain: s(av_id::MSV_AV_DNS_DOMAIN_NAME),
    };
    let now = ntlm_msg::av_timestamp(&pairs).ok_or("the CHALLENGE has no timestamp")?;
    let at = AuthType::from_u8(hs.auth_type).ok_or("unknown auth type")?;
    let store = StaticCredentials::new().with_password(&creds.user, &creds.password);
    let mut acc =
        auth::Acceptor::new(at, config, &auth::Mechanisms::local(Arc::new(store)), chal.server_challenge, now)
            .map_err(|e| format!("auth::Acceptor: {e}"))?;
    for (i, token) in hs.client_tokens.iter().enumerate() {
        if acc.is_done() {
            break; // a later alter_context's token: not part of the handshake
        }
        let produced = match acc.step(token).map_err(|e| format!("leg {}: auth::Acceptor refuses: {e}", i + 1))? {
            auth::Step::Continue(t) => Some(t),
            auth::Step::Done(t) => t,
        };
        let recorded = hs.server_tokens.get(i);
        if produced.as_ref() != recorded {
            return Err(format!(
                "leg {}: auth::Acceptor answers {} bytes, the server sent {} bytes",
                i + 1,
                produced.map_or(0, |t| t.len()),
                recorded.map_or(0, Vec::len)
            ));
        }
    }
    let key = acc.session_mut().map(|s| *s.exported_session_key()).ok_or("auth::Acceptor did not finish")?;
    if &key != exported {
        return Err("auth::Acceptor derives another ExportedSessionKey".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Verification trailer ([MS-RPCE] 2.2.2.13)
// ---------------------------------------------------------------------------------------------

/// `rpc_sec_verification_trailer` signature.
pub const SEC_VT_SIGNATURE: [u8; 8] = [0x8a, 0xe3, 0x13, 0x71, 0x02, 0xf4, 0x36, 0x71];
/// Command numbers (low 14 bits) and flags.
pub mod sec_vt {
    pub const BITMASK_1: u16 = 1;
    pub const PCONTEXT: u16 = 2;
    pub const HEADER2: u16 = 3;
    pub const END: u16 = 0x4000;
    pub const MUST_PROCESS: u16 = 0x8000;
    /// BITMASK_1: the client supports header signing.
    pub const CLIENT_SUPPORT_HEADER_SIGNING: u32 = 1;
}

/// A verification trailer found at the end of a request stub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationTrailer {
    /// Stub offset of the signature (4-byte aligned; the NDR data ends before it).
    pub offset: usize,
    /// (command without flags, value), in order.
    pub commands: Vec<(u16, Vec<u8>)>,
}

/// The presentation context a bind_ack accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptedContext {
    pub abstract_syntax: pdu::SyntaxId,
    pub transfer_syntax: pdu::SyntaxId,
    pub iface: Option<Iface>,
}

fn rd16(b: &[u8], o: usize, order: ByteOrder) -> Option<u16> {
    let a: [u8; 2] = b.get(o..o + 2)?.try_into().ok()?;
    Some(match order {
        ByteOrder::Little => u16::from_le_bytes(a),
        ByteOrder::Big => u16::from_be_bytes(a),
    })
}

fn rd32(b: &[u8], o: usize, order: ByteOrder) -> Option<u32> {
    let a: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
    Some(match order {
        ByteOrder::Little => u32::from_le_bytes(a),
        ByteOrder::Big => u32::from_be_bytes(a),
    })
}

fn rd_syntax(b: &[u8], o: usize, order: ByteOrder) -> Option<pdu::SyntaxId> {
    let g: [u8; 16] = b.get(o..o + 16)?.try_into().ok()?;
    Some(pdu::SyntaxId { uuid: idl::Guid::from_bytes(&g, order), version: rd32(b, o + 16, order)? })
}

/// Finds the verification trailer of a request stub: the signature at a 4-byte aligned offset,
/// followed by commands the last of which has SEC_VT_COMMAND_END and ends the stub exactly.
pub fn find_verification_trailer(stub: &[u8], order: ByteOrder) -> Option<VerificationTrailer> {
    let last = stub.len().checked_sub(SEC_VT_SIGNATURE.len())?;
    (0..=last).rev().filter(|p| p % 4 == 0).find_map(|p| {
        if stub[p..p + 8] != SEC_VT_SIGNATURE {
            return None;
        }
        let mut pos = p + 8;
        let mut commands = Vec::new();
        loop {
            let cmd = rd16(stub, pos, order)?;
            let len = usize::from(rd16(stub, pos + 2, order)?);
            let value = stub.get(pos + 4..pos + 4 + len)?;
            commands.push((cmd & 0x3fff, value.to_vec()));
            pos += 4 + len;
            if cmd & sec_vt::END != 0 {
                return (pos == stub.len()).then_some(VerificationTrailer { offset: p, commands });
            }
        }
    })
}

/// Checks the commands against the call they travelled with ([MS-RPCE] 2.2.2.13.2-4).
fn check_verification_trailer(
    vt: &VerificationTrailer,
    call: &Call,
    ctx: Option<AcceptedContext>,
    order: ByteOrder,
) -> Result<(), String> {
    for (cmd, v) in &vt.commands {
        match *cmd {
            sec_vt::BITMASK_1 => {
                let bits = rd32(v, 0, order).filter(|_| v.len() == 4).ok_or("BITMASK_1 is not 4 bytes")?;
                if bits & !sec_vt::CLIENT_SUPPORT_HEADER_SIGNING != 0 {
                    return Err(format!("BITMASK_1 {bits:#x} has unknown bits"));
                }
            }
            sec_vt::PCONTEXT => {
                if v.len() != 40 {
                    return Err(format!("PCONTEXT of {} bytes", v.len()));
                }
                let (abs, ts) = (rd_syntax(v, 0, order), rd_syntax(v, 20, order));
                let ctx = ctx.ok_or("PCONTEXT on a context that was never accepted")?;
                if abs != Some(ctx.abstract_syntax) || ts != Some(ctx.transfer_syntax) {
                    return Err(format!("PCONTEXT {abs:?}/{ts:?} is not context {}", call.context_id));
                }
            }
            sec_vt::HEADER2 => {
                let ok = v.len() == 16
                    && v[0] == PacketType::Request as u8
                    && rd32(v, 8, order) == Some(call.call_id)
                    && rd16(v, 12, order) == Some(call.context_id)
                    && rd16(v, 14, order) == Some(call.opnum);
                if !ok {
                    return Err(format!("HEADER2 {v:02x?} does not describe the request"));
                }
            }
            other => return Err(format!("unknown command {other}")),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------------------------

/// The account the capture's clients used.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// How a call ended.
#[derive(Clone, Debug)]
pub enum Answer {
    /// A response, reassembled and decrypted.
    Response(Stub),
    /// A fault PDU.
    Fault { status: u32, frame: u32, did_not_execute: bool },
    /// Nothing (the connection ended first).
    None,
}

/// The stub of a request or of a response: reassembled from its fragments and decrypted.
#[derive(Clone, Debug)]
pub struct Stub {
    pub bytes: Vec<u8>,
    pub fragments: usize,
    /// The frame of a request's first fragment, of a response's last.
    pub frame: u32,
    pub order: ByteOrder,
    /// What [`decode_stub`] made of it (filled in after reassembly).
    pub decoded: Option<Decoded>,
}

/// One call of a connection.
#[derive(Clone, Debug)]
pub struct Call {
    pub call_id: u32,
    pub context_id: u16,
    pub iface: Option<Iface>,
    pub opnum: u16,
    pub request: Stub,
    /// The commands of the request's verification trailer ([MS-RPCE] 2.2.2.13), if it had one.
    pub verification_trailer: Option<Vec<u16>>,
    pub answer: Answer,
}

impl Call {
    /// `clusapi.ApiOpenCluster`, or `clusapi.#140` for an undeclared opnum.
    pub fn name(&self) -> String {
        match self.iface {
            Some(i) => match i.op_name(self.opnum) {
                Some(n) => format!("{}.{n}", i.name()),
                None => format!("{}.#{}", i.name(), self.opnum),
            },
            None => format!("context{}.#{}", self.context_id, self.opnum),
        }
    }
}

/// A server PDU after verification: plaintext (stub decrypted in place, verifier kept).
#[derive(Clone, Debug)]
pub struct PlainPdu {
    pub ptype: PacketType,
    pub sealed: bool,
    pub frame: u32,
    /// Stream offset of its first byte.
    pub offset: usize,
    pub bytes: Vec<u8>,
}

impl PlainPdu {
    /// A PDU that travels unprotected: its bytes as they are.
    fn unprotected(ptype: PacketType, p: &RawPdu) -> PlainPdu {
        PlainPdu { ptype, sealed: false, frame: p.frame, offset: p.offset, bytes: p.bytes.clone() }
    }
}

/// What the replay of one connection saw.
#[derive(Clone, Debug)]
pub struct ConnReport {
    pub id: ConnId,
    pub auth: Option<AuthInfo>,
    /// The handshake as recorded (authenticated connections).
    pub handshake: Option<Handshake>,
    pub bind_refused: bool,
    /// PDUs and stream bytes (client→server, server→client).
    pub pdus: (usize, usize),
    pub bytes: (usize, usize),
    /// Negotiated fragment size limits (client→server, server→client) and the largest seen.
    pub max_frag: (u16, u16),
    pub largest_frag: (usize, usize),
    /// Request / response fragments whose verifier was checked (unsealed at PKT_PRIVACY).
    pub verified: (usize, usize),
    /// Sealed requests with an empty stub (frames): what trips tshark 4.0.
    pub empty_sealed_requests: Vec<u32>,
    pub calls: Vec<Call>,
    /// Every server PDU after verification, in order.
    pub server_plain: Vec<PlainPdu>,
    /// Response stubs that re-encode to different bytes (counted, see [`Decoded::canonical`]).
    pub noncanonical_responses: usize,
    /// TCP: retransmitted segments, and whether each direction ended with a FIN.
    pub retransmissions: usize,
    pub fin: (bool, bool),
}

struct Partial {
    context_id: u16,
    opnum: u16,
    order: ByteOrder,
    stub: Vec<u8>,
    fragments: usize,
    first_frame: u32,
}

/// The parsed PDU of frame `frame`, or None with "frame F: WHAT does not parse: E" added to
/// `problems`.
fn parsed<T>(r: Result<T, impl std::fmt::Display>, frame: u32, what: &str, problems: &mut Vec<String>) -> Option<T> {
    r.map_err(|e| problems.push(format!("frame {frame}: {what} does not parse: {e}"))).ok()
}

fn ptype_name(t: PacketType) -> &'static str {
    match t {
        PacketType::Request => "request",
        PacketType::Response => "response",
        PacketType::Fault => "fault",
        PacketType::Bind => "bind",
        PacketType::BindAck => "bind_ack",
        PacketType::BindNak => "bind_nak",
        PacketType::AlterContext => "alter_context",
        PacketType::AlterContextResp => "alter_context_resp",
        PacketType::Auth3 => "auth3",
        PacketType::Shutdown => "shutdown",
        PacketType::CoCancel => "co_cancel",
        PacketType::Orphaned => "orphaned",
    }
}

/// Names for the fault and Win32 statuses the summary shows.
pub fn status_name(s: u32) -> &'static str {
    match s {
        pdu::fault::NCA_S_OP_RNG_ERROR => "nca_s_op_rng_error",
        pdu::fault::NCA_S_UNK_IF => "nca_s_unk_if",
        pdu::fault::NCA_S_PROTO_ERROR => "nca_s_proto_error",
        pdu::fault::NCA_S_FAULT_CONTEXT_MISMATCH => "nca_s_fault_context_mismatch",
        pdu::fault::ACCESS_DENIED => "access denied",
        pdu::fault::NCA_S_FAULT_NDR => "rpc_x_bad_stub_data",
        pdu::fault::SEC_PKG_ERROR => "rpc_s_sec_pkg_error",
        _ => "?",
    }
}

/// Both implementations of one receiving direction.
struct Receiver {
    observer: ObserverSession,
    project: NtlmSession,
}

/// Collects the auth tokens of the handshake PDUs and pulls the NTLM messages and SPNEGO MICs
/// out of them.
fn extract_handshake(client: &[(Header, &RawPdu)], server: &[(Header, &RawPdu)]) -> Result<Option<Handshake>, String> {
    let mut hs = Handshake::default();
    let mut authenticated = false;
    for (h, p) in client {
        if !matches!(h.ptype, PacketType::Bind | PacketType::AlterContext | PacketType::Auth3) {
            continue;
        }
        let Some(a) = pdu::auth_parts(&p.bytes, h).map_err(|e| format!("frame {}: {e}", p.frame))? else {
            continue;
        };
        if !authenticated {
            authenticated = true;
            hs.auth_type = a.trailer.auth_type;
            hs.level = a.trailer.auth_level;
            hs.context_id = a.trailer.auth_context_id;
        }
        hs.client_tokens.push(p.bytes[a.value_offset..].to_vec());
    }
    if !authenticated {
        return Ok(None);
    }
    for (h, p) in server {
        if !matches!(h.ptype, PacketType::BindAck | PacketType::AlterContextResp) {
            continue;
        }
        if let Some(a) = pdu::auth_parts(&p.bytes, h).map_err(|e| format!("frame {}: {e}", p.frame))? {
            hs.server_tokens.push(p.bytes[a.value_offset..].to_vec());
        }
    }
    let mut ntlm: Vec<(bool, Vec<u8>)> = Vec::new();
    let spnego = hs.auth_type == AuthType::Spnego.as_u8();
    if spnego {
        for (i, t) in hs.client_tokens.iter().enumerate() {
            if i == 0 {
                let init = spnego::parse_init_token(t).map_err(|e| format!("client NegTokenInit: {e}"))?;
                hs.mech_types = Some(init.mech_types_raw.to_vec());
                if let Some(m) = init.mech_token {
                    ntlm.push((true, m.to_vec()));
                }
            } else {
                let r = spnego::parse_resp_token(t).map_err(|e| format!("client NegTokenResp {i}: {e}"))?;
                if let Some(m) = r.response_token {
                    ntlm.push((true, m.to_vec()));
                }
                if let Some(m) = r.mech_list_mic {
                    hs.client_mic = Some(m.to_vec());
                }
            }
        }
        for (i, t) in hs.server_tokens.iter().enumerate() {
            let r = spnego::parse_resp_token(t).map_err(|e| format!("server NegTokenResp {i}: {e}"))?;
            if let Some(m) = r.response_token {
                ntlm.push((false, m.to_vec()));
            }
            if let Some(m) = r.mech_list_mic {
                hs.server_mic = Some(m.to_vec());
            }
            if r.neg_state.is_some() {
                hs.final_state = r.neg_state;
            }
        }
    } else if hs.auth_type == AuthType::Ntlmssp.as_u8() {
        ntlm.extend(hs.client_tokens.iter().map(|t| (true, t.clone())));
        ntlm.extend(hs.server_tokens.iter().map(|t| (false, t.clone())));
    } else {
        return Err(format!("auth type {} is neither SPNEGO (9) nor NTLMSSP (10)", hs.auth_type));
    }
    for (from_client, m) in ntlm {
        if !m.starts_with(ntlm_msg::SIGNATURE) {
            continue; // an optimistic token of another mechanism
        }
        let ty = ntlm_msg::message_type(&m).map_err(|e| e.to_string())?;
        let (slot, want_client) = match ty {
            ntlm_msg::MSG_NEGOTIATE => (&mut hs.negotiate, true),
            ntlm_msg::MSG_CHALLENGE => (&mut hs.challenge, false),
            ntlm_msg::MSG_AUTHENTICATE => (&mut hs.authenticate, true),
            t => return Err(format!("NTLM message type {t}")),
        };
        if want_client != from_client || !slot.is_empty() {
            return Err(format!(
                "unexpected NTLM message type {ty} from the {}",
                if from_client { "client" } else { "server" }
            ));
        }
        *slot = m;
    }
    for (what, m) in [("NEGOTIATE", &hs.negotiate), ("CHALLENGE", &hs.challenge), ("AUTHENTICATE", &hs.authenticate)] {
        if m.is_empty() {
            return Err(format!("the handshake has no NTLM {what}"));
        }
    }
    Ok(Some(hs))
}

/// Replays one connection. Returns what it saw and the problems found (empty: all good).
pub fn replay_connection(conn: &TcpConnection, creds: &Credentials) -> (ConnReport, Vec<String>) {
    let mut problems: Vec<String> = Vec::new();
    let mut rep = ConnReport {
        id: conn.id,
        auth: None,
        handshake: None,
        bind_refused: false,
        pdus: (0, 0),
        bytes: (conn.c2s.bytes.len(), conn.s2c.bytes.len()),
        max_frag: (0, 0),
        largest_frag: (0, 0),
        verified: (0, 0),
        empty_sealed_requests: Vec::new(),
        calls: Vec::new(),
        server_plain: Vec::new(),
        noncanonical_responses: 0,
        retransmissions: conn.c2s.duplicates + conn.s2c.duplicates,
        fin: (conn.c2s.fin, conn.s2c.fin),
    };
    let split = |s: &Stream, problems: &mut Vec<String>| match split_pdus(s) {
        Ok(v) => v,
        Err(e) => {
            problems.push(e);
            Vec::new()
        }
    };
    let c_raw = split(&conn.c2s, &mut problems);
    let s_raw = split(&conn.s2c, &mut problems);
    let parse_all = |raw: &[RawPdu], problems: &mut Vec<String>| -> Vec<(Header, usize)> {
        raw.iter()
            .enumerate()
            .filter_map(|(i, p)| Some((parsed(pdu::parse_header(&p.bytes), p.frame, "PDU", problems)?, i)))
            .collect()
    };
    let c_pdus = parse_all(&c_raw, &mut problems);
    let s_pdus = parse_all(&s_raw, &mut problems);
    rep.pdus = (c_raw.len(), s_raw.len());
    let c_view: Vec<(Header, &RawPdu)> = c_pdus.iter().map(|&(h, i)| (h, &c_raw[i])).collect();
    let s_view: Vec<(Header, &RawPdu)> = s_pdus.iter().map(|&(h, i)| (h, &s_raw[i])).collect();

    // --- bind / bind_ack: fragment sizes, proposed and accepted presentation contexts -------
    let body_end = |b: &[u8], h: &Header| pdu::auth_parts(b, h).ok().flatten().map_or(b.len(), |a| a.trailer_offset);
    // binds and alter_contexts are answered in order (Samba's SPNEGO alter_context even reuses
    // the bind's call_id), so acks are matched to proposals first-in first-out
    let mut proposals: std::collections::VecDeque<(u32, Vec<pdu::ContextElem>)> = Default::default();
    let mut bind: Option<pdu::Bind> = None;
    let mut bind_flags = 0u8;
    for (h, p) in &c_view {
        if matches!(h.ptype, PacketType::Bind | PacketType::AlterContext) {
            match pdu::parse_bind(&p.bytes, h, body_end(&p.bytes, h)) {
                Ok(b) => {
                    proposals.push_back((h.call_id, b.contexts.clone()));
                    if h.ptype == PacketType::Bind {
                        if bind.is_some() {
                            problems.push(format!("frame {}: second bind on the connection", p.frame));
                        }
                        bind_flags = h.pfc_flags;
                        bind = Some(b);
                    }
                }
                Err(e) => problems.push(format!("frame {}: {} does not parse: {e}", p.frame, ptype_name(h.ptype))),
            }
        }
    }
    let mut contexts: HashMap<u16, AcceptedContext> = HashMap::new();
    let mut ack: Option<pdu::BindAck> = None;
    let mut ack_flags = 0u8;
    for (h, p) in &s_view {
        match h.ptype {
            PacketType::BindAck | PacketType::AlterContextResp => {
                let Some(a) = parsed(
                    pdu::parse_bind_ack(&p.bytes, h, body_end(&p.bytes, h)),
                    p.frame,
                    ptype_name(h.ptype),
                    &mut problems,
                ) else {
                    continue;
                };
                let Some((call_id, prop)) = proposals.pop_front() else {
                    problems.push(format!(
                        "frame {}: {} without a bind or alter_context",
                        p.frame,
                        ptype_name(h.ptype)
                    ));
                    continue;
                };
                if call_id != h.call_id {
                    problems.push(format!(
                        "frame {}: {} for call {}, expected {call_id}",
                        p.frame,
                        ptype_name(h.ptype),
                        h.call_id
                    ));
                }
                if a.results.len() != prop.len() {
                    problems.push(format!(
                        "frame {}: {} results for {} proposed contexts",
                        p.frame,
                        a.results.len(),
                        prop.len()
                    ));
                }
                for (r, c) in a.results.iter().zip(&prop) {
                    if r.result == pdu::result::ACCEPTANCE {
                        if !c.transfer_syntaxes.contains(&r.transfer_syntax) {
                            problems.push(format!(
                                "frame {}: context {} accepted with a transfer syntax it did not offer",
                                p.frame, c.context_id
                            ));
                        }
                        let iface = Iface::from_syntax(c.abstract_syntax.uuid, c.abstract_syntax.major());
                        let accepted = AcceptedContext {
                            abstract_syntax: c.abstract_syntax,
                            transfer_syntax: r.transfer_syntax,
                            iface,
                        };
                        if contexts.insert(c.context_id, accepted).is_some_and(|old| old != accepted) {
                            problems.push(format!("frame {}: context {} redefined", p.frame, c.context_id));
                        }
                    }
                }
                if h.ptype == PacketType::BindAck {
                    ack_flags = h.pfc_flags;
                    ack = Some(a);
                }
            }
            PacketType::BindNak => rep.bind_refused = true,
            _ => {}
        }
    }
    let (max_c2s, max_s2c) = match (&bind, &ack) {
        (Some(b), Some(a)) => (a.max_recv_frag.min(b.max_xmit_frag), a.max_xmit_frag.min(b.max_recv_frag)),
        _ => (pdu::MIN_FRAG, pdu::MIN_FRAG),
    };
    rep.max_frag = (max_c2s, max_s2c);
    if bind.is_none() && !c_view.is_empty() {
        problems.push(format!("{} -> {}: the connection does not start with a bind", conn.id.client, conn.id.server));
    }

    // --- the security context ----------------------------------------------------------------
    let mut c2s: Option<Receiver> = None;
    let mut s2c: Option<Receiver> = None;
    match extract_handshake(&c_view, &s_view) {
        Err(e) => problems.push(format!("{} -> {}: handshake: {e}", conn.id.client, conn.id.server)),
        Ok(None) => {}
        Ok(Some(hs)) if rep.bind_refused => rep.handshake = Some(hs),
        Ok(Some(hs)) => {
            match verify_ntlm(&hs, creds) {
                Err(e) => problems.push(format!("{} -> {}: {e}", conn.id.client, conn.id.server)),
                Ok(mut info) => {
                    info.header_sign = bind_flags & ack_flags & pfc::SUPPORT_HEADER_SIGN != 0;
                    let mk = |role| NtlmSession::new(info.exported_key, info.flags, role).expect("ESS checked");
                    let mut rc = Receiver {
                        observer: ObserverSession::new(&info.exported_key, info.flags, true),
                        project: mk(Role::Server),
                    };
                    let mut rs = Receiver {
                        observer: ObserverSession::new(&info.exported_key, info.flags, false),
                        project: mk(Role::Client),
                    };
                    if let Err(e) = acceptor_cross_check(&hs, creds, &info.exported_key) {
                        problems.push(format!(
                            "{} -> {}: project acceptor cross-check: {e}",
                            conn.id.client, conn.id.server
                        ));
                    }
                    if hs.auth_type == AuthType::Spnego.as_u8() {
                        if hs.final_state != Some(spnego::ACCEPT_COMPLETED) {
                            problems.push(format!("{}: SPNEGO ended in state {:?}", conn.id.client, hs.final_state));
                        }
                        let mech_types = hs.mech_types.clone().unwrap_or_default();
                        let mut ok = true;
                        for (what, mic, r) in [("client", &hs.client_mic, &mut rc), ("server", &hs.server_mic, &mut rs)]
                        {
                            match mic {
                                Some(m) => {
                                    let a = r.observer.verify_mech_list_mic(&mech_types, m);
                                    let b = r.project.verify_mech_list_mic(&mech_types, m).is_ok();
                                    if !a || !b {
                                        ok = false;
                                        problems.push(format!(
                                            "{}: the {what} mechListMIC does not verify (observer {a}, auth::NtlmSession {b})",
                                            conn.id.client
                                        ));
                                    }
                                }
                                None => {
                                    ok = false;
                                    if info.ntlm_mic {
                                        problems.push(format!(
                                            "{}: the AUTHENTICATE has a MIC but the {what} sent no mechListMIC",
                                            conn.id.client
                                        ));
                                    }
                                }
                            }
                        }
                        info.mech_list_mics = ok;
                    }
                    if hs.level >= auth_level::PKT_INTEGRITY {
                        c2s = Some(rc);
                        s2c = Some(rs);
                    }
                    rep.auth = Some(info);
                }
            }
            rep.handshake = Some(hs);
        }
    }
    let protected = rep.handshake.as_ref().is_some_and(|h| h.level >= auth_level::PKT_INTEGRITY) && !rep.bind_refused;
    let sealed_level = rep.handshake.as_ref().is_some_and(|h| h.level == auth_level::PKT_PRIVACY);
    let hs_ids = rep.handshake.as_ref().map(|h| (h.auth_type, h.level, h.context_id));

    // Checks and strips the verifier of a request/response fragment. Returns the plaintext PDU
    // and the stub range; None after recording a problem.
    let verify = |p: &RawPdu,
                  h: &Header,
                  stub_offset: usize,
                  rx: &mut Option<Receiver>,
                  problems: &mut Vec<String>|
     -> Option<(Vec<u8>, Range<usize>, bool)> {
        let f = p.frame;
        let what = ptype_name(h.ptype);
        let parts = match pdu::auth_parts(&p.bytes, h) {
            Ok(a) => a,
            Err(e) => {
                problems.push(format!("frame {f}: {what}: {e}"));
                return None;
            }
        };
        if !protected {
            let end = parts.map_or(p.bytes.len(), |a| a.trailer_offset);
            if end < stub_offset {
                problems.push(format!("frame {f}: {what}: auth trailer overlaps the header"));
                return None;
            }
            return Some((p.bytes.clone(), stub_offset..end, false));
        }
        let Some(a) = parts else {
            problems.push(format!("frame {f}: {what} without verifier on a protected connection"));
            return None;
        };
        let t = a.trailer;
        let pad = usize::from(t.auth_pad_length);
        let mut bad = Vec::new();
        if h.auth_length != 16 {
            bad.push(format!("auth_length {} (an NTLMSSP signature is 16)", h.auth_length));
        }
        if Some((t.auth_type, t.auth_level, t.auth_context_id)) != hs_ids {
            bad.push(format!(
                "sec_trailer (type {}, level {}, context {}) differs from the bind's {hs_ids:?}",
                t.auth_type, t.auth_level, t.auth_context_id
            ));
        }
        if pad >= pdu::AUTH_PAD_ALIGN {
            bad.push(format!("auth_pad_length {pad} ≥ 16"));
        }
        if a.trailer_offset < stub_offset + pad {
            bad.push(format!(
                "auth_pad_length {pad} longer than the {} stub bytes",
                a.trailer_offset.saturating_sub(stub_offset)
            ));
        }
        if a.trailer_offset % 4 != 0 {
            bad.push(format!("sec_trailer at offset {} is not 4-byte aligned", a.trailer_offset));
        }
        if sealed_level && (a.trailer_offset.saturating_sub(stub_offset)) % pdu::AUTH_PAD_ALIGN != 0 {
            bad.push(format!(
                "stub + pad is {} bytes, not a multiple of 16",
                a.trailer_offset.saturating_sub(stub_offset)
            ));
        }
        // without a locatable 16-byte verifier and stub, the keystream position is lost for the
        // rest of the connection (the server would have closed it); otherwise the fragment is
        // still run through the sessions so that only this fragment is reported
        if h.auth_length != 16 || a.trailer_offset < stub_offset {
            problems.push(format!("frame {f}: {what} call {}: {}", h.call_id, bad.join("; ")));
            return None;
        }
        let r = rx.as_mut()?;
        let sig = p.bytes[a.value_offset..].to_vec();
        let mut mine = p.bytes.clone();
        let mut theirs = p.bytes.clone();
        let (ok, project_ok) = if sealed_level {
            let ok = r.observer.unseal(&mut mine, stub_offset..a.trailer_offset, a.value_offset, &sig);
            let pok = r.project.unseal(&mut theirs, stub_offset..a.trailer_offset, a.value_offset, &sig).is_ok();
            (ok, pok)
        } else {
            let ok = r.observer.verify(&mine[..a.value_offset], &sig);
            (ok, r.project.verify(&theirs[..a.value_offset], &sig).is_ok())
        };
        if !ok {
            bad.push(format!("signature does not verify (sequence number {})", r.observer.seq().wrapping_sub(1)));
        }
        if !bad.is_empty() {
            problems.push(format!("frame {f}: {what} call {}: {}", h.call_id, bad.join("; ")));
            return None;
        }
        if !project_ok || mine != theirs {
            problems
                .push(format!("frame {f}: {what} call {}: auth::NtlmSession disagrees with the observer", h.call_id));
        }
        Some((mine, stub_offset..a.trailer_offset - pad, sealed_level))
    };

    // --- client → server ---------------------------------------------------------------------
    let mut pending: HashMap<u32, Partial> = HashMap::new();
    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    for (h, p) in &c_view {
        rep.largest_frag.0 = rep.largest_frag.0.max(p.bytes.len());
        if !matches!(h.ptype, PacketType::Bind) && usize::from(h.frag_length) > usize::from(max_c2s) {
            problems.push(format!("frame {}: client fragment of {} bytes > {max_c2s}", p.frame, h.frag_length));
        }
        match h.ptype {
            PacketType::Bind | PacketType::AlterContext | PacketType::Auth3 => {}
            PacketType::Shutdown | PacketType::CoCancel | PacketType::Orphaned => {}
            PacketType::Request => {
                let Some(req) = parsed(pdu::parse_request(&p.bytes, h), p.frame, "request", &mut problems) else {
                    continue;
                };
                let Some((plain, stub, sealed)) = verify(p, h, req.stub_offset, &mut c2s, &mut problems) else {
                    continue;
                };
                if protected {
                    rep.verified.0 += 1;
                }
                if sealed && stub.is_empty() && h.pfc_flags & pfc::FIRST_FRAG != 0 {
                    rep.empty_sealed_requests.push(p.frame);
                }
                let bytes = &plain[stub];
                if h.pfc_flags & pfc::FIRST_FRAG != 0 {
                    if pending.contains_key(&h.call_id) {
                        problems
                            .push(format!("frame {}: call {} restarted before its last fragment", p.frame, h.call_id));
                    }
                    pending.insert(
                        h.call_id,
                        Partial {
                            context_id: req.context_id,
                            opnum: req.opnum,
                            order: h.order(),
                            stub: bytes.to_vec(),
                            fragments: 1,
                            first_frame: p.first_frame,
                        },
                    );
                } else if let Some(part) = pending.get_mut(&h.call_id) {
                    if part.context_id != req.context_id || part.opnum != req.opnum {
                        problems.push(format!(
                            "frame {}: fragment of call {} changes context or opnum",
                            p.frame, h.call_id
                        ));
                    }
                    part.stub.extend_from_slice(bytes);
                    part.fragments += 1;
                } else {
                    problems.push(format!("frame {}: middle fragment of unknown call {}", p.frame, h.call_id));
                    continue;
                }
                if h.pfc_flags & pfc::LAST_FRAG != 0 {
                    let part = pending.remove(&h.call_id).expect("inserted above");
                    index.entry(h.call_id).or_default().push(rep.calls.len());
                    rep.calls.push(Call {
                        call_id: h.call_id,
                        context_id: part.context_id,
                        iface: contexts.get(&part.context_id).and_then(|c| c.iface),
                        opnum: part.opnum,
                        request: Stub {
                            bytes: part.stub,
                            fragments: part.fragments,
                            frame: part.first_frame,
                            order: part.order,
                            decoded: None,
                        },
                        verification_trailer: None,
                        answer: Answer::None,
                    });
                }
            }
            t => problems.push(format!("frame {}: the client sent a {}", p.frame, ptype_name(t))),
        }
    }
    for (id, part) in &pending {
        problems.push(format!("frame {}: call {id} never got its last request fragment", part.first_frame));
    }

    // --- server → client ---------------------------------------------------------------------
    let mut pending: HashMap<u32, Partial> = HashMap::new();
    let answer = |call_id: u32, a: Answer, frame: u32, ctx: u16, calls: &mut Vec<Call>, problems: &mut Vec<String>| {
        let Some(&i) = index.get(&call_id).and_then(|v| v.iter().find(|&&i| matches!(calls[i].answer, Answer::None)))
        else {
            problems.push(format!("frame {frame}: answer to call {call_id}, which has no unanswered request"));
            return;
        };
        if calls[i].context_id != ctx {
            problems.push(format!(
                "frame {frame}: answer to call {call_id} names context {ctx}, the request {}",
                calls[i].context_id
            ));
        }
        calls[i].answer = a;
    };
    for (h, p) in &s_view {
        rep.largest_frag.1 = rep.largest_frag.1.max(p.bytes.len());
        if usize::from(h.frag_length) > usize::from(max_s2c) {
            problems
                .push(format!("frame {}: server fragment of {} bytes > negotiated {max_s2c}", p.frame, h.frag_length));
        }
        match h.ptype {
            PacketType::BindAck | PacketType::AlterContextResp | PacketType::BindNak | PacketType::Shutdown => {
                rep.server_plain.push(PlainPdu::unprotected(h.ptype, p));
            }
            PacketType::Fault => {
                let Some(r) = parsed(pdu::parse_response(&p.bytes, h), p.frame, "fault", &mut problems) else {
                    continue;
                };
                let mut bad = Vec::new();
                if h.auth_length != 0 || p.bytes.len() != pdu::HEADER_LEN + 16 {
                    bad.push(format!(
                        "{} bytes with auth_length {} (expected 32, no verifier)",
                        p.bytes.len(),
                        h.auth_length
                    ));
                }
                if h.pfc_flags & (pfc::FIRST_FRAG | pfc::LAST_FRAG) != pfc::FIRST_FRAG | pfc::LAST_FRAG {
                    bad.push(format!("pfc_flags {:#04x} lack first/last", h.pfc_flags));
                }
                if r.alloc_hint != 0 || r.cancel_count != 0 {
                    bad.push(format!("alloc_hint {} cancel_count {}", r.alloc_hint, r.cancel_count));
                }
                if p.bytes.get(28..32).is_some_and(|b| b != [0; 4]) {
                    bad.push("reserved bytes are not zero".into());
                }
                if r.status == 0 {
                    bad.push("status 0".into());
                }
                if !bad.is_empty() {
                    problems.push(format!("frame {}: fault for call {}: {}", p.frame, h.call_id, bad.join("; ")));
                }
                rep.server_plain.push(PlainPdu::unprotected(h.ptype, p));
                let a = Answer::Fault {
                    status: r.status,
                    frame: p.frame,
                    did_not_execute: h.pfc_flags & pfc::DID_NOT_EXECUTE != 0,
                };
                answer(h.call_id, a, p.frame, r.context_id, &mut rep.calls, &mut problems);
            }
            PacketType::Response => {
                let Some(r) = parsed(pdu::parse_response(&p.bytes, h), p.frame, "response", &mut problems) else {
                    continue;
                };
                let stub_offset = pdu::HEADER_LEN + pdu::RESPONSE_HDR_LEN;
                let Some((plain, stub, sealed)) = verify(p, h, stub_offset, &mut s2c, &mut problems) else {
                    continue;
                };
                if protected {
                    rep.verified.1 += 1;
                }
                let bytes = plain[stub].to_vec();
                rep.server_plain.push(PlainPdu {
                    ptype: h.ptype,
                    sealed,
                    frame: p.frame,
                    offset: p.offset,
                    bytes: plain,
                });
                if h.pfc_flags & pfc::FIRST_FRAG != 0 {
                    if pending.contains_key(&h.call_id) {
                        problems.push(format!("frame {}: response {} restarted", p.frame, h.call_id));
                    }
                    pending.insert(
                        h.call_id,
                        Partial {
                            context_id: r.context_id,
                            opnum: 0,
                            order: h.order(),
                            stub: Vec::new(),
                            fragments: 0,
                            first_frame: p.first_frame,
                        },
                    );
                }
                let Some(part) = pending.get_mut(&h.call_id) else {
                    problems.push(format!("frame {}: response fragment of unknown call {}", p.frame, h.call_id));
                    continue;
                };
                if part.context_id != r.context_id {
                    problems.push(format!("frame {}: response fragment changes context", p.frame));
                }
                if usize::try_from(r.alloc_hint).unwrap_or(0) < bytes.len() {
                    problems.push(format!(
                        "frame {}: alloc_hint {} < the fragment's {} stub bytes",
                        p.frame,
                        r.alloc_hint,
                        bytes.len()
                    ));
                }
                part.stub.extend_from_slice(&bytes);
                part.fragments += 1;
                if h.pfc_flags & pfc::LAST_FRAG != 0 {
                    let part = pending.remove(&h.call_id).expect("present");
                    let a = Answer::Response(Stub {
                        bytes: part.stub,
                        fragments: part.fragments,
                        frame: p.frame,
                        order: part.order,
                        decoded: None,
                    });
                    answer(h.call_id, a, p.frame, part.context_id, &mut rep.calls, &mut problems);
                }
            }
            t => problems.push(format!("frame {}: the server sent a {}", p.frame, ptype_name(t))),
        }
    }
    for (id, part) in &pending {
        problems.push(format!("frame {}: response {id} never got its last fragment", part.first_frame));
    }

    // --- stubs -------------------------------------------------------------------------------
    for call in &mut rep.calls {
        let name = call.name();
        let at = format!("frame {} ({name}, call {})", call.request.frame, call.call_id);
        let Some(iface) = call.iface else {
            match call.answer {
                Answer::Fault { status, .. }
                    if status == pdu::fault::NCA_S_UNK_IF || status == pdu::fault::NCA_S_PROTO_ERROR => {}
                _ => problems
                    .push(format!("{at}: request on context {} that the server never accepted", call.context_id)),
            }
            continue;
        };
        let mut ndr_len = call.request.bytes.len();
        if let Some(vt) = find_verification_trailer(&call.request.bytes, call.request.order) {
            let ctx = contexts.get(&call.context_id).copied();
            if let Err(e) = check_verification_trailer(&vt, call, ctx, call.request.order) {
                problems.push(format!("{at}: verification trailer: {e}"));
            }
            ndr_len = vt.offset;
            call.verification_trailer = Some(vt.commands.iter().map(|c| c.0).collect());
        }
        let req = decode_stub(iface, call.opnum, false, &call.request.bytes[..ndr_len], call.request.order);
        let fault = match &call.answer {
            Answer::Fault { status, .. } => Some(*status),
            _ => None,
        };
        match req {
            None => {
                if fault != Some(pdu::fault::NCA_S_OP_RNG_ERROR) {
                    problems.push(format!(
                        "{at}: undeclared opnum answered with {:?}, not nca_s_op_rng_error",
                        call.answer
                    ));
                }
                continue;
            }
            Some(Ok(d)) => call.request.decoded = Some(d),
            Some(Err(e)) if fault == Some(pdu::fault::NCA_S_FAULT_NDR) => {
                let _ = e; // the server refused it too
            }
            Some(Err(e)) => problems.push(format!("{at}: request stub {e}")),
        }
        match &mut call.answer {
            Answer::Response(Stub { bytes, order, frame, decoded, .. }) => {
                match decode_stub(iface, call.opnum, true, bytes, *order) {
                    Some(Ok(d)) => {
                        if !d.canonical {
                            rep.noncanonical_responses += 1;
                        }
                        *decoded = Some(d);
                    }
                    Some(Err(e)) => {
                        problems.push(format!("frame {frame}: response to {name} (call {}) {e}", call.call_id))
                    }
                    None => problems.push(format!("frame {frame}: a response to undeclared opnum {name}")),
                }
            }
            Answer::Fault { .. } => {}
            Answer::None => problems.push(format!("{at}: no response or fault before the connection ended")),
        }
    }
    (rep, problems)
}

/// The replay of a whole capture.
#[derive(Clone, Debug)]
pub struct CaptureReport {
    pub frames: usize,
    pub connections: Vec<ConnReport>,
    pub problems: Vec<String>,
}

/// Replays every connection of a capture. Transport-level errors (file format, IP, TCP gaps)
/// are returned as `Err`; everything else ends up in `problems`. `server_ports` are the ports
/// clusapid listened on: every connection must go to one of them.
pub fn replay_capture(file: &[u8], creds: &Credentials, server_ports: &[u16]) -> Result<CaptureReport, String> {
    let (packets, conns) = connections(file)?;
    Ok(replay_connections(packets.len(), &conns, creds, server_ports))
}

/// [`replay_capture`] on already reassembled connections (so a test can alter them).
pub fn replay_connections(
    frames: usize,
    conns: &[TcpConnection],
    creds: &Credentials,
    server_ports: &[u16],
) -> CaptureReport {
    let mut problems = Vec::new();
    let mut reports = Vec::new();
    for c in conns {
        if !server_ports.contains(&c.id.server.port()) {
            problems.push(format!(
                "frame {}: connection to port {}, not a server port",
                c.id.first_frame,
                c.id.server.port()
            ));
        }
        let (r, p) = replay_connection(c, creds);
        problems.extend(p);
        reports.push(r);
    }
    CaptureReport { frames, connections: reports, problems }
}

impl CaptureReport {
    /// Calls per `iface.OpName`.
    pub fn calls_per_op(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for c in self.connections.iter().flat_map(|c| &c.calls) {
            *m.entry(c.name()).or_insert(0) += 1;
        }
        m
    }

    /// Faults per (status, call name).
    pub fn faults(&self) -> BTreeMap<(u32, String), usize> {
        let mut m = BTreeMap::new();
        for c in self.connections.iter().flat_map(|c| &c.calls) {
            if let Answer::Fault { status, .. } = c.answer {
                *m.entry((status, c.name())).or_insert(0) += 1;
            }
        }
        m
    }

    /// A human-readable summary.
    pub fn summary(&self, name: &str) -> String {
        let mut s = String::new();
        let conns = &self.connections;
        let count = |f: &dyn Fn(&ConnReport) -> bool| conns.iter().filter(|c| f(c)).count();
        let sum = |f: &dyn Fn(&ConnReport) -> usize| conns.iter().map(f).sum::<usize>();
        let calls = conns.iter().flat_map(|c| &c.calls);
        let responses = calls.clone().filter(|c| matches!(c.answer, Answer::Response(_))).count();
        let faults = calls.clone().filter(|c| matches!(c.answer, Answer::Fault { .. })).count();
        let frags: usize = calls.clone().map(|c| c.request.fragments).sum();
        let resp_frags: usize =
            calls.clone().map(|c| if let Answer::Response(r) = &c.answer { r.fragments } else { 0 }).sum();
        let _ = writeln!(
            s,
            "{name}: {} frames, {} TCP connections ({} closed with FIN both ways), {} retransmitted segments",
            self.frames,
            conns.len(),
            count(&|c| c.fin == (true, true)),
            sum(&|c| c.retransmissions),
        );
        let _ = writeln!(
            s,
            "  auth: {} SPNEGO, {} raw NTLMSSP, {} unauthenticated, {} refused; {} with the NTLM MIC, {} with both \
             mechListMICs, {} with header signing",
            count(&|c| c.auth.as_ref().is_some_and(|a| a.auth_type == 9)),
            count(&|c| c.auth.as_ref().is_some_and(|a| a.auth_type == 10)),
            count(&|c| c.handshake.is_none()),
            count(&|c| c.bind_refused),
            count(&|c| c.auth.as_ref().is_some_and(|a| a.ntlm_mic)),
            count(&|c| c.auth.as_ref().is_some_and(|a| a.mech_list_mics)),
            count(&|c| c.auth.as_ref().is_some_and(|a| a.header_sign)),
        );
        let _ = writeln!(
            s,
            "  client→server: {} PDUs, {} bytes, {} request fragments ({} verified); server→client: {} PDUs, {} \
             bytes, {} response fragments ({} verified)",
            sum(&|c| c.pdus.0),
            sum(&|c| c.bytes.0),
            frags,
            sum(&|c| c.verified.0),
            sum(&|c| c.pdus.1),
            sum(&|c| c.bytes.1),
            resp_frags,
            sum(&|c| c.verified.1),
        );
        let _ = writeln!(
            s,
            "  calls: {} ({responses} responses decoded, {faults} faults); {} requests with a verification trailer; \
             {} sealed requests with an empty stub; {} response stubs not byte-identical when re-encoded",
            calls.clone().count(),
            calls.clone().filter(|c| c.verification_trailer.is_some()).count(),
            sum(&|c| c.empty_sealed_requests.len()),
            sum(&|c| c.noncanonical_responses),
        );
        for c in conns {
            let _ = writeln!(
                s,
                "    {} -> {} frames {}-{}: {}, PDUs {}/{}, verified {}/{}, largest fragment {}/{} (limit {}/{}), {} calls, \
                 empty sealed requests at {:?}",
                c.id.client,
                c.id.server,
                c.id.first_frame,
                c.id.last_frame,
                match &c.auth {
                    Some(a) => format!(
                        "{} level {} {}\\{}",
                        if a.auth_type == 9 { "SPNEGO" } else { "NTLMSSP" },
                        a.level,
                        a.domain,
                        a.user
                    ),
                    None => "unauthenticated".into(),
                },
                c.pdus.0,
                c.pdus.1,
                c.verified.0,
                c.verified.1,
                c.largest_frag.0,
                c.largest_frag.1,
                c.max_frag.0,
                c.max_frag.1,
                c.calls.len(),
                c.empty_sealed_requests,
            );
        }
        let _ = writeln!(s, "  calls per opnum:");
        for (op, n) in self.calls_per_op() {
            let _ = writeln!(s, "    {n:4} {op}");
        }
        let f = self.faults();
        if !f.is_empty() {
            let _ = writeln!(s, "  faults:");
            for ((st, op), n) in f {
                let _ = writeln!(s, "    {n:4} {st:#010x} ({}) for {op}", status_name(st));
            }
        }
        s
    }
}
