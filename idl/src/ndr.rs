//! NDR 2.0 transfer syntax ([C706] chapter 14, [MS-RPCE] 2.2.5): the reader, the writer and the
//! [`NdrType`] trait that every marshalled type implements.
//!
//! Invariants this module keeps:
//! - Alignment is relative to the start of the stub (the reader/writer position 0).
//! - The reader honours the sender's data representation (little- or big-endian integers;
//!   "receiver makes it right"); the writer always produces little-endian (drep 0x10), which the
//!   server advertises in every PDU it sends.
//! - Nothing the peer claims is trusted: every count is checked against the bytes that remain
//!   before anything is allocated ([`NdrReader::count`]), and nesting is bounded.
//! - Pointers are marshalled in two phases, as NDR requires: [`NdrType::encode`] writes the
//!   scalar part (a referent id for an embedded pointer), [`NdrType::encode_deferred`] writes the
//!   pointees afterwards, in the order the pointers were met. Decoding mirrors this.

use std::fmt;

/// Integer byte order of the sender ([C706] 14.2.5, the drep's first octet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ByteOrder {
    /// drep[0] = 0x10
    #[default]
    Little,
    /// drep[0] = 0x00
    Big,
}

/// Why a stub could not be decoded. Maps to the `nca_s_fault_ndr` / `RPC_X_BAD_STUB_DATA` fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdrError {
    #[error("stub truncated: need {need} bytes at offset {offset}, have {have}")]
    Truncated { offset: usize, need: usize, have: usize },
    #[error("count {count} exceeds what the remaining {remaining} bytes can hold")]
    CountTooLarge { count: u64, remaining: usize },
    #[error("varying array offset {offset} / length {length} does not fit max count {max}")]
    BadVarying { offset: u32, length: u32, max: u32 },
    #[error("conformance {actual} does not match {expected}")]
    ConformanceMismatch { expected: u32, actual: u32 },
    #[error("string is not valid utf-16 or not nul-terminated")]
    BadString,
    #[error("null pointer where a reference is required")]
    NullRef,
    #[error("union discriminant {0} not known")]
    BadDiscriminant(u32),
    #[error("nesting too deep")]
    TooDeep,
}

/// Result type of decoding.
pub type NdrResult<T> = Result<T, NdrError>;

/// Maximum nesting of pointees while decoding.
pub const MAX_DEPTH: u32 = 64;

/// Reads NDR from a stub. Position 0 is the start of the stub (alignment base).
pub struct NdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
    order: ByteOrder,
    depth: u32,
}

impl<'a> NdrReader<'a> {
    /// A reader over a whole stub in the sender's byte order.
    pub fn new(buf: &'a [u8], order: ByteOrder) -> Self {
        Self { buf, pos: 0, order, depth: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Sender's byte order.
    pub fn order(&self) -> ByteOrder {
        self.order
    }

    /// Skips padding up to a multiple of `n` (a power of two). Padding content is not checked.
    pub fn align(&mut self, n: usize) -> NdrResult<()> {
        let pad = (n - (self.pos % n)) % n;
        self.take(pad).map(|_| ())
    }

    /// Takes `n` raw bytes.
    pub fn take(&mut self, n: usize) -> NdrResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(NdrError::Truncated { offset: self.pos, need: n, have: self.remaining() });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> NdrResult<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// `small` / `byte`.
    pub fn u8(&mut self) -> NdrResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// An `N`-byte integer aligned to `N`, in the sender's byte order.
    fn int<const N: usize, T>(&mut self, le: fn([u8; N]) -> T, be: fn([u8; N]) -> T) -> NdrResult<T> {
        self.align(N)?;
        let a = self.array::<N>()?;
        Ok(match self.order {
            ByteOrder::Little => le(a),
            ByteOrder::Big => be(a),
        })
    }

    /// Aligned `short`.
    pub fn u16(&mut self) -> NdrResult<u16> {
        self.int(u16::from_le_bytes, u16::from_be_bytes)
    }

    /// Aligned `long`.
    pub fn u32(&mut self) -> NdrResult<u32> {
        self.int(u32::from_le_bytes, u32::from_be_bytes)
    }

    /// Aligned `hyper`.
    pub fn u64(&mut self) -> NdrResult<u64> {
        self.int(u64::from_le_bytes, u64::from_be_bytes)
    }

    /// Reads a conformance / variance count and checks that `count` elements of at least
    /// `min_elem` bytes each can still be present. This is the only way to obtain a count, so no
    /// allocation is ever sized from an unchecked peer value.
    pub fn count(&mut self, min_elem: usize) -> NdrResult<usize> {
        let c = self.u32()?;
        self.check_count(c, min_elem)
    }

    /// Reads the counts of a conformant varying array or string (max_count, offset,
    /// actual_count) and refuses a non-zero offset or an actual_count above max_count.
    /// Returns `(max_count, actual_count)`; the caller checks actual_count with
    /// [`NdrReader::check_count`] before using it.
    pub fn varying(&mut self) -> NdrResult<(u32, u32)> {
        let max = self.u32()?;
        let offset = self.u32()?;
        let length = self.u32()?;
        if offset != 0 || length > max {
            return Err(NdrError::BadVarying { offset, length, max });
        }
        Ok((max, length))
    }

    /// Reads the count of a conformant struct whose array is sized by a member of its own
    /// (`{ u32 n; [size_is(n)] T a[] }`): max_count, marshalled before the struct, then the
    /// member, which must be equal to it. Returns the count, not yet checked against the bytes
    /// left.
    pub fn conformant_count(&mut self) -> NdrResult<u32> {
        let max = self.u32()?;
        let count = self.u32()?;
        if count != max {
            return Err(NdrError::ConformanceMismatch { expected: max, actual: count });
        }
        Ok(count)
    }

    /// Checks a count obtained elsewhere (e.g. a struct member named by `size_is`).
    pub fn check_count(&self, c: u32, min_elem: usize) -> NdrResult<usize> {
        let c_us =
            usize::try_from(c).map_err(|_| NdrError::CountTooLarge { count: c.into(), remaining: self.remaining() })?;
        if c_us.saturating_mul(min_elem.max(1)) > self.remaining() {
            return Err(NdrError::CountTooLarge { count: c.into(), remaining: self.remaining() });
        }
        Ok(c_us)
    }

    /// Enters a pointee (bounded recursion).
    pub fn enter(&mut self) -> NdrResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(NdrError::TooDeep);
        }
        Ok(())
    }

    /// Leaves a pointee.
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// Writes little-endian NDR. Position 0 is the start of the stub.
#[derive(Default)]
pub struct NdrWriter {
    buf: Vec<u8>,
    next_referent: u32,
}

impl NdrWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer that appends to `buf` (reused between calls to avoid allocation); alignment is
    /// computed relative to the length `buf` had when handed in.
    pub fn with_buffer(mut buf: Vec<u8>) -> Self {
        buf.clear();
        Self { buf, next_referent: 0 }
    }

    /// The stub written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The stub written so far, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Current length.
    pub fn position(&self) -> usize {
        self.buf.len()
    }

    /// Pads with zeros to a multiple of `n`.
    pub fn align(&mut self, n: usize) {
        let pad = (n - (self.buf.len() % n)) % n;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
    }

    /// Raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// `byte`.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Aligned `short`.
    pub fn u16(&mut self, v: u16) {
        self.align(2);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Aligned `long`.
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Aligned `hyper`.
    pub fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// The counts of a conformant varying array or string: max_count (never below `len`),
    /// offset 0, actual_count `len`.
    pub fn varying(&mut self, max: u32, len: u32) {
        self.u32(max.max(len));
        self.u32(0);
        self.u32(len);
    }

    /// The count of a conformant struct whose array is sized by a member of its own: max_count
    /// before the struct, then the member, both `n`.
    pub fn conformant_count(&mut self, n: u32) {
        self.u32(n);
        self.u32(n);
    }

    /// A fresh non-zero referent id for an embedded or top-level unique pointer.
    pub fn referent(&mut self) -> u32 {
        self.next_referent += 1;
        0x0002_0000 + 4 * self.next_referent
    }

    /// Overwrites a previously written little-endian u32 (used for counts known only later).
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(s) = self.buf.get_mut(at..at + 4) {
            s.copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// A type that has an NDR 2.0 representation.
///
/// `encode`/`decode` handle the scalar part, placed where the value sits (inline in a struct or
/// array, or at the parameter's position). `encode_deferred`/`decode_deferred` handle pointees
/// of embedded pointers, which NDR places after the enclosing top-level construct.
pub trait NdrType: Sized {
    /// Alignment of the scalar part.
    const ALIGN: usize;
    /// Smallest number of wire bytes one value occupies (for count checks).
    const MIN_WIRE: usize = 1;

    /// Writes the scalar part.
    fn encode(&self, w: &mut NdrWriter);
    /// Writes the deferred pointees.
    fn encode_deferred(&self, _w: &mut NdrWriter) {}
    /// Reads the scalar part. Embedded pointers come back as placeholders.
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self>;
    /// Reads the deferred pointees into the placeholders.
    fn decode_deferred(&mut self, _r: &mut NdrReader<'_>) -> NdrResult<()> {
        Ok(())
    }
    /// Sets a Windows error status, if this value is one ([`WError`]); a no-op otherwise. Lets
    /// a generated response be filled as "this call failed with `code`".
    fn set_error(&mut self, _code: u32) {}
    /// The Windows error status this value carries, if it is one ([`WError`]).
    fn error_code(&self) -> Option<u32> {
        None
    }

    /// Encodes a top-level parameter: scalar part then its pointees.
    fn encode_param(&self, w: &mut NdrWriter) {
        self.encode(w);
        self.encode_deferred(w);
    }
    /// Decodes a top-level parameter.
    fn decode_param(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let mut v = Self::decode(r)?;
        v.decode_deferred(r)?;
        Ok(v)
    }
}

macro_rules! ndr_int {
    ($t:ty, $read:ident, $write:ident, $align:expr, $conv_in:expr, $conv_out:expr) => {
        impl NdrType for $t {
            const ALIGN: usize = $align;
            const MIN_WIRE: usize = $align;
            fn encode(&self, w: &mut NdrWriter) {
                #[allow(clippy::cast_sign_loss, clippy::redundant_closure_call)]
                w.$write(($conv_out)(*self));
            }
            fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
                #[allow(clippy::cast_possible_wrap, clippy::redundant_closure_call)]
                Ok(($conv_in)(r.$read()?))
            }
        }
    };
}

ndr_int!(u8, u8, u8, 1, |v| v, |v| v);
ndr_int!(u16, u16, u16, 2, |v| v, |v| v);
ndr_int!(u32, u32, u32, 4, |v| v, |v| v);
ndr_int!(u64, u64, u64, 8, |v| v, |v| v);
ndr_int!(i32, u32, u32, 4, |v: u32| v as i32, |v: i32| v as u32);
ndr_int!(i64, u64, u64, 8, |v: u64| v as i64, |v: i64| v as u64);

/// A Win32 error code returned by a method (`error_status_t` / `DWORD` status) ([MS-ERREF] 2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct WError(pub u32);

impl WError {
    /// ERROR_SUCCESS
    pub const SUCCESS: WError = WError(0);
    /// Whether this is ERROR_SUCCESS.
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for WError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08x})", self.0, self.0)
    }
}

impl NdrType for WError {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 4;
    fn encode(&self, w: &mut NdrWriter) {
        w.u32(self.0);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        Ok(WError(r.u32()?))
    }
    fn set_error(&mut self, code: u32) {
        self.0 = code;
    }
    fn error_code(&self) -> Option<u32> {
        Some(self.0)
    }
}

/// A 4-byte Win32 `BOOL` ([MS-DTYP] 2.2.3): not a 1-byte `boolean`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bool32(pub bool);

impl NdrType for Bool32 {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 4;
    fn encode(&self, w: &mut NdrWriter) {
        w.u32(u32::from(self.0));
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        Ok(Bool32(r.u32()? != 0))
    }
}

/// A GUID / UUID ([MS-DTYP] 2.3.4.2): `Data1` u32, `Data2` u16, `Data3` u16, `Data4` 8 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid {
    pub data1: u32,
    pub data2: u16,
    pub data3: u16,
    pub data4: [u8; 8],
}

impl Guid {
    /// The nil UUID.
    pub const NIL: Guid = Guid { data1: 0, data2: 0, data3: 0, data4: [0; 8] };

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (const, for interface declarations;
    /// the `uuid` crate's parser). Panics at compile time on a malformed literal.
    pub const fn parse(s: &str) -> Guid {
        match uuid::Uuid::try_parse(s) {
            Ok(u) => Guid::from_uuid(u),
            Err(_) => panic!("malformed uuid literal"),
        }
    }

    /// From a [`uuid::Uuid`] (whose bytes are the fields in big-endian order).
    pub const fn from_uuid(u: uuid::Uuid) -> Guid {
        let b = u.as_bytes();
        Guid {
            data1: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            data2: u16::from_be_bytes([b[4], b[5]]),
            data3: u16::from_be_bytes([b[6], b[7]]),
            data4: [b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
        }
    }

    /// As a [`uuid::Uuid`].
    pub const fn to_uuid(self) -> uuid::Uuid {
        uuid::Uuid::from_fields(self.data1, self.data2, self.data3, &self.data4)
    }

    /// A random (version 4, RFC 9562) GUID from 16 random bytes, as Windows makes context
    /// handles and other GUIDs.
    pub const fn new_v4(random: [u8; 16]) -> Guid {
        Guid::from_uuid(uuid::Builder::from_random_bytes(random).into_uuid())
    }

    /// The 16-byte little-endian wire form used in PDUs and towers.
    pub fn to_le_bytes(&self) -> [u8; 16] {
        let mut o = [0u8; 16];
        o[0..4].copy_from_slice(&self.data1.to_le_bytes());
        o[4..6].copy_from_slice(&self.data2.to_le_bytes());
        o[6..8].copy_from_slice(&self.data3.to_le_bytes());
        o[8..16].copy_from_slice(&self.data4);
        o
    }

    /// From the 16-byte wire form in the given byte order.
    pub fn from_bytes(b: &[u8; 16], order: ByteOrder) -> Guid {
        let mut d4 = [0u8; 8];
        d4.copy_from_slice(&b[8..16]);
        let (d1, d2, d3) = match order {
            ByteOrder::Little => (
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                u16::from_le_bytes([b[4], b[5]]),
                u16::from_le_bytes([b[6], b[7]]),
            ),
            ByteOrder::Big => (
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                u16::from_be_bytes([b[4], b[5]]),
                u16::from_be_bytes([b[6], b[7]]),
            ),
        };
        Guid { data1: d1, data2: d2, data3: d3, data4: d4 }
    }

    /// Builds a GUID from 16 random or hashed bytes.
    pub fn from_random(b: [u8; 16]) -> Guid {
        Guid::from_bytes(&b, ByteOrder::Little)
    }

    /// Whether all bits are zero.
    pub fn is_nil(&self) -> bool {
        *self == Guid::NIL
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_uuid().hyphenated(), f)
    }
}

impl From<uuid::Uuid> for Guid {
    fn from(u: uuid::Uuid) -> Guid {
        Guid::from_uuid(u)
    }
}

impl From<Guid> for uuid::Uuid {
    fn from(g: Guid) -> uuid::Uuid {
        g.to_uuid()
    }
}

impl NdrType for Guid {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 16;
    fn encode(&self, w: &mut NdrWriter) {
        w.u32(self.data1);
        w.u16(self.data2);
        w.u16(self.data3);
        w.bytes(&self.data4);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let data1 = r.u32()?;
        let data2 = r.u16()?;
        let data3 = r.u16()?;
        let mut data4 = [0u8; 8];
        data4.copy_from_slice(r.take(8)?);
        Ok(Guid { data1, data2, data3, data4 })
    }
}

/// A context handle on the wire ([C706] 14.3.12 `ndr_context_handle`):
/// 4-byte attributes + a GUID. The all-zero handle is the null handle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ContextHandle {
    pub attributes: u32,
    pub uuid: Guid,
}

impl ContextHandle {
    /// The null handle returned by Close methods and failed Opens.
    pub const NULL: ContextHandle = ContextHandle { attributes: 0, uuid: Guid::NIL };

    /// Whether this is the null handle.
    pub fn is_null(&self) -> bool {
        self.uuid.is_nil() && self.attributes == 0
    }
}

impl NdrType for ContextHandle {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 20;
    fn encode(&self, w: &mut NdrWriter) {
        w.u32(self.attributes);
        self.uuid.encode(w);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let attributes = r.u32()?;
        let uuid = Guid::decode(r)?;
        Ok(ContextHandle { attributes, uuid })
    }
}

/// An embedded or top-level `[unique]` (or `[ptr]` without aliasing) pointer: a referent id,
/// then the pointee in the deferred phase. `None` is the null pointer.
///
/// Decoding places `T::default()` as a placeholder during the scalar phase and replaces it in
/// the deferred phase.
impl<T: NdrType + Default> NdrType for Option<T> {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 4;
    fn encode(&self, w: &mut NdrWriter) {
        if self.is_some() {
            let id = w.referent();
            w.u32(id);
        } else {
            w.u32(0);
        }
    }
    fn encode_deferred(&self, w: &mut NdrWriter) {
        if let Some(v) = self {
            // each type aligns its own scalar part (a conformant array aligns its count to 4
            // and its elements to their own alignment)
            v.encode(w);
            v.encode_deferred(w);
        }
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        Ok(if r.u32()? == 0 { None } else { Some(T::default()) })
    }
    fn decode_deferred(&mut self, r: &mut NdrReader<'_>) -> NdrResult<()> {
        if self.is_some() {
            r.enter()?;
            let mut v = T::decode(r)?;
            v.decode_deferred(r)?;
            r.leave();
            *self = Some(v);
        }
        Ok(())
    }
    fn set_error(&mut self, code: u32) {
        if let Some(v) = self {
            v.set_error(code);
        }
    }
}

/// A `[string] wchar_t*` pointee: conformant and varying UTF-16 string with its terminating NUL
/// (max_count, offset 0, actual_count, code units).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WString(pub String);

impl WString {
    /// Wraps a Rust string.
    pub fn new(s: impl Into<String>) -> Self {
        WString(s.into())
    }
    /// The text without the NUL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for WString {
    fn from(s: &str) -> Self {
        WString(s.to_owned())
    }
}

impl From<String> for WString {
    fn from(s: String) -> Self {
        WString(s)
    }
}

/// Writes a conformant varying UTF-16 string (with NUL) at the current position.
pub fn encode_wstring(w: &mut NdrWriter, s: &str) {
    let start = w.position();
    w.u32(0);
    w.u32(0);
    w.u32(0);
    let mut n: u32 = 0;
    for u in s.encode_utf16() {
        w.bytes(&u.to_le_bytes());
        n += 1;
    }
    w.bytes(&[0, 0]);
    n += 1;
    let start = start + (4 - start % 4) % 4;
    w.patch_u32(start, n);
    w.patch_u32(start + 8, n);
}

/// Reads UTF-16 code units (byte order of the sender) into a String, dropping one trailing NUL.
/// Requires the terminator when `require_nul`.
pub fn decode_utf16(r: &mut NdrReader<'_>, units: usize, require_nul: bool) -> NdrResult<String> {
    let raw = r.take(units.checked_mul(2).ok_or(NdrError::BadString)?)?;
    let order = r.order();
    let mut v: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| match order {
            ByteOrder::Little => u16::from_le_bytes([c[0], c[1]]),
            ByteOrder::Big => u16::from_be_bytes([c[0], c[1]]),
        })
        .collect();
    match v.last() {
        Some(0) => {
            v.pop();
        }
        _ if require_nul => return Err(NdrError::BadString),
        _ => {}
    }
    String::from_utf16(&v).map_err(|_| NdrError::BadString)
}

impl NdrType for WString {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 12;
    fn encode(&self, w: &mut NdrWriter) {
        encode_wstring(w, &self.0);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let (_, actual) = r.varying()?;
        let n = r.check_count(actual, 2)?;
        Ok(WString(decode_utf16(r, n, true)?))
    }
}

/// The elements of an array after its counts: their scalar parts in order, each aligned to
/// its type. Every array codec of the crate writes its elements with this.
pub fn encode_elements<T: NdrType>(w: &mut NdrWriter, items: &[T]) {
    for e in items {
        w.align(T::ALIGN);
        e.encode(w);
    }
}

/// The deferred parts (pointees) of an array's elements, in order, after all their scalar parts.
pub fn encode_elements_deferred<T: NdrType>(w: &mut NdrWriter, items: &[T]) {
    for e in items {
        e.encode_deferred(w);
    }
}

/// Reads the scalar parts of `n` array elements; `n` comes from [`NdrReader::count`] or
/// [`NdrReader::check_count`], so the allocation is bounded by the bytes left.
pub fn decode_elements<T: NdrType>(r: &mut NdrReader<'_>, n: usize) -> NdrResult<Vec<T>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        r.align(T::ALIGN)?;
        v.push(T::decode(r)?);
    }
    Ok(v)
}

/// Reads the deferred parts of array elements decoded by [`decode_elements`].
pub fn decode_elements_deferred<T: NdrType>(r: &mut NdrReader<'_>, items: &mut [T]) -> NdrResult<()> {
    for e in items {
        e.decode_deferred(r)?;
    }
    Ok(())
}

/// A conformant array pointee `[size_is(n)] T*`: max_count, then the elements' scalar parts,
/// then their deferred parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfArray<T>(pub Vec<T>);

impl<T: NdrType> NdrType for ConfArray<T> {
    const ALIGN: usize = if T::ALIGN > 4 { T::ALIGN } else { 4 };
    const MIN_WIRE: usize = 4;
    fn encode(&self, w: &mut NdrWriter) {
        w.u32(u32::try_from(self.0.len()).unwrap_or(u32::MAX));
        encode_elements(w, &self.0);
    }
    fn encode_deferred(&self, w: &mut NdrWriter) {
        encode_elements_deferred(w, &self.0);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let n = r.count(T::MIN_WIRE)?;
        Ok(ConfArray(decode_elements(r, n)?))
    }
    fn decode_deferred(&mut self, r: &mut NdrReader<'_>) -> NdrResult<()> {
        decode_elements_deferred(r, &mut self.0)
    }
}

/// A conformant varying byte array `[size_is(max), length_is(len)] byte*`: max_count, offset 0,
/// actual_count, bytes. `max` may exceed `data.len()` (an out buffer of the caller's size).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfVarBytes {
    pub max: u32,
    pub data: Vec<u8>,
}

impl NdrType for ConfVarBytes {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 12;
    fn encode(&self, w: &mut NdrWriter) {
        w.varying(self.max, u32::try_from(self.data.len()).unwrap_or(u32::MAX));
        w.bytes(&self.data);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let (max, len) = r.varying()?;
        let n = r.check_count(len, 1)?;
        Ok(ConfVarBytes { max, data: r.take(n)?.to_vec() })
    }
}

/// A conformant byte array pointee `[size_is(n)] byte*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfBytes(pub Vec<u8>);

impl NdrType for ConfBytes {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 4;
    fn encode(&self, w: &mut NdrWriter) {
        w.u32(u32::try_from(self.0.len()).unwrap_or(u32::MAX));
        w.bytes(&self.0);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let n = r.count(1)?;
        Ok(ConfBytes(r.take(n)?.to_vec()))
    }
}

/// Declares an NDR structure: scalar parts of the members in order (aligned to the largest
/// member alignment), then the members' deferred parts in order.
///
/// ```ignore
/// ndr_struct! {
///     /// [MS-CMRP 2.2.3.4] ENUM_ENTRY
///     pub struct EnumEntry { pub kind: u32, pub name: Option<WString> }
/// }
/// ```
#[macro_export]
macro_rules! ndr_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty ),* }

        impl $crate::ndr::NdrType for $name {
            const ALIGN: usize = {
                let mut a = 1usize;
                $( if <$ty as $crate::ndr::NdrType>::ALIGN > a { a = <$ty as $crate::ndr::NdrType>::ALIGN; } )*
                a
            };
            const MIN_WIRE: usize = 0 $( + <$ty as $crate::ndr::NdrType>::MIN_WIRE )*;
            fn encode(&self, w: &mut $crate::ndr::NdrWriter) {
                w.align(<Self as $crate::ndr::NdrType>::ALIGN);
                $( <$ty as $crate::ndr::NdrType>::encode(&self.$field, w); )*
            }
            fn encode_deferred(&self, _w: &mut $crate::ndr::NdrWriter) {
                $( <$ty as $crate::ndr::NdrType>::encode_deferred(&self.$field, _w); )*
            }
            fn decode(r: &mut $crate::ndr::NdrReader<'_>) -> $crate::ndr::NdrResult<Self> {
                r.align(<Self as $crate::ndr::NdrType>::ALIGN)?;
                $( let $field = <$ty as $crate::ndr::NdrType>::decode(r)?; )*
                Ok(Self { $( $field ),* })
            }
            fn decode_deferred(&mut self, _r: &mut $crate::ndr::NdrReader<'_>) -> $crate::ndr::NdrResult<()> {
                $( <$ty as $crate::ndr::NdrType>::decode_deferred(&mut self.$field, _r)?; )*
                Ok(())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    ndr_struct! {
        /// test struct with an embedded pointer and a hyper
        pub struct Pair { pub kind: u32, pub name: Option<WString>, pub big: u64 }
    }

    #[test]
    fn wstring_roundtrip_and_layout() {
        let mut w = NdrWriter::new();
        w.u8(7); // misalign
        WString::new("ab").encode(&mut w);
        let b = w.into_bytes();
        assert_eq!(b, [7, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, b'a', 0, b'b', 0, 0, 0]);
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        r.u8().unwrap();
        assert_eq!(WString::decode(&mut r).unwrap().0, "ab");
    }

    #[test]
    fn struct_with_deferred_pointer() {
        let v = ConfArray(vec![Pair { kind: 1, name: Some("x".into()), big: 5 }, Pair { kind: 2, name: None, big: 6 }]);
        let mut w = NdrWriter::new();
        v.encode_param(&mut w);
        let b = w.into_bytes();
        // max_count, pad to 8, [kind, ref, big] x2, then "x"
        assert_eq!(&b[0..4], &2u32.to_le_bytes());
        assert_eq!(&b[8..12], &1u32.to_le_bytes());
        assert_eq!(&b[12..16], &0x0002_0004u32.to_le_bytes());
        assert_eq!(&b[16..24], &5u64.to_le_bytes());
        assert_eq!(&b[28..32], &0u32.to_le_bytes());
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        let back = ConfArray::<Pair>::decode_param(&mut r).unwrap();
        assert_eq!(back, v);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn big_endian_reader() {
        let b = [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, b'h', 0, 0];
        let mut r = NdrReader::new(&b, ByteOrder::Big);
        assert_eq!(WString::decode(&mut r).unwrap().0, "h");
        let g = Guid::parse("b97db8b2-4c63-11cf-bff6-08002be23f2f");
        let le = g.to_le_bytes();
        assert_eq!(le[0..4], [0xb2, 0xb8, 0x7d, 0xb9]);
        let mut be = le;
        be[0..4].reverse();
        be[4..6].reverse();
        be[6..8].reverse();
        assert_eq!(Guid::from_bytes(&be, ByteOrder::Big), g);
        assert_eq!(g.to_string(), "b97db8b2-4c63-11cf-bff6-08002be23f2f");
        assert_eq!(Guid::parse("B97DB8B2-4C63-11CF-BFF6-08002BE23F2F"), g, "either case");
        assert_eq!(uuid::Uuid::from(g).to_string(), g.to_string());
        assert_eq!(Guid::from(uuid::Uuid::from(g)), g);
        let r = Guid::new_v4([0xff; 16]);
        assert_eq!(uuid::Uuid::from(r).get_version_num(), 4);
        assert_eq!(r.data3 >> 12, 4, "the version nibble is in Data3");
        assert_eq!(r.data4[0] & 0xc0, 0x80, "RFC 9562 variant");
        assert_ne!(Guid::new_v4([1; 16]), Guid::new_v4([2; 16]));
    }

    #[test]
    fn hostile_counts_do_not_allocate() {
        // claims 0x40000000 elements with 8 bytes of stub
        let b = [0, 0, 0, 0x40, 1, 2, 3, 4];
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        assert!(matches!(ConfArray::<u32>::decode(&mut r), Err(NdrError::CountTooLarge { .. })));
        let mut r = NdrReader::new(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], ByteOrder::Little);
        assert!(WString::decode(&mut r).is_err());
        let mut r = NdrReader::new(&[1, 0, 0], ByteOrder::Little);
        assert!(matches!(u32::decode(&mut r), Err(NdrError::Truncated { .. })));
    }

    #[test]
    fn string_without_nul_is_rejected() {
        let b = [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, b'h', 0];
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        assert_eq!(WString::decode(&mut r), Err(NdrError::BadString));
    }
}
