//! The endpoint mapper's ept_lookup and ept_lookup_handle_free against `clusapid demo`: the
//! registrations (clusapi, witness, mgmt, the mapper itself) with towers and annotations,
//! paged through the lookup handle, matched by interface, and listed by Samba's rpcclient.

use idl::epm::{
    inquiry, vers, EptLookupHandleFreeRequest, EptLookupHandleFreeResponse, EptLookupRequest, EptLookupResponse,
    RpcIfId, Tower, EPT_S_INVALID_ENTRY, EPT_S_NOT_REGISTERED,
};
use idl::{clusapi::Clusapi, epm::Epmapper, mgmt::Mgmt, witness::Witness, ByteOrder, ContextHandle};
use tests::{Demo, RpcClient};

fn lookup(c: &mut RpcClient, req: &EptLookupRequest) -> EptLookupResponse {
    let stub = c.call(EptLookupRequest::OPNUM, &req.to_stub()).expect("ept_lookup faulted");
    EptLookupResponse::decode_stub(&stub, ByteOrder::Little).expect("decoding ept_lookup")
}

fn all(handle: ContextHandle, max_ents: u32) -> EptLookupRequest {
    EptLookupRequest {
        inquiry_type: inquiry::ALL_ELTS,
        object: None,
        interface_id: None,
        vers_option: vers::ALL,
        entry_handle: handle,
        max_ents,
    }
}

#[test]
fn ept_lookup_pages_through_every_registration() {
    let demo = Demo::start(&[]);
    let mut c = RpcClient::epm(demo.epm_port);
    let first = lookup(&mut c, &all(ContextHandle::NULL, 2));
    assert_eq!(first.status.0, 0);
    assert_eq!(first.num_ents, 2);
    assert_eq!(first.entries.max, 2);
    assert!(!first.entry_handle.is_null(), "more entries remain: a lookup handle");
    let second = lookup(&mut c, &all(first.entry_handle, 2));
    assert_eq!(second.status.0, 0);
    assert_eq!(second.num_ents, 2);
    assert_eq!(second.entry_handle, first.entry_handle);
    // nothing left: EPT_S_NOT_REGISTERED ends the client's loop and frees the handle
    let done = lookup(&mut c, &all(first.entry_handle, 2));
    assert_eq!((done.status.0, done.num_ents), (EPT_S_NOT_REGISTERED, 0));
    assert!(done.entry_handle.is_null());
    let again = lookup(&mut c, &all(first.entry_handle, 2));
    assert_eq!(again.status.0, EPT_S_INVALID_ENTRY);

    let entries: Vec<_> = first.entries.entries.iter().chain(&second.entries.entries).collect();
    let mut seen = Vec::new();
    for e in &entries {
        assert!(e.object.is_nil());
        let t = Tower::parse(&e.tower.as_ref().expect("a tower").0).unwrap();
        assert!(t.is_ncacn_ip_tcp());
        let (uuid, major, minor) = t.interface().unwrap();
        let port = u16::from_be_bytes([t.floors[3].rhs[0], t.floors[3].rhs[1]]);
        assert_eq!(t.floors[4].rhs, [127, 0, 0, 1], "the address the client reached");
        assert!(e.annotation.0.contains("clusapid"), "{:?}", e.annotation);
        seen.push((uuid, major, minor, port));
    }
    seen.sort_by_key(|s| s.0.to_le_bytes());
    let mut want = vec![
        (Clusapi::UUID, 3, 0, demo.port),
        (Witness::UUID, 1, 1, demo.port),
        (Mgmt::UUID, 1, 0, demo.port),
        (Epmapper::UUID, 3, 0, demo.epm_port),
    ];
    want.sort_by_key(|s| s.0.to_le_bytes());
    assert_eq!(seen, want);
    demo_alive(demo);
}

#[test]
fn ept_lookup_by_interface_and_handle_free() {
    let demo = Demo::start(&[]);
    let mut c = RpcClient::epm(demo.epm_port);
    let by_if = |uuid, major, minor, vers_option| EptLookupRequest {
        inquiry_type: inquiry::MATCH_BY_IF,
        object: None,
        interface_id: Some(RpcIfId { uuid, vers_major: major, vers_minor: minor }),
        vers_option,
        entry_handle: ContextHandle::NULL,
        max_ents: 10,
    };
    let r = lookup(&mut c, &by_if(Witness::UUID, 1, 0, vers::COMPATIBLE));
    assert_eq!((r.status.0, r.num_ents), (0, 1));
    assert_eq!(r.entries.entries[0].annotation.0, "Service Witness Protocol (clusapid)");
    let r = lookup(&mut c, &by_if(Witness::UUID, 1, 0, vers::EXACT));
    assert_eq!((r.status.0, r.num_ents), (EPT_S_NOT_REGISTERED, 0));
    let r = lookup(&mut c, &by_if(Clusapi::UUID, 2, 0, vers::COMPATIBLE));
    assert_eq!(r.status.0, EPT_S_NOT_REGISTERED);

    // a handle freed before its list is done is gone
    let r = lookup(&mut c, &all(ContextHandle::NULL, 1));
    assert!(!r.entry_handle.is_null());
    let stub = c
        .call(EptLookupHandleFreeRequest::OPNUM, &EptLookupHandleFreeRequest { entry_handle: r.entry_handle }.to_stub())
        .unwrap();
    let f = EptLookupHandleFreeResponse::decode_stub(&stub, ByteOrder::Little).unwrap();
    assert_eq!(f.status.0, 0);
    assert!(f.entry_handle.is_null());
    assert_eq!(lookup(&mut c, &all(r.entry_handle, 1)).status.0, EPT_S_INVALID_ENTRY);
    demo_alive(demo);
}

/// Samba's rpcclient lists our endpoints (it always asks the mapper on port 135).
#[test]
fn rpcclient_epmlookup_lists_the_endpoints() {
    if !tests::require_tool("rpcclient") {
        return;
    }
    let _lock = tests::port135_lock();
    let demo = Demo::start_with_epm_135(&[]).expect("demo with the endpoint mapper on 135");
    let out = tests::rpcclient("ncacn_ip_tcp:127.0.0.1", "", "epmlookup");
    let text = tests::output_text(&out);
    assert!(out.status.success(), "{text}");
    for want in [
        "Failover Cluster Management API (clusapid)",
        "Service Witness Protocol (clusapid)",
        "Remote management (clusapid)",
        "b97db8b2-4c63-11cf-bff6-08002be23f2f",
        &format!("[{},", demo.port),
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // each endpoint once: the lookup ends
    assert_eq!(text.matches("Failover Cluster Management API").count(), 1, "{text}");
    demo_alive(demo);
}

fn demo_alive(mut demo: Demo) {
    demo.assert_alive();
}
