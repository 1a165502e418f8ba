//! Cryptographic primitives of MS-NLMP: NTOWFv1/NTOWFv2 (section 3.3.1 and
//! 3.3.2), HMAC-MD5, RC4 (section 6) and the session key derivations
//! SIGNKEY (3.4.5.2) and SEALKEY (3.4.5.3).
//!
//! This module owns every hash and cipher call of the crate; the protocol
//! modules never touch `md4`/`md-5`/`hmac` directly.
//!
//! Invariants and assumptions:
//! - Only the extended-session-security (ESS) variants of SIGNKEY/SEALKEY are
//!   implemented; NTLMv1-style sealing keys are out of scope (the crate speaks
//!   NTLMv2 only and refuses sessions without ESS).
//! - [`Rc4`] is a persistent keystream handle: the same handle is used for
//!   every message of one direction, exactly as MS-NLMP 3.4.3 requires.
//!   It is `Clone` so SPNEGO can save and restore its state (MS-SPNG 3.3.5.1).
//! - Nothing here can panic on any input.

use hmac::{Hmac, Mac};
use md4::Md4;
use md5::{Digest, Md5};

/// "session key to client-to-server signing key magic constant" + NUL.
const CLIENT_SIGN_MAGIC: &[u8] = b"session key to client-to-server signing key magic constant\0";
/// "session key to server-to-client signing key magic constant" + NUL.
const SERVER_SIGN_MAGIC: &[u8] = b"session key to server-to-client signing key magic constant\0";
/// "session key to client-to-server sealing key magic constant" + NUL.
const CLIENT_SEAL_MAGIC: &[u8] = b"session key to client-to-server sealing key magic constant\0";
/// "session key to server-to-client sealing key magic constant" + NUL.
const SERVER_SEAL_MAGIC: &[u8] = b"session key to server-to-client sealing key magic constant\0";

/// Encodes a string as UTF-16LE bytes (the wire form of NTLM Unicode strings).
pub fn utf16le(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2);
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// Upper-cases a string the way Windows does for account names: each UTF-16
/// code unit maps to one code unit, so characters whose upper-case form would
/// expand (for example U+00DF) or leave the BMP, and supplementary-plane
/// characters, are left unchanged.
pub fn upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c as u32) > 0xFFFF {
                return c;
            }
            let mut it = c.to_uppercase();
            match (it.next(), it.next()) {
                (Some(u), None) if (u as u32) <= 0xFFFF => u,
                _ => c,
            }
        })
        .collect()
}

/// MD4 digest.
pub fn md4(data: &[u8]) -> [u8; 16] {
    Md4::digest(data).into()
}

/// MD5 of the concatenation of `parts`.
pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-MD5 of the concatenation of `parts` (MS-NLMP section 6).
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Md5> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("hmac accepts keys of any length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// HMAC-MD5 under a fixed key with the key's inner and outer pad blocks absorbed once: a
/// per-message MAC then costs two MD5 blocks fewer than [`hmac_md5`] (the NTLM session signs
/// every PDU with the same SIGNKEY).
#[derive(Clone)]
pub struct HmacMd5Key(Hmac<Md5>);

impl HmacMd5Key {
    /// Absorbs the key.
    pub fn new(key: &[u8]) -> Self {
        match <Hmac<Md5> as Mac>::new_from_slice(key) {
            Ok(m) => HmacMd5Key(m),
            Err(_) => unreachable!("hmac accepts keys of any length"),
        }
    }

    /// HMAC-MD5 of the concatenation of `parts`; equal to `hmac_md5(key, parts)`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 16] {
        let mut m = self.0.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for HmacMd5Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacMd5Key(..)")
    }
}

/// NTOWFv1 (MS-NLMP 3.3.1): MD4 of the UTF-16LE password; the "NT hash".
pub fn nt_hash(password: &str) -> [u8; 16] {
    md4(&utf16le(password))
}

/// NTOWFv2 (MS-NLMP 3.3.2): `HMAC_MD5(NT hash, UNICODE(Uppercase(user) || domain))`.
/// The domain is used exactly as given (case preserved).
pub fn ntowf_v2(nt_hash: &[u8; 16], user: &str, domain: &str) -> [u8; 16] {
    let mut ud = utf16le(&upper(user));
    ud.extend_from_slice(&utf16le(domain));
    hmac_md5(nt_hash, &[&ud])
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An RC4 keystream handle (MS-NLMP section 6, `RC4Init`/`RC4`).
///
/// Supports any key length from 1 to 256 bytes; an empty key is treated as a
/// single zero byte so construction can never fail.
#[derive(Clone)]
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// Key-scheduling algorithm.
    pub fn new(key: &[u8]) -> Self {
        let key: &[u8] = if key.is_empty() { &[0] } else { key };
        let mut s = [0u8; 256];
        for (idx, v) in s.iter_mut().enumerate() {
            *v = idx as u8;
        }
        let mut j: u8 = 0;
        for idx in 0..256usize {
            j = j.wrapping_add(s[idx]).wrapping_add(key[idx % key.len()]);
            s.swap(idx, j as usize);
        }
        Rc4 { s, i: 0, j: 0 }
    }

    /// XORs the next `data.len()` keystream bytes into `data` in place.
    pub fn apply(&mut self, data: &mut [u8]) {
        for b in data.iter_mut() {
            self.i = self.i.wrapping_add(1);
            self.j = self.j.wrapping_add(self.s[self.i as usize]);
            self.s.swap(self.i as usize, self.j as usize);
            let k = self.s[self.s[self.i as usize].wrapping_add(self.s[self.j as usize]) as usize];
            *b ^= k;
        }
    }
}

impl std::fmt::Debug for Rc4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rc4(..)")
    }
}

/// `RC4K(key, data)`: one-shot RC4 with a fresh handle (MS-NLMP section 6).
pub fn rc4k(key: &[u8], data: &[u8; 16]) -> [u8; 16] {
    let mut out = *data;
    Rc4::new(key).apply(&mut out);
    out
}

/// Which side of the connection derives a key (the `Mode` of MS-NLMP 3.4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Keys protecting client-to-server traffic.
    ClientToServer,
    /// Keys protecting server-to-client traffic.
    ServerToClient,
}

/// SIGNKEY (MS-NLMP 3.4.5.2), extended session security only.
pub fn sign_key(exported_session_key: &[u8; 16], dir: Direction) -> [u8; 16] {
    let magic = match dir {
        Direction::ClientToServer => CLIENT_SIGN_MAGIC,
        Direction::ServerToClient => SERVER_SIGN_MAGIC,
    };
    md5(&[exported_session_key, magic])
}

/// SEALKEY (MS-NLMP 3.4.5.3), extended session security only: the exported
/// session key is first cut to 16/7/5 bytes for 128/56/40-bit strength
/// (`NTLMSSP_NEGOTIATE_128`, else `NTLMSSP_NEGOTIATE_56`, else 40-bit), then
/// hashed with the direction's magic constant.
pub fn seal_key(exported_session_key: &[u8; 16], flags: u32, dir: Direction) -> [u8; 16] {
    use crate::ntlm::flags::{NTLMSSP_NEGOTIATE_128, NTLMSSP_NEGOTIATE_56};
    let len = if flags & NTLMSSP_NEGOTIATE_128 != 0 {
        16
    } else if flags & NTLMSSP_NEGOTIATE_56 != 0 {
        7
    } else {
        5
    };
    let magic = match dir {
        Direction::ClientToServer => CLIENT_SEAL_MAGIC,
        Direction::ServerToClient => SERVER_SEAL_MAGIC,
    };
    md5(&[&exported_session_key[..len], magic])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn ntowfv1_ms_nlmp_4_2_2_1_2() {
        assert_eq!(nt_hash("Password").to_vec(), h("a4f49c406510bdcab6824ee7c30fd852"));
    }

    #[test]
    fn ntowfv2_ms_nlmp_4_2_4_1_1() {
        let k = ntowf_v2(&nt_hash("Password"), "User", "Domain");
        assert_eq!(k.to_vec(), h("0c868a403bfd7a93a3001ef22ef02e3f"));
    }

    #[test]
    fn rc4_known_answer() {
        // Classic RC4 test: key "Key", plaintext "Plaintext".
        let mut d = *b"Plaintext";
        Rc4::new(b"Key").apply(&mut d);
        assert_eq!(d.to_vec(), h("bbf316e8d940af0ad3"));
        // Variable key length (40-bit key) and empty key do not panic.
        let mut e = [0u8; 4];
        Rc4::new(&[1, 2, 3, 4, 5]).apply(&mut e);
        Rc4::new(&[]).apply(&mut e);
    }

    #[test]
    fn hmac_md5_rfc2202_case_2() {
        let m = hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(m.to_vec(), h("750c783e6ab0b503eaa86e310a5db738"));
        let k = HmacMd5Key::new(b"Jefe");
        assert_eq!(k.mac(&[b"what do ya want ", b"for nothing?"]).to_vec(), m.to_vec());
        // reusable: the key state is not consumed
        assert_eq!(k.mac(&[b"what do ya want for nothing?"]).to_vec(), m.to_vec());
    }

    #[test]
    fn keys_ms_nlmp_4_2_4_4() {
        let rsk = [0x55u8; 16];
        let flags = 0xe28a_8233; // 4.2.4 challenge flags (128-bit)
        assert_eq!(seal_key(&rsk, flags, Direction::ClientToServer).to_vec(), h("59f600973cc4960a25480a7c196e4c58"));
        assert_eq!(sign_key(&rsk, Direction::ClientToServer).to_vec(), h("4788dc861b4782f35d43fd98fe1a2d39"));
    }

    #[test]
    fn seal_key_strength_reduction_differs() {
        use crate::ntlm::flags::*;
        let k = [0x42u8; 16];
        let k128 = seal_key(&k, NTLMSSP_NEGOTIATE_128, Direction::ServerToClient);
        let k56 = seal_key(&k, NTLMSSP_NEGOTIATE_56, Direction::ServerToClient);
        let k40 = seal_key(&k, 0, Direction::ServerToClient);
        assert_ne!(k128, k56);
        assert_ne!(k56, k40);
        assert_eq!(k56, md5(&[&k[..7], SERVER_SEAL_MAGIC]));
        assert_eq!(k40, md5(&[&k[..5], SERVER_SEAL_MAGIC]));
    }

    #[test]
    fn upper_is_length_preserving() {
        assert_eq!(upper("user\u{df}x"), "USER\u{df}X");
        assert_eq!(upper("Ädmin"), "ÄDMIN");
        assert_eq!(upper("\u{10428}a"), "\u{10428}A");
    }
}
