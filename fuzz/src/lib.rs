//! The fuzz targets: one function per decoder family that takes arbitrary bytes, runs them
//! through the project's own decoders the way the daemon does, and panics only when a decoder
//! breaks one of its promises (a panic inside a decoder, or a value that does not survive
//! re-encoding). The same functions are driven by AFL++ (`fuzz/afl`, coverage-guided, see
//! fuzz/README.md) and by the corpus replay test (`fuzz/tests/replay.rs`) in `cargo test`.
//!
//! Each target documents how it reads its input. Inputs are cut to [`MAX_INPUT`] bytes so a
//! run's cost stays bounded whatever the fuzzer hands in.

pub mod seed;

use std::path::Path;
use std::sync::Arc;

use auth::{AcceptorConfig, AuthType, ClientSecret, Initiator, Layout, NtlmAcceptor, NtlmInitiator, StaticCredentials};
use dcerpc::pdu::{self, auth_level, PacketType};
use dcerpc::server::{Entropy, InterfaceSpec, Next, ServerConfig, ServerConnection};
use dcerpc::Associations;
use idl::iface::RoundTrip;
use idl::{ByteOrder, DispatchError};

/// Largest input a target looks at.
pub const MAX_INPUT: usize = 256 * 1024;

/// A fuzz target: its name (the corpus folder) and its function.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
    /// What the target decodes.
    pub what: &'static str,
}

/// Every target, in the order the README lists them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "pdu",
        run: pdu,
        what: "a client byte stream into the server connection machine (headers, bind, alter_context, auth3, requests, fragments, auth trailers, sealing)",
    },
    Target { name: "ndr", run: ndr, what: "request stubs of every clusapi, witness, epmapper and mgmt opnum, with a re-encoding check" },
    Target { name: "ntlmssp", run: ntlmssp, what: "NTLMSSP messages and AV pairs, the acceptor and the initiator" },
    Target { name: "spnego", run: spnego, what: "SPNEGO NegTokenInit/NegTokenResp (DER) and the SPNEGO acceptor" },
    Target { name: "proplist", run: proplist, what: "CLUSPROP property and value lists, security descriptors, with re-encoding checks" },
    Target { name: "ctdb", run: ctdb, what: "ctdbd socket packets and every control payload decoder" },
    Target { name: "config", run: config, what: "the TOML config, the accounts file, smb.conf and the registry state file" },
    Target {
        name: "krb",
        run: krb,
        what: "Kerberos through a stand-in GSS mechanism: SPNEGO with Kerberos (selection, legs, mechListMIC, fallback), raw auth type 16, GSS verifiers and unsealing, and a client stream with Kerberos binds",
    },
];

/// The target of a name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn cut(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_INPUT)]
}

// ------------------------------------------------------------------------------------ pdu ---

/// Fixed server challenge and clock, so a recorded authenticated stream replays.
pub struct FixedEntropy;

/// The server challenge [`FixedEntropy`] hands out.
pub const FIXED_CHALLENGE: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
/// The FILETIME [`FixedEntropy`] reports.
pub const FIXED_FILETIME: u64 = 133_000_000_000_000_000;

impl Entropy for FixedEntropy {
    fn challenge(&self) -> [u8; 8] {
        FIXED_CHALLENGE
    }
    fn now_filetime(&self) -> u64 {
        FIXED_FILETIME
    }
}

/// The account the `pdu` target accepts.
pub const USER: &str = "alice";
/// Its password.
pub const PASSWORD: &str = "Passw0rd-1";

fn acceptor_config() -> AcceptorConfig {
    AcceptorConfig {
        netbios_computer: "CTDB_NODE_0".into(),
        netbios_domain: "CTDB-CLUSTER".into(),
        dns_computer: String::new(),
        dns_domain: String::new(),
    }
}

/// The server configuration of the `pdu` target: clusapi (packet privacy), witness (packet
/// integrity), epmapper and mgmt (no authentication), as the daemon serves them.
pub fn server_config() -> Arc<ServerConfig> {
    server_config_with(auth::Mechanisms::local(Arc::new(StaticCredentials::new().with_password(USER, PASSWORD))))
}

/// [`server_config`] with other mechanisms.
fn server_config_with(mechanisms: auth::Mechanisms) -> Arc<ServerConfig> {
    let spec = |name, uuid, major, minor, min_auth_level| InterfaceSpec { name, uuid, major, minor, min_auth_level };
    Arc::new(ServerConfig {
        interfaces: vec![
            spec("clusapi", idl::clusapi::Clusapi::UUID, 3, 0, auth_level::PKT_PRIVACY),
            spec("witness", idl::witness::Witness::UUID, 1, 1, auth_level::PKT_INTEGRITY),
            spec("epmapper", idl::epm::Epmapper::UUID, 3, 0, auth_level::NONE),
            spec("mgmt", idl::mgmt::Mgmt::UUID, 1, 0, auth_level::NONE),
        ],
        sec_addr: "4135".into(),
        max_request: 1 << 20,
        acceptor: acceptor_config(),
        mechanisms,
        entropy: Arc::new(FixedEntropy),
    })
}

/// A client initiator with fixed randomness (the seeder records sessions with it).
pub fn fixed_initiator(kind: AuthType) -> Initiator {
    Initiator::new(
        kind,
        NtlmInitiator::new(USER, "WORKGROUP", ClientSecret::Password(PASSWORD.into()), "FUZZ", [9; 8], [7; 16])
            .with_fallback_timestamp(FIXED_FILETIME),
    )
}

/// Splits a client stream into fragments the way the transport frames them: by frag_length,
/// stopping at a length below the header size; the tail that is not a whole fragment is
/// handed in as the last fragment anyway (the machine must cope with a short one too).
pub fn split_fragments(mut data: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    while !data.is_empty() {
        match pdu::frame_length(data) {
            Some(n) if n >= pdu::HEADER_LEN && n <= data.len() => {
                v.push(&data[..n]);
                data = &data[n..];
            }
            _ => {
                v.push(data);
                break;
            }
        }
    }
    v
}

/// Target `pdu`: the input is what a client sends on one connection. Every fragment goes
/// through [`ServerConnection::handle_fragment`]; completed calls are answered with their own
/// stub (cut to 8 KiB) so the response path fragments and seals; the server's output must be
/// whole PDUs. Client-side decoders (bind_ack, response) also read every fragment.
pub fn pdu(data: &[u8]) {
    serve_stream(server_config(), cut(data));
}

/// Runs a client stream through a server connection of `config` (the body of [`pdu`]).
fn serve_stream(config: Arc<ServerConfig>, data: &[u8]) {
    let mut conn = ServerConnection::new(config, Associations::new());
    let mut out = Vec::new();
    for frag in split_fragments(data) {
        let mut frag = frag.to_vec();
        client_side(&frag);
        let before = out.len();
        let next = conn.handle_fragment(&mut frag, &mut out);
        if let Next::Call(call) = &next {
            let stub = &call.stub[..call.stub.len().min(8192)];
            conn.encode_response(call.call_id, call.context_id, stub, &mut out);
        }
        check_output(&out[before..]);
        out.clear();
        match next {
            Next::Call(call) => conn.recycle(call.stub),
            Next::Close(_) => break,
            _ => {}
        }
    }
}

/// What the server wrote must be whole PDUs that its own parser accepts.
fn check_output(mut out: &[u8]) {
    while !out.is_empty() {
        let n = pdu::frame_length(out).expect("server output shorter than a header");
        assert!(n >= pdu::HEADER_LEN && n <= out.len(), "server wrote a bad frag_length {n}");
        let h = pdu::parse_header(&out[..n]).expect("server output does not parse");
        assert!(
            matches!(
                h.ptype,
                PacketType::BindAck
                    | PacketType::BindNak
                    | PacketType::AlterContextResp
                    | PacketType::Response
                    | PacketType::Fault
            ),
            "server sent {:?}",
            h.ptype
        );
        out = &out[n..];
    }
}

fn client_side(frag: &[u8]) {
    let Ok(h) = pdu::parse_header(frag) else { return };
    let Ok(auth) = pdu::auth_parts(frag, &h) else { return };
    let body_end = auth.map_or(frag.len(), |a| a.trailer_offset);
    match h.ptype {
        PacketType::BindAck | PacketType::AlterContextResp => {
            let _ = pdu::parse_bind_ack(frag, &h, body_end);
        }
        PacketType::Response | PacketType::Fault => {
            let _ = pdu::parse_response(frag, &h);
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------------ ndr ---

/// The interfaces the `ndr` target selects with its first byte (bits 0-1).
pub const NDR_INTERFACES: [&str; 4] = ["clusapi", "witness", "epmapper", "mgmt"];

/// Target `ndr`: byte 0 = interface (bits 0-1, [`NDR_INTERFACES`]) and byte order (bit 7 set =
/// big-endian), bytes 1-2 = opnum (little-endian), the rest the request stub. A stub that
/// decodes must re-encode to bytes that decode to the same value.
pub fn ndr(data: &[u8]) {
    let data = cut(data);
    let [sel, lo, hi, stub @ ..] = data else { return };
    let order = if sel & 0x80 != 0 { ByteOrder::Big } else { ByteOrder::Little };
    let opnum = u16::from_le_bytes([*lo, *hi]);
    let r = match sel & 3 {
        0 => idl::clusapi::Clusapi::request_roundtrip(opnum, stub, order),
        1 => idl::witness::Witness::request_roundtrip(opnum, stub, order),
        2 => idl::epm::Epmapper::request_roundtrip(opnum, stub, order),
        _ => idl::mgmt::Mgmt::request_roundtrip(opnum, stub, order),
    };
    match r {
        Ok(RoundTrip::Same) | Err(DispatchError::BadStub(_) | DispatchError::OpRange(_)) => {}
        Ok(RoundTrip::Differs) => {
            panic!("{} opnum {opnum}: re-encoded request decodes differently", NDR_INTERFACES[usize::from(sel & 3)])
        }
        Ok(RoundTrip::Undecodable(e)) => {
            panic!("{} opnum {opnum}: re-encoded request does not decode: {e}", NDR_INTERFACES[usize::from(sel & 3)])
        }
    }
}

/// The `ndr` input for a request stub.
pub fn ndr_input(iface: usize, big_endian: bool, opnum: u16, stub: &[u8]) -> Vec<u8> {
    let mut v = vec![(iface as u8 & 3) | if big_endian { 0x80 } else { 0 }];
    v.extend_from_slice(&opnum.to_le_bytes());
    v.extend_from_slice(stub);
    v
}

// -------------------------------------------------------------------------------- ntlmssp ---

/// Target `ntlmssp`: byte 0 picks what reads the rest.
/// 0: every NTLMSSP message parser and the AV-pair and NTLMv2-response parsers;
/// 1: a fresh acceptor (as a server), first leg;
/// 2: an acceptor after a valid NEGOTIATE, so the rest is the AUTHENTICATE;
/// 3: a client initiator after its NEGOTIATE, so the rest is the server's CHALLENGE.
pub fn ntlmssp(data: &[u8]) {
    use auth::ntlm::messages::{
        message_type, parse_av_pairs, AuthenticateMessage, ChallengeMessage, NegotiateMessage, NtlmV2Response,
    };
    let data = cut(data);
    let [mode, rest @ ..] = data else { return };
    let creds = Arc::new(StaticCredentials::new().with_password(USER, PASSWORD));
    match mode % 4 {
        0 => {
            let _ = message_type(rest);
            let _ = NegotiateMessage::parse(rest);
            let _ = ChallengeMessage::parse(rest);
            if let Ok(a) = AuthenticateMessage::parse(rest) {
                let _ = NtlmV2Response::parse(&a.nt_response);
            }
            let _ = parse_av_pairs(rest);
            let _ = NtlmV2Response::parse(rest);
        }
        1 => {
            let mut acc = NtlmAcceptor::new(acceptor_config(), creds, FIXED_CHALLENGE, FIXED_FILETIME);
            let _ = acc.step(rest);
        }
        2 => {
            let mut acc = NtlmAcceptor::new(acceptor_config(), creds, FIXED_CHALLENGE, FIXED_FILETIME);
            let mut ini = fixed_ntlm_initiator();
            let neg = ini.first();
            if acc.step(&neg).is_ok() {
                let _ = acc.step(rest);
            }
        }
        _ => {
            let mut ini = fixed_ntlm_initiator();
            let _ = ini.first();
            let _ = ini.step(rest);
        }
    }
}

fn fixed_ntlm_initiator() -> Initiator {
    fixed_initiator(AuthType::Ntlmssp)
}

// --------------------------------------------------------------------------------- spnego ---

/// Target `spnego`: byte 0 picks what reads the rest.
/// 0: the NegTokenInit and NegTokenResp parsers and the DER reader;
/// 1: a fresh SPNEGO acceptor, first leg;
/// 2: an acceptor after a valid NegTokenInit, so the rest is the client's second token;
/// 3: a client SPNEGO initiator after its first token, so the rest is the server's answer.
pub fn spnego(data: &[u8]) {
    let data = cut(data);
    let [mode, rest @ ..] = data else { return };
    let mechs = auth::Mechanisms::local(Arc::new(StaticCredentials::new().with_password(USER, PASSWORD)));
    let new_acceptor = || {
        auth::Acceptor::new(AuthType::Spnego, acceptor_config(), &mechs, FIXED_CHALLENGE, FIXED_FILETIME)
            .expect("an SPNEGO acceptor with NTLM")
    };
    match mode % 4 {
        0 => {
            let _ = auth::spnego::parse_init_token(rest);
            let _ = auth::spnego::parse_resp_token(rest);
            let mut r = auth::der::Reader::new(rest);
            for _ in 0..64 {
                match r.read() {
                    Ok(t) => {
                        let _ = auth::der::oid_to_string(t.value);
                    }
                    Err(_) => break,
                }
            }
        }
        1 => {
            let _ = new_acceptor().step(rest);
        }
        2 => {
            let mut acc = new_acceptor();
            let mut ini = fixed_initiator(AuthType::Spnego);
            let first = ini.first();
            if acc.step(&first).is_ok() {
                let _ = acc.step(rest);
            }
        }
        _ => {
            let mut ini = fixed_initiator(AuthType::Spnego);
            let _ = ini.first();
            let _ = ini.step(rest);
        }
    }
}

// ------------------------------------------------------------------------------- proplist ---

/// Target `proplist`: byte 0 picks the decoder of the rest.
/// 0: a CLUSPROP property list (a list that decodes must re-encode to one that decodes equal);
/// 1: a CLUSPROP value list (same check); 2: a self-relative security descriptor (parse,
/// validate, filter, re-encode); 3: one property value of the syntax in the next 4 bytes.
pub fn proplist(data: &[u8]) {
    use registry_model::proplist::{PropValue, PropertyList, ValueList};
    use registry_model::security::{self, SecurityDescriptor};
    let data = cut(data);
    let [mode, rest @ ..] = data else { return };
    match mode % 4 {
        0 => {
            if let Ok(l) = PropertyList::decode(rest) {
                let again = PropertyList::decode(&l.encode()).expect("re-encoded property list does not decode");
                assert_eq!(again, l, "re-encoded property list decodes differently");
                assert_eq!(l.encoded_len(), l.encode().len(), "encoded_len disagrees with encode");
            }
        }
        1 => {
            if let Ok(l) = ValueList::decode(rest) {
                let again = ValueList::decode(&l.encode()).expect("re-encoded value list does not decode");
                assert_eq!(again, l, "re-encoded value list decodes differently");
            }
        }
        2 => {
            let _ = security::validate(rest);
            let _ = security::filter(rest, 0xf);
            if let Ok(sd) = SecurityDescriptor::parse(rest) {
                let bytes = sd.to_self_relative();
                let again = SecurityDescriptor::parse(&bytes).expect("re-encoded security descriptor does not parse");
                assert_eq!(again.to_self_relative(), bytes, "security descriptor re-encoding is not stable");
            }
        }
        _ => {
            if let [a, b, c, d, v @ ..] = rest {
                let _ = PropValue::decode(u32::from_le_bytes([*a, *b, *c, *d]), v);
            }
        }
    }
}

// ----------------------------------------------------------------------------------- ctdb ---

/// Target `ctdb`: byte 0 picks the decoder of the rest: 0 = whole packets from a ctdbd
/// stream (framed by `packet_length`, each decoded), 1.. = one control payload decoder each
/// (node map, vnn map, public IPs, interfaces, public IP info, flag change, srvid message,
/// ltdb header, record data, record buffer, dbid map, sock addr, persistent-db value).
pub fn ctdb(data: &[u8]) {
    use nodes::ctdb::pdb;
    use nodes::ctdb::protocol as p;
    let data = cut(data);
    let [mode, rest @ ..] = data else { return };
    match mode % 14 {
        0 => {
            let mut s = rest;
            while let Ok(Some(n)) = p::packet_length(s) {
                if n == 0 || n > s.len() {
                    break;
                }
                let _ = p::decode_packet(&s[..n]);
                s = &s[n..];
            }
        }
        1 => {
            let _ = p::decode_node_map(rest);
        }
        2 => {
            let _ = p::decode_vnn_map(rest);
        }
        3 => {
            let _ = p::decode_public_ip_list(rest);
            let _ = p::decode_public_ip(rest);
        }
        4 => {
            let _ = p::decode_iface_list(rest);
        }
        5 => {
            let _ = p::decode_public_ip_info(rest);
        }
        6 => {
            let _ = p::NodeFlagChange::decode(rest);
        }
        7 => {
            let _ = p::SrvidMessage::decode(rest);
        }
        8 => {
            let _ = p::LtdbHeader::decode(rest);
        }
        9 => {
            if let Ok((r, n)) = p::RecData::decode(rest) {
                assert!(n <= rest.len());
                let _ = r.split_header();
            }
        }
        10 => {
            if let Ok(b) = p::RecBuffer::decode(rest) {
                let _ = pdb::DbSnapshot::from_records(&b.records);
            }
        }
        11 => {
            let _ = p::decode_dbid_map(rest);
        }
        12 => {
            let _ = p::decode_sock_addr(rest);
            let _ = p::decode_text(rest);
            let _ = p::decode_u64(rest);
        }
        _ => {
            let _ = pdb::decode_value(rest);
        }
    }
}

// --------------------------------------------------------------------------------- config ---

/// Target `config`: byte 0 picks the reader of the rest (as UTF-8, lossily): 0 = the TOML
/// config, 1 = the accounts file, 2 = smb.conf (netbios name and shares), 3 = the registry
/// state file (raw bytes).
pub fn config(data: &[u8]) {
    let data = cut(data);
    let [mode, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    let path = Path::new("fuzz");
    match mode % 4 {
        0 => {
            let _ = clusapid::config::Config::parse(&text, path);
        }
        1 => {
            let _ = clusapid::accounts::Accounts::parse(&text, path);
        }
        2 => {
            let _ = clusapid::config::netbios_name_from_smb_conf_text(&text);
            let _ = clusapid::shares::parse_shares(&text);
            let _ = clusapid::shares::uses_registry(&text);
        }
        _ => {
            if let Ok(t) = registry_model::StoredTree::from_file_bytes(rest) {
                let _ = t.validate();
            }
        }
    }
}

// ------------------------------------------------------------------------------------ krb ---

/// Mechanisms with the stand-in Kerberos ([`auth::toy_krb`]) besides NTLM.
pub fn krb_mechanisms() -> auth::Mechanisms {
    let mut m = auth::Mechanisms::local(Arc::new(StaticCredentials::new().with_password(USER, PASSWORD)));
    m.kerberos = Some(Arc::new(auth::toy_krb::ToyFactory(Default::default())));
    m
}

/// The server configuration of the `krb` target's mode 2: [`server_config`] offering the
/// stand-in Kerberos too.
pub fn krb_server_config() -> Arc<ServerConfig> {
    server_config_with(krb_mechanisms())
}

/// The `krb` target's tokens: each prefixed by its length (u16, little-endian); a prefix
/// longer than what is left takes the rest.
pub fn krb_tokens(mut b: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    while let [lo, hi, rest @ ..] = b {
        let n = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
        v.push(&rest[..n]);
        b = &rest[n..];
    }
    v
}

/// Target `krb`: Kerberos as clusapid runs it, with a stand-in GSS mechanism in place of MIT's
/// ([`auth::toy_krb`]: the same legs, verifier lengths and sequence numbers, no KDC). Byte 0
/// picks: 0 = an SPNEGO acceptor offered Kerberos, 1 = a raw Kerberos acceptor (auth type 16);
/// for both the rest is the client's tokens ([`krb_tokens`]) and, once the context is
/// complete, pairs of (sealed data, verifier) that are unsealed, then verified as signed
/// (header signing off and on). 2 = a client byte stream into the server connection machine
/// with Kerberos offered (as the `pdu` target).
pub fn krb(data: &[u8]) {
    let data = cut(data);
    let [mode, rest @ ..] = data else { return };
    let kind = match mode % 3 {
        0 => AuthType::Spnego,
        1 => AuthType::Kerberos,
        _ => return serve_stream(krb_server_config(), rest),
    };
    let Ok(mut acc) = auth::Acceptor::new(kind, acceptor_config(), &krb_mechanisms(), FIXED_CHALLENGE, FIXED_FILETIME)
    else {
        return;
    };
    let mut tokens = krb_tokens(rest).into_iter();
    for t in tokens.by_ref() {
        match acc.step(t) {
            Ok(auth::Step::Continue(_)) => {}
            Ok(auth::Step::Done(_)) => break,
            Err(_) => return,
        }
    }
    let _ = acc.user();
    let Some(mut p) = acc.protection() else { return };
    while let (Some(body), Some(sig)) = (tokens.next(), tokens.next()) {
        let _ = p.sig_len(true, body.len());
        if !p.plausible_sig_len(sig.len()) {
            continue;
        }
        let mut buf = body.to_vec();
        let n = buf.len();
        let half = n / 2;
        let _ = p.unseal(&mut buf, &Layout::new(0..n, n, false), sig);
        let _ = p.verify(body, &Layout::new(half..n, n, true), sig);
        let _ = p.verify(body, &Layout::new(0..half, n, false), sig);
    }
}
