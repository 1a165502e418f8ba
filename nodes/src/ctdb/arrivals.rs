//! Public addresses on their way to a new node, and when to say they have arrived.
//!
//! ctdbd names the new owner of a moving address as soon as the old owner has released it
//! (RELEASE_IP carries the new owner to every node), but the new owner serves it only once its
//! `takeip` event has added the address to the interface; ctdbd then announces it with
//! gratuitous ARPs and, last, sends TAKE_IP to its own node's clients. Between the two the
//! address is nowhere: a client sent to it then finds nobody there.
//!
//! [`Arrivals`] sits between ctdbd's assignment and the published model: an address whose
//! owner changes to node B is published as unassigned until B's TAKE_IP for it is heard
//! (from the local ctdbd when B is this node, else relayed by B's clusapid on
//! [`super::backend::ADDRESS_MOVED_SRVID`]; [`encode_relay`]), or until [`TAKE_WAIT`] has
//! passed (a node without clusapid relays nothing). An address seen for the first time, an
//! address that stays where it is and an address that goes nowhere are published as ctdbd
//! says. So the model's owner of an address, and the witness notices that follow it
//! (AVAILABLE, CLIENT_MOVE), mean that the owner can serve it.
//!
//! Sans-I/O: the caller passes the time and the messages.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long an address may wait for its new owner's TAKE_IP before it is published anyway.
pub const TAKE_WAIT: Duration = Duration::from_secs(2);

/// What [`Arrivals`] remembers between two reads of ctdbd (bounded by the addresses ctdbd
/// reports).
#[derive(Debug, Default)]
pub struct Arrivals {
    /// The owner each address was last published with.
    published: HashMap<IpAddr, Option<u32>>,
    /// Addresses held back as unassigned: the new owner, and since when.
    held: HashMap<IpAddr, (u32, Instant)>,
    /// The node whose TAKE_IP for the address was heard last, until it releases it.
    taken: HashMap<IpAddr, u32>,
}

impl Arrivals {
    /// `node`'s ctdbd has taken `addr` (TAKE_IP): the address is up there. True when this ends
    /// a hold for `node` (ctdbd's last read named it the new owner): the address is then
    /// published on `node` from now on, and the caller may show it there at once, without
    /// reading ctdbd again (a read is several round trips to busy daemons: 10-40 ms while
    /// thousands of witness clients are being notified).
    pub fn took(&mut self, addr: IpAddr, node: u32) -> bool {
        self.taken.insert(addr, node);
        if self.held.get(&addr).is_some_and(|&(n, _)| n == node) {
            self.held.remove(&addr);
            self.published.insert(addr, Some(node));
            return true;
        }
        false
    }

    /// `node`'s ctdbd has released `addr` (RELEASE_IP).
    pub fn released(&mut self, addr: IpAddr, node: u32) {
        if self.taken.get(&addr) == Some(&node) {
            self.taken.remove(&addr);
        }
    }

    /// Whether an address is held back.
    #[cfg(test)]
    fn holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// The owners to publish for ctdbd's assignment `ips` (address, owner) at `now`.
    pub fn publish(&mut self, ips: &[(IpAddr, Option<u32>)], now: Instant) -> Vec<(IpAddr, Option<u32>)> {
        let out: Vec<(IpAddr, Option<u32>)> = ips.iter().map(|&(a, owner)| (a, self.one(a, owner, now))).collect();
        // what ctdbd no longer reports is forgotten (one lookup per entry: this runs at every
        // 100 ms poll, with up to thousands of addresses)
        self.published = out.iter().copied().collect();
        let reported = &self.published;
        self.held.retain(|a, _| reported.contains_key(a));
        self.taken.retain(|a, _| reported.contains_key(a));
        out
    }

    fn one(&mut self, addr: IpAddr, owner: Option<u32>, now: Instant) -> Option<u32> {
        let shown = match (self.published.get(&addr), owner) {
            (None, _) | (_, None) => owner,
            (Some(&before), Some(_)) if before == owner => owner,
            (Some(_), Some(to)) if self.taken.get(&addr) == Some(&to) => owner,
            (Some(_), Some(to)) => {
                let since = match self.held.get(&addr) {
                    Some(&(n, since)) if n == to => since,
                    _ => {
                        self.held.insert(addr, (to, now));
                        now
                    }
                };
                if now.saturating_duration_since(since) >= TAKE_WAIT {
                    tracing::debug!(%addr, node = to, "no TAKE_IP from the new owner: published anyway");
                    owner
                } else {
                    None
                }
            }
        };
        if shown == owner {
            self.held.remove(&addr);
        }
        self.published.insert(addr, shown);
        shown
    }
}

/// What a clusapid relays of its ctdbd's TAKE_IP or RELEASE_IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relay {
    /// The node that took or released the address (the relaying clusapid's).
    pub pnn: u32,
    /// The address and whether it was taken (else released); `None` from a clusapid that
    /// relays only its pnn (the format before addresses were relayed).
    pub moved: Option<(IpAddr, bool)>,
}

const TOOK: u32 = 1;
const RELEASED: u32 = 2;

/// The payload of an [`super::backend::ADDRESS_MOVED_SRVID`] message: the pnn (u32,
/// little-endian, all an older clusapid reads), 1 (taken) or 2 (released) as a u32, and the
/// address as ctdbd wrote it in its message (text, NUL-terminated).
pub fn encode_relay(pnn: u32, took: bool, addr: IpAddr) -> Vec<u8> {
    let mut v = Vec::with_capacity(48);
    v.extend_from_slice(&pnn.to_le_bytes());
    v.extend_from_slice(&(if took { TOOK } else { RELEASED }).to_le_bytes());
    v.extend_from_slice(addr.to_string().as_bytes());
    v.push(0);
    v
}

/// Decodes [`encode_relay`]'s payload (or an older clusapid's four-byte one); `None` when it
/// is shorter than a pnn.
pub fn decode_relay(data: &[u8]) -> Option<Relay> {
    let pnn = u32::from_le_bytes(data.get(..4)?.try_into().ok()?);
    let moved = (|| {
        let kind = u32::from_le_bytes(data.get(4..8)?.try_into().ok()?);
        let addr = address_of(data.get(8..)?)?;
        match kind {
            TOOK => Some((addr, true)),
            RELEASED => Some((addr, false)),
            _ => None,
        }
    })();
    Some(Relay { pnn, moved })
}

/// The address in the text of ctdbd's TAKE_IP / RELEASE_IP message (NUL-terminated).
pub fn address_of(text: &[u8]) -> Option<IpAddr> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    std::str::from_utf8(&text[..end]).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A fresh [`Arrivals`] that has seen 192.0.2.101 on `owner`: it, the time, the address.
    fn seen_on(owner: Option<u32>) -> (Arrivals, Instant, IpAddr) {
        let (mut a, t, x) = (Arrivals::default(), Instant::now(), ip("192.0.2.101"));
        a.publish(&[(x, owner)], t);
        (a, t, x)
    }

    #[test]
    fn first_sight_and_unchanged_owners_are_published_as_ctdbd_says() {
        let mut a = Arrivals::default();
        let t = Instant::now();
        let ips = [(ip("192.0.2.101"), Some(0)), (ip("192.0.2.102"), None)];
        assert_eq!(a.publish(&ips, t), ips);
        assert_eq!(a.publish(&ips, t + Duration::from_millis(100)), ips);
        assert!(!a.holding());
    }

    #[test]
    fn a_move_is_held_until_the_new_owner_takes_the_address() {
        let (mut a, t, x) = seen_on(Some(0));
        // ctdbd names node 1 once node 0 released it: not there yet
        a.released(x, 0);
        assert_eq!(a.publish(&[(x, Some(1))], t + Duration::from_millis(10)), [(x, None)]);
        assert!(a.holding());
        assert_eq!(a.publish(&[(x, Some(1))], t + Duration::from_millis(50)), [(x, None)]);
        // a TAKE_IP of another node does not count
        assert!(!a.took(x, 2));
        assert_eq!(a.publish(&[(x, Some(1))], t + Duration::from_millis(60)), [(x, None)]);
        assert!(a.took(x, 1), "the hold for node 1 ends: show it there now");
        assert!(!a.holding());
        assert_eq!(a.publish(&[(x, Some(1))], t + Duration::from_millis(70)), [(x, Some(1))]);
        assert!(!a.holding());
        assert_eq!(a.publish(&[(x, Some(1))], t + Duration::from_millis(80)), [(x, Some(1))]);
    }

    #[test]
    fn a_take_heard_before_the_read_that_shows_the_move_counts() {
        let (mut a, t, x) = seen_on(Some(0));
        a.released(x, 0);
        assert!(!a.took(x, 1), "nothing held yet: the next read shows it");
        assert_eq!(a.publish(&[(x, Some(1))], t + Duration::from_millis(10)), [(x, Some(1))]);
    }

    #[test]
    fn without_a_take_the_address_is_published_after_the_wait() {
        let (mut a, t, x) = seen_on(None);
        assert_eq!(a.publish(&[(x, Some(2))], t + Duration::from_millis(100)), [(x, None)]);
        let late = t + Duration::from_millis(100) + TAKE_WAIT;
        assert_eq!(a.publish(&[(x, Some(2))], late - Duration::from_millis(1)), [(x, None)]);
        assert_eq!(a.publish(&[(x, Some(2))], late), [(x, Some(2))]);
        assert!(!a.holding());
    }

    #[test]
    fn a_take_before_a_release_of_the_same_node_does_not_confirm_a_later_return() {
        let (mut a, t, x) = seen_on(Some(1));
        a.took(x, 1);
        a.released(x, 1);
        assert_eq!(a.publish(&[(x, Some(0))], t + Duration::from_millis(10)), [(x, None)]);
        a.took(x, 0);
        assert_eq!(a.publish(&[(x, Some(0))], t + Duration::from_millis(20)), [(x, Some(0))]);
        // back to node 1, which released it: held again until node 1 takes it
        a.released(x, 0);
        assert_eq!(a.publish(&[(x, Some(1))], t + Duration::from_millis(30)), [(x, None)]);
    }

    #[test]
    fn a_hold_for_one_node_restarts_when_ctdbd_names_another() {
        let (mut a, t, x) = seen_on(Some(0));
        assert_eq!(a.publish(&[(x, Some(1))], t), [(x, None)]);
        let later = t + TAKE_WAIT - Duration::from_millis(10);
        assert_eq!(a.publish(&[(x, Some(2))], later), [(x, None)]);
        assert_eq!(a.publish(&[(x, Some(2))], t + TAKE_WAIT), [(x, None)], "node 2's wait started later");
        assert_eq!(a.publish(&[(x, Some(2))], later + TAKE_WAIT), [(x, Some(2))]);
    }

    #[test]
    fn addresses_ctdbd_no_longer_reports_are_forgotten() {
        let mut a = Arrivals::default();
        let t = Instant::now();
        let (x, y) = (ip("192.0.2.101"), ip("192.0.2.102"));
        a.publish(&[(x, Some(0)), (y, Some(0))], t);
        a.publish(&[(x, Some(0)), (y, Some(1))], t);
        a.took(y, 1);
        a.publish(&[(x, Some(0))], t);
        assert!(!a.holding());
        // y again: first sight
        assert_eq!(a.publish(&[(x, Some(0)), (y, Some(1))], t), [(x, Some(0)), (y, Some(1))]);
    }

    #[test]
    fn relay_payloads() {
        let x = ip("192.0.2.101");
        let p = encode_relay(2, true, x);
        assert_eq!(decode_relay(&p), Some(Relay { pnn: 2, moved: Some((x, true)) }));
        let v6 = ip("2001:db8::5");
        assert_eq!(decode_relay(&encode_relay(0, false, v6)), Some(Relay { pnn: 0, moved: Some((v6, false)) }));
        // an older clusapid's: the pnn alone
        assert_eq!(decode_relay(&7u32.to_le_bytes()), Some(Relay { pnn: 7, moved: None }));
        assert_eq!(decode_relay(&[1, 2]), None);
        // an unknown kind or a bad address: the pnn still counts
        let mut bad = encode_relay(3, true, x);
        bad[4] = 9;
        assert_eq!(decode_relay(&bad), Some(Relay { pnn: 3, moved: None }));
        assert_eq!(decode_relay(&[3, 0, 0, 0, 1, 0, 0, 0, b'x', 0]), Some(Relay { pnn: 3, moved: None }));
        assert_eq!(address_of(b"192.0.2.101\0"), Some(x));
        assert_eq!(address_of(b"192.0.2.101"), Some(x));
        assert_eq!(address_of(b"\xff\0"), None);
    }
}
