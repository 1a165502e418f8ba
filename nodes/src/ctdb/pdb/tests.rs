//! The database snapshot and transaction-building logic, without ctdbd
//! (the whole round trip is `nodes/tests/ctdb_persistent.rs`).

use super::*;

fn rec(key: &[u8], rsn: u64, value: &[u8]) -> RecData {
    RecData::with_header(9, key, &LtdbHeader { rsn, dmaster: 1, flags: 0 }, value)
}

fn txid(n: u8) -> Txid {
    [n; TXID_LEN]
}

#[test]
fn values_carry_their_transaction() {
    let t = txid(7);
    let v = encode_value(&t, b"payload");
    assert_eq!(&v[..4], b"CPD1");
    assert_eq!(v.len(), 4 + TXID_LEN + 7);
    assert_eq!(decode_value(&v), (Some(t), &b"payload"[..]));
    assert_eq!(decode_value(&encode_value(&t, b"")), (Some(t), &b""[..]));
    // written by another tool: all payload, even when short or magic-like
    assert_eq!(decode_value(b"v"), (None, &b"v"[..]));
    assert_eq!(decode_value(b"CPD1short"), (None, &b"CPD1short"[..]));
    assert_eq!(decode_value(b""), (None, &b""[..]));
}

#[test]
fn snapshot_from_traverse_records() {
    let t = txid(1);
    let recs = vec![
        rec(protocol::DB_SEQNUM_KEY, 4, &4u64.to_le_bytes()),
        rec(b"registry", 3, &encode_value(&t, b"blob")),
        rec(b"plain", 1, b"v"),
        // a deleted record: header only
        rec(b"gone", 9, b""),
    ];
    let s = DbSnapshot::from_records(&recs).expect("snapshot");
    assert_eq!(s.seqnum, 4);
    assert_eq!(s.payload(b"registry"), Some(&b"blob"[..]));
    assert_eq!(s.payload(b"plain"), Some(&b"v"[..]));
    assert_eq!(s.payload(b"gone"), None);
    assert_eq!(s.rsn(b"registry"), 3);
    assert_eq!(s.rsn(b"gone"), 0, "deleted counts as absent");
    assert_eq!(s.rsn(b"missing"), 0);
    assert!(s.recent_txids().is_empty());
    // a sequence number record of the wrong size reads as 0, like ctdbd does
    let s = DbSnapshot::from_records(&[rec(protocol::DB_SEQNUM_KEY, 1, b"abc")]).expect("snapshot");
    assert_eq!(s.seqnum, 0);
    // a record too short for its header is an error, not a panic
    let bad = RecData { reqid: 9, key: b"k".to_vec(), data: vec![1, 2, 3] };
    assert!(DbSnapshot::from_records(&[bad]).is_err());
    assert_eq!(DbSnapshot::from_records(&[]), Ok(DbSnapshot::default()));
}

#[test]
fn transaction_raises_rsns_and_seqnum() {
    let base = DbSnapshot::from_records(&[
        rec(protocol::DB_SEQNUM_KEY, 6, &6u64.to_le_bytes()),
        rec(b"overlay", 5, &encode_value(&txid(1), b"old")),
        rec(TXN_KEY, 6, &txid(1)),
    ])
    .expect("snapshot");
    let t = txid(2);
    let updates = vec![(b"overlay".to_vec(), b"new".to_vec()), (b"registry".to_vec(), b"blob".to_vec())];
    let recs = base.transaction_records(3, &t, &updates);
    let keys: Vec<&[u8]> = recs.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(keys, [&b"overlay"[..], b"registry", TXN_KEY, protocol::DB_SEQNUM_KEY]);
    let by_key = |k: &[u8]| recs.iter().find(|(key, _)| key == k).map(|(_, r)| r.clone()).expect("record");
    assert_eq!(by_key(b"overlay").header, LtdbHeader { rsn: 6, dmaster: 3, flags: 0 });
    assert_eq!(by_key(b"overlay").value, encode_value(&t, b"new"));
    assert_eq!(by_key(b"registry").header.rsn, 1, "a new record starts at RSN 1");
    assert_eq!(by_key(TXN_KEY).header.rsn, 7);
    assert_eq!(by_key(TXN_KEY).value, [t, txid(1)].concat(), "newest first");
    assert_eq!(by_key(protocol::DB_SEQNUM_KEY).header.rsn, 7);
    assert_eq!(by_key(protocol::DB_SEQNUM_KEY).value, 7u64.to_le_bytes());

    // the snapshot after the commit is what a read would return
    let after = base.after(3, &t, &updates);
    assert_eq!(after.seqnum, 7);
    assert_eq!(after.payload(b"overlay"), Some(&b"new"[..]));
    assert_eq!(after.payload(b"registry"), Some(&b"blob"[..]));
    assert!(after.contains_txid(&t) && after.contains_txid(&txid(1)));
    let buf = base.commit_buffer(0x0f00_e77b, 3, &t, &updates);
    assert_eq!(buf.db_id, 0x0f00_e77b);
    let wire = protocol::RecBuffer::decode(&buf.encode()).expect("round trip");
    assert_eq!(DbSnapshot::from_records(&wire.records).expect("decoded").records.len(), 4);
    let mut merged = base.clone();
    for r in &wire.records {
        let (h, v) = r.split_header().expect("header");
        merged.records.insert(r.key.clone(), Record { header: h, value: v.to_vec() });
    }
    merged.seqnum = 7;
    assert_eq!(merged, after);
}

#[test]
fn bookkeeping_keys_cannot_be_updated_directly() {
    let base = DbSnapshot::default();
    let t = txid(3);
    let recs = base.transaction_records(0, &t, &[(TXN_KEY.to_vec(), b"x".to_vec()), (DB_SEQNUM_KEY.to_vec(), vec![9])]);
    assert_eq!(recs.len(), 2);
    let after = base.after(0, &t, &[]);
    assert_eq!(after.seqnum, 1);
    assert_eq!(after.recent_txids(), vec![t]);
}

#[test]
fn transaction_history_is_bounded() {
    let mut s = DbSnapshot::default();
    for n in 0..100u8 {
        s = s.after(1, &txid(n), &[(b"k".to_vec(), vec![n])]);
    }
    let ids = s.recent_txids();
    assert_eq!(ids.len(), TXN_HISTORY);
    assert_eq!(ids[0], txid(99));
    assert_eq!(ids[TXN_HISTORY - 1], txid(100 - TXN_HISTORY as u8));
    assert!(!s.contains_txid(&txid(0)));
    assert_eq!(s.seqnum, 100);
    assert_eq!(s.rsn(b"k"), 100);
    // a history with a torn tail ignores the partial id
    let mut r = s.records.get(TXN_KEY).cloned().expect("txn record");
    r.value.truncate(TXID_LEN + 5);
    s.records.insert(TXN_KEY.to_vec(), r);
    assert_eq!(s.recent_txids(), vec![txid(99)]);
}

#[test]
fn transaction_ids_are_unique() {
    let ids: std::collections::HashSet<Txid> = (0..1000).map(|_| new_txid(2)).collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids.iter().all(|t| t[..4] == 2u32.to_le_bytes()));
}
