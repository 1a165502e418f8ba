//! The four call profiles and their stubs. Every stub is built once (the per-call stub is reused
//! for every call), so both servers receive byte-identical requests and the generator spends
//! nothing on marshalling while it measures.
//!
//! - `epm_map`: epmapper v3 `ept_map` (opnum 3) for the endpoint mapper's own tower: the same
//!   132 bytes as perf-anchor section 7, answered by every endpoint mapper.
//! - `mgmt_inq`: mgmt v1 `inq_if_ids` (opnum 0), empty stub.
//! - `clusapi_qv`: clusapi v3 `ApiGetRootKey` (28) + `ApiOpenKey` (30) `Bench` at setup
//!   (created with `ApiCreateKey` (29) + `ApiSetValue` (32) when missing), then `ApiQueryValue`
//!   (34) `ProductType` (REG_SZ "ServerNT", 18 bytes) with a 512-byte buffer.
//! - `winreg_qv`: winreg v1 `OpenHKLM` (2) + `BaseRegOpenKey` (15)
//!   `SYSTEM\CurrentControlSet\Control\ProductOptions`, then `BaseRegQueryValue` (17)
//!   `ProductType` ([MS-RRP] 3.1.5.17; 512-byte buffer offered, nothing sent).

use dcerpc::pdu::SyntaxId;
use idl::clusapi::{
    ApiCreateKeyRequest, ApiCreateKeyResponse, ApiGetRootKeyRequest, ApiGetRootKeyResponse, ApiOpenClusterRequest,
    ApiOpenKeyRequest, ApiOpenKeyResponse, ApiQueryValueRequest, ApiSetValueRequest, ApiSetValueResponse, Clusapi,
};
use idl::epm::{EptMapResponse, TcpTower, Tower};
use idl::mgmt::Mgmt;
use idl::{ByteOrder, ConfBytes, ContextHandle, Guid, NdrWriter};

/// epmapper v3.0.
pub const EPMAPPER: (Guid, u16, u16) = (Guid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), 3, 0);
/// winreg v1.0 ([MS-RRP] 1.9).
pub const WINREG: (Guid, u16, u16) = (Guid::parse("338cd001-2244-31f1-aaaa-900038001003"), 1, 0);
/// MAXIMUM_ALLOWED.
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
/// ERROR_FILE_NOT_FOUND (a registry key or value that does not exist).
pub const ERROR_FILE_NOT_FOUND: u32 = 2;
/// ERROR_CALL_NOT_IMPLEMENTED.
pub const ERROR_CALL_NOT_IMPLEMENTED: u32 = 120;
/// REG_SZ.
pub const REG_SZ: u32 = 1;

/// The clusapi registry key and value the `clusapi_qv` profile reads.
pub const CLUS_KEY: &str = "Bench";
pub const CLUS_VALUE: &str = "ProductType";
pub const CLUS_DATA: &str = "ServerNT";
/// The winreg key and value the `winreg_qv` profile reads (present in every Samba registry).
pub const WINREG_KEY: &str = "SYSTEM\\CurrentControlSet\\Control\\ProductOptions";
pub const WINREG_VALUE: &str = "ProductType";

/// Which profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    EpmMap,
    MgmtInq,
    ClusapiQv,
    WinregQv,
}

impl Profile {
    /// Name as on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::EpmMap => "epm_map",
            Profile::MgmtInq => "mgmt_inq",
            Profile::ClusapiQv => "clusapi_qv",
            Profile::WinregQv => "winreg_qv",
        }
    }

    /// The interface the connection binds.
    pub fn syntax(self) -> SyntaxId {
        let (u, maj, min) = match self {
            Profile::EpmMap => EPMAPPER,
            Profile::MgmtInq => (Mgmt::UUID, Mgmt::VERSION_MAJOR, Mgmt::VERSION_MINOR),
            Profile::ClusapiQv => (Clusapi::UUID, Clusapi::VERSION_MAJOR, Clusapi::VERSION_MINOR),
            Profile::WinregQv => WINREG,
        };
        SyntaxId::new(u, maj, min)
    }

    /// The interface whose port is looked up with `ept_map`; `None` = the endpoint mapper's
    /// own port.
    pub fn mapped_interface(self) -> Option<(Guid, u16, u16)> {
        match self {
            Profile::EpmMap | Profile::MgmtInq => None,
            Profile::ClusapiQv => Some((Clusapi::UUID, Clusapi::VERSION_MAJOR, Clusapi::VERSION_MINOR)),
            Profile::WinregQv => Some(WINREG),
        }
    }

    /// The one call of a bind-mode connection: opnum, stub, where its status is, its name.
    pub fn bind_call(self) -> Call {
        match self {
            Profile::EpmMap => Call { opnum: 3, stub: ept_map_stub(EPMAPPER), status: StatusAt::Last, name: "ept_map" },
            Profile::MgmtInq => Call { opnum: 0, stub: Vec::new(), status: StatusAt::Last, name: "inq_if_ids" },
            // opens a handle, like OpenHKLM does for winreg; it dies with the association
            Profile::ClusapiQv => Call {
                opnum: 0,
                stub: ApiOpenClusterRequest {}.to_stub(),
                status: StatusAt::Offset(0),
                name: "ApiOpenCluster",
            },
            Profile::WinregQv => Call { opnum: 2, stub: open_hklm_stub(), status: StatusAt::Last, name: "OpenHKLM" },
        }
    }
}

/// Where the Win32 status of a response stub is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusAt {
    /// The last four bytes (the return value).
    Last,
    /// At a fixed offset (Status out-parameter before the handle).
    Offset(usize),
}

impl StatusAt {
    /// The status in a response stub, `None` when the stub is too short.
    pub fn get(self, stub: &[u8]) -> Option<u32> {
        let at = match self {
            StatusAt::Last => stub.len().checked_sub(4)?,
            StatusAt::Offset(o) => o,
        };
        let b = stub.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// A prepared call.
#[derive(Clone, Debug)]
pub struct Call {
    pub opnum: u16,
    pub stub: Vec<u8>,
    pub status: StatusAt,
    pub name: &'static str,
}

/// `ept_map(object = nil, tower = {iface, NDR 2.0, ncacn, tcp port 0, ip 0.0.0.0}, entry_handle =
/// null, max_towers = 1)`, with the referent ids 1 and 2 Samba's client uses.
pub fn ept_map_stub(iface: (Guid, u16, u16)) -> Vec<u8> {
    let tower =
        Tower::ncacn_ip_tcp(&TcpTower { interface: iface, transfer: (idl::NDR20_UUID, 2), port: 0, ip: [0; 4] })
            .to_bytes();
    let mut w = NdrWriter::new();
    w.u32(1); // [ptr] GUID *object
    w.bytes(&Guid::NIL.to_le_bytes());
    w.u32(2); // [ptr] twr_t *map_tower
    let n = tower.len() as u32;
    w.u32(n); // conformance
    w.u32(n); // tower_length
    w.bytes(&tower);
    w.align(4);
    w.bytes(&[0u8; 20]); // entry_handle
    w.u32(1); // max_towers
    w.into_bytes()
}

/// The TCP port in the first tower of an `ept_map` response.
pub fn ept_map_port(stub: &[u8]) -> Result<u16, String> {
    let r = EptMapResponse::decode_stub(stub, ByteOrder::Little).map_err(|e| format!("ept_map response: {e}"))?;
    if r.status.0 != 0 {
        return Err(format!("ept_map: status 0x{:08x}", r.status.0));
    }
    let t = r.towers.towers.first().and_then(|t| t.as_ref()).ok_or("ept_map: no tower")?;
    let tower = Tower::parse(&t.0).ok_or("ept_map: bad tower")?;
    let rhs = &tower.floors.get(3).ok_or("ept_map: tower without a port floor")?.rhs;
    if rhs.len() != 2 {
        return Err("ept_map: bad port floor".into());
    }
    Ok(u16::from_be_bytes([rhs[0], rhs[1]]))
}

/// winreg_String / RRP_UNICODE_STRING: byte length and size (with the NUL), a unique pointer
/// (referent `referent`), then the conformant varying string.
fn winreg_string(w: &mut NdrWriter, s: &str, referent: u32) {
    let units: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
    let bytes = (units.len() * 2) as u16;
    w.u16(bytes);
    w.u16(bytes);
    w.u32(referent);
    w.u32(units.len() as u32);
    w.u32(0);
    w.u32(units.len() as u32);
    for u in units {
        w.bytes(&u.to_le_bytes());
    }
    w.align(4);
}

/// OpenHKLM (opnum 2): `[unique] system_name = NULL`, `access_mask = MAXIMUM_ALLOWED`.
pub fn open_hklm_stub() -> Vec<u8> {
    let mut w = NdrWriter::new();
    w.u32(0);
    w.u32(MAXIMUM_ALLOWED);
    w.into_bytes()
}

/// The start of BaseRegOpenKey and BaseRegQueryValue: the key's handle, then a name.
fn handle_and_name(handle: &[u8; 20], name: &str) -> NdrWriter {
    let mut w = NdrWriter::new();
    w.bytes(handle);
    winreg_string(&mut w, name, 0x0002_0000);
    w
}

/// An `[in, out, unique] DWORD*`: the referent id, then the value.
fn unique_u32(w: &mut NdrWriter, referent: u32, value: u32) {
    w.u32(referent);
    w.u32(value);
}

/// BaseRegOpenKey (opnum 15): parent handle, key name, options 0, MAXIMUM_ALLOWED.
pub fn open_key_stub(parent: &[u8; 20], key: &str) -> Vec<u8> {
    let mut w = handle_and_name(parent, key);
    w.u32(0);
    w.u32(MAXIMUM_ALLOWED);
    w.into_bytes()
}

/// BaseRegQueryValue (opnum 17): handle, value name, `*type = REG_NONE`, a 512-byte data buffer
/// with nothing in it, `*data_size = 512`, `*data_length = 0`.
pub fn query_value_stub(key: &[u8; 20], value: &str) -> Vec<u8> {
    let mut w = handle_and_name(key, value);
    // *type = REG_NONE
    unique_u32(&mut w, 0x0002_0004, 0);
    // [in, out, unique, size_is(*data_size), length_is(*data_length)] data: size, offset, length
    w.u32(0x0002_0008);
    w.u32(512);
    w.u32(0);
    w.u32(0);
    unique_u32(&mut w, 0x0002_000c, 512); // data_size
    unique_u32(&mut w, 0x0002_0010, 0); // data_length
    w.into_bytes()
}

/// A context handle out of the first 20 bytes at `at` of a response stub.
pub fn handle_at(stub: &[u8], at: usize) -> Option<[u8; 20]> {
    stub.get(at..at + 20).and_then(|b| b.try_into().ok())
}

/// clusapi requests used at setup.
pub fn get_root_key_stub() -> Vec<u8> {
    ApiGetRootKeyRequest { sam_desired: MAXIMUM_ALLOWED }.to_stub()
}

pub fn open_key_clus_stub(parent: ContextHandle, key: &str) -> Vec<u8> {
    ApiOpenKeyRequest { key: parent, sub_key: key.into(), sam_desired: MAXIMUM_ALLOWED }.to_stub()
}

pub fn create_key_clus_stub(parent: ContextHandle, key: &str) -> Vec<u8> {
    ApiCreateKeyRequest {
        key: parent,
        sub_key: key.into(),
        options: 0,
        sam_desired: MAXIMUM_ALLOWED,
        security_attributes: None,
    }
    .to_stub()
}

/// UTF-16LE with the terminating NUL.
pub fn reg_sz(s: &str) -> Vec<u8> {
    s.encode_utf16().chain(std::iter::once(0)).flat_map(u16::to_le_bytes).collect()
}

pub fn set_value_clus_stub(key: ContextHandle, value: &str, data: &str) -> Vec<u8> {
    let d = reg_sz(data);
    let n = d.len() as u32;
    ApiSetValueRequest { key, value_name: value.into(), value_type: REG_SZ, data: ConfBytes(d), cb_data: n }.to_stub()
}

pub fn query_value_clus_stub(key: ContextHandle, value: &str) -> Vec<u8> {
    ApiQueryValueRequest { key, value_name: value.into(), cb_data: 512 }.to_stub()
}

/// Decoders of the clusapi setup responses: (status, handle).
pub fn decode_root_key(stub: &[u8]) -> Result<(u32, ContextHandle), String> {
    let r = ApiGetRootKeyResponse::decode_stub(stub, ByteOrder::Little).map_err(|e| e.to_string())?;
    Ok((r.status.0, r.key))
}

pub fn decode_open_key(stub: &[u8]) -> Result<(u32, ContextHandle), String> {
    let r = ApiOpenKeyResponse::decode_stub(stub, ByteOrder::Little).map_err(|e| e.to_string())?;
    Ok((r.status.0, r.key))
}

pub fn decode_create_key(stub: &[u8]) -> Result<(u32, ContextHandle), String> {
    let r = ApiCreateKeyResponse::decode_stub(stub, ByteOrder::Little).map_err(|e| e.to_string())?;
    Ok((r.status.0, r.key))
}

pub fn decode_set_value(stub: &[u8]) -> Result<u32, String> {
    let r = ApiSetValueResponse::decode_stub(stub, ByteOrder::Little).map_err(|e| e.to_string())?;
    Ok(r.result.0)
}

/// A Win32 status with its name when it is a common one.
pub fn status_text(s: u32) -> String {
    let name = match s {
        0 => "ERROR_SUCCESS",
        2 => "ERROR_FILE_NOT_FOUND",
        5 => "ERROR_ACCESS_DENIED",
        6 => "ERROR_INVALID_HANDLE",
        87 => "ERROR_INVALID_PARAMETER",
        120 => "ERROR_CALL_NOT_IMPLEMENTED",
        234 => "ERROR_MORE_DATA",
        0x16c9_a0d6 => "EPT_S_NOT_REGISTERED",
        _ => "",
    };
    if name.is_empty() {
        format!("0x{s:08x}")
    } else {
        format!("{s} ({name})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// perf-anchor section 7, byte for byte.
    const ANCHOR_EPT_MAP: &str = "0100000000000000000000000000000000000000020000004b0000004b000000050013000d0883afe11f5dc91191a408002b14a0fa03000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200000001000904000000000000000000000000000000000000000000000000000001000000";
    const ANCHOR_QUERY_VALUE_TAIL: &str = "18001800000002000c000000000000000c000000500072006f006400750063007400540079007000650000000400020000000000080002000002000000000000000000000c000200000200001000020000000000";

    #[test]
    fn ept_map_stub_is_the_anchors() {
        let s = ept_map_stub(EPMAPPER);
        assert_eq!(hex::encode(&s), ANCHOR_EPT_MAP);
        assert_eq!(s.len(), 132);
    }

    #[test]
    fn winreg_query_value_stub_is_the_anchors() {
        let h = [0xab; 20];
        let s = query_value_stub(&h, WINREG_VALUE);
        assert_eq!(s.len(), 104);
        assert_eq!(&s[..20], &h);
        assert_eq!(hex::encode(&s[20..]), ANCHOR_QUERY_VALUE_TAIL);
    }

    #[test]
    fn open_key_and_hklm_stubs() {
        assert_eq!(hex::encode(open_hklm_stub()), "0000000000000002");
        let s = open_key_stub(&[1; 20], "AB");
        // len 6, size 6, referent, max 3, offset 0, actual 3, "AB\0", pad 2, options, access
        assert_eq!(hex::encode(&s[20..]), "060006000000020003000000000000000300000041004200000000000000000000000002");
    }

    #[test]
    fn statuses() {
        assert_eq!(StatusAt::Last.get(&[1, 0, 0, 0, 5, 0, 0, 0]), Some(5));
        assert_eq!(StatusAt::Offset(0).get(&[1, 0, 0, 0, 5, 0, 0, 0]), Some(1));
        assert_eq!(StatusAt::Last.get(&[1]), None);
        assert_eq!(reg_sz(CLUS_DATA).len(), 18);
    }
}
