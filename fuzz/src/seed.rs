//! Seed inputs for every fuzz target: byte streams and tokens taken from the recorded captures
//! (`captures/*.pcap`, parsed by the caller with `tests::capture` and handed in as
//! [`CaptureSeeds`]), plus sessions recorded here between the project's own client and the
//! `pdu` target's server (fixed randomness, so an authenticated, sealed session replays
//! byte for byte inside the target and the fuzzer starts past the handshake).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use auth::{AuthType, NtlmAcceptor};
use dcerpc::client::{ClientConnection, ClientEvent};
use dcerpc::pdu::{auth_level, SyntaxId};
use dcerpc::server::{Next, ServerConnection};
use dcerpc::Associations;

use crate::{fixed_initiator, ndr_input, server_config, split_fragments, FIXED_CHALLENGE, FIXED_FILETIME};

/// What the captures contribute, already extracted by the caller.
#[derive(Default)]
pub struct CaptureSeeds {
    /// Client-to-server byte stream of each recorded connection.
    pub client_streams: Vec<Vec<u8>>,
    /// (interface index as in [`crate::NDR_INTERFACES`], big-endian, opnum, request stub).
    pub requests: Vec<(usize, bool, u16, Vec<u8>)>,
    /// Decrypted response stubs (scanned for property lists).
    pub responses: Vec<Vec<u8>>,
    /// Raw NTLMSSP NEGOTIATE / CHALLENGE / AUTHENTICATE messages.
    pub ntlm: Vec<(u8, Vec<u8>)>,
    /// SPNEGO tokens: (true = from the client, index in its direction, token).
    pub spnego: Vec<(bool, usize, Vec<u8>)>,
}

/// The seeds of every target, as (target, input).
pub fn all(cap: &CaptureSeeds) -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    for s in &cap.client_streams {
        v.push(("pdu", s.clone()));
    }
    for s in recorded_sessions() {
        v.push(("pdu", s));
    }
    for (i, be, op, stub) in &cap.requests {
        v.push(("ndr", ndr_input(*i, *be, *op, stub)));
    }
    type DefaultStub = fn(u16) -> Option<Vec<u8>>;
    let defaults: [(usize, DefaultStub); 4] = [
        (0, idl::clusapi::Clusapi::default_request_stub),
        (1, idl::witness::Witness::default_request_stub),
        (2, idl::epm::Epmapper::default_request_stub),
        (3, idl::mgmt::Mgmt::default_request_stub),
    ];
    for (i, f) in defaults {
        for op in 0..=200u16 {
            if let Some(stub) = f(op) {
                v.push(("ndr", ndr_input(i, false, op, &stub)));
            }
        }
    }
    for (kind, msg) in &cap.ntlm {
        v.push(("ntlmssp", prefixed(0, msg)));
        let mode = match kind {
            1 => 1,
            3 => 2,
            _ => 3,
        };
        v.push(("ntlmssp", prefixed(mode, msg)));
    }
    let (neg, chal, auth) = fixed_ntlm_exchange();
    v.push(("ntlmssp", prefixed(1, &neg)));
    v.push(("ntlmssp", prefixed(3, &chal)));
    v.push(("ntlmssp", prefixed(2, &auth)));
    v.push(("ntlmssp", prefixed(0, &auth)));
    for (client, idx, tok) in &cap.spnego {
        v.push(("spnego", prefixed(0, tok)));
        let mode = match (client, idx) {
            (true, 0) => 1,
            (true, _) => 2,
            (false, _) => 3,
        };
        v.push(("spnego", prefixed(mode, tok)));
    }
    for (mode, tok) in fixed_spnego_exchange() {
        v.push(("spnego", prefixed(mode, &tok)));
    }
    for l in property_lists(&cap.responses) {
        v.push(("proplist", prefixed(0, &l)));
    }
    let deps = registry_model::proplist::ValueList::required_dependencies(&[1, 2], &["IP Address", "Network Name"]);
    v.push(("proplist", prefixed(1, &deps.encode())));
    v.push(("proplist", prefixed(2, &registry_model::security::default_key_sd())));
    for (syntax, data) in [(0x0001_0003u32, 7u32.to_le_bytes().to_vec()), (0x0003_0003, b"x\0\0\0".to_vec())] {
        let mut b = syntax.to_le_bytes().to_vec();
        b.extend_from_slice(&data);
        v.push(("proplist", prefixed(3, &b)));
    }
    for (mode, b) in ctdb_seeds() {
        v.push(("ctdb", prefixed(mode, &b)));
    }
    for (mode, text) in config_seeds() {
        v.push(("config", prefixed(mode, text.as_bytes())));
    }
    for b in krb_seeds() {
        v.push(("krb", b));
    }
    v
}

fn prefixed(mode: u8, b: &[u8]) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(b);
    v
}

/// Runs one session between the project's client and the `pdu` target's server, returning
/// everything the client sent. `calls` are (context id, opnum, stub).
fn session(client: ClientConnection, contexts: &[(u16, SyntaxId)], calls: &[(u16, u16, Vec<u8>)]) -> Vec<u8> {
    let mut c = client;
    let mut s = ServerConnection::new(server_config(), Associations::new());
    let mut sent = Vec::new();
    let mut to_server = Vec::new();
    c.bind(contexts, 0, &mut to_server);
    // the handshake: at most a few legs
    let mut bound = false;
    for _ in 0..4 {
        sent.extend_from_slice(&to_server);
        let mut to_client = Vec::new();
        for f in split_fragments(&to_server) {
            let mut f = f.to_vec();
            if let Next::Close(_) = s.handle_fragment(&mut f, &mut to_client) {
                return sent;
            }
        }
        to_server.clear();
        for f in split_fragments(&to_client) {
            let mut f = f.to_vec();
            match c.handle_fragment(&mut f, &mut to_server) {
                Ok(ClientEvent::Bound { .. }) => bound = true,
                Ok(_) => {}
                Err(_) => return sent,
            }
        }
        if bound {
            sent.extend_from_slice(&to_server);
            let mut sink = Vec::new();
            for f in split_fragments(&to_server) {
                let mut f = f.to_vec();
                let _ = s.handle_fragment(&mut f, &mut sink);
            }
            break;
        }
        if to_server.is_empty() {
            break;
        }
    }
    for (ctx, op, stub) in calls {
        c.request(*ctx, *op, stub, &mut sent);
    }
    sent
}

/// Sessions recorded against the target's own server: unauthenticated epmapper/mgmt calls, and
/// NTLMSSP and SPNEGO binds at packet privacy and integrity with clusapi and witness calls
/// (one of them fragmented).
pub fn recorded_sessions() -> Vec<Vec<u8>> {
    let clusapi = SyntaxId::new(idl::clusapi::Clusapi::UUID, 3, 0);
    let witness = SyntaxId::new(idl::witness::Witness::UUID, 1, 1);
    let epm = SyntaxId::new(idl::epm::Epmapper::UUID, 3, 0);
    let mgmt = SyntaxId::new(idl::mgmt::Mgmt::UUID, 1, 0);
    let cl = |op: u16| (0u16, op, idl::clusapi::Clusapi::default_request_stub(op).unwrap_or_default());
    let wi = |op: u16| (1u16, op, idl::witness::Witness::default_request_stub(op).unwrap_or_default());
    let mut out = Vec::new();
    // unauthenticated: endpoint mapper and mgmt
    let ep: Vec<_> = (0..8u16)
        .filter_map(|op| idl::epm::Epmapper::default_request_stub(op).map(|s| (0u16, op, s)))
        .chain((0..5u16).filter_map(|op| idl::mgmt::Mgmt::default_request_stub(op).map(|s| (1u16, op, s))))
        .collect();
    out.push(session(ClientConnection::anonymous(), &[(0, epm), (1, mgmt)], &ep));
    // authenticated, sealed / signed, with a spread of clusapi and witness opnums
    let groups: [&[u16]; 4] =
        [&[3, 102, 0, 1, 7], &[117, 66, 68, 8, 12, 73], &[41, 45, 55, 57, 65, 56], &[28, 30, 34, 36, 37]];
    for (i, ops) in groups.iter().enumerate() {
        let kind = if i % 2 == 0 { AuthType::Spnego } else { AuthType::Ntlmssp };
        let mut calls: Vec<_> = ops.iter().map(|&op| cl(op)).collect();
        calls.push(wi(0));
        for level in [auth_level::PKT_PRIVACY, auth_level::PKT_INTEGRITY] {
            let c = ClientConnection::authenticated(fixed_initiator(kind), level);
            out.push(session(c, &[(0, clusapi), (1, witness)], &calls));
        }
    }
    // a request larger than one fragment
    let mut big = idl::clusapi::Clusapi::default_request_stub(34).unwrap_or_default();
    big.resize(9000, 0x41);
    let c = ClientConnection::authenticated(fixed_initiator(AuthType::Ntlmssp), auth_level::PKT_PRIVACY);
    out.push(session(c, &[(0, clusapi)], &[(0, 34, big)]));
    out
}

/// NEGOTIATE, CHALLENGE (from the fixed challenge) and an AUTHENTICATE that the `ntlmssp`
/// target's acceptor (mode 2) accepts.
pub fn fixed_ntlm_exchange() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let creds = std::sync::Arc::new(auth::StaticCredentials::new().with_password(crate::USER, crate::PASSWORD));
    let mut acc = NtlmAcceptor::new(crate::acceptor_config(), creds, FIXED_CHALLENGE, FIXED_FILETIME);
    let mut ini = fixed_initiator(AuthType::Ntlmssp);
    let neg = ini.first();
    let chal = match acc.step(&neg) {
        Ok(auth::NtlmStep::Continue(t)) => t,
        _ => return (neg, Vec::new(), Vec::new()),
    };
    let auth = match ini.step(&chal) {
        Ok(auth::Step::Done(Some(t)) | auth::Step::Continue(t)) => t,
        _ => Vec::new(),
    };
    (neg, chal, auth)
}

/// The SPNEGO tokens of a fixed exchange, with the `spnego` target mode that reads each.
fn fixed_spnego_exchange() -> Vec<(u8, Vec<u8>)> {
    let creds = std::sync::Arc::new(auth::StaticCredentials::new().with_password(crate::USER, crate::PASSWORD));
    let Ok(mut acc) = auth::Acceptor::new(
        AuthType::Spnego,
        crate::acceptor_config(),
        &auth::Mechanisms::local(creds),
        FIXED_CHALLENGE,
        FIXED_FILETIME,
    ) else {
        return Vec::new();
    };
    let mut ini = fixed_initiator(AuthType::Spnego);
    let first = ini.first();
    let mut v = vec![(1, first.clone()), (0, first.clone())];
    let Ok(auth::Step::Continue(resp)) = acc.step(&first) else { return v };
    v.push((3, resp.clone()));
    v.push((0, resp.clone()));
    if let Ok(auth::Step::Continue(t) | auth::Step::Done(Some(t))) = ini.step(&resp) {
        v.push((2, t.clone()));
        v.push((0, t));
    }
    v
}

/// Every property list found at a 4-byte boundary of the given stubs (at least one property).
fn property_lists(stubs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    for s in stubs {
        for off in (0..s.len().saturating_sub(8)).step_by(4) {
            let count = u32::from_le_bytes([s[off], s[off + 1], s[off + 2], s[off + 3]]);
            if count == 0 || count > 200 {
                continue;
            }
            if let Ok(l) = registry_model::proplist::PropertyList::decode(&s[off..]) {
                let enc = l.encode();
                if !v.contains(&enc) {
                    v.push(enc);
                }
            }
        }
    }
    v
}

fn ctdb_seeds() -> Vec<(u8, Vec<u8>)> {
    use nodes::ctdb::protocol as p;
    let v4 = IpAddr::V4(Ipv4Addr::new(127, 0, 100, 1));
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let nodes =
        [p::NodeAndFlags { pnn: 0, flags: 0, addr: Some(v4) }, p::NodeAndFlags { pnn: 1, flags: 4, addr: Some(v6) }];
    let ifaces = vec![p::Iface { name: "lo".into(), link_up: true, references: 2 }];
    let mut packets = p::ReqControl::new(0, 7).encode();
    packets.extend(
        p::ReplyControl { reqid: 1, generation: 2, status: 0, data: p::encode_node_map(&nodes), errmsg: None }.encode(),
    );
    packets.extend(
        p::ReplyControl { reqid: 2, generation: 2, status: -1, data: vec![], errmsg: Some("no".into()) }.encode(),
    );
    packets
        .extend(p::ReqMessage { destnode: 0, srcnode: 1, reqid: 3, srvid: 0xf000_0000, data: vec![1, 2, 3] }.encode());
    let rec = p::RecData::with_header(5, b"key", &p::LtdbHeader { rsn: 9, dmaster: 1, flags: 0 }, b"value");
    let mut recbytes = Vec::new();
    rec.encode(&mut recbytes);
    let mut ltdb = Vec::new();
    p::LtdbHeader { rsn: 9, dmaster: 1, flags: 0 }.encode(&mut ltdb);
    let mut sock = Vec::new();
    p::encode_sock_addr(v4, &mut sock);
    let txid = nodes::ctdb::pdb::new_txid(1);
    vec![
        (0, packets),
        (1, p::encode_node_map(&nodes)),
        (2, p::encode_vnn_map(&p::VnnMap { generation: 3, map: vec![0, 1, 2] })),
        (3, p::encode_public_ip_list(&[(0, v4), (1, v6)])),
        (4, p::encode_iface_list(&ifaces)),
        (
            5,
            p::encode_public_ip_info(&p::PublicIpInfo {
                ip: p::PublicIpEntry { pnn: 1, addr: Some(v4) },
                active_idx: 0,
                ifaces,
            }),
        ),
        (6, p::NodeFlagChange { pnn: 1, new_flags: 4, old_flags: 0 }.encode()),
        (7, p::SrvidMessage { pnn: 1, srvid: 77 }.encode()),
        (8, ltdb),
        (9, recbytes),
        (10, p::RecBuffer { db_id: 0x1234, records: vec![rec] }.encode()),
        (11, p::encode_dbid_map(&[p::DbIdEntry { db_id: 5, flags: 1 }])),
        (12, sock),
        (13, nodes::ctdb::pdb::encode_value(&txid, b"payload")),
    ]
}

fn config_seeds() -> Vec<(u8, String)> {
    vec![
        (
            0,
            "cluster_name = \"SAMBACLUSTER\"\nlisten = [\"127.0.0.1\"]\nport = 4135\nepm_port = 135\n\
             accounts = \"/var/lib/clusapid/accounts\"\nbackend = \"ctdb\"\nctdb_socket = \"/run/ctdb/ctdbd.socket\"\n\
             smb_conf = \"/etc/samba/smb.conf\"\nnodes = 3\nstate_dir = \"/var/lib/clusapid\"\nmax_request = 4194304\n"
                .into(),
        ),
        (
            1,
            "alice:full:a4f49c406510bdcab6824ee7c30fd852\n# c\nbob:read-only:a4f49c406510bdcab6824ee7c30fd852\n".into(),
        ),
        (2, "[global]\n  netbios name = ctdb-cluster\n  clustering = yes\n[share1]\n path = /srv\n[homes]\n".into()),
    ]
}

/// `krb` inputs: complete exchanges with the stand-in Kerberos (SPNEGO with the Microsoft OID
/// first and a mechListMIC, a ticket without a key that falls back to NTLM, raw auth type 16
/// followed by sealed data), and a client stream that binds with raw Kerberos at packet
/// privacy, completes the third leg in an auth3 and sends sealed clusapi and witness calls.
pub fn krb_seeds() -> Vec<Vec<u8>> {
    use auth::gss::{GssContext, KRB5_OID, MS_KRB5_OID};
    use auth::spnego::{self, NTLMSSP_OID};
    use auth::toy_krb::ToyKrb;
    let framed = |mode: u8, toks: &[&[u8]]| {
        let mut v = vec![mode];
        for t in toks {
            v.extend_from_slice(&u16::try_from(t.len()).unwrap_or(u16::MAX).to_le_bytes());
            v.extend_from_slice(t);
        }
        v
    };
    let mut out = Vec::new();
    // SPNEGO: AP-REQ in the NegTokenInit, the client's AP-REP with its mechListMIC
    let mech_types = spnego::encode_mech_types(&[MS_KRB5_OID, KRB5_OID, NTLMSSP_OID]);
    let init = spnego::encode_init(&mech_types, Some(b"AP-REQ:alice"));
    let leg3 = ToyKrb::client().spnego_leg3(&mech_types).unwrap_or_default();
    out.push(framed(0, &[&init, &leg3]));
    out.push(framed(0, &[&spnego::encode_init(&mech_types, Some(b"AP-REQ:nokey"))]));
    // raw Kerberos, then one sealed message
    let mut sealed = b"stub data, sixteen bytes padded.".to_vec();
    let mut token = [0u8; auth::toy_krb::WRAP_LEN];
    let mut client = ToyKrb::client();
    if client.wrap(&[], &mut sealed, &[], &mut token).is_ok() {
        out.push(framed(1, &[b"AP-REQ:alice", b"AP-REP-CLIENT", &sealed, &token]));
    }
    let mut stream = vec![2];
    stream.extend_from_slice(&krb_session());
    out.push(stream);
    out
}

/// A client stream binding clusapi and witness with raw Kerberos (auth type 16) at packet
/// privacy, without header signing, then sealed calls (the stand-in client's wrap tokens).
pub fn krb_session() -> Vec<u8> {
    use auth::gss::GssContext;
    use dcerpc::pdu::{self, pfc, PacketType, SecTrailer};
    const KRB: u8 = 16;
    const CTX_ID: u32 = 7;
    let trailer = |pad: u8| SecTrailer {
        auth_type: KRB,
        auth_level: auth_level::PKT_PRIVACY,
        auth_pad_length: pad,
        auth_context_id: CTX_ID,
    };
    let whole = pfc::FIRST_FRAG | pfc::LAST_FRAG;
    let mut o = Vec::new();
    // bind: two contexts, the AP-REQ
    let start = pdu::write_header(&mut o, PacketType::Bind, whole, 1);
    o.extend_from_slice(&pdu::MAX_FRAG.to_le_bytes());
    o.extend_from_slice(&pdu::MAX_FRAG.to_le_bytes());
    o.extend_from_slice(&0u32.to_le_bytes());
    o.extend_from_slice(&[2, 0, 0, 0]);
    let ifaces = [SyntaxId::new(idl::clusapi::Clusapi::UUID, 3, 0), SyntaxId::new(idl::witness::Witness::UUID, 1, 1)];
    for (id, s) in ifaces.iter().enumerate() {
        o.extend_from_slice(&(id as u16).to_le_bytes());
        o.extend_from_slice(&[1, 0]);
        for t in [*s, SyntaxId::ndr20()] {
            o.extend_from_slice(&t.uuid.to_le_bytes());
            o.extend_from_slice(&t.version.to_le_bytes());
        }
    }
    pdu::write_sec_trailer(&mut o, &trailer(0));
    o.extend_from_slice(b"AP-REQ:alice");
    pdu::finish_pdu(&mut o, start, 12);
    // auth3: the client's AP-REP (DCE style third leg)
    let start = pdu::write_header(&mut o, PacketType::Auth3, whole, 2);
    o.extend_from_slice(&[0; 4]);
    pdu::write_sec_trailer(&mut o, &trailer(0));
    o.extend_from_slice(b"AP-REP-CLIENT");
    pdu::finish_pdu(&mut o, start, 13);
    // sealed requests
    let mut client = auth::toy_krb::ToyKrb::client();
    let calls = [(0u16, 3u16), (0, 102), (0, 7), (1, 0)];
    for (k, (ctx, op)) in calls.iter().enumerate() {
        let stub = match ctx {
            0 => idl::clusapi::Clusapi::default_request_stub(*op),
            _ => idl::witness::Witness::default_request_stub(*op),
        }
        .unwrap_or_default();
        let start = pdu::write_header(&mut o, PacketType::Request, whole, 3 + k as u32);
        o.extend_from_slice(&(stub.len() as u32).to_le_bytes());
        o.extend_from_slice(&ctx.to_le_bytes());
        o.extend_from_slice(&op.to_le_bytes());
        let data_start = o.len();
        o.extend_from_slice(&stub);
        let pad = (pdu::AUTH_PAD_ALIGN - stub.len() % pdu::AUTH_PAD_ALIGN) % pdu::AUTH_PAD_ALIGN;
        o.resize(o.len() + pad, 0);
        let mut token = [0u8; auth::toy_krb::WRAP_LEN];
        if client.wrap(&[], &mut o[data_start..], &[], &mut token).is_err() {
            break;
        }
        pdu::write_sec_trailer(&mut o, &trailer(pad as u8));
        o.extend_from_slice(&token);
        pdu::finish_pdu(&mut o, start, token.len() as u16);
    }
    o
}
