//! `security`: self-relative security descriptors for cluster registry keys.
//!
//! Spec: [MS-DTYP] 2.4.2.2 SID (packet form), 2.4.3 ACCESS_MASK, 2.4.4.1
//! ACE_HEADER and the ACE bodies of 2.4.4.x, 2.4.5 ACL, 2.4.6
//! SECURITY_DESCRIPTOR (self-relative form), 2.4.7 SECURITY_INFORMATION;
//! registry access rights as in [MS-RRP] 2.2.3 REGSAM.
//!
//! Owns: the default descriptor of every cluster key
//! ([`default_key_sd`]: owner BUILTIN\Administrators, group SYSTEM, DACL
//! granting KEY_ALL_ACCESS to Administrators and SYSTEM and KEY_READ to
//! Authenticated Users); a strict, bounds-checked parser / validator for
//! descriptors sent by peers (ApiSetKeySecurity) whose every failure maps to
//! ERROR_INVALID_SECURITY_DESCR (1338); [`filter`] (the parts a
//! GetKeySecurity caller asked for) and [`merge`] (the parts a
//! SetKeySecurity caller supplied).
//!
//! Layout written: 20-byte header, then SACL, DACL, owner, group (the order
//! of the parts is not significant; offsets are what readers use).

use crate::win32;

/// SE_OWNER_DEFAULTED.
pub const SE_OWNER_DEFAULTED: u16 = 0x0001;
/// SE_GROUP_DEFAULTED.
pub const SE_GROUP_DEFAULTED: u16 = 0x0002;
/// SE_DACL_PRESENT.
pub const SE_DACL_PRESENT: u16 = 0x0004;
/// SE_DACL_DEFAULTED.
pub const SE_DACL_DEFAULTED: u16 = 0x0008;
/// SE_SACL_PRESENT.
pub const SE_SACL_PRESENT: u16 = 0x0010;
/// SE_SACL_DEFAULTED.
pub const SE_SACL_DEFAULTED: u16 = 0x0020;
/// SE_DACL_TRUSTED.
pub const SE_DACL_TRUSTED: u16 = 0x0040;
/// SE_DACL_AUTO_INHERIT_REQ.
pub const SE_DACL_AUTO_INHERIT_REQ: u16 = 0x0100;
/// SE_SACL_AUTO_INHERIT_REQ.
pub const SE_SACL_AUTO_INHERIT_REQ: u16 = 0x0200;
/// SE_DACL_AUTO_INHERITED.
pub const SE_DACL_AUTO_INHERITED: u16 = 0x0400;
/// SE_SACL_AUTO_INHERITED.
pub const SE_SACL_AUTO_INHERITED: u16 = 0x0800;
/// SE_DACL_PROTECTED.
pub const SE_DACL_PROTECTED: u16 = 0x1000;
/// SE_SACL_PROTECTED.
pub const SE_SACL_PROTECTED: u16 = 0x2000;
/// SE_SELF_RELATIVE.
pub const SE_SELF_RELATIVE: u16 = 0x8000;

const DACL_BITS: u16 = SE_DACL_PRESENT
    | SE_DACL_DEFAULTED
    | SE_DACL_TRUSTED
    | SE_DACL_AUTO_INHERIT_REQ
    | SE_DACL_AUTO_INHERITED
    | SE_DACL_PROTECTED;
const SACL_BITS: u16 =
    SE_SACL_PRESENT | SE_SACL_DEFAULTED | SE_SACL_AUTO_INHERIT_REQ | SE_SACL_AUTO_INHERITED | SE_SACL_PROTECTED;

/// OWNER_SECURITY_INFORMATION.
pub const OWNER_SECURITY_INFORMATION: u32 = 0x1;
/// GROUP_SECURITY_INFORMATION.
pub const GROUP_SECURITY_INFORMATION: u32 = 0x2;
/// DACL_SECURITY_INFORMATION.
pub const DACL_SECURITY_INFORMATION: u32 = 0x4;
/// SACL_SECURITY_INFORMATION.
pub const SACL_SECURITY_INFORMATION: u32 = 0x8;

/// KEY_ALL_ACCESS.
pub const KEY_ALL_ACCESS: u32 = 0x000F_003F;
/// KEY_READ.
pub const KEY_READ: u32 = 0x0002_0019;

/// ACCESS_ALLOWED_ACE_TYPE.
pub const ACCESS_ALLOWED_ACE_TYPE: u8 = 0x00;
/// CONTAINER_INHERIT_ACE flag.
pub const CONTAINER_INHERIT_ACE: u8 = 0x02;

/// Header size of a self-relative SECURITY_DESCRIPTOR.
pub const SD_HEADER_LEN: usize = 20;
const ACL_HEADER_LEN: usize = 8;
const ACE_HEADER_LEN: usize = 4;
/// Maximum sub-authorities in a SID ([MS-DTYP] 2.4.2).
pub const SID_MAX_SUB_AUTHORITIES: usize = 15;

/// Why a security descriptor was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SdError {
    #[error("security descriptor shorter than its header")]
    TooShort,
    #[error("security descriptor revision {0} is not 1")]
    BadRevision(u8),
    #[error("security descriptor is not self-relative")]
    NotSelfRelative,
    #[error("{part} offset {offset} out of bounds")]
    OffsetOutOfBounds { part: &'static str, offset: u32 },
    #[error("{0} offset set but the part is marked absent")]
    UnexpectedOffset(&'static str),
    #[error("malformed SID")]
    BadSid,
    #[error("SID with {0} sub-authorities")]
    TooManySubAuthorities(u8),
    #[error("malformed ACL: {0}")]
    BadAcl(&'static str),
    #[error("malformed ACE: {0}")]
    BadAce(&'static str),
}

impl SdError {
    /// Always ERROR_INVALID_SECURITY_DESCR (1338).
    pub fn win32_code(&self) -> u32 {
        win32::ERROR_INVALID_SECURITY_DESCR
    }
}

/// A SID ([MS-DTYP] 2.4.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sid {
    /// IdentifierAuthority (big-endian 48-bit value as 6 bytes).
    pub authority: [u8; 6],
    /// SubAuthority values.
    pub sub_authorities: Vec<u32>,
}

impl Sid {
    /// S-1-`authority`-`subs...`.
    pub fn new(authority: u64, subs: &[u32]) -> Sid {
        let a = authority.to_be_bytes();
        Sid { authority: [a[2], a[3], a[4], a[5], a[6], a[7]], sub_authorities: subs.to_vec() }
    }

    /// S-1-5-32-544 BUILTIN\Administrators.
    pub fn administrators() -> Sid {
        Sid::new(5, &[32, 544])
    }

    /// S-1-5-18 NT AUTHORITY\SYSTEM.
    pub fn local_system() -> Sid {
        Sid::new(5, &[18])
    }

    /// S-1-1-0 Everyone.
    pub fn everyone() -> Sid {
        Sid::new(1, &[0])
    }

    /// S-1-5-11 Authenticated Users.
    pub fn authenticated_users() -> Sid {
        Sid::new(5, &[11])
    }

    /// Encoded length: 8 + 4 per sub-authority.
    pub fn len(&self) -> usize {
        8 + 4 * self.sub_authorities.len()
    }

    /// Never true (a SID has at least its 8-byte header); for clippy.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Encodes the SID (revision 1).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        out.push(1);
        out.push(self.sub_authorities.len() as u8);
        out.extend_from_slice(&self.authority);
        for s in &self.sub_authorities {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Parses a SID at the start of `b`; returns it and its length.
    pub fn parse(b: &[u8]) -> Result<(Sid, usize), SdError> {
        if b.len() < 8 {
            return Err(SdError::BadSid);
        }
        if b[0] != 1 {
            return Err(SdError::BadSid);
        }
        let n = b[1];
        if n as usize > SID_MAX_SUB_AUTHORITIES {
            return Err(SdError::TooManySubAuthorities(n));
        }
        let len = 8 + 4 * n as usize;
        let body = b.get(..len).ok_or(SdError::BadSid)?;
        let mut authority = [0u8; 6];
        authority.copy_from_slice(&body[2..8]);
        let sub_authorities = body[8..].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok((Sid { authority, sub_authorities }, len))
    }
}

impl std::fmt::Display for Sid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut a = [0u8; 8];
        a[2..].copy_from_slice(&self.authority);
        write!(f, "S-1-{}", u64::from_be_bytes(a))?;
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

/// An ACE, kept as type, flags and raw body (everything after the 4-byte
/// header), so unknown ACE types survive a parse / re-encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ace {
    pub ace_type: u8,
    pub flags: u8,
    pub body: Vec<u8>,
}

impl Ace {
    /// ACCESS_ALLOWED_ACE with the given mask and SID.
    pub fn allowed(flags: u8, mask: u32, sid: &Sid) -> Ace {
        let mut body = mask.to_le_bytes().to_vec();
        body.extend(sid.to_bytes());
        Ace { ace_type: ACCESS_ALLOWED_ACE_TYPE, flags, body }
    }

    /// Access mask (first 4 body bytes) of the mask-carrying ACE types.
    pub fn mask(&self) -> Option<u32> {
        self.body.get(..4).map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
    }

    /// Encoded size: header + body, rounded up to 4.
    pub fn size(&self) -> usize {
        (ACE_HEADER_LEN + self.body.len() + 3) & !3
    }

    fn write(&self, out: &mut Vec<u8>) {
        let size = self.size();
        out.push(self.ace_type);
        out.push(self.flags);
        out.extend_from_slice(&(size as u16).to_le_bytes());
        out.extend_from_slice(&self.body);
        out.resize(out.len() + size - ACE_HEADER_LEN - self.body.len(), 0);
    }

    /// Checks the body of the known ACE types; unknown types only need to
    /// fit their declared size.
    fn check_body(ace_type: u8, body: &[u8]) -> Result<(), SdError> {
        match ace_type {
            // ACCESS_ALLOWED, ACCESS_DENIED, SYSTEM_AUDIT, SYSTEM_ALARM,
            // and the callback / mandatory label / resource attribute /
            // scoped policy ACEs: mask + SID (+ application data).
            0x00..=0x03 | 0x09 | 0x0A | 0x0D | 0x0E | 0x11..=0x13 => {
                if body.len() < 4 {
                    return Err(SdError::BadAce("no access mask"));
                }
                Sid::parse(&body[4..]).map_err(|e| match e {
                    SdError::TooManySubAuthorities(n) => SdError::TooManySubAuthorities(n),
                    _ => SdError::BadAce("SID does not fit the ACE"),
                })?;
                Ok(())
            }
            // Object ACEs: mask, flags, optional ObjectType / InheritedObjectType
            // GUIDs, SID (+ application data for the callback variants).
            0x05..=0x08 | 0x0B | 0x0C | 0x0F | 0x10 => {
                if body.len() < 8 {
                    return Err(SdError::BadAce("object ACE too short"));
                }
                let flags = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let mut at = 8;
                if flags & 1 != 0 {
                    at += 16;
                }
                if flags & 2 != 0 {
                    at += 16;
                }
                let rest = body.get(at..).ok_or(SdError::BadAce("object GUIDs do not fit"))?;
                Sid::parse(rest).map_err(|e| match e {
                    SdError::TooManySubAuthorities(n) => SdError::TooManySubAuthorities(n),
                    _ => SdError::BadAce("SID does not fit the ACE"),
                })?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// An ACL ([MS-DTYP] 2.4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    /// ACL_REVISION (2) or ACL_REVISION_DS (4).
    pub revision: u8,
    pub aces: Vec<Ace>,
}

impl Acl {
    /// Encoded size.
    pub fn size(&self) -> usize {
        ACL_HEADER_LEN + self.aces.iter().map(Ace::size).sum::<usize>()
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.push(self.revision);
        out.push(0);
        out.extend_from_slice(&(self.size() as u16).to_le_bytes());
        out.extend_from_slice(&(self.aces.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for a in &self.aces {
            a.write(out);
        }
    }

    /// Parses and validates an ACL at the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Acl, SdError> {
        if b.len() < ACL_HEADER_LEN {
            return Err(SdError::BadAcl("header out of bounds"));
        }
        let revision = b[0];
        if revision != 2 && revision != 4 {
            return Err(SdError::BadAcl("revision"));
        }
        let size = u16::from_le_bytes([b[2], b[3]]) as usize;
        let count = u16::from_le_bytes([b[4], b[5]]) as usize;
        if size < ACL_HEADER_LEN || size & 3 != 0 {
            return Err(SdError::BadAcl("size"));
        }
        let acl = b.get(..size).ok_or(SdError::BadAcl("size past the buffer"))?;
        let mut at = ACL_HEADER_LEN;
        let mut aces = Vec::with_capacity(count.min(size / ACE_HEADER_LEN));
        for _ in 0..count {
            let hdr = acl.get(at..at + ACE_HEADER_LEN).ok_or(SdError::BadAce("header past the ACL"))?;
            let ace_type = hdr[0];
            let flags = hdr[1];
            let ace_size = u16::from_le_bytes([hdr[2], hdr[3]]) as usize;
            if ace_size < ACE_HEADER_LEN || ace_size & 3 != 0 {
                return Err(SdError::BadAce("size"));
            }
            let ace = acl.get(at..at + ace_size).ok_or(SdError::BadAce("size past the ACL"))?;
            let body = &ace[ACE_HEADER_LEN..];
            Ace::check_body(ace_type, body)?;
            aces.push(Ace { ace_type, flags, body: body.to_vec() });
            at += ace_size;
        }
        Ok(Acl { revision, aces })
    }
}

/// A security descriptor in parsed form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityDescriptor {
    /// SECURITY_DESCRIPTOR_CONTROL bits (SE_SELF_RELATIVE is added on encode).
    pub control: u16,
    pub owner: Option<Sid>,
    pub group: Option<Sid>,
    /// `None` = no SACL (SE_SACL_PRESENT clear).
    pub sacl: Option<Acl>,
    /// `None` with SE_DACL_PRESENT set = NULL DACL; with it clear = no DACL.
    pub dacl: Option<Acl>,
}

impl SecurityDescriptor {
    /// Parses and validates a self-relative descriptor supplied by a peer.
    /// Checks: header length, revision 1, SE_SELF_RELATIVE, every offset
    /// inside the buffer and not pointing into the header, offsets of parts
    /// marked absent are zero, ACL revision / size / alignment, every ACE's
    /// size and body, SIDs with revision 1 and at most 15 sub-authorities.
    pub fn parse(b: &[u8]) -> Result<SecurityDescriptor, SdError> {
        if b.len() < SD_HEADER_LEN {
            return Err(SdError::TooShort);
        }
        if b[0] != 1 {
            return Err(SdError::BadRevision(b[0]));
        }
        let control = u16::from_le_bytes([b[2], b[3]]);
        if control & SE_SELF_RELATIVE == 0 {
            return Err(SdError::NotSelfRelative);
        }
        let off = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let (o_owner, o_group, o_sacl, o_dacl) = (off(4), off(8), off(12), off(16));
        let part = |name: &'static str, o: u32| -> Result<&[u8], SdError> {
            let o_us = o as usize;
            if o_us < SD_HEADER_LEN || o_us >= b.len() {
                return Err(SdError::OffsetOutOfBounds { part: name, offset: o });
            }
            Ok(&b[o_us..])
        };
        // offset 0: no SID
        let sid = |name: &'static str, o: u32| -> Result<Option<Sid>, SdError> {
            Ok(if o == 0 { None } else { Some(Sid::parse(part(name, o)?)?.0) })
        };
        // an ACL whose `present` control bit is clear must have offset 0; with the bit set,
        // offset 0 is a NULL ACL
        let acl = |name: &'static str, present: u16, o: u32| -> Result<Option<Acl>, SdError> {
            if control & present == 0 {
                return if o == 0 { Ok(None) } else { Err(SdError::UnexpectedOffset(name)) };
            }
            Ok(if o == 0 { None } else { Some(Acl::parse(part(name, o)?)?) })
        };
        Ok(SecurityDescriptor {
            control,
            owner: sid("owner", o_owner)?,
            group: sid("group", o_group)?,
            sacl: acl("SACL", SE_SACL_PRESENT, o_sacl)?,
            dacl: acl("DACL", SE_DACL_PRESENT, o_dacl)?,
        })
    }

    /// Encodes the descriptor in self-relative form.
    pub fn to_self_relative(&self) -> Vec<u8> {
        let mut out = vec![0u8; SD_HEADER_LEN];
        let mut control = self.control | SE_SELF_RELATIVE;
        let mut offsets = [0u32; 4]; // owner, group, sacl, dacl
        if let Some(acl) = &self.sacl {
            control |= SE_SACL_PRESENT;
            offsets[2] = out.len() as u32;
            acl.write(&mut out);
        }
        if let Some(acl) = &self.dacl {
            control |= SE_DACL_PRESENT;
            offsets[3] = out.len() as u32;
            acl.write(&mut out);
        }
        if let Some(sid) = &self.owner {
            offsets[0] = out.len() as u32;
            out.extend(sid.to_bytes());
        }
        if let Some(sid) = &self.group {
            offsets[1] = out.len() as u32;
            out.extend(sid.to_bytes());
        }
        out[0] = 1;
        out[1] = 0;
        out[2..4].copy_from_slice(&control.to_le_bytes());
        for (i, o) in offsets.iter().enumerate() {
            out[4 + 4 * i..8 + 4 * i].copy_from_slice(&o.to_le_bytes());
        }
        out
    }
}

/// Validates a peer-supplied self-relative descriptor.
pub fn validate(sd: &[u8]) -> Result<(), SdError> {
    SecurityDescriptor::parse(sd).map(|_| ())
}

/// The descriptor of every cluster key: owner BUILTIN\Administrators, group
/// SYSTEM, DACL (container-inherit ACEs) granting KEY_ALL_ACCESS to
/// Administrators and SYSTEM and KEY_READ to Authenticated Users; control
/// SE_SELF_RELATIVE | SE_DACL_PRESENT. 120 bytes.
pub fn default_key_sd() -> Vec<u8> {
    SecurityDescriptor {
        control: SE_DACL_PRESENT,
        owner: Some(Sid::administrators()),
        group: Some(Sid::local_system()),
        sacl: None,
        dacl: Some(Acl {
            revision: 2,
            aces: vec![
                Ace::allowed(CONTAINER_INHERIT_ACE, KEY_ALL_ACCESS, &Sid::administrators()),
                Ace::allowed(CONTAINER_INHERIT_ACE, KEY_ALL_ACCESS, &Sid::local_system()),
                Ace::allowed(CONTAINER_INHERIT_ACE, KEY_READ, &Sid::authenticated_users()),
            ],
        }),
    }
    .to_self_relative()
}

/// The four parts of a descriptor that SECURITY_INFORMATION selects.
#[derive(Clone, Copy)]
enum Part {
    Owner,
    Group,
    Dacl,
    Sacl,
}

/// Each part with its SECURITY_INFORMATION bit and the control bits that describe it.
const PARTS: [(Part, u32, u16); 4] = [
    (Part::Owner, OWNER_SECURITY_INFORMATION, SE_OWNER_DEFAULTED),
    (Part::Group, GROUP_SECURITY_INFORMATION, SE_GROUP_DEFAULTED),
    (Part::Dacl, DACL_SECURITY_INFORMATION, DACL_BITS),
    (Part::Sacl, SACL_SECURITY_INFORMATION, SACL_BITS),
];

impl SecurityDescriptor {
    /// Replaces `part` and its control bits `bits` by those of `from`.
    fn copy_part(&mut self, from: &SecurityDescriptor, part: Part, bits: u16) {
        match part {
            Part::Owner => self.owner.clone_from(&from.owner),
            Part::Group => self.group.clone_from(&from.group),
            Part::Dacl => self.dacl.clone_from(&from.dacl),
            Part::Sacl => self.sacl.clone_from(&from.sacl),
        }
        self.control = (self.control & !bits) | (from.control & bits);
    }
}

/// A new self-relative descriptor holding only the parts selected by
/// `security_information` (OWNER 0x1, GROUP 0x2, DACL 0x4, SACL 0x8; other
/// bits ignored). Control bits of parts left out are cleared.
pub fn filter(sd: &[u8], security_information: u32) -> Result<Vec<u8>, SdError> {
    let mut p = SecurityDescriptor::parse(sd)?;
    // a part left out is taken from a descriptor that has none and no control bits
    let none = SecurityDescriptor { control: 0, owner: None, group: None, sacl: None, dacl: None };
    for (part, info_bit, bits) in PARTS {
        if security_information & info_bit == 0 {
            p.copy_part(&none, part, bits);
        }
    }
    Ok(p.to_self_relative())
}

/// SetKeySecurity semantics: the parts of `new` selected by
/// `security_information` replace those of `current`, with their control bits;
/// the rest of `current` is kept. Both descriptors are validated.
pub fn merge(current: &[u8], new: &[u8], security_information: u32) -> Result<Vec<u8>, SdError> {
    let mut cur = SecurityDescriptor::parse(current)?;
    let new = SecurityDescriptor::parse(new)?;
    for (part, info_bit, bits) in PARTS {
        if security_information & info_bit != 0 {
            cur.copy_part(&new, part, bits);
        }
    }
    Ok(cur.to_self_relative())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_sd_layout() {
        let sd = default_key_sd();
        assert_eq!(sd.len(), 120);
        assert_eq!(&sd[0..4], &[1, 0, 0x04, 0x80]); // revision 1, control 0x8004
                                                    // offsets: owner 92, group 108, sacl 0, dacl 20
        assert_eq!(&sd[4..8], &92u32.to_le_bytes());
        assert_eq!(&sd[8..12], &108u32.to_le_bytes());
        assert_eq!(&sd[12..16], &0u32.to_le_bytes());
        assert_eq!(&sd[16..20], &20u32.to_le_bytes());
        // DACL header: revision 2, size 72, 3 ACEs
        assert_eq!(&sd[20..28], &[2, 0, 72, 0, 3, 0, 0, 0]);
        // first ACE: allowed, CI, size 24, KEY_ALL_ACCESS, S-1-5-32-544
        assert_eq!(&sd[28..32], &[0, 2, 24, 0]);
        assert_eq!(&sd[32..36], &0x000F_003Fu32.to_le_bytes());
        assert_eq!(&sd[36..52], &[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0]);
        // owner SID S-1-5-32-544, group S-1-5-18
        assert_eq!(&sd[92..100], &[1, 2, 0, 0, 0, 0, 0, 5]);
        assert_eq!(&sd[108..120], &[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
        let p = SecurityDescriptor::parse(&sd).unwrap();
        assert_eq!(p.owner.as_ref().unwrap().to_string(), "S-1-5-32-544");
        assert_eq!(p.group.as_ref().unwrap().to_string(), "S-1-5-18");
        let dacl = p.dacl.as_ref().unwrap();
        assert_eq!(dacl.aces.len(), 3);
        assert_eq!(dacl.aces[2].mask(), Some(KEY_READ));
        assert_eq!(p.to_self_relative(), sd);
    }

    #[test]
    fn filter_parts() {
        let sd = default_key_sd();
        let only_owner = SecurityDescriptor::parse(&filter(&sd, 1).unwrap()).unwrap();
        assert!(only_owner.owner.is_some() && only_owner.group.is_none());
        assert!(only_owner.dacl.is_none());
        assert_eq!(only_owner.control, SE_SELF_RELATIVE);
        let dacl_only = filter(&sd, DACL_SECURITY_INFORMATION).unwrap();
        assert_eq!(dacl_only.len(), 20 + 72);
        let p = SecurityDescriptor::parse(&dacl_only).unwrap();
        assert!(p.owner.is_none() && p.dacl.is_some());
        assert_eq!(p.control, SE_SELF_RELATIVE | SE_DACL_PRESENT);
        assert_eq!(filter(&sd, 0xF).unwrap(), sd);
        assert_eq!(filter(&sd, 0).unwrap().len(), 20);
        // SACL requested but absent: still absent.
        let s = SecurityDescriptor::parse(&filter(&sd, 8).unwrap()).unwrap();
        assert!(s.sacl.is_none());
    }

    #[test]
    fn merge_parts() {
        let sd = default_key_sd();
        let new = SecurityDescriptor {
            control: SE_DACL_PRESENT,
            owner: Some(Sid::everyone()),
            group: None,
            sacl: None,
            dacl: Some(Acl { revision: 2, aces: vec![Ace::allowed(0, KEY_READ, &Sid::everyone())] }),
        }
        .to_self_relative();
        let m = SecurityDescriptor::parse(&merge(&sd, &new, DACL_SECURITY_INFORMATION).unwrap()).unwrap();
        assert_eq!(m.owner, Some(Sid::administrators()));
        assert_eq!(m.dacl.unwrap().aces.len(), 1);
        let m = SecurityDescriptor::parse(&merge(&sd, &new, OWNER_SECURITY_INFORMATION).unwrap()).unwrap();
        assert_eq!(m.owner, Some(Sid::everyone()));
        assert_eq!(m.dacl.unwrap().aces.len(), 3);
    }

    #[test]
    fn null_dacl_and_sacl() {
        // DACL present with offset 0 = NULL DACL; accepted.
        let mut sd = vec![0u8; 20];
        sd[0] = 1;
        sd[2..4].copy_from_slice(&(SE_SELF_RELATIVE | SE_DACL_PRESENT).to_le_bytes());
        let p = SecurityDescriptor::parse(&sd).unwrap();
        assert!(p.dacl.is_none() && p.control & SE_DACL_PRESENT != 0);
        // A SACL round-trips.
        let with_sacl = SecurityDescriptor {
            control: 0,
            owner: None,
            group: None,
            sacl: Some(Acl {
                revision: 2,
                aces: vec![Ace {
                    ace_type: 2,
                    flags: 0xC0,
                    body: {
                        let mut b = 0x1_0000u32.to_le_bytes().to_vec();
                        b.extend(Sid::everyone().to_bytes());
                        b
                    },
                }],
            }),
            dacl: None,
        }
        .to_self_relative();
        let p = SecurityDescriptor::parse(&with_sacl).unwrap();
        assert_eq!(p.sacl.unwrap().aces[0].ace_type, 2);
    }

    #[test]
    fn rejects_malformed() {
        let sd = default_key_sd();
        let bad = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = sd.clone();
            f(&mut b);
            let e = validate(&b).unwrap_err();
            assert_eq!(e.win32_code(), 1338);
            e
        };
        assert_eq!(bad(&|b| b.truncate(19)), SdError::TooShort);
        assert_eq!(bad(&|b| b[0] = 2), SdError::BadRevision(2));
        assert_eq!(bad(&|b| b[3] = 0), SdError::NotSelfRelative);
        bad(&|b| b[4..8].copy_from_slice(&500u32.to_le_bytes()));
        bad(&|b| b[4..8].copy_from_slice(&4u32.to_le_bytes()));
        bad(&|b| b[16..20].copy_from_slice(&u32::MAX.to_le_bytes()));
        bad(&|b| b[12..16].copy_from_slice(&20u32.to_le_bytes())); // SACL offset w/o flag
        bad(&|b| b[20] = 3); // ACL revision
        bad(&|b| b[22] = 70); // ACL size not aligned
        bad(&|b| b[22] = 200); // ACL size past buffer
        bad(&|b| b[24] = 9); // too many ACEs for the ACL size
        bad(&|b| b[30] = 2); // ACE size < SID
        bad(&|b| b[30] = 22); // ACE size not aligned
        assert_eq!(
            bad(&|b| b[93] = 16), // owner sub-authority count 16
            SdError::TooManySubAuthorities(16)
        );
        bad(&|b| b[109] = 3); // group SID runs past the buffer
        bad(&|b| b[92] = 2); // SID revision
        assert_eq!(
            bad(&|b| b[37] = 15), // ACE SID claims 15 subs, past the ACE
            SdError::BadAce("SID does not fit the ACE")
        );
    }

    #[test]
    fn truncation_and_mutation_never_panic() {
        let sd = default_key_sd();
        for cut in 0..sd.len() {
            let _ = validate(&sd[..cut]);
            let _ = filter(&sd[..cut], 0xF);
        }
        let mut seed: u64 = 42;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut b = sd.clone();
            let idx = (seed >> 33) as usize % b.len();
            b[idx] = (seed >> 13) as u8;
            let idx2 = (seed >> 20) as usize % b.len();
            b[idx2] = (seed >> 5) as u8;
            if let Ok(p) = SecurityDescriptor::parse(&b) {
                // Whatever parses must re-encode to something that parses.
                SecurityDescriptor::parse(&p.to_self_relative()).unwrap();
            }
            let _ = merge(&sd, &b, 0xF);
        }
    }
}
