//! The Service Witness Protocol, witness v1.1 ([MS-SWN] 2.2 and 3.1.4): its structures, one
//! declaration per operation, and codecs for the custom-marshalled notification messages
//! carried in [`RespAsyncNotify::message_buffer`].
//!
//! Every method's first parameter is a `handle_t` binding handle, which has no wire form.
//! `WitnessrUnRegisterEx` (opnum 5) is in the current spec but not in Samba's IDL.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::ndr::{
    ConfArray, ConfBytes, ContextHandle, NdrError, NdrReader, NdrResult, NdrType, NdrWriter, WError, WString,
};
use crate::types::{le_u32, take, utf16z};

/// Witness protocol version 1 (the `Version` argument of WitnessrRegister).
pub const WITNESS_V1: u32 = 0x0001_0001;
/// Witness protocol version 2 (WitnessrRegisterEx).
pub const WITNESS_V2: u32 = 0x0002_0000;

/// [MS-SWN 2.2.2.5] WITNESS_INTERFACE_INFO `State` values.
pub mod state {
    pub const UNKNOWN: u16 = 0x0000;
    pub const AVAILABLE: u16 = 0x0001;
    pub const UNAVAILABLE: u16 = 0x00ff;
}

/// [MS-SWN 2.2.2.5] WITNESS_INTERFACE_INFO `Flags` values.
pub mod interface_flags {
    /// `IPV4` holds an address.
    pub const IPV4_VALID: u32 = 0x1;
    /// `IPV6` holds an address.
    pub const IPV6_VALID: u32 = 0x2;
    /// The interface is a witness interface (an address the client may use for the witness
    /// service: one not hosted by the node serving the share).
    pub const INTERFACE_WITNESS: u32 = 0x4;
}

/// [MS-SWN 2.2.2.4] RESP_ASYNC_NOTIFY `MessageType` values.
pub mod message_type {
    pub const RESOURCE_CHANGE_NOTIFICATION: u32 = 1;
    pub const CLIENT_MOVE_NOTIFICATION: u32 = 2;
    /// Version 2 only.
    pub const SHARE_MOVE_NOTIFICATION: u32 = 3;
    /// Version 2 only.
    pub const IP_CHANGE_NOTIFICATION: u32 = 4;
}

/// [MS-SWN 2.2.2.3] RESOURCE_CHANGE `ChangeType` values.
pub mod resource_state {
    pub const UNKNOWN: u32 = 0x0000_0000;
    pub const AVAILABLE: u32 = 0x0000_0001;
    pub const UNAVAILABLE: u32 = 0x0000_00ff;
}

/// [MS-SWN 2.2.2.1] IPADDR_INFO `Flags` values.
pub mod ipaddr_flags {
    pub const V4: u32 = 0x01;
    pub const V6: u32 = 0x02;
    /// Version 2 only.
    pub const ONLINE: u32 = 0x08;
    /// Version 2 only.
    pub const OFFLINE: u32 = 0x10;
}

/// [MS-SWN 3.1.4.5] WitnessrRegisterEx `Flags` values.
pub mod register_flags {
    pub const NONE: u32 = 0x0;
    /// Notify about all eligible server IP addresses (IP_CHANGE messages).
    pub const IP_NOTIFICATION: u32 = 0x1;
}

/// Number of UTF-16 code units in `InterfaceGroupName`.
pub const INTERFACE_GROUP_NAME_LEN: usize = 260;

/// [MS-SWN 2.2.2.5] WITNESS_INTERFACE_INFO: `{ WCHAR InterfaceGroupName[260]; ULONG Version;
/// USHORT State; ULONG IPV4; USHORT IPV6[8]; UINT Flags }`, 552 bytes, 4-aligned.
///
/// The group name is an inline fixed array, NUL-padded (names longer than 259 code units are
/// cut). The address fields hold the address octets in network order on the wire whatever the
/// sender's byte order, so they are kept as raw octets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WitnessInterfaceInfo {
    /// Name of the interface group (Windows and Samba use the node's NetBIOS name).
    pub interface_group_name: String,
    /// Witness protocol version of the server ([`WITNESS_V1`] / [`WITNESS_V2`]; Windows
    /// 2012 R2 was seen sending 0xFFFFFFFF).
    pub version: u32,
    /// A [`state`] value.
    pub state: u16,
    /// IPv4 address octets.
    pub ipv4: [u8; 4],
    /// IPv6 address octets.
    pub ipv6: [u8; 16],
    /// [`interface_flags`] bits.
    pub flags: u32,
}

impl WitnessInterfaceInfo {
    /// The IPv4 address.
    pub fn ipv4_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.ipv4)
    }
    /// The IPv6 address.
    pub fn ipv6_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.ipv6)
    }
}

impl NdrType for WitnessInterfaceInfo {
    const ALIGN: usize = 4;
    const MIN_WIRE: usize = 552;
    fn encode(&self, w: &mut NdrWriter) {
        w.align(4);
        let mut n = 0usize;
        for u in self.interface_group_name.encode_utf16().take(INTERFACE_GROUP_NAME_LEN - 1) {
            w.u16(u);
            n += 1;
        }
        for _ in n..INTERFACE_GROUP_NAME_LEN {
            w.u16(0);
        }
        w.u32(self.version);
        w.u16(self.state);
        w.align(4);
        w.bytes(&self.ipv4);
        w.bytes(&self.ipv6);
        w.u32(self.flags);
    }
    fn decode(r: &mut NdrReader<'_>) -> NdrResult<Self> {
        r.align(4)?;
        let mut units = Vec::with_capacity(INTERFACE_GROUP_NAME_LEN);
        for _ in 0..INTERFACE_GROUP_NAME_LEN {
            units.push(r.u16()?);
        }
        let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
        let interface_group_name = String::from_utf16(&units[..end]).map_err(|_| NdrError::BadString)?;
        let version = r.u32()?;
        let state = r.u16()?;
        r.align(4)?;
        let mut ipv4 = [0u8; 4];
        ipv4.copy_from_slice(r.take(4)?);
        let mut ipv6 = [0u8; 16];
        ipv6.copy_from_slice(r.take(16)?);
        let flags = r.u32()?;
        Ok(WitnessInterfaceInfo { interface_group_name, version, state, ipv4, ipv6, flags })
    }
}

crate::ndr_struct! {
    /// [MS-SWN 2.2.2.6] WITNESS_INTERFACE_LIST: `{ UINT NumberOfInterfaces;
    /// [size_is(NumberOfInterfaces), unique] PWITNESS_INTERFACE_INFO InterfaceInfo }`. Keep
    /// `number_of_interfaces` equal to the array length (see [`WitnessInterfaceList::new`]).
    pub struct WitnessInterfaceList {
        pub number_of_interfaces: u32,
        pub interface_info: Option<ConfArray<WitnessInterfaceInfo>>,
    }
}

impl WitnessInterfaceList {
    /// A list holding `interfaces`.
    pub fn new(interfaces: Vec<WitnessInterfaceInfo>) -> Self {
        WitnessInterfaceList {
            number_of_interfaces: u32::try_from(interfaces.len()).unwrap_or(u32::MAX),
            interface_info: Some(ConfArray(interfaces)),
        }
    }
}

crate::ndr_struct! {
    /// [MS-SWN 2.2.2.4] RESP_ASYNC_NOTIFY: `{ UINT MessageType; UINT Length; UINT
    /// NumberOfMessages; [size_is(Length), unique] PBYTE MessageBuffer }`. Build it with
    /// [`RespAsyncNotify::resource_change`] / [`RespAsyncNotify::ip_list`] so the counts match.
    pub struct RespAsyncNotify {
        /// A [`message_type`] value.
        pub message_type: u32,
        /// Size of `message_buffer` in bytes.
        pub length: u32,
        /// Number of messages in `message_buffer`.
        pub number_of_messages: u32,
        pub message_buffer: Option<ConfBytes>,
    }
}

impl RespAsyncNotify {
    fn with_buffer(message_type: u32, number_of_messages: usize, buf: Vec<u8>) -> Self {
        RespAsyncNotify {
            message_type,
            length: u32::try_from(buf.len()).unwrap_or(u32::MAX),
            number_of_messages: u32::try_from(number_of_messages).unwrap_or(u32::MAX),
            message_buffer: Some(ConfBytes(buf)),
        }
    }

    /// A RESOURCE_CHANGE_NOTIFICATION carrying `changes`.
    pub fn resource_change(changes: &[ResourceChange]) -> Self {
        let mut buf = Vec::new();
        for c in changes {
            c.write(&mut buf);
        }
        Self::with_buffer(message_type::RESOURCE_CHANGE_NOTIFICATION, changes.len(), buf)
    }

    /// A CLIENT_MOVE, SHARE_MOVE or IP_CHANGE notification (`message_type`) carrying one
    /// IPADDR_INFO_LIST per element of `lists`.
    pub fn ip_list(message_type: u32, lists: &[IpAddrInfoList]) -> Self {
        let mut buf = Vec::new();
        for l in lists {
            l.write(&mut buf);
        }
        Self::with_buffer(message_type, lists.len(), buf)
    }

    /// The message bytes (empty for a null buffer).
    pub fn buffer(&self) -> &[u8] {
        self.message_buffer.as_ref().map_or(&[], |b| b.0.as_slice())
    }

    /// Parses the buffer as `number_of_messages` RESOURCE_CHANGE items.
    pub fn resource_changes(&self) -> NdrResult<Vec<ResourceChange>> {
        let b = self.buffer();
        let mut p = 0usize;
        let mut v = Vec::new();
        for _ in 0..self.number_of_messages {
            v.push(ResourceChange::read(b, &mut p)?);
        }
        Ok(v)
    }

    /// Parses the buffer as `number_of_messages` IPADDR_INFO_LIST items.
    pub fn ip_lists(&self) -> NdrResult<Vec<IpAddrInfoList>> {
        let b = self.buffer();
        let mut p = 0usize;
        let mut v = Vec::new();
        for _ in 0..self.number_of_messages {
            v.push(IpAddrInfoList::read(b, &mut p)?);
        }
        Ok(v)
    }
}

/// [MS-SWN 2.2.2.3] RESOURCE_CHANGE, custom-marshalled (little-endian, unaligned): `Length`
/// u32 (the whole item: 8 + name bytes), `ChangeType` u32, then the NUL-terminated UTF-16
/// resource name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceChange {
    /// A [`resource_state`] value.
    pub change_type: u32,
    /// The resource (net name; Samba sends the IP address text).
    pub name: String,
}

impl ResourceChange {
    /// Appends the item to `buf`.
    pub fn write(&self, buf: &mut Vec<u8>) {
        let units: Vec<u16> = self.name.encode_utf16().chain(std::iter::once(0)).collect();
        let len = u32::try_from(8 + units.len() * 2).unwrap_or(u32::MAX);
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&self.change_type.to_le_bytes());
        for u in units {
            buf.extend_from_slice(&u.to_le_bytes());
        }
    }

    /// The item's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        self.write(&mut b);
        b
    }

    /// Reads one item at `*p`, advancing it by the item's `Length`.
    pub fn read(b: &[u8], p: &mut usize) -> NdrResult<Self> {
        let start = *p;
        let len = le_u32(b, p)? as usize;
        let change_type = le_u32(b, p)?;
        if len < 8 {
            return Err(NdrError::BadVarying { offset: 0, length: len as u32, max: 8 });
        }
        let raw = take(b, p, len - 8)?;
        // the name ends at its first NUL; anything after it inside Length is ignored
        let end = raw.chunks_exact(2).position(|c| c == [0, 0]).ok_or(NdrError::BadString)?;
        let name = utf16z(&raw[..(end + 1) * 2])?;
        *p = start + len;
        Ok(ResourceChange { change_type, name })
    }
}

/// [MS-SWN 2.2.2.1] IPADDR_INFO: `Flags` u32, `IPV4` (4 octets), `IPV6` (16 octets); 24 bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpAddrInfo {
    /// [`ipaddr_flags`] bits.
    pub flags: u32,
    /// IPv4 address octets (network order).
    pub ipv4: [u8; 4],
    /// IPv6 address octets (network order).
    pub ipv6: [u8; 16],
}

impl IpAddrInfo {
    /// Wire size of one entry.
    pub const SIZE: usize = 24;
}

/// [MS-SWN 2.2.2.2] IPADDR_INFO_LIST, custom-marshalled (little-endian, unaligned): `Length`
/// u32, `Reserved` u32 (0), `IPAddrInstances` u32, then the [`IpAddrInfo`] entries.
///
/// The spec defines `Length` as the size of the whole structure (12 + 24 per entry), which is
/// what [`IpAddrInfoList::write`] sends; Samba sends 24 per entry only. The reader walks by
/// `IPAddrInstances` and accepts either.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpAddrInfoList {
    pub addrs: Vec<IpAddrInfo>,
}

impl IpAddrInfoList {
    /// Appends the list to `buf`.
    pub fn write(&self, buf: &mut Vec<u8>) {
        let len = u32::try_from(12 + self.addrs.len() * IpAddrInfo::SIZE).unwrap_or(u32::MAX);
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&u32::try_from(self.addrs.len()).unwrap_or(u32::MAX).to_le_bytes());
        for a in &self.addrs {
            buf.extend_from_slice(&a.flags.to_le_bytes());
            buf.extend_from_slice(&a.ipv4);
            buf.extend_from_slice(&a.ipv6);
        }
    }

    /// The list's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        self.write(&mut b);
        b
    }

    /// Reads one list at `*p`, advancing past its entries.
    pub fn read(b: &[u8], p: &mut usize) -> NdrResult<Self> {
        let _length = le_u32(b, p)?;
        let _reserved = le_u32(b, p)?;
        let n = le_u32(b, p)? as usize;
        let have = b.len().saturating_sub(*p);
        if n.saturating_mul(IpAddrInfo::SIZE) > have {
            return Err(NdrError::CountTooLarge { count: n as u64, remaining: have });
        }
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            let flags = le_u32(b, p)?;
            let mut ipv4 = [0u8; 4];
            ipv4.copy_from_slice(take(b, p, 4)?);
            let mut ipv6 = [0u8; 16];
            ipv6.copy_from_slice(take(b, p, 16)?);
            addrs.push(IpAddrInfo { flags, ipv4, ipv6 });
        }
        Ok(IpAddrInfoList { addrs })
    }
}

crate::rpc_interface! {
    /// witness v1.1 ([MS-SWN] 2.1).
    interface Witness {
        uuid: "ccd8c074-d0e5-4a40-92b4-d074faa6ba28",
        version: (1, 1),
        server: WitnessServer,
    }

    /// [MS-SWN 3.1.4.1] WitnessrGetInterfaceList
    0 WitnessrGetInterfaceList
        in ()
        out (interface_list: Option<WitnessInterfaceList>, result: WError);

    /// [MS-SWN 3.1.4.2] WitnessrRegister (`ppContext` comes first in the reply)
    1 WitnessrRegister
        in (version: u32, net_name: Option<WString>, ip_address: Option<WString>,
            client_computer_name: Option<WString>)
        out (context: ContextHandle, result: WError);

    /// [MS-SWN 3.1.4.3] WitnessrUnRegister
    2 WitnessrUnRegister
        in (context: ContextHandle)
        out (result: WError);

    /// [MS-SWN 3.1.4.4] WitnessrAsyncNotify
    3 WitnessrAsyncNotify
        in (context: ContextHandle)
        out (resp: Option<RespAsyncNotify>, result: WError);

    /// [MS-SWN 3.1.4.5] WitnessrRegisterEx
    4 WitnessrRegisterEx
        in (version: u32, net_name: Option<WString>, share_name: Option<WString>, ip_address: Option<WString>,
            client_computer_name: Option<WString>, flags: u32, keep_alive_timeout: u32)
        out (context: ContextHandle, result: WError);

    /// [MS-SWN 3.1.4.6] WitnessrUnRegisterEx (`[in, out]` context: zeroed on success)
    5 WitnessrUnRegisterEx
        in (context: ContextHandle)
        out (context: ContextHandle, result: WError);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::{ByteOrder, Guid};
    use crate::testutil::truncations;

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// A WCHAR[260] holding `s` (ASCII), NUL-padded.
    fn group_name(s: &str) -> Vec<u8> {
        let mut v: Vec<u8> = s.bytes().flat_map(|c| [c, 0]).collect();
        v.resize(520, 0);
        v
    }

    /// WitnessrGetInterfaceList reply from a Windows Server 2012 R2 SOFS cluster (capture
    /// embedded in Samba's source4/torture/ndr/witness.c).
    fn windows_interface_list() -> Vec<u8> {
        #[rustfmt::skip]
        let v = cat(&[
            &[0x00, 0x00, 0x02, 0x00],  // *InterfaceList referent
            &[0x02, 0x00, 0x00, 0x00],  // NumberOfInterfaces
            &[0x04, 0x00, 0x02, 0x00],  // InterfaceInfo referent
            &[0x02, 0x00, 0x00, 0x00],  // max_count
            &group_name("NODE2"),
            &[0xff, 0xff, 0xff, 0xff],  // Version
            &[0x01, 0x00, 0x00, 0x00],  // State AVAILABLE + pad
            &[0xc0, 0xa8, 0x03, 0x2c],  // 192.168.3.44
            &[0; 16],                   // IPV6
            &[0x05, 0x00, 0x00, 0x00],  // Flags IPv4 | INTERFACE_WITNESS
            &group_name("NODE1"),
            &[0xff, 0xff, 0xff, 0xff],
            &[0x01, 0x00, 0x00, 0x00],
            &[0xc0, 0xa8, 0x03, 0x2d],  // 192.168.3.45
            &[0; 16],
            &[0x01, 0x00, 0x00, 0x00],  // Flags IPv4
            &[0x00, 0x00, 0x00, 0x00],  // result
        ]);
        v
    }

    #[test]
    fn get_interface_list_windows_capture() {
        let stub = windows_interface_list();
        assert_eq!(stub.len(), 16 + 2 * 552 + 4);
        let resp = WitnessrGetInterfaceListResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
        assert_eq!(resp.result, WError(0));
        let list = resp.interface_list.clone().unwrap();
        assert_eq!(list.number_of_interfaces, 2);
        let ifs = list.interface_info.unwrap().0;
        assert_eq!(ifs[0].interface_group_name, "NODE2");
        assert_eq!(ifs[0].version, 0xffff_ffff);
        assert_eq!(ifs[0].state, state::AVAILABLE);
        assert_eq!(ifs[0].ipv4_addr(), Ipv4Addr::new(192, 168, 3, 44));
        assert_eq!(ifs[0].flags, interface_flags::IPV4_VALID | interface_flags::INTERFACE_WITNESS);
        assert_eq!(ifs[1].interface_group_name, "NODE1");
        assert_eq!(ifs[1].ipv4_addr(), Ipv4Addr::new(192, 168, 3, 45));
        assert_eq!(ifs[1].flags, interface_flags::IPV4_VALID);

        // re-encoding gives the same bytes except the referent ids (ours start at 0x00020004)
        let ours = resp.to_stub();
        assert_eq!(ours.len(), stub.len());
        assert_eq!(&ours[12..], &stub[12..]);
        assert_eq!(WitnessrGetInterfaceListResponse::decode_stub(&ours, ByteOrder::Little).unwrap(), resp);
        for n in (0..stub.len()).step_by(7) {
            let _ = WitnessrGetInterfaceListResponse::decode_stub(&stub[..n], ByteOrder::Little);
        }
    }

    #[test]
    fn interface_info_layout() {
        let info = WitnessInterfaceInfo {
            interface_group_name: "N".into(),
            version: WITNESS_V2,
            state: state::UNAVAILABLE,
            ipv4: [10, 0, 0, 1],
            ipv6: Ipv6Addr::LOCALHOST.octets(),
            flags: 3,
        };
        let mut w = NdrWriter::new();
        info.encode_param(&mut w);
        let b = w.into_bytes();
        assert_eq!(b.len(), 552);
        assert_eq!(&b[0..4], &[b'N', 0, 0, 0]);
        assert_eq!(&b[520..524], &[0, 0, 2, 0]); // Version
        assert_eq!(&b[524..528], &[0xff, 0, 0, 0]); // State + pad
        assert_eq!(&b[528..532], &[10, 0, 0, 1]); // IPV4 in network order
        assert_eq!(b[547], 1); // ::1
        assert_eq!(&b[548..552], &[3, 0, 0, 0]);
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        assert_eq!(WitnessInterfaceInfo::decode_param(&mut r).unwrap(), info);

        // a name longer than the array is cut to 259 units plus NUL
        let long = WitnessInterfaceInfo { interface_group_name: "x".repeat(300), ..Default::default() };
        let mut w = NdrWriter::new();
        long.encode_param(&mut w);
        let b = w.into_bytes();
        assert_eq!(b.len(), 552);
        let mut r = NdrReader::new(&b, ByteOrder::Little);
        assert_eq!(WitnessInterfaceInfo::decode_param(&mut r).unwrap().interface_group_name.len(), 259);
    }

    #[test]
    fn register_windows_capture() {
        #[rustfmt::skip]
        let stub_in = cat(&[
            &[0x01, 0x00, 0x01, 0x00],                         // Version = V1
            &[0x00, 0x00, 0x02, 0x00],                         // NetName referent
            &[5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0],             // counts
            &[b's', 0, b'o', 0, b'f', 0, b's', 0, 0, 0, 0, 0], // "sofs\0" + pad
            &[0x04, 0x00, 0x02, 0x00],                         // IpAddress referent
            &[13, 0, 0, 0, 0, 0, 0, 0, 13, 0, 0, 0],
            &[b'1', 0, b'9', 0, b'2', 0, b'.', 0, b'1', 0, b'6', 0, b'8', 0, b'.', 0,
              b'3', 0, b'.', 0, b'4', 0, b'5', 0, 0, 0, 0, 0],  // "192.168.3.45\0" + pad
            &[0x08, 0x00, 0x02, 0x00],                         // ClientComputerName referent
            &[9, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0],
            &[b'M', 0, b'T', 0, b'H', 0, b'E', 0, b'L', 0, b'E', 0, b'N', 0, b'A', 0, 0, 0],
        ]);
        let req = WitnessrRegisterRequest::decode_stub(&stub_in, ByteOrder::Little).unwrap();
        assert_eq!(req.version, WITNESS_V1);
        assert_eq!(req.net_name, Some("sofs".into()));
        assert_eq!(req.ip_address, Some("192.168.3.45".into()));
        assert_eq!(req.client_computer_name, Some("MTHELENA".into()));
        // our encoding differs only in the referent ids
        let ours = req.to_stub();
        assert_eq!(ours.len(), stub_in.len());
        assert_eq!(WitnessrRegisterRequest::decode_stub(&ours, ByteOrder::Little).unwrap(), req);

        #[rustfmt::skip]
        let stub_out = [
            0x00, 0x00, 0x00, 0x00, 0x33, 0x86, 0xb8, 0x3a, 0x57, 0x1e, 0x1a, 0x4c, // handle
            0x85, 0x6c, 0xd1, 0xbc, 0x4b, 0x15, 0xbb, 0xb1,
            0x00, 0x00, 0x00, 0x00,                                                 // result
        ];
        let resp = WitnessrRegisterResponse::decode_stub(&stub_out, ByteOrder::Little).unwrap();
        assert_eq!(resp.context.uuid, Guid::parse("3ab88633-1e57-4c1a-856c-d1bc4b15bbb1"));
        assert_eq!(resp.result, WError(0));
        assert_eq!(resp.to_stub(), stub_out);

        // UnRegister takes the same handle and answers a bare status
        let un = WitnessrUnRegisterRequest { context: resp.context };
        assert_eq!(un.to_stub(), stub_out[..20]);
        assert_eq!(WitnessrUnRegisterResponse { result: WError(87) }.to_stub(), [87, 0, 0, 0]);
    }

    #[test]
    fn async_notify_windows_capture() {
        #[rustfmt::skip]
        let stub = [
            0x00, 0x00, 0x02, 0x00, // *pResp referent
            0x01, 0x00, 0x00, 0x00, // MessageType = RESOURCE_CHANGE
            0x12, 0x00, 0x00, 0x00, // Length = 18
            0x01, 0x00, 0x00, 0x00, // NumberOfMessages
            0x04, 0x00, 0x02, 0x00, // MessageBuffer referent
            0x12, 0x00, 0x00, 0x00, // max_count
            0x12, 0x00, 0x00, 0x00, // RESOURCE_CHANGE.Length (whole item)
            0xff, 0x00, 0x00, 0x00, // ChangeType = UNAVAILABLE
            0x53, 0x00, 0x4f, 0x00, 0x46, 0x00, 0x53, 0x00, 0x00, 0x00, // "SOFS\0"
            0x00, 0x00,             // pad
            0x00, 0x00, 0x00, 0x00, // result
        ];
        let resp = WitnessrAsyncNotifyResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
        let n = resp.resp.clone().unwrap();
        assert_eq!(n.message_type, message_type::RESOURCE_CHANGE_NOTIFICATION);
        assert_eq!(n.length, 18);
        let changes = n.resource_changes().unwrap();
        assert_eq!(changes, vec![ResourceChange { change_type: resource_state::UNAVAILABLE, name: "SOFS".into() }]);

        // building the same notification gives the same bytes but for the referent ids
        let built =
            WitnessrAsyncNotifyResponse { resp: Some(RespAsyncNotify::resource_change(&changes)), result: WError(0) };
        let ours = built.to_stub();
        assert_eq!(ours.len(), stub.len());
        assert_eq!(&ours[4..16], &stub[4..16]);
        assert_eq!(&ours[20..], &stub[20..]);
        assert_eq!(WitnessrAsyncNotifyResponse::decode_stub(&ours, ByteOrder::Little).unwrap(), built);
        truncations(&stub, |s| WitnessrAsyncNotifyResponse::decode_stub(s, ByteOrder::Little));
    }

    #[test]
    fn ip_list_messages() {
        let list = IpAddrInfoList {
            addrs: vec![
                IpAddrInfo { flags: ipaddr_flags::V4 | ipaddr_flags::ONLINE, ipv4: [192, 168, 3, 45], ipv6: [0; 16] },
                IpAddrInfo { flags: ipaddr_flags::V6, ipv4: [0; 4], ipv6: Ipv6Addr::LOCALHOST.octets() },
            ],
        };
        let b = list.to_bytes();
        #[rustfmt::skip]
        let head = [
            60, 0, 0, 0, // Length = 12 + 2 * 24
            0, 0, 0, 0,  // Reserved
            2, 0, 0, 0,  // IPAddrInstances
            9, 0, 0, 0,  // Flags V4 | ONLINE
            192, 168, 3, 45,
        ];
        assert_eq!(&b[..20], &head);
        assert_eq!(b.len(), 60);
        let n = RespAsyncNotify::ip_list(message_type::CLIENT_MOVE_NOTIFICATION, std::slice::from_ref(&list));
        assert_eq!(n.length, 60);
        assert_eq!(n.number_of_messages, 1);
        assert_eq!(n.ip_lists().unwrap(), vec![list.clone()]);

        // Samba's Length (entries only) parses the same
        let mut samba = b.clone();
        samba[0] = 48;
        let mut p = 0;
        assert_eq!(IpAddrInfoList::read(&samba, &mut p).unwrap(), list);
        assert_eq!(p, 60);
        // a hostile instance count
        let bad = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f];
        assert!(IpAddrInfoList::read(&bad, &mut 0).is_err());
        truncations(&b, |s| IpAddrInfoList::read(s, &mut 0));
    }

    #[test]
    fn register_ex_and_unregister_ex_roundtrip() {
        let req = WitnessrRegisterExRequest {
            version: WITNESS_V2,
            net_name: Some("SOFS".into()),
            share_name: None,
            ip_address: Some("10.0.0.1".into()),
            client_computer_name: Some("CLIENT".into()),
            flags: register_flags::IP_NOTIFICATION,
            keep_alive_timeout: 120,
        };
        let stub = req.to_stub();
        assert_eq!(WitnessrRegisterExRequest::decode_stub(&stub, ByteOrder::Little).unwrap(), req);
        assert_eq!(&stub[stub.len() - 8..], &[1, 0, 0, 0, 120, 0, 0, 0]);
        // ShareName NULL: a zero referent right after NetName's string
        assert_eq!(&stub[4..8], &[4, 0, 2, 0]);
        assert_eq!(&stub[30..32], &[0, 0]); // "SOFS\0" pad
        assert_eq!(&stub[32..36], &[0, 0, 0, 0]);

        let mut ctx = ContextHandle::NULL;
        ctx.uuid.data1 = 7;
        let req = WitnessrUnRegisterExRequest { context: ctx };
        assert_eq!(WitnessrUnRegisterExRequest::decode_stub(&req.to_stub(), ByteOrder::Little).unwrap(), req);
        let resp = WitnessrUnRegisterExResponse { context: ContextHandle::NULL, result: WError(0) };
        assert_eq!(resp.to_stub(), [0u8; 24]);
        assert_eq!(Witness::op_name(5), Some("WitnessrUnRegisterEx"));
        assert_eq!(Witness::op_name(6), None);
        assert_eq!(Witness::VERSION_MAJOR, 1);
        assert_eq!(Witness::VERSION_MINOR, 1);
    }

    #[test]
    fn resource_change_rejects_bad_lengths() {
        let mut p = 0;
        assert!(ResourceChange::read(&[4, 0, 0, 0, 1, 0, 0, 0], &mut p).is_err());
        // Length beyond the buffer
        let mut p = 0;
        assert!(ResourceChange::read(&[0x40, 0, 0, 0, 1, 0, 0, 0, b'a', 0, 0, 0], &mut p).is_err());
        // no NUL inside Length
        let mut p = 0;
        assert!(ResourceChange::read(&[10, 0, 0, 0, 1, 0, 0, 0, b'a', 0], &mut p).is_err());
        let c = ResourceChange { change_type: 1, name: "10.0.0.1".into() };
        let b = c.to_bytes();
        assert_eq!(&b[..4], &[26, 0, 0, 0]);
        let mut p = 0;
        assert_eq!(ResourceChange::read(&b, &mut p).unwrap(), c);
        assert_eq!(p, b.len());
    }
}
