//! Wire codecs for the NTLMSSP messages: NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1),
//! CHALLENGE_MESSAGE (2.2.1.2), AUTHENTICATE_MESSAGE (2.2.1.3), AV_PAIR lists
//! (2.2.2.1), VERSION (2.2.2.10) and NTLMv2_CLIENT_CHALLENGE (2.2.2.7).
//!
//! This module owns byte layout only: no cryptography and no state machine.
//!
//! Invariants:
//! - Every parser takes untrusted bytes and either returns a value or
//!   [`AuthError::Malformed`]; every offset/length pair is bounds-checked with
//!   checked arithmetic, nothing indexes unchecked into peer data.
//! - Payload strings are returned raw (their encoding depends on the negotiated
//!   `NTLMSSP_NEGOTIATE_UNICODE` flag); use [`decode_string`] to decode them.
//! - Encoders always produce the full fixed header (including the VERSION
//!   field, and for AUTHENTICATE also the 16-byte MIC field at offset 72) so
//!   that the payload offsets never depend on flags.

use crate::AuthError;

/// `"NTLMSSP\0"`, the signature of every message.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// MessageType of a NEGOTIATE_MESSAGE.
pub const MSG_NEGOTIATE: u32 = 1;
/// MessageType of a CHALLENGE_MESSAGE.
pub const MSG_CHALLENGE: u32 = 2;
/// MessageType of an AUTHENTICATE_MESSAGE.
pub const MSG_AUTHENTICATE: u32 = 3;

/// Offset of the MIC field inside an AUTHENTICATE_MESSAGE.
pub const MIC_OFFSET: usize = 72;
/// Size of the fixed AUTHENTICATE header including VERSION and MIC.
pub const AUTHENTICATE_HEADER_LEN: usize = 88;
const NEGOTIATE_HEADER_LEN: usize = 40;
const CHALLENGE_HEADER_LEN: usize = 56;

/// AV_PAIR identifiers (MS-NLMP 2.2.2.1).
pub mod av_id {
    /// End of list.
    pub const MSV_AV_EOL: u16 = 0x0000;
    /// NetBIOS computer name.
    pub const MSV_AV_NB_COMPUTER_NAME: u16 = 0x0001;
    /// NetBIOS domain name.
    pub const MSV_AV_NB_DOMAIN_NAME: u16 = 0x0002;
    /// DNS computer name.
    pub const MSV_AV_DNS_COMPUTER_NAME: u16 = 0x0003;
    /// DNS domain name.
    pub const MSV_AV_DNS_DOMAIN_NAME: u16 = 0x0004;
    /// DNS forest name.
    pub const MSV_AV_DNS_TREE_NAME: u16 = 0x0005;
    /// 32-bit flags; bit 0x2 means the AUTHENTICATE_MESSAGE carries a MIC.
    pub const MSV_AV_FLAGS: u16 = 0x0006;
    /// FILETIME of the server.
    pub const MSV_AV_TIMESTAMP: u16 = 0x0007;
    /// Single host data.
    pub const MSV_AV_SINGLE_HOST: u16 = 0x0008;
    /// SPN of the target.
    pub const MSV_AV_TARGET_NAME: u16 = 0x0009;
    /// Channel bindings hash.
    pub const MSV_AV_CHANNEL_BINDINGS: u16 = 0x000A;
}

/// MsvAvFlags bit: the AUTHENTICATE_MESSAGE contains a MIC.
pub const AV_FLAG_MIC_PRESENT: u32 = 0x0000_0002;

/// The VERSION structure (MS-NLMP 2.2.2.10). Informational only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// ProductMajorVersion.
    pub major: u8,
    /// ProductMinorVersion.
    pub minor: u8,
    /// ProductBuild.
    pub build: u16,
    /// NTLMRevisionCurrent (0x0F for NTLMSSP_REVISION_W2K3).
    pub revision: u8,
}

impl Version {
    /// The version we advertise: 10.0 build 20348, NTLM revision 15.
    pub const OURS: Version = Version { major: 10, minor: 0, build: 20348, revision: 0x0F };

    /// Encodes the 8-byte structure.
    pub fn encode(&self) -> [u8; 8] {
        let b = self.build.to_le_bytes();
        [self.major, self.minor, b[0], b[1], 0, 0, 0, self.revision]
    }

    /// Parses the 8-byte structure at `off`, if present.
    fn parse_at(buf: &[u8], off: usize) -> Option<Version> {
        let v = buf.get(off..off.checked_add(8)?)?;
        Some(Version { major: v[0], minor: v[1], build: u16::from_le_bytes([v[2], v[3]]), revision: v[7] })
    }
}

/// One AV_PAIR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvPair {
    /// AvId.
    pub id: u16,
    /// Value bytes.
    pub value: Vec<u8>,
}

impl AvPair {
    /// Builds a pair whose value is a UTF-16LE string.
    pub fn string(id: u16, s: &str) -> AvPair {
        AvPair { id, value: crate::crypto::utf16le(s) }
    }
}

/// Parses an AV_PAIR list up to and excluding MsvAvEOL. Bytes after the EOL
/// are ignored (NTLMv2 responses carry 4 trailing zero bytes). A list without
/// EOL is malformed.
pub fn parse_av_pairs(buf: &[u8]) -> Result<Vec<AvPair>, AuthError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        let id = read_u16(buf, pos).map_err(|_| AuthError::Malformed("av pair list missing eol"))?;
        let len = read_u16(buf, pos + 2).map_err(|_| AuthError::Malformed("truncated av pair"))? as usize;
        let start = pos + 4;
        let value = buf.get(start..start + len).ok_or(AuthError::Malformed("av pair value out of bounds"))?;
        if id == av_id::MSV_AV_EOL {
            return Ok(out);
        }
        out.push(AvPair { id, value: value.to_vec() });
        pos = start + len;
    }
}

/// Encodes an AV_PAIR list and appends MsvAvEOL. Pairs with an EOL id are
/// skipped; values longer than 65535 bytes are truncated (never happens with
/// the values this crate produces).
pub fn encode_av_pairs(pairs: &[AvPair]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pairs.iter().filter(|p| p.id != av_id::MSV_AV_EOL) {
        let len = p.value.len().min(u16::MAX as usize);
        out.extend_from_slice(&p.id.to_le_bytes());
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&p.value[..len]);
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

/// Finds the first pair with `id`.
pub fn find_av(pairs: &[AvPair], id: u16) -> Option<&[u8]> {
    pairs.iter().find(|p| p.id == id).map(|p| p.value.as_slice())
}

/// MsvAvFlags value of a list, 0 when absent or short.
pub fn av_flags(pairs: &[AvPair]) -> u32 {
    find_av(pairs, av_id::MSV_AV_FLAGS)
        .and_then(|v| v.get(..4))
        .map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
        .unwrap_or(0)
}

/// MsvAvTimestamp value of a list, if present and 8 bytes long.
pub fn av_timestamp(pairs: &[AvPair]) -> Option<u64> {
    let v = find_av(pairs, av_id::MSV_AV_TIMESTAMP)?;
    let a: [u8; 8] = v.try_into().ok()?;
    Some(u64::from_le_bytes(a))
}

fn read_u16(buf: &[u8], off: usize) -> Result<u16, AuthError> {
    let b = buf.get(off..off.wrapping_add(2)).ok_or(AuthError::Malformed("truncated message"))?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn read_u32(buf: &[u8], off: usize) -> Result<u32, AuthError> {
    let b = buf.get(off..off.wrapping_add(4)).ok_or(AuthError::Malformed("truncated message"))?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads an 8-byte `{Len, MaxLen, BufferOffset}` descriptor at `off` and
/// returns the bounds-checked payload slice it points to.
fn read_field<'a>(buf: &'a [u8], off: usize, what: &'static str) -> Result<&'a [u8], AuthError> {
    let len = read_u16(buf, off)? as usize;
    let offset = read_u32(buf, off + 4)? as usize;
    if len == 0 {
        return Ok(&[]);
    }
    let end = offset.checked_add(len).ok_or(AuthError::Malformed(what))?;
    buf.get(offset..end).ok_or(AuthError::Malformed(what))
}

/// Checks the signature and returns the MessageType.
pub fn message_type(buf: &[u8]) -> Result<u32, AuthError> {
    if buf.len() < 12 || &buf[..8] != SIGNATURE {
        return Err(AuthError::Malformed("not an ntlmssp message"));
    }
    read_u32(buf, 8)
}

fn expect_type(buf: &[u8], ty: u32) -> Result<(), AuthError> {
    if message_type(buf)? != ty {
        return Err(AuthError::UnexpectedMessage);
    }
    Ok(())
}

/// Decodes a payload string: UTF-16LE when `unicode`, otherwise the OEM
/// encoding, read as Latin-1.
pub fn decode_string(raw: &[u8], unicode: bool) -> Result<String, AuthError> {
    if !unicode {
        return Ok(raw.iter().map(|&b| b as char).collect());
    }
    if raw.len() % 2 != 0 {
        return Err(AuthError::Malformed("odd-length utf-16 string"));
    }
    let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| AuthError::Malformed("invalid utf-16 string"))
}

/// Builds the fixed header plus payload of a message.
struct Builder {
    header: Vec<u8>,
    payload: Vec<u8>,
    header_len: usize,
}

impl Builder {
    fn new(ty: u32, header_len: usize) -> Self {
        let mut header = Vec::with_capacity(header_len);
        header.extend_from_slice(SIGNATURE);
        header.extend_from_slice(&ty.to_le_bytes());
        Builder { header, payload: Vec::new(), header_len }
    }
    fn u32(&mut self, v: u32) {
        self.header.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.header.extend_from_slice(v);
    }
    /// Appends a field descriptor pointing at `data` placed in the payload.
    fn field(&mut self, data: &[u8]) {
        let len = data.len().min(u16::MAX as usize) as u16;
        let off = (self.header_len + self.payload.len()) as u32;
        self.header.extend_from_slice(&len.to_le_bytes());
        self.header.extend_from_slice(&len.to_le_bytes());
        self.header.extend_from_slice(&off.to_le_bytes());
        self.payload.extend_from_slice(&data[..len as usize]);
    }
    fn finish(mut self) -> Vec<u8> {
        debug_assert_eq!(self.header.len(), self.header_len);
        self.header.resize(self.header_len, 0);
        self.header.extend_from_slice(&self.payload);
        self.header
    }
}

/// NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiateMessage {
    /// NegotiateFlags.
    pub flags: u32,
    /// OEM domain name (only with NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED).
    pub domain: Vec<u8>,
    /// OEM workstation name (only with ..._OEM_WORKSTATION_SUPPLIED).
    pub workstation: Vec<u8>,
    /// VERSION, when NTLMSSP_NEGOTIATE_VERSION is set and present.
    pub version: Option<Version>,
}

impl NegotiateMessage {
    /// Parses a NEGOTIATE_MESSAGE. Only signature, type and flags are
    /// mandatory (16 bytes); the optional fields are read when the flags
    /// announce them.
    pub fn parse(buf: &[u8]) -> Result<Self, AuthError> {
        use super::flags::*;
        expect_type(buf, MSG_NEGOTIATE)?;
        let flags = read_u32(buf, 12)?;
        let domain = if flags & NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED != 0 {
            read_field(buf, 16, "negotiate domain out of bounds")?.to_vec()
        } else {
            Vec::new()
        };
        let workstation = if flags & NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED != 0 {
            read_field(buf, 24, "negotiate workstation out of bounds")?.to_vec()
        } else {
            Vec::new()
        };
        let version = if flags & NTLMSSP_NEGOTIATE_VERSION != 0 { Version::parse_at(buf, 32) } else { None };
        Ok(NegotiateMessage { flags, domain, workstation, version })
    }

    /// Encodes the message (40-byte header, empty domain and workstation).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(MSG_NEGOTIATE, NEGOTIATE_HEADER_LEN);
        b.u32(self.flags);
        b.field(&self.domain);
        b.field(&self.workstation);
        b.bytes(&self.version.map(|v| v.encode()).unwrap_or([0; 8]));
        b.finish()
    }
}

/// CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeMessage {
    /// NegotiateFlags chosen by the server.
    pub flags: u32,
    /// TargetName, raw (encoding per the UNICODE flag).
    pub target_name: Vec<u8>,
    /// ServerChallenge.
    pub server_challenge: [u8; 8],
    /// TargetInfo: a raw AV_PAIR list.
    pub target_info: Vec<u8>,
    /// VERSION, when NTLMSSP_NEGOTIATE_VERSION is set and present.
    pub version: Option<Version>,
}

impl ChallengeMessage {
    /// Parses a CHALLENGE_MESSAGE (at least the 32-byte legacy header).
    pub fn parse(buf: &[u8]) -> Result<Self, AuthError> {
        use super::flags::*;
        expect_type(buf, MSG_CHALLENGE)?;
        let target_name = read_field(buf, 12, "challenge target name out of bounds")?.to_vec();
        let flags = read_u32(buf, 20)?;
        let server_challenge: [u8; 8] =
            buf.get(24..32).and_then(|s| s.try_into().ok()).ok_or(AuthError::Malformed("truncated challenge"))?;
        let target_info = if buf.len() >= 48 {
            read_field(buf, 40, "challenge target info out of bounds")?.to_vec()
        } else {
            Vec::new()
        };
        let version = if flags & NTLMSSP_NEGOTIATE_VERSION != 0 { Version::parse_at(buf, 48) } else { None };
        Ok(ChallengeMessage { flags, target_name, server_challenge, target_info, version })
    }

    /// Encodes the message (56-byte header).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(MSG_CHALLENGE, CHALLENGE_HEADER_LEN);
        b.field(&self.target_name);
        b.u32(self.flags);
        b.bytes(&self.server_challenge);
        b.bytes(&[0; 8]);
        b.field(&self.target_info);
        b.bytes(&self.version.map(|v| v.encode()).unwrap_or([0; 8]));
        b.finish()
    }
}

/// AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateMessage {
    /// LmChallengeResponse.
    pub lm_response: Vec<u8>,
    /// NtChallengeResponse.
    pub nt_response: Vec<u8>,
    /// DomainName, raw.
    pub domain: Vec<u8>,
    /// UserName, raw.
    pub user: Vec<u8>,
    /// Workstation, raw.
    pub workstation: Vec<u8>,
    /// EncryptedRandomSessionKey.
    pub encrypted_random_session_key: Vec<u8>,
    /// NegotiateFlags.
    pub flags: u32,
    /// VERSION, when the VERSION flag is set and the field is present.
    pub version: Option<Version>,
    /// The 16 bytes at the MIC position, when the message is long enough.
    /// Whether they really are a MIC is decided by MsvAvFlags in the NTLMv2
    /// response, not by this codec.
    pub mic: Option<[u8; 16]>,
}

impl AuthenticateMessage {
    /// Parses an AUTHENTICATE_MESSAGE.
    pub fn parse(buf: &[u8]) -> Result<Self, AuthError> {
        use super::flags::*;
        expect_type(buf, MSG_AUTHENTICATE)?;
        if buf.len() < 64 {
            return Err(AuthError::Malformed("truncated authenticate"));
        }
        let lm_response = read_field(buf, 12, "lm response out of bounds")?.to_vec();
        let nt_response = read_field(buf, 20, "nt response out of bounds")?.to_vec();
        let domain = read_field(buf, 28, "domain out of bounds")?.to_vec();
        let user = read_field(buf, 36, "user out of bounds")?.to_vec();
        let workstation = read_field(buf, 44, "workstation out of bounds")?.to_vec();
        let encrypted_random_session_key = read_field(buf, 52, "session key out of bounds")?.to_vec();
        let flags = read_u32(buf, 60)?;
        let version = if flags & NTLMSSP_NEGOTIATE_VERSION != 0 { Version::parse_at(buf, 64) } else { None };
        let mic = buf.get(MIC_OFFSET..MIC_OFFSET + 16).and_then(|s| <[u8; 16]>::try_from(s).ok());
        Ok(AuthenticateMessage {
            lm_response,
            nt_response,
            domain,
            user,
            workstation,
            encrypted_random_session_key,
            flags,
            version,
            mic,
        })
    }

    /// Encodes the message with an 88-byte header (VERSION and MIC fields
    /// always present; MIC written as given or zero).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(MSG_AUTHENTICATE, AUTHENTICATE_HEADER_LEN);
        b.field(&self.lm_response);
        b.field(&self.nt_response);
        b.field(&self.domain);
        b.field(&self.user);
        b.field(&self.workstation);
        b.field(&self.encrypted_random_session_key);
        b.u32(self.flags);
        b.bytes(&self.version.map(|v| v.encode()).unwrap_or([0; 8]));
        b.bytes(&self.mic.unwrap_or([0; 16]));
        b.finish()
    }
}

/// The parsed NTLMv2_RESPONSE (MS-NLMP 2.2.2.8) with its embedded
/// NTLMv2_CLIENT_CHALLENGE (2.2.2.7).
#[derive(Clone, Debug)]
pub struct NtlmV2Response<'a> {
    /// NTProofStr (the `Response` field).
    pub nt_proof_str: [u8; 16],
    /// The whole NTLMv2_CLIENT_CHALLENGE (`temp` of MS-NLMP 3.3.2).
    pub temp: &'a [u8],
    /// TimeStamp.
    pub timestamp: u64,
    /// ChallengeFromClient.
    pub client_challenge: [u8; 8],
    /// AvPairs.
    pub av_pairs: Vec<AvPair>,
}

/// Fixed part of NTLMv2_CLIENT_CHALLENGE before the AV pairs.
pub const CLIENT_CHALLENGE_FIXED_LEN: usize = 28;

impl<'a> NtlmV2Response<'a> {
    /// Parses an NtChallengeResponse that is at least 16 + 28 bytes long.
    pub fn parse(nt: &'a [u8]) -> Result<Self, AuthError> {
        if nt.len() < 16 + CLIENT_CHALLENGE_FIXED_LEN {
            return Err(AuthError::Malformed("ntlmv2 response too short"));
        }
        let (proof, temp) = nt.split_at(16);
        let nt_proof_str: [u8; 16] = proof.try_into().map_err(|_| AuthError::Malformed("ntlmv2 proof"))?;
        let timestamp = u64::from_le_bytes(
            temp.get(8..16).and_then(|s| s.try_into().ok()).ok_or(AuthError::Malformed("ntlmv2 timestamp"))?,
        );
        let client_challenge: [u8; 8] =
            temp.get(16..24).and_then(|s| s.try_into().ok()).ok_or(AuthError::Malformed("ntlmv2 client challenge"))?;
        let av_pairs = parse_av_pairs(temp.get(CLIENT_CHALLENGE_FIXED_LEN..).unwrap_or(&[]))?;
        Ok(NtlmV2Response { nt_proof_str, temp, timestamp, client_challenge, av_pairs })
    }
}

/// Encodes `temp`: NTLMv2_CLIENT_CHALLENGE followed by 4 zero bytes, as in
/// MS-NLMP 3.3.2 (`Responserversion, HiResponserversion, Z(6), Time,
/// ClientChallenge, Z(4), ServerName, Z(4)`); `av_pairs` must already end with
/// MsvAvEOL.
pub fn encode_client_challenge(timestamp: u64, client_challenge: &[u8; 8], av_pairs: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(CLIENT_CHALLENGE_FIXED_LEN + av_pairs.len() + 4);
    t.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    t.extend_from_slice(&timestamp.to_le_bytes());
    t.extend_from_slice(client_challenge);
    t.extend_from_slice(&[0; 4]);
    t.extend_from_slice(av_pairs);
    t.extend_from_slice(&[0; 4]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn av_pairs_round_trip_and_bounds() {
        let pairs = vec![
            AvPair::string(av_id::MSV_AV_NB_DOMAIN_NAME, "Domain"),
            AvPair { id: av_id::MSV_AV_FLAGS, value: 2u32.to_le_bytes().to_vec() },
        ];
        let enc = encode_av_pairs(&pairs);
        assert_eq!(parse_av_pairs(&enc).unwrap(), pairs);
        assert_eq!(av_flags(&pairs), 2);
        // Missing EOL, truncated header, value past the end.
        assert!(parse_av_pairs(&enc[..enc.len() - 4]).is_err());
        assert!(parse_av_pairs(&[2, 0, 1]).is_err());
        assert!(parse_av_pairs(&[2, 0, 0xff, 0xff, 0]).is_err());
        assert!(parse_av_pairs(&[]).is_err());
    }

    #[test]
    fn messages_round_trip() {
        let n =
            NegotiateMessage { flags: 0xe208_8235, domain: vec![], workstation: vec![], version: Some(Version::OURS) };
        assert_eq!(NegotiateMessage::parse(&n.encode()).unwrap(), n);
        let c = ChallengeMessage {
            flags: 0xe28a_8235,
            target_name: crate::crypto::utf16le("DOM"),
            server_challenge: [1, 2, 3, 4, 5, 6, 7, 8],
            target_info: encode_av_pairs(&[]),
            version: Some(Version::OURS),
        };
        assert_eq!(ChallengeMessage::parse(&c.encode()).unwrap(), c);
        let a = AuthenticateMessage {
            lm_response: vec![0; 24],
            nt_response: vec![7; 60],
            domain: b"d\0".to_vec(),
            user: b"u\0".to_vec(),
            workstation: vec![],
            encrypted_random_session_key: vec![9; 16],
            flags: 0xe288_8235,
            version: Some(Version::OURS),
            mic: Some([3; 16]),
        };
        assert_eq!(AuthenticateMessage::parse(&a.encode()).unwrap(), a);
    }

    #[test]
    fn field_offsets_are_bounds_checked() {
        let a = AuthenticateMessage {
            lm_response: vec![],
            nt_response: vec![7; 60],
            domain: vec![],
            user: vec![],
            workstation: vec![],
            encrypted_random_session_key: vec![],
            flags: 0,
            version: None,
            mic: None,
        };
        let mut enc = a.encode();
        // NT response offset pointing far outside the message.
        enc[24..28].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        assert_eq!(AuthenticateMessage::parse(&enc), Err(AuthError::Malformed("nt response out of bounds")));
        // Wrong types / signatures.
        assert_eq!(NegotiateMessage::parse(&a.encode()), Err(AuthError::UnexpectedMessage));
        assert!(matches!(ChallengeMessage::parse(b"NTLMSSQ\0\x02\0\0\0"), Err(AuthError::Malformed(_))));
        for len in 0..a.encode().len() {
            let _ = AuthenticateMessage::parse(&a.encode()[..len]);
        }
    }

    #[test]
    fn strings() {
        assert_eq!(decode_string(&crate::crypto::utf16le("Üser"), true).unwrap(), "Üser");
        assert!(decode_string(&[0x41], true).is_err());
        assert!(decode_string(&[0x00, 0xd8], true).is_err()); // lone surrogate
        assert_eq!(decode_string(b"abc", false).unwrap(), "abc");
    }
}
