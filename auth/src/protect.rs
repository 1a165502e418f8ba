//! Per-PDU integrity and confidentiality for DCE/RPC (MS-RPCE 2.2.2.11-2.2.2.12, 3.3.1.5.2),
//! whatever mechanism established the context: [`Protection`] borrows the NTLM session or the
//! Kerberos GSS context of a finished acceptor and signs, seals, verifies and unseals one PDU.
//!
//! The PDU is passed whole, as the caller built or received it: `pdu[..sign_len]` is
//! everything before the verifier (headers, stub, padding, sec_trailer) and `data` is the
//! range of stub and padding. What is covered differs per mechanism:
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

fn check(pdu_len: usize, data: &Range<usize>, sign_len: usize) -> Result<(), AuthError> {
    if data.start > data.end || data.end > sign_len || sign_len > pdu_len {
        return Err(AuthError::Malformed("protected region out of bounds"));
    }
    Ok(())
}

/// What a Kerberos wrap token covers, as (pre, data, post): `pdu[..sign_len]` split around
/// `data` when header signing was negotiated, else `data` alone between empty parts.
fn gss_parts(pdu: &mut [u8], data: Range<usize>, sign_len: usize, header_sign: bool) -> (&[u8], &mut [u8], &[u8]) {
    let (head, _) = pdu.split_at_mut(sign_len);
    let (pre, rest) = head.split_at_mut(data.start);
    let (mid, post) = rest.split_at_mut(data.end - data.start);
    if header_sign {
        (pre, mid, post)
    } else {
        (&[], mid, &[])
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

    /// Seals `pdu[data]` in place and writes the verifier into `sig`, whose length is
    /// [`sig_len`](Protection::sig_len)`(true, data.len())`.
    pub fn seal(
        &mut self,
        pdu: &mut [u8],
        data: Range<usize>,
        sign_len: usize,
        header_sign: bool,
        sig: &mut [u8],
    ) -> Result<(), AuthError> {
        check(pdu.len(), &data, sign_len)?;
        match self {
            Protection::Ntlm(s) => {
                if sig.len() != SIGNATURE_LEN {
                    return Err(AuthError::Malformed("ntlm verifier length"));
                }
                sig.copy_from_slice(&s.seal(pdu, data, sign_len));
                Ok(())
            }
            Protection::Gss(g) => {
                let (pre, mid, post) = gss_parts(pdu, data, sign_len, header_sign);
                g.wrap(pre, mid, post, sig)
            }
        }
    }

    /// Signs a PDU (integrity only) and writes the verifier into `sig`.
    pub fn sign(
        &mut self,
        pdu: &[u8],
        data: Range<usize>,
        sign_len: usize,
        header_sign: bool,
        sig: &mut [u8],
    ) -> Result<(), AuthError> {
        check(pdu.len(), &data, sign_len)?;
        let token = match self {
            Protection::Ntlm(s) => s.sign(&pdu[..sign_len]).to_vec(),
            Protection::Gss(g) if header_sign => g.get_mic(&pdu[..sign_len])?,
            Protection::Gss(g) => g.get_mic(&pdu[data])?,
        };
        if token.len() != sig.len() {
            return Err(AuthError::Malformed("verifier length changed"));
        }
        sig.copy_from_slice(&token);
        Ok(())
    }

    /// Checks the verifier `sig` of a sealed PDU and decrypts `pdu[data]` in place.
    pub fn unseal(
        &mut self,
        pdu: &mut [u8],
        data: Range<usize>,
        sign_len: usize,
        header_sign: bool,
        sig: &[u8],
    ) -> Result<(), AuthError> {
        check(pdu.len(), &data, sign_len)?;
        match self {
            Protection::Ntlm(s) => s.unseal(pdu, data, sign_len, sig),
            Protection::Gss(g) => {
                let (pre, mid, post) = gss_parts(pdu, data, sign_len, header_sign);
                g.unwrap(pre, mid, post, sig)
            }
        }
    }

    /// Checks the verifier `sig` of a signed (integrity only) PDU.
    pub fn verify(
        &mut self,
        pdu: &[u8],
        data: Range<usize>,
        sign_len: usize,
        header_sign: bool,
        sig: &[u8],
    ) -> Result<(), AuthError> {
        check(pdu.len(), &data, sign_len)?;
        match self {
            Protection::Ntlm(s) => s.verify(&pdu[..sign_len], sig),
            Protection::Gss(g) if header_sign => g.verify_mic(&pdu[..sign_len], sig),
            Protection::Gss(g) => g.verify_mic(&pdu[data], sig),
        }
    }
}
