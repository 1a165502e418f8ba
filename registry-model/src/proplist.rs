//! `proplist`: the CLUSPROP property-list and value-list codec.
//!
//! Spec: [MS-CMRP] 2.2.3.10 PROPERTY_LIST, 2.2.3.10.1 Property Value,
//! 2.2.2.3 CLUSTER_PROPERTY_SYNTAX (syntax = `(type << 16) | format`),
//! 2.2.2.1 CLUSTER_PROPERTY_TYPE / FORMAT; SDK `clusapi.h` CLUSPROP_* layout;
//! [MS-RRP] 2.2.5 for the MULTI_SZ byte form.
//!
//! Wire layout (all little-endian, every item padded to 4 bytes, lengths
//! exclude the padding):
//!
//! ```text
//! u32 propertyCount
//! per property:
//!     u32 0x00040003 (CLUSPROP_SYNTAX_NAME)  u32 cb  UTF-16LE name + NUL  pad
//!     one or more values: u32 syntax  u32 cb  data  pad
//!     u32 0 (ENDMARK)
//! u32 0   trailing ENDMARK after the last property (Windows emits it; the
//!         decoder tolerates its absence)
//! ```
//!
//! Decoding rules (mirroring what the Windows cluster service does with a
//! SET/VALIDATE input, as far as that is known):
//!
//! * the list is walked by count; bytes after the last property are ignored;
//! * a property may carry several value items (Windows adds an EXPANDED_SZ
//!   after an EXPAND_SZ); the first one is the value, later ones are checked
//!   only for bounds and skipped;
//! * a zero-length value item means "reset to default / delete the value"
//!   (Windows' property-table code deletes the registry value); it decodes
//!   as [`PropValue::Reset`] for fixed-size and string formats, and as an
//!   empty `Binary` / `SecurityDescriptor` for the byte formats;
//! * error → Win32 code mapping ([`PropListError::win32_code`]):
//!   truncation → ERROR_INSUFFICIENT_BUFFER (122, as Windows and the SDK
//!   docs of CLUSCTL_*_SET_COMMON_PROPERTIES say); structural errors (wrong
//!   syntax where a NAME or a LIST_VALUE is expected, unknown format, a
//!   property without a value, limits exceeded) → ERROR_INVALID_PARAMETER
//!   (87); malformed contents (a value length that does not fit its format,
//!   a string that is not exactly NUL-terminated UTF-16) →
//!   ERROR_INVALID_DATA (13).
//!
//! Limits: at most [`MAX_PROPERTIES`] properties or value-list items, names
//! at most [`MAX_NAME_CHARS`] UTF-16 units (excluding the NUL).

use std::borrow::Cow;
use std::fmt;

pub use crate::value::{multi_sz_encode, utf16z_encode};
use crate::value::{RegValue, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ};
use crate::win32;

/// Maximum number of properties in a property list (and of items in a value
/// list) the decoder accepts.
pub const MAX_PROPERTIES: usize = 10_000;
/// Maximum property-name length in UTF-16 code units, excluding the NUL.
pub const MAX_NAME_CHARS: usize = 1024;

/// CLUSPROP_SYNTAX constants ([MS-CMRP] 2.2.2.3).
pub mod syntax {
    /// CLUSPROP_TYPE_ENDMARK.
    pub const TYPE_ENDMARK: u16 = 0;
    /// CLUSPROP_TYPE_LIST_VALUE.
    pub const TYPE_LIST_VALUE: u16 = 1;
    /// CLUSPROP_TYPE_RESCLASS.
    pub const TYPE_RESCLASS: u16 = 2;
    /// CLUSPROP_TYPE_NAME.
    pub const TYPE_NAME: u16 = 4;

    /// CLUSPROP_SYNTAX_ENDMARK.
    pub const ENDMARK: u32 = 0;
    /// CLUSPROP_SYNTAX_NAME (property names; also resource-type names in
    /// GET_REQUIRED_DEPENDENCIES value lists).
    pub const NAME: u32 = 0x0004_0003;
    /// CLUSPROP_SYNTAX_RESCLASS (DWORD resource class).
    pub const RESCLASS: u32 = 0x0002_0002;
    /// CLUSPROP_SYNTAX_LIST_VALUE_BINARY.
    pub const LIST_VALUE_BINARY: u32 = 0x0001_0001;
    /// CLUSPROP_SYNTAX_LIST_VALUE_DWORD.
    pub const LIST_VALUE_DWORD: u32 = 0x0001_0002;
    /// CLUSPROP_SYNTAX_LIST_VALUE_SZ.
    pub const LIST_VALUE_SZ: u32 = 0x0001_0003;
    /// CLUSPROP_SYNTAX_LIST_VALUE_EXPAND_SZ.
    pub const LIST_VALUE_EXPAND_SZ: u32 = 0x0001_0004;
    /// CLUSPROP_SYNTAX_LIST_VALUE_MULTI_SZ.
    pub const LIST_VALUE_MULTI_SZ: u32 = 0x0001_0005;
    /// CLUSPROP_SYNTAX_LIST_VALUE_ULARGE_INTEGER.
    pub const LIST_VALUE_ULARGE_INTEGER: u32 = 0x0001_0006;
    /// CLUSPROP_SYNTAX_LIST_VALUE_LONG.
    pub const LIST_VALUE_LONG: u32 = 0x0001_0007;
    /// CLUSPROP_SYNTAX_LIST_VALUE_EXPANDED_SZ.
    pub const LIST_VALUE_EXPANDED_SZ: u32 = 0x0001_0008;
    /// CLUSPROP_SYNTAX_LIST_VALUE_SECURITY_DESCRIPTOR.
    pub const LIST_VALUE_SECURITY_DESCRIPTOR: u32 = 0x0001_0009;
    /// CLUSPROP_SYNTAX_LIST_VALUE_LARGE_INTEGER.
    pub const LIST_VALUE_LARGE_INTEGER: u32 = 0x0001_000A;
    /// CLUSPROP_SYNTAX_LIST_VALUE_WORD.
    pub const LIST_VALUE_WORD: u32 = 0x0001_000B;
    /// CLUSPROP_SYNTAX_LIST_VALUE_FILETIME.
    pub const LIST_VALUE_FILETIME: u32 = 0x0001_000C;
}

/// Resource classes for CLUSPROP_SYNTAX_RESCLASS items (CLUS_RESCLASS_*).
pub mod resclass {
    /// CLUS_RESCLASS_UNKNOWN.
    pub const UNKNOWN: u32 = 0;
    /// CLUS_RESCLASS_STORAGE.
    pub const STORAGE: u32 = 1;
    /// CLUS_RESCLASS_NETWORK.
    pub const NETWORK: u32 = 2;
    /// CLUS_RESCLASS_USER (start of the user-defined range).
    pub const USER: u32 = 32768;
}

/// CLUSPROP_FORMAT_* ([MS-CMRP] 2.2.2.1). Formats 13 (VALUE_LIST) and 14
/// (PROPERTY_LIST) of newer SDKs are not supported by this codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Unknown = 0,
    Binary = 1,
    Dword = 2,
    Sz = 3,
    ExpandSz = 4,
    MultiSz = 5,
    ULargeInteger = 6,
    Long = 7,
    ExpandedSz = 8,
    SecurityDescriptor = 9,
    LargeInteger = 10,
    Word = 11,
    FileTime = 12,
}

impl Format {
    /// Every format this codec knows: the table [`from_u16`](Self::from_u16) looks a wire
    /// number up in, so each number is written once, in the declaration.
    pub const ALL: [Format; 13] = [
        Format::Unknown,
        Format::Binary,
        Format::Dword,
        Format::Sz,
        Format::ExpandSz,
        Format::MultiSz,
        Format::ULargeInteger,
        Format::Long,
        Format::ExpandedSz,
        Format::SecurityDescriptor,
        Format::LargeInteger,
        Format::Word,
        Format::FileTime,
    ];

    /// Maps a wire format number; `None` for values this codec does not know.
    pub fn from_u16(v: u16) -> Option<Format> {
        Self::ALL.into_iter().find(|f| f.as_u16() == v)
    }

    /// The wire format number.
    pub fn as_u16(self) -> u16 {
        self as u16
    }

    /// CLUSPROP_SYNTAX_LIST_VALUE_* for this format.
    pub fn list_value_syntax(self) -> u32 {
        (u32::from(syntax::TYPE_LIST_VALUE) << 16) | u32::from(self.as_u16())
    }
}

/// One property value ([MS-CMRP] 2.2.3.10.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropValue {
    Binary(Vec<u8>),
    Dword(u32),
    Sz(String),
    ExpandSz(String),
    MultiSz(Vec<String>),
    ULargeInteger(u64),
    Long(i32),
    ExpandedSz(String),
    SecurityDescriptor(Vec<u8>),
    LargeInteger(i64),
    Word(u16),
    FileTime(u64),
    /// A zero-length value item of the given format: in SET input it means
    /// "reset this property to its default" (delete the stored value).
    Reset(Format),
}

impl PropValue {
    /// CLUSPROP_FORMAT_* of this value.
    pub fn format(&self) -> Format {
        match self {
            PropValue::Binary(_) => Format::Binary,
            PropValue::Dword(_) => Format::Dword,
            PropValue::Sz(_) => Format::Sz,
            PropValue::ExpandSz(_) => Format::ExpandSz,
            PropValue::MultiSz(_) => Format::MultiSz,
            PropValue::ULargeInteger(_) => Format::ULargeInteger,
            PropValue::Long(_) => Format::Long,
            PropValue::ExpandedSz(_) => Format::ExpandedSz,
            PropValue::SecurityDescriptor(_) => Format::SecurityDescriptor,
            PropValue::LargeInteger(_) => Format::LargeInteger,
            PropValue::Word(_) => Format::Word,
            PropValue::FileTime(_) => Format::FileTime,
            PropValue::Reset(f) => *f,
        }
    }

    /// CLUSPROP_SYNTAX_LIST_VALUE_* of this value.
    pub fn syntax(&self) -> u32 {
        self.format().list_value_syntax()
    }

    /// True when this value asks for "reset to default" (zero-length item).
    pub fn is_reset(&self) -> bool {
        match self {
            PropValue::Reset(_) => true,
            PropValue::Binary(b) | PropValue::SecurityDescriptor(b) => b.is_empty(),
            _ => false,
        }
    }

    /// The value's data bytes as they appear on the wire (without padding).
    pub fn data_bytes(&self) -> Vec<u8> {
        match self {
            PropValue::Binary(b) | PropValue::SecurityDescriptor(b) => b.clone(),
            PropValue::Dword(v) => v.to_le_bytes().to_vec(),
            PropValue::Long(v) => v.to_le_bytes().to_vec(),
            PropValue::Word(v) => v.to_le_bytes().to_vec(),
            PropValue::ULargeInteger(v) | PropValue::FileTime(v) => v.to_le_bytes().to_vec(),
            PropValue::LargeInteger(v) => v.to_le_bytes().to_vec(),
            PropValue::Sz(s) | PropValue::ExpandSz(s) | PropValue::ExpandedSz(s) => utf16z_encode(s),
            PropValue::MultiSz(v) => multi_sz_encode(v),
            PropValue::Reset(_) => Vec::new(),
        }
    }

    /// Decodes the data of a LIST_VALUE item with the given syntax.
    pub fn decode(syntax_dw: u32, data: &[u8]) -> Result<PropValue, PropListError> {
        let ty = (syntax_dw >> 16) as u16;
        let fmt = Format::from_u16((syntax_dw & 0xFFFF) as u16);
        let fmt = match (ty, fmt) {
            (syntax::TYPE_LIST_VALUE, Some(f)) if f != Format::Unknown => f,
            _ => return Err(PropListError::UnknownSyntax { offset: 0, syntax: syntax_dw }),
        };
        if data.is_empty() {
            return Ok(match fmt {
                Format::Binary => PropValue::Binary(Vec::new()),
                Format::SecurityDescriptor => PropValue::SecurityDescriptor(Vec::new()),
                f => PropValue::Reset(f),
            });
        }
        let bad_len = || PropListError::BadValueLength { syntax: syntax_dw, len: data.len() };
        let v = match fmt {
            Format::Unknown => return Err(PropListError::UnknownSyntax { offset: 0, syntax: syntax_dw }),
            Format::Binary => PropValue::Binary(data.to_vec()),
            Format::SecurityDescriptor => PropValue::SecurityDescriptor(data.to_vec()),
            Format::Dword => PropValue::Dword(u32::from_le_bytes(fixed::<4>(data).ok_or_else(bad_len)?)),
            Format::Long => PropValue::Long(i32::from_le_bytes(fixed::<4>(data).ok_or_else(bad_len)?)),
            Format::Word => PropValue::Word(u16::from_le_bytes(fixed::<2>(data).ok_or_else(bad_len)?)),
            Format::ULargeInteger => {
                PropValue::ULargeInteger(u64::from_le_bytes(fixed::<8>(data).ok_or_else(bad_len)?))
            }
            Format::FileTime => PropValue::FileTime(u64::from_le_bytes(fixed::<8>(data).ok_or_else(bad_len)?)),
            Format::LargeInteger => PropValue::LargeInteger(i64::from_le_bytes(fixed::<8>(data).ok_or_else(bad_len)?)),
            Format::Sz => PropValue::Sz(utf16z_decode(data)?),
            Format::ExpandSz => PropValue::ExpandSz(utf16z_decode(data)?),
            Format::ExpandedSz => PropValue::ExpandedSz(utf16z_decode(data)?),
            Format::MultiSz => PropValue::MultiSz(multi_sz_decode(data)?),
        };
        Ok(v)
    }

    /// Converts to a registry value for storage. `Reset` has no registry
    /// form (`None`: the caller deletes the value). LONG and WORD are stored
    /// as REG_DWORD, the 64-bit formats as REG_QWORD, SECURITY_DESCRIPTOR as
    /// REG_BINARY, EXPANDED_SZ as REG_SZ.
    pub fn to_reg_value(&self) -> Option<RegValue> {
        Some(match self {
            PropValue::Binary(b) | PropValue::SecurityDescriptor(b) => RegValue::binary(b.clone()),
            PropValue::Dword(v) => RegValue::dword(*v),
            PropValue::Long(v) => RegValue::dword(*v as u32),
            PropValue::Word(v) => RegValue::dword(u32::from(*v)),
            PropValue::Sz(s) | PropValue::ExpandedSz(s) => RegValue::sz(s),
            PropValue::ExpandSz(s) => RegValue::expand_sz(s),
            PropValue::MultiSz(v) => RegValue::multi_sz(v),
            PropValue::ULargeInteger(v) | PropValue::FileTime(v) => RegValue::qword(*v),
            PropValue::LargeInteger(v) => RegValue::qword(*v as u64),
            PropValue::Reset(_) => return None,
        })
    }

    /// Converts a registry value to its natural property value: REG_SZ → SZ,
    /// REG_EXPAND_SZ → EXPAND_SZ, REG_MULTI_SZ → MULTI_SZ, REG_DWORD → DWORD,
    /// REG_QWORD → ULARGE_INTEGER, anything else → BINARY (as Windows'
    /// private-property enumeration does). Registry strings are decoded
    /// leniently (up to the first NUL; an odd trailing byte is ignored).
    pub fn from_reg_value(v: &RegValue) -> Result<PropValue, PropListError> {
        Ok(match v.kind {
            REG_SZ => PropValue::Sz(reg_string(&v.data)?),
            REG_EXPAND_SZ => PropValue::ExpandSz(reg_string(&v.data)?),
            REG_MULTI_SZ => PropValue::MultiSz(multi_sz_decode(even_prefix(&v.data))?),
            REG_DWORD => PropValue::Dword(u32::from_le_bytes(reg_fixed::<4>(v)?)),
            REG_QWORD => PropValue::ULargeInteger(u64::from_le_bytes(reg_fixed::<8>(v)?)),
            _ => PropValue::Binary(v.data.clone()),
        })
    }

    /// Converts a registry value to a property value of the requested format
    /// (used with a [`PropertyTable`] entry's format).
    pub fn from_reg_value_as(v: &RegValue, format: Format) -> Result<PropValue, PropListError> {
        let natural = PropValue::from_reg_value(v)?;
        let mismatch = || PropListError::BadValueLength { syntax: format.list_value_syntax(), len: v.data.len() };
        Ok(match (format, natural) {
            (Format::Binary, _) => PropValue::Binary(v.data.clone()),
            (Format::SecurityDescriptor, _) => PropValue::SecurityDescriptor(v.data.clone()),
            (Format::Dword, PropValue::Dword(x)) => PropValue::Dword(x),
            (Format::Long, PropValue::Dword(x)) => PropValue::Long(x as i32),
            (Format::Word, PropValue::Dword(x)) => PropValue::Word(u16::try_from(x).map_err(|_| mismatch())?),
            (Format::ULargeInteger, PropValue::ULargeInteger(x)) => PropValue::ULargeInteger(x),
            (Format::LargeInteger, PropValue::ULargeInteger(x)) => PropValue::LargeInteger(x as i64),
            (Format::FileTime, PropValue::ULargeInteger(x)) => PropValue::FileTime(x),
            (Format::Sz, PropValue::Sz(s) | PropValue::ExpandSz(s)) => PropValue::Sz(s),
            (Format::ExpandSz, PropValue::Sz(s) | PropValue::ExpandSz(s)) => PropValue::ExpandSz(s),
            (Format::ExpandedSz, PropValue::Sz(s) | PropValue::ExpandSz(s)) => PropValue::ExpandedSz(s),
            (Format::MultiSz, PropValue::MultiSz(m)) => PropValue::MultiSz(m),
            _ => return Err(mismatch()),
        })
    }
}

fn fixed<const N: usize>(data: &[u8]) -> Option<[u8; N]> {
    <[u8; N]>::try_from(data).ok()
}

fn reg_fixed<const N: usize>(v: &RegValue) -> Result<[u8; N], PropListError> {
    fixed::<N>(&v.data).ok_or(PropListError::BadValueLength { syntax: 0, len: v.data.len() })
}

fn even_prefix(data: &[u8]) -> &[u8] {
    &data[..data.len() & !1]
}

fn reg_string(data: &[u8]) -> Result<String, PropListError> {
    let units: Vec<u16> =
        even_prefix(data).chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).collect();
    String::from_utf16(&units).map_err(|_| PropListError::BadString)
}

/// One named property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub value: PropValue,
}

impl Property {
    /// Convenience constructor.
    pub fn new(name: impl Into<String>, value: PropValue) -> Property {
        Property { name: name.into(), value }
    }
}

/// A PROPERTY_LIST ([MS-CMRP] 2.2.3.10).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PropertyList(pub Vec<Property>);

impl PropertyList {
    /// Empty list.
    pub fn new() -> PropertyList {
        PropertyList(Vec::new())
    }

    /// Appends a property.
    pub fn push(&mut self, name: impl Into<String>, value: PropValue) -> &mut Self {
        self.0.push(Property::new(name, value));
        self
    }

    /// First property with this name (case-insensitive, as Windows matches
    /// property names).
    pub fn get(&self, name: &str) -> Option<&PropValue> {
        self.0.iter().find(|p| crate::path::name_eq(&p.name, name)).map(|p| &p.value)
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the list has no properties.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Encodes the list, including the trailing ENDMARK.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        put_u32(&mut out, self.0.len() as u32);
        for p in &self.0 {
            put_item(&mut out, syntax::NAME, &utf16z_encode(&p.name));
            put_item(&mut out, p.value.syntax(), &p.value.data_bytes());
            put_u32(&mut out, syntax::ENDMARK);
        }
        put_u32(&mut out, syntax::ENDMARK);
        out
    }

    /// Length of [`PropertyList::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        let mut n = 8;
        for p in &self.0 {
            n += 8 + pad4((p.name.encode_utf16().count() + 1) * 2);
            n += 8 + pad4(p.value.data_bytes().len());
            n += 4;
        }
        n
    }

    /// Decodes a property list supplied by a peer. Never panics.
    pub fn decode(buf: &[u8]) -> Result<PropertyList, PropListError> {
        let mut r = Reader::new(buf);
        let count = r.u32()?;
        if count as usize > MAX_PROPERTIES {
            return Err(PropListError::TooManyProperties(count));
        }
        let mut props = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let at = r.pos;
            let syn = r.u32()?;
            if syn != syntax::NAME {
                return Err(PropListError::UnexpectedSyntax { offset: at, expected: syntax::NAME, found: syn });
            }
            let len = r.u32()? as usize;
            if len > (MAX_NAME_CHARS + 1) * 2 {
                return Err(PropListError::NameTooLong { offset: at });
            }
            let data = r.item_data(len)?;
            let name = utf16z_decode(data).map_err(|_| PropListError::BadName { offset: at })?;

            let at = r.pos;
            let syn = r.u32()?;
            if syn == syntax::ENDMARK {
                return Err(PropListError::MissingValue { offset: at });
            }
            let len = r.u32()? as usize;
            let data = r.item_data(len)?;
            let value = PropValue::decode(syn, data).map_err(|e| e.at(at))?;

            // Further value items (e.g. EXPANDED_SZ after EXPAND_SZ): bounds
            // checked and skipped, up to the property's ENDMARK.
            loop {
                let syn = r.u32()?;
                if syn == syntax::ENDMARK {
                    break;
                }
                let len = r.u32()? as usize;
                r.item_data(len)?;
            }
            props.push(Property { name, value });
        }
        // The trailing ENDMARK (and anything after it) is not required.
        Ok(PropertyList(props))
    }
}

/// One item of a value list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueItem {
    /// CLUSPROP_SYNTAX_RESCLASS: a DWORD resource class (CLUS_RESCLASS_*).
    ResClass(u32),
    /// CLUSPROP_SYNTAX_NAME: a name, e.g. a resource-type name in a
    /// GET_REQUIRED_DEPENDENCIES answer (Windows resource DLLs use this
    /// syntax for the type-name entries).
    Name(String),
    /// A CLUSPROP_SYNTAX_LIST_VALUE_* item.
    Value(PropValue),
    /// Any other syntax (e.g. the storage-class items), kept as bytes.
    Raw { syntax: u32, data: Vec<u8> },
}

impl ValueItem {
    fn syntax_and_data(&self) -> (u32, Vec<u8>) {
        match self {
            ValueItem::ResClass(c) => (syntax::RESCLASS, c.to_le_bytes().to_vec()),
            ValueItem::Name(s) => (syntax::NAME, utf16z_encode(s)),
            ValueItem::Value(v) => (v.syntax(), v.data_bytes()),
            ValueItem::Raw { syntax, data } => (*syntax, data.clone()),
        }
    }
}

/// A value list: items `(syntax, length, data padded to 4)` terminated by an
/// ENDMARK (SDK "value list"; used by GET_REQUIRED_DEPENDENCIES,
/// GET_CLASS_INFO-style answers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValueList(pub Vec<ValueItem>);

impl ValueList {
    /// The answer of CLUSCTL_*_GET_REQUIRED_DEPENDENCIES: one RESCLASS item
    /// per class, then one NAME item per resource-type name.
    pub fn required_dependencies(classes: &[u32], type_names: &[&str]) -> ValueList {
        let mut v: Vec<ValueItem> = classes.iter().map(|c| ValueItem::ResClass(*c)).collect();
        v.extend(type_names.iter().map(|n| ValueItem::Name((*n).to_string())));
        ValueList(v)
    }

    /// Encodes the items followed by an ENDMARK.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for item in &self.0 {
            let (syn, data) = item.syntax_and_data();
            put_item(&mut out, syn, &data);
        }
        put_u32(&mut out, syntax::ENDMARK);
        out
    }

    /// Decodes a value list; a missing final ENDMARK at the exact end of the
    /// buffer is tolerated. Never panics.
    pub fn decode(buf: &[u8]) -> Result<ValueList, PropListError> {
        let mut r = Reader::new(buf);
        let mut items = Vec::new();
        while r.remaining() > 0 {
            let at = r.pos;
            let syn = r.u32()?;
            if syn == syntax::ENDMARK {
                break;
            }
            if items.len() >= MAX_PROPERTIES {
                return Err(PropListError::TooManyItems);
            }
            let len = r.u32()? as usize;
            let data = r.item_data(len)?;
            let item = match syn {
                syntax::RESCLASS => ValueItem::ResClass(u32::from_le_bytes(
                    fixed::<4>(data).ok_or(PropListError::BadValueLength { syntax: syn, len })?,
                )),
                syntax::NAME => ValueItem::Name(utf16z_decode(data)?),
                s if (s >> 16) as u16 == syntax::TYPE_LIST_VALUE => {
                    ValueItem::Value(PropValue::decode(s, data).map_err(|e| e.at(at))?)
                }
                s => ValueItem::Raw { syntax: s, data: data.to_vec() },
            };
            items.push(item);
        }
        Ok(ValueList(items))
    }
}

/// Errors decoding peer-supplied property lists, value lists or strings.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PropListError {
    /// The buffer ends inside an item (or before an item the count promises).
    #[error("property list truncated at byte {offset}")]
    Truncated { offset: usize },
    /// The property count exceeds [`MAX_PROPERTIES`].
    #[error("property count {0} exceeds the limit")]
    TooManyProperties(u32),
    /// A value list has more than [`MAX_PROPERTIES`] items.
    #[error("value list has too many items")]
    TooManyItems,
    /// A NAME item was expected.
    #[error("syntax {found:#010x} at byte {offset}, expected {expected:#010x}")]
    UnexpectedSyntax { offset: usize, expected: u32, found: u32 },
    /// A value item whose type is not LIST_VALUE or whose format is unknown.
    #[error("unknown value syntax {syntax:#010x} at byte {offset}")]
    UnknownSyntax { offset: usize, syntax: u32 },
    /// A NAME item directly followed by its ENDMARK.
    #[error("property without a value at byte {offset}")]
    MissingValue { offset: usize },
    /// A property name longer than [`MAX_NAME_CHARS`].
    #[error("property name too long at byte {offset}")]
    NameTooLong { offset: usize },
    /// A property name that is not exactly NUL-terminated UTF-16.
    #[error("malformed property name at byte {offset}")]
    BadName { offset: usize },
    /// A value whose length does not fit its format.
    #[error("value of syntax {syntax:#010x} has invalid length {len}")]
    BadValueLength { syntax: u32, len: usize },
    /// A string value that is not exactly NUL-terminated, valid UTF-16.
    #[error("malformed string value")]
    BadString,
}

impl PropListError {
    /// Win32 status for this error (see the module documentation):
    /// 122 for truncation, 87 for structural errors, 13 for bad contents.
    pub fn win32_code(&self) -> u32 {
        match self {
            PropListError::Truncated { .. } => win32::ERROR_INSUFFICIENT_BUFFER,
            PropListError::TooManyProperties(_)
            | PropListError::TooManyItems
            | PropListError::UnexpectedSyntax { .. }
            | PropListError::UnknownSyntax { .. }
            | PropListError::MissingValue { .. }
            | PropListError::NameTooLong { .. } => win32::ERROR_INVALID_PARAMETER,
            PropListError::BadName { .. } | PropListError::BadValueLength { .. } | PropListError::BadString => {
                win32::ERROR_INVALID_DATA
            }
        }
    }

    fn at(self, offset: usize) -> PropListError {
        match self {
            PropListError::UnknownSyntax { syntax, .. } => PropListError::UnknownSyntax { offset, syntax },
            other => other,
        }
    }
}

/// Decodes UTF-16LE that must be exactly NUL-terminated: even length, the
/// last unit NUL, no earlier NUL, valid UTF-16 (Windows checks
/// `cb == (wcslen + 1) * 2`).
pub fn utf16z_decode(data: &[u8]) -> Result<String, PropListError> {
    if data.len() < 2 || data.len() & 1 != 0 {
        return Err(PropListError::BadString);
    }
    let units: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let (last, body) = units.split_last().ok_or(PropListError::BadString)?;
    if *last != 0 || body.contains(&0) {
        return Err(PropListError::BadString);
    }
    String::from_utf16(body).map_err(|_| PropListError::BadString)
}

/// Decodes a MULTI_SZ. Accepts an empty buffer, a lone NUL, a missing final
/// NUL after the last string, and ignores anything after the terminating
/// empty string. Rejects an odd length, a final string without its NUL and
/// invalid UTF-16.
pub fn multi_sz_decode(data: &[u8]) -> Result<Vec<String>, PropListError> {
    crate::value::multi_sz_strings(data).ok_or(PropListError::BadString)
}

/// One entry of a [`PropertyTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropertyDef {
    pub name: &'static str,
    pub format: Format,
    pub read_only: bool,
}

impl PropertyDef {
    /// A read/write property.
    pub const fn rw(name: &'static str, format: Format) -> PropertyDef {
        PropertyDef { name, format, read_only: false }
    }

    /// A read-only property.
    pub const fn ro(name: &'static str, format: Format) -> PropertyDef {
        PropertyDef { name, format, read_only: true }
    }
}

/// The common (or private) properties of an object class, used to answer
/// ENUM_*_PROPERTIES and to validate SET/VALIDATE input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyTable {
    entries: Cow<'static, [PropertyDef]>,
}

impl PropertyTable {
    /// A table over a static slice (usable in `const` items).
    pub const fn from_static(entries: &'static [PropertyDef]) -> PropertyTable {
        PropertyTable { entries: Cow::Borrowed(entries) }
    }

    /// A table built at run time.
    pub fn from_vec(entries: Vec<PropertyDef>) -> PropertyTable {
        PropertyTable { entries: Cow::Owned(entries) }
    }

    /// All entries, in table order.
    pub fn entries(&self) -> &[PropertyDef] {
        &self.entries
    }

    /// Case-insensitive lookup.
    pub fn find(&self, name: &str) -> Option<&PropertyDef> {
        self.entries.iter().find(|d| crate::path::name_eq(d.name, name))
    }

    /// Names of the read/write entries, in table order.
    pub fn writable_names(&self) -> Vec<&'static str> {
        self.entries.iter().filter(|d| !d.read_only).map(|d| d.name).collect()
    }

    /// Names of the read-only entries, in table order.
    pub fn read_only_names(&self) -> Vec<&'static str> {
        self.entries.iter().filter(|d| d.read_only).map(|d| d.name).collect()
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Validates SET_/VALIDATE_COMMON_PROPERTIES input against a table, with
/// the checks (and order) of Windows' property-table code: an unknown name,
/// a format different from the table's, or a read-only property each give
/// ERROR_INVALID_PARAMETER (87). The spec leaves validation codes to the
/// implementation ([MS-CMRP] 3.1.4.3.x SET_COMMON_PROPERTIES). A zero-length
/// ("reset") value of the right format is accepted. Range checks of the
/// values themselves (ERROR_INVALID_DATA in Windows) belong to the caller.
pub fn validate_set(table: &PropertyTable, list: &PropertyList) -> Result<(), u32> {
    for p in &list.0 {
        let def = table.find(&p.name).ok_or(win32::ERROR_INVALID_PARAMETER)?;
        if p.value.format() != def.format {
            return Err(win32::ERROR_INVALID_PARAMETER);
        }
        if def.read_only {
            return Err(win32::ERROR_INVALID_PARAMETER);
        }
    }
    Ok(())
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_item(out: &mut Vec<u8>, syn: u32, data: &[u8]) {
    put_u32(out, syn);
    put_u32(out, data.len() as u32);
    out.extend_from_slice(data);
    out.resize(out.len() + (pad4(data.len()) - data.len()), 0);
}

/// Bounds-checked little-endian reader.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PropListError> {
        let truncated = PropListError::Truncated { offset: self.pos };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let s = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, PropListError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads `len` data bytes and the padding to the next 4-byte boundary.
    fn item_data(&mut self, len: usize) -> Result<&'a [u8], PropListError> {
        let data = self.take(len)?;
        let pad = (4 - len % 4) % 4;
        self.take(pad)?;
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_formats() -> PropertyList {
        let mut l = PropertyList::new();
        l.push("Bin", PropValue::Binary(vec![1, 2, 3]))
            .push("Dw", PropValue::Dword(0xDEAD_BEEF))
            .push("Sz", PropValue::Sz("héllo €".into()))
            .push("Exp", PropValue::ExpandSz("%SystemRoot%\\x".into()))
            .push("Multi", PropValue::MultiSz(vec!["a".into(), "bc".into()]))
            .push("ULarge", PropValue::ULargeInteger(u64::MAX - 1))
            .push("Long", PropValue::Long(-1))
            .push("Expanded", PropValue::ExpandedSz("C:\\Windows".into()))
            .push("SD", PropValue::SecurityDescriptor(crate::security::default_key_sd()))
            .push("Large", PropValue::LargeInteger(i64::MIN))
            .push("Word", PropValue::Word(0xBEEF))
            .push("FT", PropValue::FileTime(130_000_000_000_000_000))
            .push("Empty", PropValue::Sz(String::new()))
            .push("EmptyMulti", PropValue::MultiSz(vec![]))
            .push("ResetDw", PropValue::Reset(Format::Dword));
        l
    }

    #[test]
    fn node_name_byte_exact() {
        let mut l = PropertyList::new();
        l.push("NodeName", PropValue::Sz("CTDB_NODE_0".into()));
        let mut want: Vec<u8> = vec![];
        want.extend([1, 0, 0, 0]); // propertyCount = 1
        want.extend([0x03, 0x00, 0x04, 0x00]); // CLUSPROP_SYNTAX_NAME
        want.extend([18, 0, 0, 0]); // "NodeName" + NUL = 9 units = 18 bytes
        for c in "NodeName".bytes() {
            want.extend([c, 0]);
        }
        want.extend([0, 0]); // NUL
        want.extend([0, 0]); // pad 18 -> 20
        want.extend([0x03, 0x00, 0x01, 0x00]); // CLUSPROP_SYNTAX_LIST_VALUE_SZ
        want.extend([24, 0, 0, 0]); // "CTDB_NODE_0" + NUL = 12 units = 24 bytes
        for c in "CTDB_NODE_0".bytes() {
            want.extend([c, 0]);
        }
        want.extend([0, 0]); // NUL, 24 is aligned: no pad
        want.extend([0, 0, 0, 0]); // ENDMARK of the property
        want.extend([0, 0, 0, 0]); // trailing ENDMARK of the list
        assert_eq!(want.len(), 72);
        assert_eq!(l.encode(), want);
        assert_eq!(l.encoded_len(), 72);
        assert_eq!(PropertyList::decode(&want).unwrap(), l);
    }

    #[test]
    fn dword_and_word_byte_exact() {
        let mut l = PropertyList::new();
        l.push("W", PropValue::Word(0x1234));
        let bytes = l.encode();
        let want: Vec<u8> = vec![
            1, 0, 0, 0, // count
            3, 0, 4, 0, 4, 0, 0, 0, b'W', 0, 0, 0, // NAME "W\0"
            0x0B, 0, 1, 0, 2, 0, 0, 0, 0x34, 0x12, 0, 0, // WORD, len 2, pad 2
            0, 0, 0, 0, // ENDMARK
            0, 0, 0, 0, // trailing ENDMARK
        ];
        assert_eq!(bytes, want);
    }

    #[test]
    fn format_numbers() {
        for f in Format::ALL {
            assert_eq!(Format::from_u16(f.as_u16()), Some(f), "{f:?}");
        }
        let known: Vec<u16> = (0..=u16::MAX).filter(|v| Format::from_u16(*v).is_some()).collect();
        assert_eq!(known, (0..=12).collect::<Vec<u16>>());
    }

    #[test]
    fn round_trip_every_format() {
        let l = all_formats();
        let bytes = l.encode();
        assert_eq!(bytes.len(), l.encoded_len());
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(PropertyList::decode(&bytes).unwrap(), l);
        for p in &l.0 {
            assert_eq!(p.value.syntax() >> 16, 1);
            assert_eq!(p.value.syntax() & 0xFFFF, p.value.format() as u32);
        }
    }

    #[test]
    fn trailing_endmark_emitted_and_optional() {
        let l = all_formats();
        let bytes = l.encode();
        assert_eq!(&bytes[bytes.len() - 8..], &[0u8; 8]);
        let without = &bytes[..bytes.len() - 4];
        assert_eq!(PropertyList::decode(without).unwrap(), l);
        // Extra bytes after the list are ignored.
        let mut more = bytes.clone();
        more.extend([0xFF; 7]);
        assert_eq!(PropertyList::decode(&more).unwrap(), l);
    }

    #[test]
    fn truncation_at_every_offset_errors() {
        let bytes = all_formats().encode();
        for cut in 0..bytes.len() - 4 {
            let r = PropertyList::decode(&bytes[..cut]);
            assert!(r.is_err(), "cut at {cut} decoded");
            assert_eq!(r.unwrap_err().win32_code(), 122, "cut at {cut}");
        }
    }

    #[test]
    fn hostile_lengths() {
        // count = u32::MAX
        assert!(matches!(PropertyList::decode(&[0xFF, 0xFF, 0xFF, 0xFF]), Err(PropListError::TooManyProperties(_))));
        // name length u32::MAX
        let mut b = vec![1, 0, 0, 0, 3, 0, 4, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x41, 0];
        assert_eq!(PropertyList::decode(&b).unwrap_err().win32_code(), 87);
        // name length just over the limit but present
        b = vec![1, 0, 0, 0, 3, 0, 4, 0];
        b.extend(((MAX_NAME_CHARS as u32 + 2) * 2).to_le_bytes());
        b.extend(vec![0x41; (MAX_NAME_CHARS + 2) * 2]);
        assert!(matches!(PropertyList::decode(&b), Err(PropListError::NameTooLong { .. })));
        // value length u32::MAX
        let mut l = PropertyList::new();
        l.push("A", PropValue::Dword(1));
        let mut bytes = l.encode();
        bytes[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(PropertyList::decode(&bytes), Err(PropListError::Truncated { .. })));
        // value list with a u32::MAX item length
        let vl = [1u8, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(ValueList::decode(&vl).is_err());
    }

    #[test]
    fn odd_and_unterminated_strings() {
        for data in [
            vec![0x41u8, 0, 0],        // odd length
            vec![0x41, 0, 0x42, 0],    // no NUL
            vec![0x41, 0, 0, 0, 0, 0], // embedded / double NUL
            vec![0x00, 0xD8, 0, 0],    // unpaired surrogate
        ] {
            let e = PropValue::decode(syntax::LIST_VALUE_SZ, &data).unwrap_err();
            assert_eq!(e.win32_code(), 13, "{data:?}");
        }
        // Odd name length inside a list.
        let mut b = vec![1, 0, 0, 0, 3, 0, 4, 0, 3, 0, 0, 0, 0x41, 0, 0, 0];
        b.extend([2, 0, 1, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(PropertyList::decode(&b), Err(PropListError::BadName { .. })));
    }

    #[test]
    fn bad_fixed_lengths() {
        assert_eq!(PropValue::decode(syntax::LIST_VALUE_DWORD, &[1, 2, 3]).unwrap_err().win32_code(), 13);
        assert!(PropValue::decode(syntax::LIST_VALUE_ULARGE_INTEGER, &[0; 4]).is_err());
        assert!(PropValue::decode(syntax::LIST_VALUE_WORD, &[0; 4]).is_err());
        assert_eq!(PropValue::decode(syntax::LIST_VALUE_DWORD, &[]).unwrap(), PropValue::Reset(Format::Dword));
    }

    #[test]
    fn unknown_syntax_and_structure_errors() {
        // Value syntax with type NAME instead of LIST_VALUE.
        let mut l = PropertyList::new();
        l.push("A", PropValue::Dword(1));
        let good = l.encode();
        let mut b = good.clone();
        b[16..20].copy_from_slice(&syntax::RESCLASS.to_le_bytes());
        let e = PropertyList::decode(&b).unwrap_err();
        assert!(matches!(e, PropListError::UnknownSyntax { offset: 16, .. }), "{e:?}");
        assert_eq!(e.win32_code(), 87);
        // Unknown format number.
        b = good.clone();
        b[16..20].copy_from_slice(&0x0001_0063u32.to_le_bytes());
        assert_eq!(PropertyList::decode(&b).unwrap_err().win32_code(), 87);
        // First item not a NAME.
        b = good.clone();
        b[4..8].copy_from_slice(&syntax::LIST_VALUE_SZ.to_le_bytes());
        assert!(matches!(PropertyList::decode(&b), Err(PropListError::UnexpectedSyntax { .. })));
        // Property with no value.
        let b = [1u8, 0, 0, 0, 3, 0, 4, 0, 4, 0, 0, 0, 0x41, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(PropertyList::decode(&b), Err(PropListError::MissingValue { .. })));
    }

    #[test]
    fn multiple_values_take_first() {
        let mut b = vec![1u8, 0, 0, 0];
        put_item(&mut b, syntax::NAME, &utf16z_encode("Path"));
        put_item(&mut b, syntax::LIST_VALUE_EXPAND_SZ, &utf16z_encode("%x%"));
        put_item(&mut b, syntax::LIST_VALUE_EXPANDED_SZ, &utf16z_encode("y"));
        put_item(&mut b, 0x7777_7777, &[9, 9, 9]); // ignorable
        put_u32(&mut b, 0);
        let l = PropertyList::decode(&b).unwrap();
        assert_eq!(l.0.len(), 1);
        assert_eq!(l.get("PATH"), Some(&PropValue::ExpandSz("%x%".into())));
    }

    #[test]
    fn multi_sz_forms() {
        let v = vec!["one".to_string(), "two".to_string()];
        let b = multi_sz_encode(&v);
        assert_eq!(b.len(), (4 + 4 + 1) * 2);
        assert_eq!(multi_sz_decode(&b).unwrap(), v);
        assert_eq!(multi_sz_encode::<&str>(&[]), vec![0, 0]);
        assert_eq!(multi_sz_decode(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(multi_sz_decode(&[0, 0]).unwrap(), Vec::<String>::new());
        assert_eq!(multi_sz_decode(&[0, 0, 0, 0]).unwrap(), Vec::<String>::new());
        // Missing final NUL tolerated.
        assert_eq!(multi_sz_decode(&b[..b.len() - 2]).unwrap(), v);
        // Unterminated last string rejected, odd length rejected.
        assert!(multi_sz_decode(&[0x41, 0]).is_err());
        assert!(multi_sz_decode(&[0x41, 0, 0]).is_err());
        // Data after the terminator ignored.
        let mut c = b.clone();
        c.extend([0x41, 0]);
        assert_eq!(multi_sz_decode(&c).unwrap(), v);
    }

    #[test]
    fn utf16z_round_trip() {
        for s in ["", "a", "Ünïcødé 😀"] {
            assert_eq!(utf16z_decode(&utf16z_encode(s)).unwrap(), s);
        }
        assert!(utf16z_decode(&[]).is_err());
    }

    #[test]
    fn value_list_required_dependencies() {
        let vl = ValueList::required_dependencies(&[resclass::STORAGE], &["IP Address"]);
        let b = vl.encode();
        let mut want = vec![];
        want.extend([2, 0, 2, 0, 4, 0, 0, 0, 1, 0, 0, 0]); // RESCLASS, 4, STORAGE
        want.extend([3, 0, 4, 0, 22, 0, 0, 0]); // NAME, 22 bytes
        for c in "IP Address".bytes() {
            want.extend([c, 0]);
        }
        want.extend([0, 0, 0, 0]); // NUL + pad
        want.extend([0, 0, 0, 0]); // ENDMARK
        assert_eq!(b, want);
        assert_eq!(ValueList::decode(&b).unwrap(), vl);
        // Missing ENDMARK at the end tolerated; truncation inside an item not.
        assert_eq!(ValueList::decode(&b[..b.len() - 4]).unwrap(), vl);
        for cut in 1..b.len() - 4 {
            if cut == 12 {
                continue; // exact item boundary: a shorter, valid list
            }
            assert!(ValueList::decode(&b[..cut]).is_err(), "cut {cut}");
        }
        let raw = ValueList(vec![
            ValueItem::Raw { syntax: 0x0005_0002, data: vec![1, 2, 3, 4] },
            ValueItem::Value(PropValue::Dword(7)),
        ]);
        assert_eq!(ValueList::decode(&raw.encode()).unwrap(), raw);
    }

    #[test]
    fn reg_value_conversions() {
        for v in all_formats().0.into_iter().map(|p| p.value) {
            match v.to_reg_value() {
                None => assert!(matches!(v, PropValue::Reset(_))),
                Some(r) => {
                    let back = PropValue::from_reg_value_as(&r, v.format()).unwrap();
                    assert_eq!(back, v);
                }
            }
        }
        assert_eq!(PropValue::from_reg_value(&RegValue::sz("x")).unwrap(), PropValue::Sz("x".into()));
        assert_eq!(PropValue::from_reg_value(&RegValue::qword(5)).unwrap(), PropValue::ULargeInteger(5));
        assert_eq!(
            PropValue::from_reg_value(&RegValue { kind: 0, data: vec![1] }).unwrap(),
            PropValue::Binary(vec![1])
        );
        // Lenient registry strings: no NUL, odd trailing byte.
        let r = RegValue { kind: REG_SZ, data: vec![0x41, 0, 0x42] };
        assert_eq!(PropValue::from_reg_value(&r).unwrap(), PropValue::Sz("A".into()));
        assert!(PropValue::from_reg_value(&RegValue { kind: REG_DWORD, data: vec![1] }).is_err());
        assert!(PropValue::from_reg_value_as(&RegValue::dword(70000), Format::Word).is_err());
        assert!(PropValue::from_reg_value_as(&RegValue::sz("x"), Format::Dword).is_err());
    }

    const NODE_TABLE: PropertyTable = PropertyTable::from_static(&[
        PropertyDef::ro("NodeName", Format::Sz),
        PropertyDef::rw("Description", Format::Sz),
        PropertyDef::rw("NodeWeight", Format::Dword),
    ]);

    #[test]
    fn validate_set_rules() {
        let mut ok = PropertyList::new();
        ok.push("description", PropValue::Sz("x".into())).push("NodeWeight", PropValue::Reset(Format::Dword));
        assert_eq!(validate_set(&NODE_TABLE, &ok), Ok(()));
        let mut unknown = PropertyList::new();
        unknown.push("Bogus", PropValue::Dword(1));
        assert_eq!(validate_set(&NODE_TABLE, &unknown), Err(87));
        let mut ro = PropertyList::new();
        ro.push("NodeName", PropValue::Sz("y".into()));
        assert_eq!(validate_set(&NODE_TABLE, &ro), Err(87));
        let mut wrong = PropertyList::new();
        wrong.push("NodeWeight", PropValue::Sz("1".into()));
        assert_eq!(validate_set(&NODE_TABLE, &wrong), Err(87));
        assert_eq!(NODE_TABLE.writable_names(), vec!["Description", "NodeWeight"]);
        assert_eq!(NODE_TABLE.read_only_names(), vec!["NodeName"]);
        assert!(NODE_TABLE.find("NODENAME").is_some());
        let dynamic = PropertyTable::from_vec(vec![PropertyDef::rw("X", Format::Binary)]);
        assert_eq!(dynamic.entries().len(), 1);
    }

    #[test]
    fn fuzz_like_no_panic() {
        // Deterministic pseudo-random mutations of a valid list.
        let base = all_formats().encode();
        let mut seed: u64 = 0x1234_5678_9ABC_DEF0;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut b = base.clone();
            let n = (seed % 4 + 1) as usize;
            for k in 0..n {
                let idx = ((seed >> (8 * k)) as usize) % b.len();
                b[idx] = (seed >> (8 * k + 3)) as u8;
            }
            let cut = (seed >> 40) as usize % (b.len() + 1);
            let _ = PropertyList::decode(&b[..cut]);
            let _ = ValueList::decode(&b[..cut]);
            let _ = multi_sz_decode(&b[..cut]);
        }
    }
}
