//! Generic NDR 2.0 constructs used by the interface declarations that [`crate::ndr`] does not
//! provide: a conformant varying array of structures (and the macros that give named list
//! structs the same wire forms), a conformant varying `char` string; plus
//! bounds-checked readers for custom-marshalled (non-NDR) buffers.

use crate::ndr::{NdrError, NdrReader, NdrResult, NdrType, NdrWriter};

/// A conformant varying array `[size_is(max), length_is(len)] T a[]`: max_count, offset 0,
/// actual_count, the elements' scalar parts, then their deferred parts. `max` may exceed
/// `items.len()` (an out array of the caller's size); the encoder never writes a max below the
/// length.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfVarArray<T> {
    /// max_count (the caller's buffer size in elements).
    pub max: u32,
    /// The elements actually transmitted.
    pub items: Vec<T>,
}

impl<T> Default for ConfVarArray<T> {
    fn default() -> Self {
        ConfVarArray { max: 0, items: Vec::new() }
    }
}

/// Implements [`NdrType`] for a conformant varying array held as a struct with `max: u32`
/// and the transmitted elements in a `Vec` member: max_count (never below the length),
/// offset 0, actual_count, the elements' scalar parts, then their deferred parts. The decoder
/// refuses a non-zero offset or an actual_count above max_count.
///
/// `conf_var_list!(TowerArray, towers, Option<Twr>)`; a generic list names its parameter:
/// `conf_var_list!(ConfVarArray<T>, items, T)`.
macro_rules! conf_var_list {
    ($list:ident $(<$g:ident>)?, $field:ident, $entry:ty) => {
        impl$(<$g: $crate::ndr::NdrType>)? $crate::ndr::NdrType for $list$(<$g>)? {
            const ALIGN: usize = 4;
            const MIN_WIRE: usize = 12;
            fn encode(&self, w: &mut $crate::ndr::NdrWriter) {
                w.varying(self.max, u32::try_from(self.$field.len()).unwrap_or(u32::MAX));
                $crate::ndr::encode_elements(w, &self.$field);
            }
            fn encode_deferred(&self, w: &mut $crate::ndr::NdrWriter) {
                $crate::ndr::encode_elements_deferred(w, &self.$field);
            }
            fn decode(r: &mut $crate::ndr::NdrReader<'_>) -> $crate::ndr::NdrResult<Self> {
                let (max, len) = r.varying()?;
                let n = r.check_count(len, <$entry as $crate::ndr::NdrType>::MIN_WIRE)?;
                Ok($list { max, $field: $crate::ndr::decode_elements(r, n)? })
            }
            fn decode_deferred(&mut self, r: &mut $crate::ndr::NdrReader<'_>) -> $crate::ndr::NdrResult<()> {
                $crate::ndr::decode_elements_deferred(r, &mut self.$field)
            }
        }
    };
}
pub(crate) use conf_var_list;

conf_var_list!(ConfVarArray<T>, items, T);

/// Declares a conformant list struct `{ DWORD EntryCount; [size_is(EntryCount)] ENTRY Entry[] }`,
/// held with the entries in its one `Vec` member, and implements [`NdrType`] for it: max_count,
/// EntryCount (the decoder requires the two equal), the entries' scalar parts, then their
/// pointees.
///
/// ```ignore
/// conformant_list! {
///     /// [MS-CMRP 2.2.3.5] ENUM_LIST
///     pub struct EnumList { pub entries: Vec<EnumEntry> }
/// }
/// ```
macro_rules! conformant_list {
    ($(#[$meta:meta])* pub struct $list:ident { pub $field:ident : Vec<$entry:ty> $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $list {
            pub $field: Vec<$entry>,
        }

        impl $crate::ndr::NdrType for $list {
            const ALIGN: usize = 4;
            const MIN_WIRE: usize = 8;
            fn encode(&self, w: &mut $crate::ndr::NdrWriter) {
                w.conformant_count(u32::try_from(self.$field.len()).unwrap_or(u32::MAX));
                $crate::ndr::encode_elements(w, &self.$field);
            }
            fn encode_deferred(&self, w: &mut $crate::ndr::NdrWriter) {
                $crate::ndr::encode_elements_deferred(w, &self.$field);
            }
            fn decode(r: &mut $crate::ndr::NdrReader<'_>) -> $crate::ndr::NdrResult<Self> {
                let count = r.conformant_count()?;
                let n = r.check_count(count, <$entry as $crate::ndr::NdrType>::MIN_WIRE)?;
                Ok($list { $field: $crate::ndr::decode_elements(r, n)? })
            }
            fn decode_deferred(&mut self, r: &mut $crate::ndr::NdrReader<'_>) -> $crate::ndr::NdrResult<()> {
                $crate::ndr::decode_elements_deferred(r, &mut self.$field)
            }
        }
    };
}
pub(crate) use conformant_list;

/// A conformant varying 8-bit string `[string, size_is(max)] char s[]`: max_count, offset 0,
/// actual_count (including the terminating NUL), then the octets. `max` may exceed the string
/// (the caller's buffer size). Text is sent as its UTF-8 octets (plain ASCII in practice);
/// received octets are read up to the first NUL, invalid UTF-8 replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfVarCString {
    /// max_count (the caller's buffer size in octets).
    pub max: u32,
    /// The text without its NUL.
    pub value: String,
}

impl NdrType for ConfVarCString {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 12;
    fn encode(&self, w: &mut NdrWriter) {
        w.varying(self.max, u32::try_from(self.value.len() + 1).unwrap_or(u32::MAX));
        w.bytes(self.value.as_bytes());
        w.u8(0);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let (max, len) = r.varying()?;
        let n = r.check_count(len, 1)?;
        let raw = r.take(n)?;
        let text = raw.split(|&b| b == 0).next().unwrap_or(&[]);
        Ok(ConfVarCString { max, value: String::from_utf8_lossy(text).into_owned() })
    }
}

// Helpers for custom-marshalled (non-NDR, little-endian, unaligned) buffers such as
// CLUSTER_REG_BATCH_UPDATE and the witness notification messages.

/// Reads an unaligned little-endian u32 from a custom-marshalled buffer.
pub(crate) fn le_u32(b: &[u8], p: &mut usize) -> NdrResult<u32> {
    let s = take(b, p, 4)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Takes `n` bytes from a custom-marshalled buffer.
pub(crate) fn take<'a>(b: &'a [u8], p: &mut usize, n: usize) -> NdrResult<&'a [u8]> {
    let have = b.len().saturating_sub(*p);
    if n > have {
        return Err(NdrError::Truncated { offset: *p, need: n, have });
    }
    let s = &b[*p..*p + n];
    *p += n;
    Ok(s)
}

/// Decodes little-endian UTF-16 bytes that end with a NUL code unit (dropped).
pub(crate) fn utf16z(raw: &[u8]) -> NdrResult<String> {
    if raw.len() & 1 != 0 {
        return Err(NdrError::BadString);
    }
    let mut units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    if units.pop() != Some(0) {
        return Err(NdrError::BadString);
    }
    String::from_utf16(&units).map_err(|_| NdrError::BadString)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::{ByteOrder, ConfArray};

    crate::ndr_struct! {
        /// an 8-aligned element
        pub struct Hyp { pub a: u32, pub b: u64 }
    }

    #[test]
    fn unique_conf_array_pads_after_the_count() {
        // `[unique, size_is(n)] T*` of 8-aligned elements ([C706] 14.3.3.2; what MIDL and pidl
        // emit): the count is aligned on 4, the padding to 8 comes after it
        let v = Some(ConfArray(vec![Hyp { a: 1, b: 2 }]));
        let mut w = NdrWriter::new();
        v.encode_param(&mut w);
        let b = w.into_bytes();
        let expected: Vec<u8> = [
            &[0x04, 0x00, 0x02, 0x00][..], // referent id
            &[1, 0, 0, 0],                 // max_count at offset 4 (not padded to 8)
            &[1, 0, 0, 0, 0, 0, 0, 0],     // a, then padding to 8
            &[2, 0, 0, 0, 0, 0, 0, 0],     // b
        ]
        .concat();
        assert_eq!(b, expected);
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        assert_eq!(Option::<ConfArray<Hyp>>::decode_param(&mut r).unwrap(), v);
        assert_eq!(r.remaining(), 0);

        let null: Option<ConfArray<Hyp>> = None;
        let mut w = NdrWriter::new();
        null.encode_param(&mut w);
        assert_eq!(w.into_bytes(), vec![0, 0, 0, 0]);
    }

    #[test]
    fn conf_var_array_and_cstring() {
        let a = ConfVarArray { max: 5, items: vec![7u32, 8] };
        let mut w = NdrWriter::new();
        a.encode_param(&mut w);
        let b = w.into_bytes();
        assert_eq!(b, [5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0]);
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        assert_eq!(ConfVarArray::<u32>::decode_param(&mut r).unwrap(), a);

        let s = ConfVarCString { max: 8, value: "ab".into() };
        let mut w = NdrWriter::new();
        s.encode_param(&mut w);
        let b = w.into_bytes();
        assert_eq!(b, [8, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, b'a', b'b', 0]);
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        assert_eq!(ConfVarCString::decode_param(&mut r).unwrap(), s);
        // length above max is rejected
        let bad = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'a', 0];
        let mut r = NdrReader::new(&bad, ByteOrder::Little);
        assert!(ConfVarCString::decode(&mut r).is_err());
    }
}
