//! The endpoint mapper, epmapper v3.0 ([C706] appendix O, [MS-RPCE] 2.2.1.2): the operations
//! clusapid answers on port 135, and the protocol tower codec ([C706] appendix L).

use crate::ndr::{ContextHandle, Guid, NdrError, NdrReader, NdrResult, NdrType, NdrWriter, WError};
use crate::types::conf_var_list;

/// `twr_t`: a conformant struct `{ u32 tower_length; byte tower_octet_string[tower_length] }`.
/// On the wire the conformance (max_count) precedes the struct.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Twr(pub Vec<u8>);

impl NdrType for Twr {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 8;
    fn encode(&self, w: &mut NdrWriter) {
        w.conformant_count(u32::try_from(self.0.len()).unwrap_or(u32::MAX));
        w.bytes(&self.0);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        let len = r.conformant_count()?;
        let n = r.check_count(len, 1)?;
        Ok(Twr(r.take(n)?.to_vec()))
    }
}

/// `[out, ptr, size_is(max_towers), length_is(*num_towers)] twr_p_t towers[]`: a conformant
/// varying array of full pointers to towers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TowerArray {
    /// max_count (the caller's max_towers).
    pub max: u32,
    /// The towers actually returned.
    pub towers: Vec<Option<Twr>>,
}

conf_var_list!(TowerArray, towers, Option<Twr>);

crate::ndr_struct! {
    /// `rpc_if_id_t`: an interface UUID and version ([C706] appendix O).
    pub struct RpcIfId { pub uuid: Guid, pub vers_major: u16, pub vers_minor: u16 }
}

/// Longest annotation, NUL included (`ept_max_annotation_size`, [C706] appendix O).
pub const MAX_ANNOTATION: usize = 64;

/// `[string] char annotation[ept_max_annotation_size]`: an embedded varying string of 8-bit
/// characters (offset, actual_count, characters with their NUL), at most 64 octets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotation(pub String);

impl NdrType for Annotation {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 8;
    fn encode(&self, w: &mut NdrWriter) {
        let b = self.0.as_bytes();
        let b = &b[..b.len().min(MAX_ANNOTATION - 1)];
        w.align(4);
        w.u32(0);
        w.u32(u32::try_from(b.len() + 1).unwrap_or(0));
        w.bytes(b);
        w.u8(0);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        r.align(4)?;
        let offset = r.u32()?;
        let len = r.u32()?;
        if offset != 0 || len as usize > MAX_ANNOTATION {
            return Err(NdrError::BadVarying { offset, length: len, max: MAX_ANNOTATION as u32 });
        }
        let n = r.check_count(len, 1)?;
        let b = r.take(n)?;
        let text = b.split(|&c| c == 0).next().unwrap_or(&[]);
        Ok(Annotation(String::from_utf8_lossy(text).into_owned()))
    }
}

crate::ndr_struct! {
    /// `ept_entry_t`: one endpoint-map element: object UUID, tower and annotation.
    pub struct EptEntry { pub object: Guid, pub tower: Option<Twr>, pub annotation: Annotation }
}

/// `[out, length_is(*num_ents), size_is(max_ents)] ept_entry_t entries[]`: a conformant varying
/// array of entries, their towers deferred after the array.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EptEntryArray {
    /// max_count (the caller's max_ents).
    pub max: u32,
    pub entries: Vec<EptEntry>,
}

conf_var_list!(EptEntryArray, entries, EptEntry);

/// ept_lookup inquiry types ([C706] appendix O, `RPC_C_EP_*`).
pub mod inquiry {
    pub const ALL_ELTS: u32 = 0;
    pub const MATCH_BY_IF: u32 = 1;
    pub const MATCH_BY_OBJ: u32 = 2;
    pub const MATCH_BY_BOTH: u32 = 3;
}

/// ept_lookup version options ([C706] appendix O, `RPC_C_VERS_*`).
pub mod vers {
    pub const ALL: u32 = 1;
    pub const COMPATIBLE: u32 = 2;
    pub const EXACT: u32 = 3;
    pub const MAJOR_ONLY: u32 = 4;
    pub const UPTO: u32 = 5;
}

/// EPT_S_INVALID_ENTRY: the lookup handle names no lookup in progress.
pub const EPT_S_INVALID_ENTRY: u32 = 0x16c9_a0d7;

/// EPT_S_NOT_REGISTERED ([C706] appendix O / [MS-RPCE] 2.2.1.2.5?): no endpoint for the
/// requested interface.
pub const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;
/// EPT_S_CANT_PERFORM_OP: the operation is not supported (insert/delete through the wire).
pub const EPT_S_CANT_PERFORM_OP: u32 = 0x16c9_a0cd;

/// Protocol identifiers used in tower floors ([C706] appendix I / L).
pub mod floor {
    /// Floor with an interface or transfer-syntax UUID and major version in the lhs.
    pub const UUID: u8 = 0x0d;
    /// Connection-oriented RPC (ncacn).
    pub const NCACN: u8 = 0x0b;
    /// TCP port (big-endian u16 rhs).
    pub const TCP: u8 = 0x07;
    /// IPv4 address (4-byte rhs).
    pub const IP: u8 = 0x09;
}

/// One tower floor: a protocol identifier (lhs) and its related data (rhs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Floor {
    pub lhs: Vec<u8>,
    pub rhs: Vec<u8>,
}

/// A decoded protocol tower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tower {
    pub floors: Vec<Floor>,
}

/// The floors clusapid cares about in an `ncacn_ip_tcp` tower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpTower {
    /// Interface UUID and version (major, minor).
    pub interface: (Guid, u16, u16),
    /// Transfer syntax UUID and major version.
    pub transfer: (Guid, u16),
    /// TCP port.
    pub port: u16,
    /// IPv4 address.
    pub ip: [u8; 4],
}

impl Tower {
    /// Parses a tower octet string (its counts are always little-endian, [C706] L.3).
    pub fn parse(b: &[u8]) -> Option<Tower> {
        let mut p = 0usize;
        let u16le = |b: &[u8], p: &mut usize| -> Option<u16> {
            let s = b.get(*p..*p + 2)?;
            *p += 2;
            Some(u16::from_le_bytes([s[0], s[1]]))
        };
        let count = u16le(b, &mut p)?;
        let mut floors = Vec::new();
        for _ in 0..count {
            let l = usize::from(u16le(b, &mut p)?);
            let lhs = b.get(p..p + l)?.to_vec();
            p += l;
            let r = usize::from(u16le(b, &mut p)?);
            let rhs = b.get(p..p + r)?.to_vec();
            p += r;
            floors.push(Floor { lhs, rhs });
            if floors.len() > 16 {
                return None;
            }
        }
        Some(Tower { floors })
    }

    /// Encodes the tower octet string.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::new();
        o.extend_from_slice(&u16::try_from(self.floors.len()).unwrap_or(0).to_le_bytes());
        for f in &self.floors {
            o.extend_from_slice(&u16::try_from(f.lhs.len()).unwrap_or(0).to_le_bytes());
            o.extend_from_slice(&f.lhs);
            o.extend_from_slice(&u16::try_from(f.rhs.len()).unwrap_or(0).to_le_bytes());
            o.extend_from_slice(&f.rhs);
        }
        o
    }

    fn uuid_floor(f: &Floor) -> Option<(Guid, u16, u16)> {
        if f.lhs.len() != 19 || f.lhs[0] != floor::UUID || f.rhs.len() != 2 {
            return None;
        }
        let mut u = [0u8; 16];
        u.copy_from_slice(&f.lhs[1..17]);
        let major = u16::from_le_bytes([f.lhs[17], f.lhs[18]]);
        let minor = u16::from_le_bytes([f.rhs[0], f.rhs[1]]);
        Some((Guid::from_bytes(&u, crate::ndr::ByteOrder::Little), major, minor))
    }

    /// The interface (first floor) named by a tower, if it has the UUID form.
    pub fn interface(&self) -> Option<(Guid, u16, u16)> {
        Self::uuid_floor(self.floors.first()?)
    }

    /// The transfer syntax (second floor).
    pub fn transfer(&self) -> Option<(Guid, u16)> {
        Self::uuid_floor(self.floors.get(1)?).map(|(g, maj, _)| (g, maj))
    }

    /// Whether the tower asks for `ncacn_ip_tcp` (floors 3-5: ncacn, TCP, IP).
    pub fn is_ncacn_ip_tcp(&self) -> bool {
        self.floors.len() >= 5
            && self.floors[2].lhs.first() == Some(&floor::NCACN)
            && self.floors[3].lhs.first() == Some(&floor::TCP)
            && self.floors[4].lhs.first() == Some(&floor::IP)
    }

    /// Builds the five-floor `ncacn_ip_tcp` tower.
    pub fn ncacn_ip_tcp(t: &TcpTower) -> Tower {
        let uuid_floor = |g: &Guid, major: u16, minor: u16| {
            let mut lhs = vec![floor::UUID];
            lhs.extend_from_slice(&g.to_le_bytes());
            lhs.extend_from_slice(&major.to_le_bytes());
            Floor { lhs, rhs: minor.to_le_bytes().to_vec() }
        };
        Tower {
            floors: vec![
                uuid_floor(&t.interface.0, t.interface.1, t.interface.2),
                uuid_floor(&t.transfer.0, t.transfer.1, 0),
                Floor { lhs: vec![floor::NCACN], rhs: vec![0, 0] },
                Floor { lhs: vec![floor::TCP], rhs: t.port.to_be_bytes().to_vec() },
                Floor { lhs: vec![floor::IP], rhs: t.ip.to_vec() },
            ],
        }
    }
}

crate::rpc_interface! {
    /// epmapper v3.0 ([C706] appendix O).
    interface Epmapper {
        uuid: "e1af8308-5d1f-11c9-91a4-08002b14a0fa",
        version: (3, 0),
        server: EpmapperServer,
    }

    /// ept_lookup (opnum 2): the endpoint-map elements matching an inquiry, `max_ents` at a
    /// time, continued through `entry_handle`.
    2 EptLookup
        in (
            inquiry_type: u32,
            object: Option<Guid>,
            interface_id: Option<RpcIfId>,
            vers_option: u32,
            entry_handle: ContextHandle,
            max_ents: u32,
        )
        out (entry_handle: ContextHandle, num_ents: u32, entries: EptEntryArray, status: WError);

    /// ept_map (opnum 3): the endpoints registered for the interface named by `map_tower`.
    3 EptMap
        in (object: Option<Guid>, map_tower: Option<Twr>, entry_handle: ContextHandle, max_towers: u32)
        out (entry_handle: ContextHandle, num_towers: u32, towers: TowerArray, status: WError);

    /// ept_lookup_handle_free (opnum 4): releases a lookup handle.
    4 EptLookupHandleFree
        in (entry_handle: ContextHandle)
        out (entry_handle: ContextHandle, status: WError);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::ByteOrder;
    use crate::testutil::truncations;

    #[test]
    fn tower_roundtrip() {
        let t = TcpTower {
            interface: (Guid::parse("b97db8b2-4c63-11cf-bff6-08002be23f2f"), 3, 0),
            transfer: (crate::NDR20_UUID, 2),
            port: 4135,
            ip: [127, 0, 0, 1],
        };
        let tw = Tower::ncacn_ip_tcp(&t);
        let b = tw.to_bytes();
        assert_eq!(b.len(), 75);
        let back = Tower::parse(&b).unwrap();
        assert_eq!(back.interface(), Some(t.interface));
        assert_eq!(back.transfer(), Some(t.transfer));
        assert!(back.is_ncacn_ip_tcp());
        assert_eq!(back.floors[3].rhs, vec![0x10, 0x27]);
        assert!(Tower::parse(&b[..40]).is_none());
    }

    #[test]
    fn ept_map_request_roundtrip() {
        let req = EptMapRequest {
            object: Some(Guid::NIL),
            map_tower: Some(Twr(vec![1, 2, 3])),
            entry_handle: ContextHandle::NULL,
            max_towers: 4,
        };
        let stub = req.to_stub();
        assert_eq!(EptMapRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);
        let resp = EptMapResponse {
            entry_handle: ContextHandle::NULL,
            num_towers: 1,
            towers: TowerArray { max: 4, towers: vec![Some(Twr(vec![9; 5]))] },
            status: WError(0),
        };
        let stub = resp.to_stub();
        assert_eq!(EptMapResponse::decode_stub(&stub, ByteOrder::Little).unwrap(), resp);
        // truncation anywhere is an error, never a panic
        truncations(&stub, |s| EptMapResponse::decode_stub(s, ByteOrder::Little));
    }

    #[test]
    fn ept_lookup_roundtrip_and_layout() {
        let req = EptLookupRequest {
            inquiry_type: inquiry::MATCH_BY_IF,
            object: None,
            interface_id: Some(RpcIfId { uuid: Epmapper::UUID, vers_major: 3, vers_minor: 0 }),
            vers_option: vers::COMPATIBLE,
            entry_handle: ContextHandle::NULL,
            max_ents: 10,
        };
        let stub = req.to_stub();
        // inquiry 4, object ptr 4, if ptr 4 + rpc_if_id 20, vers 4, handle 20, max 4
        assert_eq!(stub.len(), 60);
        assert_eq!(EptLookupRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);
        let resp = EptLookupResponse {
            entry_handle: ContextHandle::NULL,
            num_ents: 2,
            entries: EptEntryArray {
                max: 10,
                entries: vec![
                    EptEntry {
                        object: Guid::NIL,
                        tower: Some(Twr(vec![1, 2, 3])),
                        annotation: Annotation("abc".into()),
                    },
                    EptEntry { object: Guid::NIL, tower: None, annotation: Annotation(String::new()) },
                ],
            },
            status: WError(0),
        };
        let stub = resp.to_stub();
        let back = EptLookupResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
        assert_eq!(back, resp);
        // the first entry: object, tower referent, offset 0, actual_count 4, "abc\0"
        assert_eq!(&stub[56..64], &[0, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(&stub[64..68], b"abc\0");
        truncations(&stub, |s| EptLookupResponse::decode_stub(s, ByteOrder::Little));
        // an annotation longer than 64 octets is refused
        let mut w = crate::ndr::NdrWriter::new();
        w.u32(0);
        w.u32(65);
        w.bytes(&[b'a'; 65]);
        let b = w.into_bytes();
        assert!(Annotation::decode(&mut NdrReader::new(&b, ByteOrder::Little)).is_err());
    }

    #[test]
    fn not_implemented_response_sets_status() {
        let r = EptLookupHandleFreeResponse::error(5);
        assert_eq!(r.status, WError(5));
        assert!(r.entry_handle.is_null());
        assert_eq!(Epmapper::op_name(3), Some("EptMap"));
        assert_eq!(Epmapper::op_name(0), None);
    }
}
