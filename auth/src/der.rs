//! A minimal DER (X.690) reader and writer, just enough for the SPNEGO tokens
//! of RFC 4178 / MS-SPNG 2.2: single-byte tags, definite lengths in short or
//! long form (up to 4 length octets), OBJECT IDENTIFIER helpers.
//!
//! Invariants:
//! - The reader never panics and never reads outside its buffer; every
//!   problem becomes [`AuthError::Malformed`].
//! - Indefinite lengths and multi-byte (high-number) tags are rejected.
//! - Nesting is limited to [`MAX_DEPTH`] levels through [`Reader::enter`].
//! - [`Tlv::raw`] is the exact received encoding of an element (header and
//!   value), which SPNEGO needs to compute the mechListMIC over the
//!   mechTypes "as received".

use crate::AuthError;

/// Maximum nesting depth accepted by [`Reader::enter`].
pub const MAX_DEPTH: usize = 8;

/// Universal and application tags used by SPNEGO.
pub mod tag {
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// ENUMERATED.
    pub const ENUMERATED: u8 = 0x0a;
    /// SEQUENCE / SEQUENCE OF (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// [APPLICATION 0] constructed: the GSS-API InitialContextToken.
    pub const APPLICATION_0: u8 = 0x60;

    /// Constructed context-specific tag `[n]` (n < 31).
    pub const fn context(n: u8) -> u8 {
        0xa0 | (n & 0x1f)
    }
}

/// One decoded element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet.
    pub tag: u8,
    /// The contents octets.
    pub value: &'a [u8],
    /// Identifier, length and contents exactly as received.
    pub raw: &'a [u8],
}

/// A cursor over a sequence of DER elements.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: usize,
}

fn bad(what: &'static str) -> AuthError {
    AuthError::Malformed(what)
}

impl<'a> Reader<'a> {
    /// A reader over `buf` at depth 0.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, depth: 0 }
    }

    /// True when every element has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The identifier octet of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Reads the next element.
    pub fn read(&mut self) -> Result<Tlv<'a>, AuthError> {
        let start = self.pos;
        let tag = *self.buf.get(start).ok_or(bad("der: unexpected end"))?;
        if tag & 0x1f == 0x1f {
            return Err(bad("der: high tag numbers not supported"));
        }
        let first = *self.buf.get(start + 1).ok_or(bad("der: missing length"))?;
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 {
                return Err(bad("der: indefinite length"));
            }
            if n > 4 {
                return Err(bad("der: length too long"));
            }
            let octets = self.buf.get(start + 2..start + 2 + n).ok_or(bad("der: truncated length"))?;
            let len = octets.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
            (len, 2 + n)
        };
        let vstart = start + hdr;
        let vend = vstart.checked_add(len).ok_or(bad("der: length overflow"))?;
        let value = self.buf.get(vstart..vend).ok_or(bad("der: value past end"))?;
        let raw = self.buf.get(start..vend).ok_or(bad("der: value past end"))?;
        self.pos = vend;
        Ok(Tlv { tag, value, raw })
    }

    /// Reads the next element and checks its tag.
    pub fn read_tag(&mut self, expected: u8) -> Result<Tlv<'a>, AuthError> {
        let t = self.read()?;
        if t.tag != expected {
            return Err(bad("der: unexpected tag"));
        }
        Ok(t)
    }

    /// Reads the next element only if it has tag `expected`.
    pub fn read_optional(&mut self, expected: u8) -> Result<Option<Tlv<'a>>, AuthError> {
        if self.peek_tag() == Some(expected) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// A reader over the contents of a constructed element, one level deeper.
    pub fn enter(&self, tlv: &Tlv<'a>) -> Result<Reader<'a>, AuthError> {
        if tlv.tag & 0x20 == 0 {
            return Err(bad("der: primitive element where constructed expected"));
        }
        if self.depth + 1 > MAX_DEPTH {
            return Err(bad("der: nesting too deep"));
        }
        Ok(Reader { buf: tlv.value, pos: 0, depth: self.depth + 1 })
    }

    /// Reads `[n] EXPLICIT` and returns the single element inside it.
    pub fn read_explicit(&mut self, n: u8) -> Result<Tlv<'a>, AuthError> {
        let outer = self.read_tag(tag::context(n))?;
        let mut inner = self.enter(&outer)?;
        let t = inner.read()?;
        if !inner.is_empty() {
            return Err(bad("der: trailing data in explicit tag"));
        }
        Ok(t)
    }
}

/// Appends a definite length.
pub fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends one element.
pub fn write_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    write_len(out, value.len());
    out.extend_from_slice(value);
}

/// Encodes one element.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    write_tlv(&mut out, tag, value);
    out
}

/// Encodes the contents octets of an OBJECT IDENTIFIER; `None` if there are
/// fewer than two arcs or the first two are out of range.
pub fn encode_oid(arcs: &[u64]) -> Option<Vec<u8>> {
    let (&a, &b) = (arcs.first()?, arcs.get(1)?);
    if a > 2 || (a < 2 && b >= 40) {
        return None;
    }
    let mut out = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = [0u8; 10];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = (v & 0x7f) as u8 | if i == tmp.len() - 1 { 0 } else { 0x80 };
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        out.extend_from_slice(&tmp[i..]);
    };
    push(a.checked_mul(40)?.checked_add(b)?);
    for &arc in &arcs[2..] {
        push(arc);
    }
    Some(out)
}

/// Renders OID contents octets in dotted form (for diagnostics).
pub fn oid_to_string(value: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    for (i, &b) in value.iter().enumerate() {
        cur = cur.checked_mul(128)? | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (cur / 40).min(2);
                arcs.push(first);
                arcs.push(cur - first * 40);
            } else {
                arcs.push(cur);
            }
            cur = 0;
        } else if i + 1 == value.len() {
            return None;
        }
    }
    if arcs.is_empty() {
        return None;
    }
    Some(arcs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536, 1 << 20] {
            let v = vec![0xabu8; len];
            let enc = tlv(tag::OCTET_STRING, &v);
            let mut r = Reader::new(&enc);
            let t = r.read().unwrap();
            assert_eq!(t.value.len(), len);
            assert_eq!(t.raw, &enc[..]);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn rejects_bad_encodings() {
        for bad in [
            &[][..],
            &[0x04],
            &[0x04, 0x80],                // indefinite
            &[0x04, 0x85, 1, 1, 1, 1, 1], // 5 length octets
            &[0x04, 0x82, 0x01],          // truncated length
            &[0x04, 0x03, 1, 2],          // value past end
            &[0x1f, 0x01, 0x00],          // high tag number
            &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0],
        ] {
            assert!(Reader::new(bad).read().is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn depth_limit() {
        let mut v = tlv(tag::OCTET_STRING, b"x");
        for _ in 0..(MAX_DEPTH + 2) {
            v = tlv(tag::SEQUENCE, &v);
        }
        let mut r = Reader::new(&v);
        let mut depth = 0;
        let err = loop {
            let t = match r.read() {
                Ok(t) => t,
                Err(e) => break e,
            };
            if t.tag != tag::SEQUENCE {
                panic!("reached the leaf");
            }
            match r.enter(&t) {
                Ok(inner) => r = inner,
                Err(e) => break e,
            }
            depth += 1;
        };
        assert_eq!(err, AuthError::Malformed("der: nesting too deep"));
        assert_eq!(depth, MAX_DEPTH);
        // Entering a primitive element is refused.
        let p = tlv(tag::OCTET_STRING, b"x");
        let mut r = Reader::new(&p);
        let t = r.read().unwrap();
        assert!(r.enter(&t).is_err());
    }

    #[test]
    fn oids() {
        let spnego = encode_oid(&[1, 3, 6, 1, 5, 5, 2]).unwrap();
        assert_eq!(spnego, [0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]);
        let ntlm = encode_oid(&[1, 3, 6, 1, 4, 1, 311, 2, 2, 10]).unwrap();
        assert_eq!(ntlm, [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a]);
        assert_eq!(oid_to_string(&ntlm).unwrap(), "1.3.6.1.4.1.311.2.2.10");
        let krb = encode_oid(&[1, 2, 840, 113554, 1, 2, 2]).unwrap();
        assert_eq!(oid_to_string(&krb).unwrap(), "1.2.840.113554.1.2.2");
        assert!(oid_to_string(&[0x82]).is_none());
        assert!(oid_to_string(&[]).is_none());
        assert!(encode_oid(&[1]).is_none());
    }
}
