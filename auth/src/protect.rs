//! Per-PDU integrity and confidentiality for DCE/RPC (MS-RPCE 2.2.2.11-2.2.2.12, 3.3.1.5.2),
//! whatever mechanism established the context: [`Protection`] borrows the NTLM session or the
//! Kerberos GSS context of a finished acceptor and signs, seals, verifies and unseals one PDU.
//!
//! The PDU is passed whole, as the caller built or received it, with its [`Layout`]:
//! `pdu[..sign_len]` is everything before the verifier (headers, stub, padding, sec_trailer)
//! and `data` is the range of stub and padding. What is covered differs per mechanism:
//! - NTLM always signs the whole `pdu[..sign_len]` and seals `data` (MS-NLMP 3.4.3);
//! - Kerberos signs the headers and the sec_trailer only when header signing was negotiated
//!   (`PFC_SUPPORT_HEADER_SIGN`, MS-RPCE 2.2.2.3), otherwise only `data`; sealing encrypts
//!   `data` in place and the verifier is the wrap token (MS-KILE 3.4.5.4.1).
//!
//! Invariants: no panic on peer-controlled ranges (they are checked and give
//! [`AuthError::Malformed`]); a failed verify or unseal leaves the context out of step with
//! the peer, so the caller must drop the connection.

use std::ops::Range;

use crate::gss::{GssContext, MAX_TOKEN_LEN};
use crate::ntlm::{NtlmSession, SIGNATURE_LEN};
use crate::AuthError;

/// The message protection of an established security context.
pub enum Protection<'a> {
    /// NTLMSSP with extended session security.
    Ntlm(&'a mut NtlmSession),
    /// A Kerberos GSS context.
    Gss(&'a mut dyn GssContext),
}

/// Which bytes of a protected PDU the verifier covers: `data` (stub and padding) inside
/// `pdu[..sign_len]` (everything before the verifier), and whether header signing was
/// negotiated. The three always travel together and are checked together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The range of stub and padding.
    pub data: Range<usize>,
    /// Length of everything before the verifier.
    pub sign_len: usize,
    /// `PFC_SUPPORT_HEADER_SIGN` was negotiated (MS-RPCE 2.2.2.3).
    pub header_sign: bool,
}

impl Layout {
    /// The layout of a PDU whose verifier covers `data` within `pdu[..sign_len]`.
    pub fn new(data: Range<usize>, sign_len: usize, header_sign: bool) -> Self {
        Layout { data, sign_len, header_sign }
    }

    /// The ranges lie inside a PDU of `pdu_len` bytes, in order.
    fn check(&self, pdu_len: usize) -> Result<(), AuthError> {
        let Layout { data, sign_len, .. } = self;
        if data.start > data.end || data.end > *sign_len || *sign_len > pdu_len {
            return Err(AuthError::Malformed("protected region out of bounds"));
        }
        Ok(())
    }

    /// What a Kerberos wrap token covers, as (pre, data, post): `pdu[..sign_len]` split
    /// around `data` when header signing was negotiated, else `data` alone between empty
    /// parts.
    fn gss_parts<'p>(&self, pdu: &'p mut [u8]) -> (&'p [u8], &'p mut [u8], &'p [u8]) {
        let (head, _) = pdu.split_at_mut(self.sign_len);
        let (pre, rest) = head.split_at_mut(self.data.start);
        let (mid, post) = rest.split_at_mut(self.data.end - self.data.start);
        if self.header_sign {
            (pre, mid, post)
        } else {
            (&[], mid, &[])
        }
    }
}

impl Protection<'_> {
    /// Length of the verifier a PDU protecting `data_len` bytes of stub and padding carries.
    pub fn sig_len(&mut self, sealed: bool, data_len: usize) -> Result<usize, AuthError> {
        match self {
            Protection::Ntlm(_) => Ok(SIGNATURE_LEN),
            Protection::Gss(g) if sealed => g.wrap_len(data_len),
            Protection::Gss(g) => g.mic_len(),
        }
    }

    /// Whether a verifier of `len` bytes can be one of this mechanism's.
    pub fn plausible_sig_len(&self, len: usize) -> bool {
        match self {
            Protection::Ntlm(_) => len == SIGNATURE_LEN,
            Protection::Gss(_) => (1..=MAX_TOKEN_LEN).contains(&len),
        }
    }

    /// Seals `pdu[layout.data]` in place and writes the verifier into `sig`, whose length is
    /// [`sig_len`](Protection::sig_len)`(true, layout.data.len())`.
    pub fn seal(&mut self, pdu: &mut [u8], layout: &Layout, sig: &mut [u8]) -> Result<(), AuthError> {
        layout.check(pdu.len())?;
        match self {
            Protection::Ntlm(s) => {
                if sig.len() != SIGNATURE_LEN {
                    return Err(AuthError::Malformed("ntlm verifier length"));
                }
                sig.copy_from_slice(&s.seal(pdu, layout.data.clone(), layout.sign_len));
                Ok(())
            }
            Protection::Gss(g) => {
                let (pre, mid, post) = layout.gss_parts(pdu);
                g.wrap(pre, mid, post, sig)
            }
        }
    }

    /// Signs a PDU (integrity only) and writes the verifier into `sig`.
    pub fn sign(&mut self, pdu: &[u8], layout: &Layout, sig: &mut [u8]) -> Result<(), AuthError> {
        layout.check(pdu.len())?;
        let token = match self {
            Protection::Ntlm(s) => s.sign(&pdu[..layout.sign_len]).to_vec(),
            Protection::Gss(g) if layout.header_sign => g.get_mic(&pdu[..layout.sign_len])?,
            Protection::Gss(g) => g.get_mic(&pdu[layout.data.clone()])?,
        };
        if token.len() != sig.len() {
            return Err(AuthError::Malformed("verifier length changed"));
        }
        sig.copy_from_slice(&token);
        Ok(())
    }

    /// Checks the verifier `sig` of a sealed PDU and decrypts `pdu[layout.data]` in place.
    pub fn unseal(&mut self, pdu: &mut [u8], layout: &Layout, sig: &[u8]) -> Result<(), AuthError> {
        layout.check(pdu.len())?;
        match self {
            Protection::Ntlm(s) => s.unseal(pdu, layout.data.clone(), layout.sign_len, sig),
            Protection::Gss(g) => {
                let (pre, mid, post) = layout.gss_parts(pdu);
                g.unwrap(pre, mid, post, sig)
            }
        }
    }

    /// Checks the verifier `sig` of a signed (integrity only) PDU.
    pub fn verify(&mut self, pdu: &[u8], layout: &Layout, sig: &[u8]) -> Result<(), AuthError> {
        layout.check(pdu.len())?;
        match self {
            Protection::Ntlm(s) => s.verify(&pdu[..layout.sign_len], sig),
            Protection::Gss(g) if layout.header_sign => g.verify_mic(&pdu[..layout.sign_len], sig),
            Protection::Gss(g) => g.verify_mic(&pdu[layout.data.clone()], sig),
        }
    }
}
