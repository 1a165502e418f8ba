//! The established NTLM security context: message integrity and
//! confidentiality with extended session security (MS-NLMP 3.4.2-3.4.4.2,
//! keys from 3.4.5.2/3.4.5.3), plus the SPNEGO mechListMIC variant that keeps
//! the RC4 state untouched (MS-SPNG 3.3.5.1).
//!
//! Invariants:
//! - Built only when `NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY` was
//!   negotiated; otherwise [`NtlmSession::new`] refuses.
//! - Role-aware: a [`Role::Server`] session sends with the server-to-client
//!   keys and receives with the client-to-server keys, a client the reverse.
//! - Each direction has its own RC4 handle and 32-bit sequence number, both
//!   persistent across messages (connection-oriented mode). Every `sign`,
//!   `seal`, `verify` and `unseal` consumes one sequence number; with
//!   `NTLMSSP_NEGOTIATE_KEY_EXCH` the 8-byte checksum also consumes 8 bytes of
//!   the direction's RC4 keystream.
//! - A failed `verify`/`unseal` still consumes its sequence number and
//!   keystream: after [`AuthError::BadSignature`] the context is out of sync
//!   and the connection must be dropped.
//! - No allocation on the per-message paths.

use std::ops::Range;

use super::flags::{NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, NTLMSSP_NEGOTIATE_KEY_EXCH};
use crate::crypto::{ct_eq, seal_key, sign_key, Direction, HmacMd5Key, Rc4};
use crate::AuthError;

/// Size of an NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.1).
pub const SIGNATURE_LEN: usize = 16;

/// Which end of the connection a session belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The initiator (sends with client-to-server keys).
    Client,
    /// The acceptor (sends with server-to-client keys).
    Server,
}

/// Per-direction keys and state.
#[derive(Clone)]
struct Half {
    #[cfg_attr(not(test), allow(dead_code))]
    sign_key: [u8; 16],
    /// HMAC-MD5 keyed with `sign_key`, pads absorbed once.
    mac_key: HmacMd5Key,
    seal: Rc4,
    seq: u32,
}

impl Half {
    fn new(exported: &[u8; 16], flags: u32, dir: Direction) -> Half {
        let sign_key = sign_key(exported, dir);
        Half { sign_key, mac_key: HmacMd5Key::new(&sign_key), seal: Rc4::new(&seal_key(exported, flags, dir)), seq: 0 }
    }

    /// MAC() of MS-NLMP 3.4.4.2 over `msg`; advances the sequence number and
    /// (with key exchange) the RC4 handle.
    fn mac(&mut self, key_exch: bool, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        let seq = self.seq.to_le_bytes();
        let digest = self.mac_key.mac(&[&seq, msg]);
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&digest[..8]);
        if key_exch {
            self.seal.apply(&mut checksum);
        }
        self.seq = self.seq.wrapping_add(1);
        let mut sig = [0u8; SIGNATURE_LEN];
        sig[0] = 1; // Version
        sig[4..12].copy_from_slice(&checksum);
        sig[12..16].copy_from_slice(&seq);
        sig
    }
}

/// An established NTLM context (extended session security only).
#[derive(Clone)]
pub struct NtlmSession {
    role: Role,
    flags: u32,
    exported_session_key: [u8; 16],
    send: Half,
    recv: Half,
}

impl std::fmt::Debug for NtlmSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are secret: never printed.
        f.debug_struct("NtlmSession")
            .field("role", &self.role)
            .field("flags", &format_args!("{:#010x}", self.flags))
            .field("send_seq", &self.send.seq)
            .field("recv_seq", &self.recv.seq)
            .finish_non_exhaustive()
    }
}

impl NtlmSession {
    /// Derives the four keys from the ExportedSessionKey and the final
    /// negotiated flags. Fails without extended session security.
    pub fn new(exported_session_key: [u8; 16], flags: u32, role: Role) -> Result<Self, AuthError> {
        if flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
            return Err(AuthError::Unsupported("session security without extended session security"));
        }
        let (send_dir, recv_dir) = match role {
            Role::Client => (Direction::ClientToServer, Direction::ServerToClient),
            Role::Server => (Direction::ServerToClient, Direction::ClientToServer),
        };
        Ok(NtlmSession {
            role,
            flags,
            exported_session_key,
            send: Half::new(&exported_session_key, flags, send_dir),
            recv: Half::new(&exported_session_key, flags, recv_dir),
        })
    }

    /// Which end this session is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The negotiated flags the keys were derived with.
    pub fn negotiated_flags(&self) -> u32 {
        self.flags
    }

    /// The next sequence number `sign`/`seal` will use.
    pub fn send_seq(&self) -> u32 {
        self.send.seq
    }

    /// The sequence number the next `verify`/`unseal` expects.
    pub fn recv_seq(&self) -> u32 {
        self.recv.seq
    }

    /// Length of every signature this session produces or accepts (16).
    pub const fn sig_len() -> usize {
        SIGNATURE_LEN
    }

    /// The ExportedSessionKey (MS-NLMP 3.1.5.2.1 / 3.2.5.2.2). Secret.
    pub fn exported_session_key(&self) -> &[u8; 16] {
        &self.exported_session_key
    }

    fn key_exch(&self) -> bool {
        self.flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0
    }

    /// GSS_GetMIC: signature over `msg` with the send sequence number.
    pub fn sign(&mut self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        let kx = self.key_exch();
        self.send.mac(kx, msg)
    }

    /// GSS_VerifyMIC: checks `sig` over `msg` against the receive sequence
    /// number.
    pub fn verify(&mut self, msg: &[u8], sig: &[u8]) -> Result<(), AuthError> {
        let kx = self.key_exch();
        let expected = self.recv.mac(kx, msg);
        if ct_eq(&expected, sig) {
            Ok(())
        } else {
            Err(AuthError::BadSignature)
        }
    }

    /// GSS_WrapEx with one sealed buffer inside one signed region: computes
    /// the signature over the plaintext `buf[..sign_len]`, encrypts
    /// `buf[data]` in place, then encrypts the checksum (key exchange) with
    /// the same RC4 handle (MS-NLMP 3.4.3 / 3.4.6). Returns the signature.
    ///
    /// # Panics
    /// If `data` is not inside `buf` or `sign_len > buf.len()`; both are
    /// computed by the caller for its own outgoing PDU, never from peer data.
    pub fn seal(&mut self, buf: &mut [u8], data: Range<usize>, sign_len: usize) -> [u8; SIGNATURE_LEN] {
        let seq = self.send.seq.to_le_bytes();
        let digest = self.send.mac_key.mac(&[&seq, &buf[..sign_len]]);
        self.send.seal.apply(&mut buf[data]);
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&digest[..8]);
        if self.key_exch() {
            self.send.seal.apply(&mut checksum);
        }
        self.send.seq = self.send.seq.wrapping_add(1);
        let mut sig = [0u8; SIGNATURE_LEN];
        sig[0] = 1;
        sig[4..12].copy_from_slice(&checksum);
        sig[12..16].copy_from_slice(&seq);
        sig
    }

    /// GSS_UnwrapEx counterpart of [`NtlmSession::seal`]: decrypts
    /// `buf[data]` in place, then verifies `sig` over the plaintext
    /// `buf[..sign_len]`. Out-of-range arguments give
    /// [`AuthError::Malformed`] (they may derive from peer length fields).
    pub fn unseal(&mut self, buf: &mut [u8], data: Range<usize>, sign_len: usize, sig: &[u8]) -> Result<(), AuthError> {
        if data.start > data.end || data.end > buf.len() || sign_len > buf.len() {
            return Err(AuthError::Malformed("sealed region out of bounds"));
        }
        self.recv.seal.apply(&mut buf[data]);
        let kx = self.key_exch();
        let expected = self.recv.mac(kx, &buf[..sign_len]);
        if ct_eq(&expected, sig) {
            Ok(())
        } else {
            Err(AuthError::BadSignature)
        }
    }

    /// Signs a SPNEGO mechListMIC: like [`NtlmSession::sign`] (the sequence
    /// number advances) but the RC4 handle is restored afterwards, so the
    /// first application message sees the same keystream (MS-SPNG 3.3.5.1).
    pub fn sign_mech_list_mic(&mut self, mech_types: &[u8]) -> [u8; SIGNATURE_LEN] {
        let saved = self.send.seal.clone();
        let sig = self.sign(mech_types);
        self.send.seal = saved;
        sig
    }

    /// Verifies a SPNEGO mechListMIC, restoring the receive RC4 handle
    /// afterwards (MS-SPNG 3.3.5.1).
    pub fn verify_mech_list_mic(&mut self, mech_types: &[u8], sig: &[u8]) -> Result<(), AuthError> {
        let saved = self.recv.seal.clone();
        let r = self.verify(mech_types, sig);
        self.recv.seal = saved;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntlm::flags::*;

    const FLAGS_4_2_4: u32 = 0xe28a_8233;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// The client and the server session of one exchange (same key and flags).
    fn client_and_server(key: [u8; 16], flags: u32) -> (NtlmSession, NtlmSession) {
        (NtlmSession::new(key, flags, Role::Client).unwrap(), NtlmSession::new(key, flags, Role::Server).unwrap())
    }

    /// Seals `data` of a copy of `plain` as `from`, signing all of it, checks that only `data`
    /// changed, and that `to` unseals it back to `plain`.
    fn seal_and_unseal(from: &mut NtlmSession, to: &mut NtlmSession, plain: &[u8], data: Range<usize>) {
        let mut pdu = plain.to_vec();
        let sig = from.seal(&mut pdu, data.clone(), plain.len());
        assert_ne!(pdu[data.clone()], plain[data.clone()], "sealed part left as it was");
        assert_eq!(pdu[..data.start], plain[..data.start], "clear part before the sealed one changed");
        assert_eq!(pdu[data.end..], plain[data.end..], "clear part after the sealed one changed");
        to.unseal(&mut pdu, data, plain.len(), &sig).unwrap();
        assert_eq!(pdu, plain);
    }

    /// Signs `msg` as `from` and checks that `to` accepts the signature.
    fn sign_and_verify(from: &mut NtlmSession, to: &mut NtlmSession, msg: &[u8]) {
        let sig = from.sign(msg);
        to.verify(msg, &sig).unwrap();
    }

    /// MS-NLMP 4.2.4.4: sealing "Plaintext" (UTF-16) with RandomSessionKey
    /// 0x55.. as the client, sequence number 0.
    #[test]
    fn gss_wrapex_ms_nlmp_4_2_4_4() {
        let mut client = NtlmSession::new([0x55; 16], FLAGS_4_2_4, Role::Client).unwrap();
        let mut msg = crate::crypto::utf16le("Plaintext");
        let len = msg.len();
        let sig = client.seal(&mut msg, 0..len, len);
        assert_eq!(msg, h("54e50165bf1936dc996020c1811b0f06fb5f"));
        assert_eq!(sig.to_vec(), h("010000007fb38ec5c55d497600000000"));

        let mut server = NtlmSession::new([0x55; 16], FLAGS_4_2_4, Role::Server).unwrap();
        server.unseal(&mut msg, 0..len, len, &sig).unwrap();
        assert_eq!(msg, crate::crypto::utf16le("Plaintext"));
        assert_eq!((server.recv_seq(), client.send_seq()), (1, 1));
    }

    #[test]
    fn refuses_without_ess() {
        assert!(
            NtlmSession::new([0; 16], FLAGS_4_2_4 & !NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, Role::Client).is_err()
        );
    }

    #[test]
    fn both_directions_many_messages_all_strengths() {
        let base = NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL;
        for extra in [
            NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH,
            NTLMSSP_NEGOTIATE_56 | NTLMSSP_NEGOTIATE_KEY_EXCH,
            NTLMSSP_NEGOTIATE_KEY_EXCH,
            NTLMSSP_NEGOTIATE_128,
        ] {
            let flags = base | extra;
            let (mut c, mut s) = client_and_server([7; 16], flags);
            for i in 0..10u8 {
                // Header (signed, clear) + body (sealed) like a DCE/RPC PDU.
                let plain: Vec<u8> = (0..40).map(|b| b ^ i).collect();
                seal_and_unseal(&mut c, &mut s, &plain, 16..40);
                seal_and_unseal(&mut s, &mut c, &plain, 8..30);
                sign_and_verify(&mut s, &mut c, &plain);
                sign_and_verify(&mut c, &mut s, &plain);
            }
        }
    }

    #[test]
    fn tampering_and_replay_are_detected() {
        let (mut c, mut s) = client_and_server([9; 16], FLAGS_4_2_4);
        let sig0 = c.sign(b"first");
        s.verify(b"first", &sig0).unwrap();
        // Replaying the same signature: wrong sequence number.
        let mut s2 = s.clone();
        assert_eq!(s2.verify(b"first", &sig0), Err(AuthError::BadSignature));
        // Tampered data.
        let sig1 = c.sign(b"second");
        let mut s3 = s.clone();
        assert_eq!(s3.verify(b"secone", &sig1), Err(AuthError::BadSignature));
        // Short signature and bad ranges do not panic.
        assert_eq!(s.clone().verify(b"second", &sig1[..8]), Err(AuthError::BadSignature));
        let mut buf = [0u8; 4];
        assert!(matches!(s.clone().unseal(&mut buf, 2..9, 4, &sig1), Err(AuthError::Malformed(_))));
        #[allow(clippy::reversed_empty_ranges)]
        let r = s.clone().unseal(&mut buf, 3..1, 4, &sig1);
        assert!(matches!(r, Err(AuthError::Malformed(_))));
        assert!(matches!(s.clone().unseal(&mut buf, 0..1, 5, &sig1), Err(AuthError::Malformed(_))));
        s.verify(b"second", &sig1).unwrap();
    }

    #[test]
    fn mech_list_mic_keeps_rc4_state() {
        let flags = FLAGS_4_2_4;
        let (mut c, mut s) = client_and_server([1; 16], flags);
        let mic = c.sign_mech_list_mic(b"mechs");
        s.verify_mech_list_mic(b"mechs", &mic).unwrap();
        let mic = s.sign_mech_list_mic(b"mechs");
        c.verify_mech_list_mic(b"mechs", &mic).unwrap();
        assert_eq!((c.send_seq(), c.recv_seq(), s.send_seq(), s.recv_seq()), (1, 1, 1, 1));
        // The first application message uses seq 1 and the fresh keystream:
        // its checksum encryption equals that of a brand-new handle.
        let fresh = NtlmSession::new([1; 16], flags, Role::Client).unwrap();
        let mut fresh_rc4 = fresh.send.seal.clone();
        let sig = c.sign(b"app");
        let digest = crate::crypto::hmac_md5(&fresh.send.sign_key, &[&1u32.to_le_bytes(), b"app"]);
        let mut cks = [0u8; 8];
        cks.copy_from_slice(&digest[..8]);
        fresh_rc4.apply(&mut cks);
        assert_eq!(sig[4..12], cks);
        assert_eq!(sig[12..], 1u32.to_le_bytes());
        s.verify(b"app", &sig).unwrap();
    }
}
