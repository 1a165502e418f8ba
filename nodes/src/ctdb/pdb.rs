//! clusapid's CTDB persistent database (`clusapid.tdb`): a replicated
//! key/value store whose writes reach every active node before they are
//! acknowledged, survive daemon restarts (each node keeps its copy on disk)
//! and the loss of nodes (every node holds the whole database).
//!
//! # How ctdb handles persistent databases (CTDB 4.x)
//!
//! * DB_ATTACH_PERSISTENT (61) attaches `clusapid.tdb` on the local node;
//!   ctdbd attaches it on the other connected nodes as well, and a node
//!   joining later gets it in the next recovery.
//! * Every node holds a full copy. Records carry a `ctdb_ltdb_header`
//!   whose `rsn` orders versions; the `__db_sequence_number__` record (a
//!   u64) counts committed transactions. A recovery (after a node failure,
//!   a node joining, or a failed commit) makes all copies equal by taking
//!   the copy of the node with the highest sequence number.
//! * TRANS3_COMMIT (119) to the *local* ctdbd carries a `ctdb_rec_buffer`
//!   of whole records (header + value). ctdbd sends them as UPDATE_RECORD
//!   to every active node, which stores them in one local tdb transaction
//!   (all records or none), refusing the buffer if any record has an RSN
//!   not above the stored one while its value differs. The reply is 0 once
//!   every active node stored the buffer. If any node refused it, ctdbd
//!   starts a recovery and answers only when the recovery has made all
//!   copies equal again (status 2, "ended by recovery"): the commit then
//!   either happened everywhere or nowhere, and only reading back tells
//!   which. A commit while a recovery runs fails at once (-1).
//! * Reads: TRAVERSE_START (20) on a persistent database traverses only the
//!   local copy (all copies are equal) in a child of ctdbd, which sends each
//!   record, header included, as a message to a srvid of ours and ends with
//!   an empty record. GET_DB_SEQNUM (120) is the cheap "did anything
//!   change" probe. (A client of ctdb's own libraries reads the local tdb
//!   file directly instead; this client speaks only the socket protocol.)
//!
//! # Transactions here
//!
//! ctdb's own clients (`ctdb pstore`/`ptrans`, Samba's dbwrap_ctdb) hold a
//! g_lock record lock on the database around read-modify-commit. g_lock
//! lives in the volatile `g_lock.tdb` and needs local tdb chain locks and
//! record migration (libtdb, fcntl locks on the database file), which a
//! socket-only client cannot take. Instead, writes are optimistic and use
//! the RSN check ctdbd does on every node:
//!
//! 1. read a snapshot (traverse; cached while GET_DB_SEQNUM and the vnn map
//!    generation are unchanged),
//! 2. compute the new values from it,
//! 3. commit the changed records with RSN + 1, together with the sequence
//!    number record (seqnum + 1) and the [`TXN_KEY`] record (RSN + 1, the
//!    new transaction id in front of the last [`TXN_HISTORY`] ones).
//!
//! Every transaction rewrites [`TXN_KEY`] with a value no other transaction
//! writes, so two transactions based on the same snapshot cannot both be
//! stored on any node: a node that stored one refuses the other. If both
//! reach different nodes first, both are refused somewhere, ctdbd runs a
//! recovery, and exactly one of them survives on every node. The writer
//! learns its fate from the reply (0: committed) or, for any other answer,
//! by waiting for recovery mode NORMAL and reading back whether its
//! transaction id is in [`TXN_KEY`]. A loser re-reads and retries, so every
//! committed transaction was computed from the latest committed state: no
//! update is lost, and the sequence number grows by one per transaction.
//!
//! Costs: a commit forks a writer child on every node; a conflict (two
//! writers within the same few milliseconds) costs a cluster recovery.
//! Before committing, the writer re-checks GET_DB_SEQNUM so that a merely
//! stale cache never reaches ctdbd (which would also mean a recovery).
//!
//! # Record values
//!
//! Values are `"CPD1"`, a 16-byte transaction id, then the payload (what
//! callers store). Values without the magic (written by other tools, e.g.
//! `ctdb pstore`) are read as a bare payload. A record whose value is empty
//! counts as absent (ctdb's deleted records).

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::client::{ClientError, ClientResult, Connection};
use super::protocol::{self, DecodeError, LtdbHeader, RecBuffer, RecData, CTDB_CURRENT_NODE, DB_SEQNUM_KEY};

/// The database's name (`<persistent dir>/clusapid.tdb.<pnn>` on each node).
pub const DB_NAME: &str = "clusapid.tdb";
/// Record listing the ids of the latest transactions (newest first); every
/// transaction rewrites it, which is what makes concurrent ones conflict.
pub const TXN_KEY: &[u8] = b"__clusapid_txn__";
/// How many transaction ids [`TXN_KEY`] keeps (a writer whose commit was
/// interrupted checks for its id there after the recovery).
pub const TXN_HISTORY: usize = 64;
/// Leading bytes of every value written here.
pub const VALUE_MAGIC: [u8; 4] = *b"CPD1";
/// Length of a transaction id.
pub const TXID_LEN: usize = 16;
/// Longest a TRANS3_COMMIT may take before its outcome is read back
/// instead (ctdbd itself gives up on a silent node after ControlTimeout,
/// 60 s by default; a dead node is noticed much sooner).
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a traverse of the database may take.
pub const TRAVERSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between recovery-mode checks while waiting for a recovery.
const RECOVERY_POLL: Duration = Duration::from_millis(50);

/// Identifies one transaction (writer's pnn, random bits, a counter).
pub type Txid = [u8; TXID_LEN];

/// A transaction id no other transaction of any node uses.
pub fn new_txid(pnn: u32) -> Txid {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let random = h.finish();
    let mut t = [0u8; TXID_LEN];
    t[..4].copy_from_slice(&pnn.to_le_bytes());
    t[4..12].copy_from_slice(&random.to_le_bytes());
    t[12..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    t
}

/// A stored value: magic, the writing transaction, the payload.
pub fn encode_value(txid: &Txid, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(VALUE_MAGIC.len() + TXID_LEN + payload.len());
    v.extend_from_slice(&VALUE_MAGIC);
    v.extend_from_slice(txid);
    v.extend_from_slice(payload);
    v
}

/// The transaction and payload of a stored value; a value without the
/// magic is all payload.
pub fn decode_value(v: &[u8]) -> (Option<Txid>, &[u8]) {
    let head = VALUE_MAGIC.len() + TXID_LEN;
    if v.len() >= head && v[..VALUE_MAGIC.len()] == VALUE_MAGIC {
        let mut t = [0u8; TXID_LEN];
        t.copy_from_slice(&v[VALUE_MAGIC.len()..head]);
        (Some(t), &v[head..])
    } else {
        (None, v)
    }
}

/// One record of the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub header: LtdbHeader,
    /// The stored value (see [`decode_value`]).
    pub value: Vec<u8>,
}

/// The whole database as one node had it at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbSnapshot {
    /// The `__db_sequence_number__` value (0 when absent).
    pub seqnum: u64,
    /// Every record with a value, the bookkeeping records included.
    pub records: BTreeMap<Vec<u8>, Record>,
}

impl DbSnapshot {
    /// From traverse records (ltdb header in front of each value).
    /// Header-only records (deleted) are left out.
    pub fn from_records(recs: &[RecData]) -> Result<DbSnapshot, DecodeError> {
        let mut s = DbSnapshot::default();
        for r in recs {
            let (header, value) = r.split_header()?;
            if value.is_empty() {
                continue;
            }
            if r.key == DB_SEQNUM_KEY {
                // ctdbd reads anything but 8 bytes as 0
                s.seqnum = if value.len() == 8 { protocol::decode_u64(value)? } else { 0 };
            }
            s.records.insert(r.key.clone(), Record { header, value: value.to_vec() });
        }
        Ok(s)
    }

    /// The payload stored under `key`, if any.
    pub fn payload(&self, key: &[u8]) -> Option<&[u8]> {
        self.records.get(key).map(|r| decode_value(&r.value).1)
    }

    /// The RSN of `key` (0 for a missing record, as ctdbd counts it).
    pub fn rsn(&self, key: &[u8]) -> u64 {
        self.records.get(key).map_or(0, |r| r.header.rsn)
    }

    /// The latest transaction ids, newest first.
    pub fn recent_txids(&self) -> Vec<Txid> {
        let Some(r) = self.records.get(TXN_KEY) else {
            return Vec::new();
        };
        r.value
            .chunks_exact(TXID_LEN)
            .map(|c| {
                let mut t = [0u8; TXID_LEN];
                t.copy_from_slice(c);
                t
            })
            .collect()
    }

    pub fn contains_txid(&self, txid: &Txid) -> bool {
        self.recent_txids().contains(txid)
    }

    /// The records transaction `txid` of node `pnn` writes to replace the
    /// payloads in `updates` (key, payload), based on this snapshot. The
    /// bookkeeping keys cannot be updated directly (they are skipped).
    pub fn transaction_records(&self, pnn: u32, txid: &Txid, updates: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Record)> {
        let header = |key: &[u8]| LtdbHeader { rsn: self.rsn(key).saturating_add(1), dmaster: pnn, flags: 0 };
        let mut out: Vec<(Vec<u8>, Record)> = updates
            .iter()
            .filter(|(k, _)| k != TXN_KEY && k != DB_SEQNUM_KEY)
            .map(|(k, payload)| (k.clone(), Record { header: header(k), value: encode_value(txid, payload) }))
            .collect();
        let mut history = txid.to_vec();
        for t in self.recent_txids().iter().filter(|t| *t != txid).take(TXN_HISTORY - 1) {
            history.extend_from_slice(t);
        }
        out.push((TXN_KEY.to_vec(), Record { header: header(TXN_KEY), value: history }));
        out.push((
            DB_SEQNUM_KEY.to_vec(),
            Record { header: header(DB_SEQNUM_KEY), value: self.seqnum.wrapping_add(1).to_le_bytes().to_vec() },
        ));
        out
    }

    /// The TRANS3_COMMIT argument for a transaction (see
    /// [`transaction_records`](Self::transaction_records)).
    pub fn commit_buffer(&self, db_id: u32, pnn: u32, txid: &Txid, updates: &[(Vec<u8>, Vec<u8>)]) -> RecBuffer {
        RecBuffer {
            db_id,
            records: self
                .transaction_records(pnn, txid, updates)
                .iter()
                .map(|(k, r)| RecData::with_header(0, k, &r.header, &r.value))
                .collect(),
        }
    }

    /// This snapshot once the transaction is stored.
    pub fn after(&self, pnn: u32, txid: &Txid, updates: &[(Vec<u8>, Vec<u8>)]) -> DbSnapshot {
        let mut s = self.clone();
        for (k, r) in self.transaction_records(pnn, txid, updates) {
            s.records.insert(k, r);
        }
        s.seqnum = self.seqnum.wrapping_add(1);
        s
    }
}

/// Attaches [`DB_NAME`] as a persistent database and returns its id.
pub async fn attach(conn: &Connection) -> ClientResult<u32> {
    let db_id = conn.attach_persistent(DB_NAME).await?;
    // A volatile database of that name would have been returned as is.
    let map = conn.get_dbmap(CTDB_CURRENT_NODE).await?;
    match map.iter().find(|d| d.db_id == db_id) {
        Some(d) if d.persistent() => Ok(db_id),
        _ => Err(ClientError::Status {
            opcode: protocol::opcode::DB_ATTACH_PERSISTENT,
            status: -1,
            errmsg: Some(format!("{DB_NAME} (0x{db_id:08x}) is not a persistent database")),
        }),
    }
}

/// The local node's copy of the database.
pub async fn read(conn: &Connection, db_id: u32) -> ClientResult<DbSnapshot> {
    let recs = conn.traverse(db_id, TRAVERSE_TIMEOUT).await?;
    DbSnapshot::from_records(&recs).map_err(ClientError::Protocol)
}

/// Waits (until `deadline`) for the local node's recovery mode to be NORMAL.
pub async fn wait_recovery_done(conn: &Connection, deadline: tokio::time::Instant) -> ClientResult<()> {
    loop {
        if conn.get_recmode(CTDB_CURRENT_NODE).await? != protocol::RECOVERY_ACTIVE {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ClientError::NoAnswer("end of the database recovery"));
        }
        tokio::time::sleep(RECOVERY_POLL).await;
    }
}

/// What became of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Stored on every active node (TRANS3_COMMIT answered 0); the
    /// database as it is now: the base plus the transaction.
    Committed(DbSnapshot),
    /// Stored on every node, as a read-back after the recovery that ended
    /// the commit showed; that fresh read.
    CommittedByRecovery(DbSnapshot),
    /// Not stored anywhere (another transaction came first, or a recovery
    /// was running); a fresh read to retry from.
    Conflict(DbSnapshot),
}

/// Commits `updates` (key, payload) as one transaction based on `base`
/// and finds out whether it was stored. Errors: the connection failed (the
/// outcome is then unknown until the next read), or a recovery did not end
/// before `deadline`.
pub async fn commit(
    conn: &Connection,
    db_id: u32,
    base: &DbSnapshot,
    updates: &[(Vec<u8>, Vec<u8>)],
    deadline: tokio::time::Instant,
) -> ClientResult<CommitOutcome> {
    let pnn = conn.pnn();
    let txid = new_txid(pnn);
    let buf = base.commit_buffer(db_id, pnn, &txid, updates);
    match conn.trans3_commit(&buf, COMMIT_TIMEOUT).await {
        Ok(r) if r.status == 0 => return Ok(CommitOutcome::Committed(base.after(pnn, &txid, updates))),
        Ok(r) => tracing::debug!(status = r.status, errmsg = ?r.errmsg, "TRANS3_COMMIT not confirmed; reading back"),
        Err(ClientError::Timeout { .. }) => tracing::warn!("TRANS3_COMMIT unanswered; reading back"),
        Err(e) => return Err(e),
    }
    wait_recovery_done(conn, deadline).await?;
    let now = read(conn, db_id).await?;
    if now.contains_txid(&txid) {
        Ok(CommitOutcome::CommittedByRecovery(now))
    } else {
        Ok(CommitOutcome::Conflict(now))
    }
}

#[cfg(test)]
mod tests;
