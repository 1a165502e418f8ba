//! `value`: registry values of the cluster registry.
//!
//! Value types are those of the Windows registry ([MS-RRP] 2.2.5 and
//! 3.1.1.5; [MS-CMRP] 3.1.1.2 says the cluster registry uses the same
//! types). Data is kept as the raw bytes a client reads with ApiQueryValue:
//! REG_SZ / REG_EXPAND_SZ are UTF-16LE with a terminating NUL, REG_MULTI_SZ
//! is a NUL-separated list closed by an extra NUL, REG_DWORD / REG_QWORD are
//! little-endian.

use serde::{Deserialize, Serialize};

/// REG_NONE.
pub const REG_NONE: u32 = 0;
/// REG_SZ.
pub const REG_SZ: u32 = 1;
/// REG_EXPAND_SZ.
pub const REG_EXPAND_SZ: u32 = 2;
/// REG_BINARY.
pub const REG_BINARY: u32 = 3;
/// REG_DWORD (little-endian).
pub const REG_DWORD: u32 = 4;
/// REG_DWORD_BIG_ENDIAN.
pub const REG_DWORD_BIG_ENDIAN: u32 = 5;
/// REG_LINK.
pub const REG_LINK: u32 = 6;
/// REG_MULTI_SZ.
pub const REG_MULTI_SZ: u32 = 7;
/// REG_QWORD (little-endian).
pub const REG_QWORD: u32 = 11;

/// A registry value: its REG_* type and raw data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegValue {
    /// REG_* type.
    pub kind: u32,
    /// Raw data as returned by ApiQueryValue.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

impl RegValue {
    /// REG_SZ (UTF-16LE + NUL).
    pub fn sz(s: &str) -> RegValue {
        RegValue { kind: REG_SZ, data: utf16z_encode(s) }
    }

    /// REG_EXPAND_SZ (UTF-16LE + NUL).
    pub fn expand_sz(s: &str) -> RegValue {
        RegValue { kind: REG_EXPAND_SZ, data: utf16z_encode(s) }
    }

    /// REG_DWORD.
    pub fn dword(v: u32) -> RegValue {
        RegValue { kind: REG_DWORD, data: v.to_le_bytes().to_vec() }
    }

    /// REG_QWORD.
    pub fn qword(v: u64) -> RegValue {
        RegValue { kind: REG_QWORD, data: v.to_le_bytes().to_vec() }
    }

    /// REG_MULTI_SZ.
    pub fn multi_sz<S: AsRef<str>>(v: &[S]) -> RegValue {
        RegValue { kind: REG_MULTI_SZ, data: multi_sz_encode(v) }
    }

    /// REG_BINARY.
    pub fn binary(data: impl Into<Vec<u8>>) -> RegValue {
        RegValue { kind: REG_BINARY, data: data.into() }
    }

    /// The DWORD, if this is a 4-byte REG_DWORD.
    pub fn as_dword(&self) -> Option<u32> {
        if self.kind != REG_DWORD {
            return None;
        }
        <[u8; 4]>::try_from(self.data.as_slice()).ok().map(u32::from_le_bytes)
    }

    /// The QWORD, if this is an 8-byte REG_QWORD.
    pub fn as_qword(&self) -> Option<u64> {
        if self.kind != REG_QWORD {
            return None;
        }
        <[u8; 8]>::try_from(self.data.as_slice()).ok().map(u64::from_le_bytes)
    }

    /// The string of a REG_SZ / REG_EXPAND_SZ, read up to the first NUL
    /// (registry data written by clients need not be NUL-terminated).
    pub fn as_string(&self) -> Option<String> {
        if self.kind != REG_SZ && self.kind != REG_EXPAND_SZ {
            return None;
        }
        let units: Vec<u16> =
            self.data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).collect();
        String::from_utf16(&units).ok()
    }

    /// The strings of a REG_MULTI_SZ.
    pub fn as_multi_sz(&self) -> Option<Vec<String>> {
        if self.kind != REG_MULTI_SZ {
            return None;
        }
        multi_sz_strings(&self.data)
    }
}

/// Serde helper: bytes as a lowercase hex string.
pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// Serde helper: optional bytes as a hex string.
pub(crate) mod hex_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match data {
            Some(d) => s.serialize_some(&hex::encode(d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| hex::decode(s).map_err(serde::de::Error::custom)).transpose()
    }
}

/// Encodes a string as UTF-16LE with a terminating NUL.
pub fn utf16z_encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity((s.len() + 1) * 2);
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// Encodes a MULTI_SZ: each string followed by a NUL, then a final NUL. An
/// empty list is a single NUL (2 bytes), as Windows returns for an empty
/// MULTI_SZ property. Strings must not contain NUL (an embedded NUL would
/// split the string).
pub fn multi_sz_encode<S: AsRef<str>>(strings: &[S]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        for u in s.as_ref().encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out.extend_from_slice(&[0, 0]);
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// Decodes a MULTI_SZ. Accepts an empty buffer, a lone NUL, a missing final
/// NUL after the last string, and ignores anything after the terminating
/// empty string. `None` for an odd length, a final string without its NUL
/// and invalid UTF-16 (`proplist::multi_sz_decode` makes that an error).
pub(crate) fn multi_sz_strings(data: &[u8]) -> Option<Vec<String>> {
    if data.len() & 1 != 0 {
        return None;
    }
    let units: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < units.len() {
        let rel = units[start..].iter().position(|&u| u == 0)?;
        if rel == 0 {
            break;
        }
        let s = String::from_utf16(&units[start..start + rel]).ok()?;
        out.push(s);
        start += rel + 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(RegValue::sz("ab").data, vec![0x61, 0, 0x62, 0, 0, 0]);
        assert_eq!(RegValue::sz("ab").as_string().as_deref(), Some("ab"));
        assert_eq!(RegValue::expand_sz("%a%").kind, REG_EXPAND_SZ);
        assert_eq!(RegValue::dword(7).as_dword(), Some(7));
        assert_eq!(RegValue::dword(7).data, vec![7, 0, 0, 0]);
        assert_eq!(RegValue::qword(1 << 40).as_qword(), Some(1 << 40));
        assert_eq!(RegValue::binary(vec![1, 2]).kind, REG_BINARY);
        let m = RegValue::multi_sz(&["x", "yz"]);
        assert_eq!(m.data, vec![0x78, 0, 0, 0, 0x79, 0, 0x7a, 0, 0, 0, 0, 0]);
        assert_eq!(m.as_multi_sz().unwrap(), vec!["x", "yz"]);
        assert_eq!(RegValue::sz("a").as_dword(), None);
        assert_eq!(RegValue { kind: REG_DWORD, data: vec![1] }.as_dword(), None);
    }
}
