//! A toy Kerberos for tests and fuzzing (feature `toy-kerberos`): a [`GssContext`] with the
//! shape of a DCE-style Kerberos context and none of its security. The daemon never offers it;
//! it lets the SPNEGO, raw Kerberos and message-protection code run without a KDC.
//!
//! Legs: the client's `AP-REQ:<user>` is answered `AP-REP`, the client's `AP-REP-CLIENT`
//! completes the context (DCE style, three legs); the ticket `AP-REQ:nokey` fails the way a
//! ticket for a principal missing from the keytab does. MICs and wrap tokens are HMAC-MD5 under
//! a fixed key over the direction, a sequence number and the signed parts; sealing XORs the
//! data with 0x5a. Wrap tokens are [`WRAP_LEN`] bytes: `WRAP` and the MAC.

use std::sync::{Arc, Mutex};

use crate::crypto::hmac_md5;
use crate::gss::{GssAcceptorFactory, GssContext};
use crate::{AuthError, AuthenticatedUser, Mechanism, Step};

/// What a toy context saw in each wrap/unwrap: the lengths of pre, data and post.
pub type Seen = Arc<Mutex<Vec<(usize, usize, usize)>>>;

/// The SID the toy puts in an identity.
pub const USER_SID: &str = "S-1-5-21-1-2-3-1103";

/// Length of a toy wrap token.
pub const WRAP_LEN: usize = 20;

const TOY_KEY: [u8; 16] = [0x42; 16];

/// One toy context (module docs).
pub struct ToyKrb {
    role_server: bool,
    state: u8,
    user: String,
    send_seq: u32,
    recv_seq: u32,
    seen: Seen,
}

impl ToyKrb {
    /// An acceptor context that records its wraps in `seen`.
    pub fn server(seen: Seen) -> ToyKrb {
        ToyKrb { role_server: true, state: 0, user: String::new(), send_seq: 0, recv_seq: 0, seen }
    }

    /// An established client context (for sealing what a client sends, and checking answers).
    pub fn client() -> ToyKrb {
        ToyKrb { role_server: false, state: 2, user: String::new(), send_seq: 0, recv_seq: 0, seen: Arc::default() }
    }

    /// The client's third SPNEGO leg: a NegTokenResp with its AP-REP (`AP-REP-CLIENT`) and a
    /// mechListMIC over `mech_types` (the DER mechTypes the client sent), made with this
    /// (client) context.
    pub fn spnego_leg3(&mut self, mech_types: &[u8]) -> Result<Vec<u8>, AuthError> {
        let mic = self.get_mic(mech_types)?;
        Ok(crate::spnego::encode_resp(&crate::spnego::NegTokenResp {
            response_token: Some(b"AP-REP-CLIENT"),
            mech_list_mic: Some(&mic),
            ..Default::default()
        }))
    }

    fn mac(dir: bool, seq: u32, parts: &[&[u8]]) -> [u8; 16] {
        let mut all: Vec<&[u8]> = Vec::new();
        let d = [u8::from(dir)];
        let s = seq.to_le_bytes();
        all.push(&d);
        all.push(&s);
        all.extend_from_slice(parts);
        hmac_md5(&TOY_KEY, &all)
    }

    fn record(&self, pre: &[u8], data: &[u8], post: &[u8]) {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((pre.len(), data.len(), post.len()));
    }
}

impl GssContext for ToyKrb {
    fn step(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        match (self.state, token) {
            (0, t) if t == b"AP-REQ:nokey" => {
                Err(AuthError::Kerberos("no key table entry for MSServerClusterMgmtAPI/x".into()))
            }
            (0, t) if t.starts_with(b"AP-REQ:") => {
                self.user = String::from_utf8_lossy(&t[7..]).into_owned();
                self.state = 1;
                Ok(Step::Continue(b"AP-REP".to_vec()))
            }
            (1, b"AP-REP-CLIENT") => {
                self.state = 2;
                Ok(Step::Done(None))
            }
            _ => Err(AuthError::Kerberos("bad token".into())),
        }
    }
    fn identity(&self) -> Option<AuthenticatedUser> {
        (self.state == 2).then(|| AuthenticatedUser {
            user: self.user.clone(),
            domain: "LAB.EXAMPLE".into(),
            workstation: String::new(),
            sids: vec![USER_SID.into()],
            mechanism: Mechanism::Kerberos,
        })
    }
    fn mic_len(&mut self) -> Result<usize, AuthError> {
        Ok(16)
    }
    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, AuthError> {
        let m = Self::mac(self.role_server, self.send_seq, &[msg]);
        self.send_seq += 1;
        Ok(m.to_vec())
    }
    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), AuthError> {
        let m = Self::mac(!self.role_server, self.recv_seq, &[msg]);
        self.recv_seq += 1;
        if m[..] == *mic {
            Ok(())
        } else {
            Err(AuthError::BadSignature)
        }
    }
    fn wrap_len(&mut self, _data_len: usize) -> Result<usize, AuthError> {
        Ok(WRAP_LEN)
    }
    fn wrap(&mut self, pre: &[u8], data: &mut [u8], post: &[u8], token: &mut [u8]) -> Result<(), AuthError> {
        self.record(pre, data, post);
        let m = Self::mac(self.role_server, self.send_seq, &[pre, data, post]);
        self.send_seq += 1;
        data.iter_mut().for_each(|b| *b ^= 0x5a);
        token[..4].copy_from_slice(b"WRAP");
        token[4..].copy_from_slice(&m);
        Ok(())
    }
    fn unwrap(&mut self, pre: &[u8], data: &mut [u8], post: &[u8], token: &[u8]) -> Result<(), AuthError> {
        self.record(pre, data, post);
        data.iter_mut().for_each(|b| *b ^= 0x5a);
        let m = Self::mac(!self.role_server, self.recv_seq, &[pre, data, post]);
        self.recv_seq += 1;
        if token.len() == WRAP_LEN && token[4..] == m {
            Ok(())
        } else {
            Err(AuthError::BadSignature)
        }
    }
}

/// Makes [`ToyKrb::server`] contexts sharing one [`Seen`].
pub struct ToyFactory(pub Seen);

impl GssAcceptorFactory for ToyFactory {
    fn new_context(&self) -> Result<Box<dyn GssContext>, AuthError> {
        Ok(Box::new(ToyKrb::server(self.0.clone())))
    }
}
