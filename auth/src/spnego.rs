//! SPNEGO (RFC 4178 with the Microsoft extensions of MS-SPNG):
//! [`SpnegoAcceptor`] for the server, choosing between Kerberos (OIDs
//! 1.2.840.113554.1.2.2 and Microsoft's 1.2.840.48018.1.2.2, through an
//! injected [`GssContext`]) and NTLMSSP (OID 1.3.6.1.4.1.311.2.2.10), and
//! [`SpnegoInitiator`] for the client, which offers NTLMSSP only.
//!
//! Acceptor rules:
//! - The first token is a NegTokenInit, normally inside the GSS-API
//!   `[APPLICATION 0]` wrapper with OID 1.3.6.1.5.5.2 (a bare `[0]`
//!   NegTokenInit is accepted too).
//! - The selected mechanism is the first one of the client's mechTypes we
//!   support (Kerberos only when a Kerberos context was given). The answer's
//!   supportedMech is that OID as the client spelled it.
//! - Selected and first in mechTypes with a mechToken: that token is the
//!   mechanism's first (NTLM NEGOTIATE, Kerberos AP-REQ); answer
//!   accept-incomplete + supportedMech + the mechanism's reply (CHALLENGE,
//!   DCE-style AP-REP).
//! - Selected but not first (or no mechToken): any optimistic token is
//!   ignored; answer accept-incomplete + supportedMech, and the next
//!   NegTokenResp carries the mechanism's first token.
//! - Kerberos first with an AP-REQ that cannot be accepted (no key in the
//!   keytab, bad ticket, skew): when the client also listed NTLMSSP, NTLMSSP is
//!   selected instead (accept-incomplete + supportedMech NTLMSSP, no token; the
//!   mechListMIC becomes mandatory) and the reason is kept for the logs
//!   ([`SpnegoAcceptor::kerberos_fallback`]); otherwise the error is final.
//! - No supported mechanism: [`AuthError::NoCommonMech`], with a reject token
//!   available from [`SpnegoAcceptor::take_error_token`].
//! - Kerberos mechListMIC: GSS_GetMIC/GSS_VerifyMIC of the Kerberos context over
//!   the mechTypes as the client sent them, checked when the context completes;
//!   mandatory when Kerberos was not the client's first choice, otherwise
//!   verified and answered when the client sends one.
//! - NTLM mechListMIC: computed with NTLM over the DER mechTypes SEQUENCE exactly
//!   as the client sent it. RFC 4178 section 5 makes the exchange mandatory
//!   when the selected mechanism was not the initiator's first choice; as
//!   Windows and Samba do, it is also mandatory when the NTLM AUTHENTICATE
//!   carried a MIC (MsvAvFlags 0x2). When the client sends one we verify it
//!   and answer with ours (a missing required MIC is
//!   [`AuthError::MissingMechListMic`]). Both MICs follow MS-SPNG 3.3.5.1: they consume
//!   sequence number 0 of their direction but leave the RC4 state untouched,
//!   so the first application message uses sequence number 1 in both
//!   directions with a fresh keystream.
//!
//! Invariants: one context authenticates at most once; after any error the
//! state machine refuses further tokens with [`AuthError::UnexpectedMessage`].

use crate::der::{tag, tlv, write_tlv, Reader, Tlv};
use crate::gss::{is_krb5_oid, GssContext};
use crate::ntlm::{NtlmAcceptor, NtlmInitiator, NtlmSession, NtlmStep};
use crate::{AuthError, AuthenticatedUser, Protection, Step};

/// Contents octets of the SPNEGO OID 1.3.6.1.5.5.2.
pub const SPNEGO_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// Contents octets of the NTLMSSP OID 1.3.6.1.4.1.311.2.2.10.
pub const NTLMSSP_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

/// negState accept-completed.
pub const ACCEPT_COMPLETED: u8 = 0;
/// negState accept-incomplete.
pub const ACCEPT_INCOMPLETE: u8 = 1;
/// negState reject.
pub const REJECT: u8 = 2;
/// negState request-mic.
pub const REQUEST_MIC: u8 = 3;

/// A decoded NegTokenInit (only the fields we use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegTokenInit<'a> {
    /// The mechTypes SEQUENCE exactly as received (input of the mechListMIC).
    pub mech_types_raw: &'a [u8],
    /// Contents octets of each mechanism OID, in preference order.
    pub mech_types: Vec<&'a [u8]>,
    /// The optimistic mechanism token.
    pub mech_token: Option<&'a [u8]>,
}

/// A decoded NegTokenResp.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegTokenResp<'a> {
    /// negState.
    pub neg_state: Option<u8>,
    /// supportedMech (OID contents octets).
    pub supported_mech: Option<&'a [u8]>,
    /// responseToken.
    pub response_token: Option<&'a [u8]>,
    /// mechListMIC.
    pub mech_list_mic: Option<&'a [u8]>,
}

fn optional_explicit<'a>(r: &mut Reader<'a>, n: u8) -> Result<Option<Tlv<'a>>, AuthError> {
    if r.peek_tag() == Some(tag::context(n)) {
        r.read_explicit(n).map(Some)
    } else {
        Ok(None)
    }
}

fn octets<'a>(t: Option<Tlv<'a>>) -> Result<Option<&'a [u8]>, AuthError> {
    match t {
        None => Ok(None),
        Some(t) if t.tag == tag::OCTET_STRING => Ok(Some(t.value)),
        Some(_) => Err(AuthError::Malformed("spnego: expected octet string")),
    }
}

/// A reader over the fields of a NegotiationToken choice, `[n] SEQUENCE { ... }`, read from
/// `parent` (NegTokenInit and NegTokenResp alike).
fn choice_fields<'a>(parent: &Reader<'a>, choice: &Tlv<'a>) -> Result<Reader<'a>, AuthError> {
    let mut c = parent.enter(choice)?;
    let seq = c.read_tag(tag::SEQUENCE)?;
    c.enter(&seq)
}

/// Parses the first token of a context: `[APPLICATION 0] { OID, [0]
/// NegTokenInit }` or a bare `[0] NegTokenInit`. A NegTokenResp here gives
/// [`AuthError::UnexpectedMessage`].
pub fn parse_init_token(token: &[u8]) -> Result<NegTokenInit<'_>, AuthError> {
    let mut top = Reader::new(token);
    let first = top.read()?;
    let (choice, parent) = if first.tag == tag::APPLICATION_0 {
        let mut inner = top.enter(&first)?;
        let oid = inner.read_tag(tag::OID)?;
        if oid.value != SPNEGO_OID {
            return Err(AuthError::Malformed("spnego: not a spnego token"));
        }
        (inner.read()?, inner)
    } else {
        (first, top)
    };
    if choice.tag == tag::context(1) {
        return Err(AuthError::UnexpectedMessage);
    }
    if choice.tag != tag::context(0) {
        return Err(AuthError::Malformed("spnego: expected negtokeninit"));
    }
    let mut s = choice_fields(&parent, &choice)?;
    let mech_list = s.read_explicit(0)?;
    if mech_list.tag != tag::SEQUENCE {
        return Err(AuthError::Malformed("spnego: mechtypes is not a sequence"));
    }
    let mut m = s.enter(&mech_list)?;
    let mut mech_types = Vec::new();
    while !m.is_empty() {
        mech_types.push(m.read_tag(tag::OID)?.value);
    }
    if mech_types.is_empty() {
        return Err(AuthError::Malformed("spnego: empty mechtypes"));
    }
    let _req_flags = optional_explicit(&mut s, 1)?;
    let mech_token = octets(optional_explicit(&mut s, 2)?)?;
    // [3] mechListMIC (or NegTokenInit2 negHints) and extensions: ignored.
    Ok(NegTokenInit { mech_types_raw: mech_list.raw, mech_types, mech_token })
}

/// Parses a `[1] NegTokenResp`. A NegTokenInit here gives
/// [`AuthError::UnexpectedMessage`].
pub fn parse_resp_token(token: &[u8]) -> Result<NegTokenResp<'_>, AuthError> {
    let mut top = Reader::new(token);
    let choice = top.read()?;
    if choice.tag == tag::context(0) || choice.tag == tag::APPLICATION_0 {
        return Err(AuthError::UnexpectedMessage);
    }
    if choice.tag != tag::context(1) {
        return Err(AuthError::Malformed("spnego: expected negtokenresp"));
    }
    let mut s = choice_fields(&top, &choice)?;
    let neg_state = match optional_explicit(&mut s, 0)? {
        None => None,
        Some(t) if t.tag == tag::ENUMERATED && t.value.len() == 1 => Some(t.value[0]),
        Some(_) => return Err(AuthError::Malformed("spnego: bad negstate")),
    };
    let supported_mech = match optional_explicit(&mut s, 1)? {
        None => None,
        Some(t) if t.tag == tag::OID => Some(t.value),
        Some(_) => return Err(AuthError::Malformed("spnego: bad supportedmech")),
    };
    let response_token = octets(optional_explicit(&mut s, 2)?)?;
    let mech_list_mic = octets(optional_explicit(&mut s, 3)?)?;
    Ok(NegTokenResp { neg_state, supported_mech, response_token, mech_list_mic })
}

/// Encodes a `[1] NegTokenResp`.
pub fn encode_resp(resp: &NegTokenResp<'_>) -> Vec<u8> {
    let mut seq = Vec::new();
    if let Some(st) = resp.neg_state {
        write_tlv(&mut seq, tag::context(0), &tlv(tag::ENUMERATED, &[st]));
    }
    if let Some(m) = resp.supported_mech {
        write_tlv(&mut seq, tag::context(1), &tlv(tag::OID, m));
    }
    if let Some(t) = resp.response_token {
        write_tlv(&mut seq, tag::context(2), &tlv(tag::OCTET_STRING, t));
    }
    if let Some(m) = resp.mech_list_mic {
        write_tlv(&mut seq, tag::context(3), &tlv(tag::OCTET_STRING, m));
    }
    tlv(tag::context(1), &tlv(tag::SEQUENCE, &seq))
}

/// Encodes the DER mechTypes SEQUENCE for a list of OIDs (contents octets).
pub fn encode_mech_types(oids: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for o in oids {
        write_tlv(&mut body, tag::OID, o);
    }
    tlv(tag::SEQUENCE, &body)
}

/// Encodes an initial token: `[APPLICATION 0] { SPNEGO OID, [0] NegTokenInit
/// { [0] mechTypes, [2] mechToken } }`. `mech_types` is a DER SEQUENCE as
/// built by [`encode_mech_types`].
pub fn encode_init(mech_types: &[u8], mech_token: Option<&[u8]>) -> Vec<u8> {
    let mut seq = Vec::new();
    write_tlv(&mut seq, tag::context(0), mech_types);
    if let Some(t) = mech_token {
        write_tlv(&mut seq, tag::context(2), &tlv(tag::OCTET_STRING, t));
    }
    let mut inner = tlv(tag::OID, SPNEGO_OID);
    write_tlv(&mut inner, tag::context(0), &tlv(tag::SEQUENCE, &seq));
    tlv(tag::APPLICATION_0, &inner)
}

fn reject_token() -> Vec<u8> {
    encode_resp(&NegTokenResp { neg_state: Some(REJECT), ..Default::default() })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AccState {
    Initial,
    /// NTLM selected, its NEGOTIATE still to come.
    AwaitNegotiate,
    AwaitAuthenticate,
    /// Kerberos selected, the AP-REQ still to come (it was not the client's first choice).
    AwaitApReq,
    /// Kerberos in progress: the AP-REP went out, the client's DCE-style AP-REP is next.
    AwaitKrb,
    Done,
    Failed,
}

/// Which mechanism the acceptor selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mech {
    Ntlm,
    Krb,
}

/// SPNEGO acceptor (server): Kerberos (when a GSS context is given) or NTLMSSP.
pub struct SpnegoAcceptor {
    ntlm: NtlmAcceptor,
    krb: Option<Box<dyn GssContext>>,
    state: AccState,
    mech: Mech,
    /// The supportedMech we answered with (the client's spelling of the OID).
    mech_oid: Vec<u8>,
    mech_types: Vec<u8>,
    /// Whether the selected mechanism was the client's first choice.
    preferred: bool,
    /// Why Kerberos was not used although it was offered, for logs.
    krb_fallback: Option<AuthError>,
    error_token: Option<Vec<u8>>,
}

impl std::fmt::Debug for SpnegoAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpnegoAcceptor")
            .field("state", &self.state)
            .field("mech", &self.mech)
            .field("ntlm", &self.ntlm)
            .field("kerberos", &self.krb.is_some())
            .finish_non_exhaustive()
    }
}

impl SpnegoAcceptor {
    /// Wraps a fresh NTLM acceptor; NTLMSSP is the only mechanism.
    pub fn new(ntlm: NtlmAcceptor) -> Self {
        Self::with_kerberos(ntlm, None)
    }

    /// Wraps a fresh NTLM acceptor and, when given, a fresh Kerberos context: Kerberos is
    /// then selected whenever the client lists it before NTLMSSP.
    pub fn with_kerberos(ntlm: NtlmAcceptor, krb: Option<Box<dyn GssContext>>) -> Self {
        SpnegoAcceptor {
            ntlm,
            krb,
            state: AccState::Initial,
            mech: Mech::Ntlm,
            mech_oid: Vec::new(),
            mech_types: Vec::new(),
            preferred: false,
            krb_fallback: None,
            error_token: None,
        }
    }

    /// Consumes one client token.
    pub fn step(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let state = std::mem::replace(&mut self.state, AccState::Failed);
        let result = match state {
            AccState::Initial => self.on_init(token),
            AccState::AwaitNegotiate => self.on_negotiate(token),
            AccState::AwaitAuthenticate => self.on_authenticate(token),
            AccState::AwaitApReq | AccState::AwaitKrb => self.on_krb(token),
            AccState::Done | AccState::Failed => return Err(AuthError::UnexpectedMessage),
        };
        if result.is_err() {
            self.state = AccState::Failed;
            self.error_token = Some(reject_token());
        }
        result
    }

    /// True once authentication (including the mechListMIC) succeeded.
    pub fn is_done(&self) -> bool {
        self.state == AccState::Done
    }

    /// True when Kerberos authenticated the client.
    pub fn is_kerberos(&self) -> bool {
        self.mech == Mech::Krb
    }

    /// When the client offered Kerberos first and it failed, so that NTLM was selected
    /// instead: why (no key for the ticket, clock skew, ...).
    pub fn kerberos_fallback(&self) -> Option<&AuthError> {
        self.krb_fallback.as_ref()
    }

    /// The authenticated identity, once done.
    pub fn authenticated_user(&self) -> Option<AuthenticatedUser> {
        if !self.is_done() {
            return None;
        }
        match self.mech {
            Mech::Ntlm => self.ntlm.authenticated_user().cloned(),
            Mech::Krb => self.krb.as_ref().and_then(|k| k.identity()),
        }
    }

    /// The NTLM session, once done with NTLM.
    pub fn session_mut(&mut self) -> Option<&mut NtlmSession> {
        if self.is_done() && self.mech == Mech::Ntlm {
            self.ntlm.session_mut()
        } else {
            None
        }
    }

    /// Takes the NTLM session, once done with NTLM.
    pub fn take_session(&mut self) -> Option<NtlmSession> {
        if self.is_done() && self.mech == Mech::Ntlm {
            self.ntlm.take_session()
        } else {
            None
        }
    }

    /// The message protection of the selected mechanism, once done.
    pub fn protection(&mut self) -> Option<Protection<'_>> {
        if !self.is_done() {
            return None;
        }
        match self.mech {
            Mech::Ntlm => self.ntlm.session_mut().map(Protection::Ntlm),
            Mech::Krb => self.krb.as_mut().map(|k| Protection::Gss(k.as_mut())),
        }
    }

    /// The inner NTLM acceptor (flags, MIC presence, ...).
    pub fn ntlm(&self) -> &NtlmAcceptor {
        &self.ntlm
    }

    /// After an error: a NegTokenResp{reject} the caller may send to the peer.
    pub fn take_error_token(&mut self) -> Option<Vec<u8>> {
        self.error_token.take()
    }

    fn ntlm_challenge(&mut self, negotiate: &[u8]) -> Result<Vec<u8>, AuthError> {
        match self.ntlm.step(negotiate)? {
            NtlmStep::Continue(challenge) => Ok(challenge),
            NtlmStep::Done => Err(AuthError::UnexpectedMessage),
        }
    }

    fn on_init(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let init = parse_init_token(token)?;
        self.mech_types = init.mech_types_raw.to_vec();
        let krb_ok = self.krb.is_some();
        // the first mechanism of the client's list that we support
        let chosen = init.mech_types.iter().position(|m| *m == NTLMSSP_OID || (krb_ok && is_krb5_oid(m)));
        let Some(pos) = chosen else {
            return Err(AuthError::NoCommonMech);
        };
        let oid = init.mech_types[pos];
        self.preferred = pos == 0;
        if is_krb5_oid(oid) {
            self.mech = Mech::Krb;
            self.mech_oid = oid.to_vec();
            match init.mech_token {
                Some(ap_req) if self.preferred => match self.krb_leg(ap_req, None, true) {
                    Ok(step) => Ok(step),
                    Err(e) => self.fall_back_to_ntlm(&init.mech_types, e),
                },
                _ => {
                    self.state = AccState::AwaitApReq;
                    Ok(Step::Continue(encode_resp(&NegTokenResp {
                        neg_state: Some(ACCEPT_INCOMPLETE),
                        supported_mech: Some(oid),
                        ..Default::default()
                    })))
                }
            }
        } else {
            self.mech = Mech::Ntlm;
            self.mech_oid = NTLMSSP_OID.to_vec();
            let challenge = match init.mech_token {
                Some(neg) if self.preferred => Some(self.ntlm_challenge(neg)?),
                _ => None,
            };
            self.state = if challenge.is_some() { AccState::AwaitAuthenticate } else { AccState::AwaitNegotiate };
            Ok(Step::Continue(encode_resp(&NegTokenResp {
                neg_state: Some(ACCEPT_INCOMPLETE),
                supported_mech: Some(NTLMSSP_OID),
                response_token: challenge.as_deref(),
                mech_list_mic: None,
            })))
        }
    }

    /// The client's optimistic Kerberos token failed: select NTLMSSP when the client listed
    /// it (the mechListMIC then becomes mandatory), else fail with the Kerberos error.
    fn fall_back_to_ntlm(&mut self, mech_types: &[&[u8]], e: AuthError) -> Result<Step, AuthError> {
        if !mech_types.contains(&NTLMSSP_OID) {
            return Err(e);
        }
        self.krb_fallback = Some(e);
        self.krb = None;
        self.mech = Mech::Ntlm;
        self.mech_oid = NTLMSSP_OID.to_vec();
        self.preferred = false;
        self.state = AccState::AwaitNegotiate;
        Ok(Step::Continue(encode_resp(&NegTokenResp {
            neg_state: Some(ACCEPT_INCOMPLETE),
            supported_mech: Some(NTLMSSP_OID),
            ..Default::default()
        })))
    }

    /// One Kerberos leg: in the first answer (`first`) the answer names the mechanism; the
    /// client's mechListMIC, if any, is checked once the context is complete.
    fn krb_leg(&mut self, token: &[u8], client_mic: Option<&[u8]>, first: bool) -> Result<Step, AuthError> {
        let krb = self.krb.as_mut().ok_or(AuthError::UnexpectedMessage)?;
        let supported = if first { Some(self.mech_oid.as_slice()) } else { None };
        match krb.step(token)? {
            Step::Continue(reply) => {
                self.state = AccState::AwaitKrb;
                Ok(Step::Continue(encode_resp(&NegTokenResp {
                    neg_state: Some(ACCEPT_INCOMPLETE),
                    supported_mech: supported,
                    response_token: Some(&reply),
                    mech_list_mic: None,
                })))
            }
            Step::Done(reply) => {
                let our_mic = match client_mic {
                    Some(mic) => {
                        krb.verify_mic(&self.mech_types, mic).map_err(|_| AuthError::BadMic)?;
                        Some(krb.get_mic(&self.mech_types)?)
                    }
                    None if !self.preferred => return Err(AuthError::MissingMechListMic),
                    None => None,
                };
                self.state = AccState::Done;
                Ok(Step::Done(Some(encode_resp(&NegTokenResp {
                    neg_state: Some(ACCEPT_COMPLETED),
                    supported_mech: supported,
                    response_token: reply.as_deref(),
                    mech_list_mic: our_mic.as_deref(),
                }))))
            }
        }
    }

    fn on_krb(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let (resp, inner) = Self::client_resp(token)?;
        self.krb_leg(inner, resp.mech_list_mic, false)
    }

    fn client_resp<'a>(token: &'a [u8]) -> Result<(NegTokenResp<'a>, &'a [u8]), AuthError> {
        let resp = parse_resp_token(token)?;
        if resp.neg_state == Some(REJECT) {
            return Err(AuthError::Rejected);
        }
        let inner = resp.response_token.ok_or(AuthError::Malformed("spnego: missing responsetoken"))?;
        Ok((resp, inner))
    }

    fn on_negotiate(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let (_, negotiate) = Self::client_resp(token)?;
        let challenge = self.ntlm_challenge(negotiate)?;
        self.state = AccState::AwaitAuthenticate;
        Ok(Step::Continue(encode_resp(&NegTokenResp {
            neg_state: Some(ACCEPT_INCOMPLETE),
            response_token: Some(&challenge),
            ..Default::default()
        })))
    }

    fn on_authenticate(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let (resp, authenticate) = Self::client_resp(token)?;
        match self.ntlm.step(authenticate)? {
            NtlmStep::Done => {}
            NtlmStep::Continue(_) => return Err(AuthError::UnexpectedMessage),
        }
        let required = !self.preferred || self.ntlm.mic_present();
        let our_mic = match (resp.mech_list_mic, self.ntlm.session_mut()) {
            (Some(mic), Some(session)) => {
                session.verify_mech_list_mic(&self.mech_types, mic).map_err(|_| AuthError::BadMic)?;
                Some(session.sign_mech_list_mic(&self.mech_types))
            }
            (Some(_), None) => return Err(AuthError::Unsupported("mechlistmic without ntlm session security")),
            (None, _) if required => return Err(AuthError::MissingMechListMic),
            (None, _) => None,
        };
        self.state = AccState::Done;
        Ok(Step::Done(Some(encode_resp(&NegTokenResp {
            neg_state: Some(ACCEPT_COMPLETED),
            mech_list_mic: our_mic.as_ref().map(|m| &m[..]),
            ..Default::default()
        }))))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InitState {
    Initial,
    AwaitChallenge,
    AwaitCompletion,
    Done,
    Failed,
}

/// SPNEGO initiator (client) wrapping an [`NtlmInitiator`]; offers only
/// NTLMSSP.
#[derive(Debug)]
pub struct SpnegoInitiator {
    ntlm: NtlmInitiator,
    state: InitState,
    mech_types: Vec<u8>,
    sent_mic: bool,
}

impl SpnegoInitiator {
    /// Wraps a fresh NTLM initiator.
    pub fn new(ntlm: NtlmInitiator) -> Self {
        SpnegoInitiator {
            ntlm,
            state: InitState::Initial,
            mech_types: encode_mech_types(&[NTLMSSP_OID]),
            sent_mic: false,
        }
    }

    /// The initial NegTokenInit carrying the NTLM NEGOTIATE.
    pub fn first(&mut self) -> Vec<u8> {
        let negotiate = self.ntlm.negotiate();
        if self.state == InitState::Initial {
            self.state = InitState::AwaitChallenge;
        }
        encode_init(&self.mech_types, Some(&negotiate))
    }

    /// Consumes one server token.
    pub fn step(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let state = std::mem::replace(&mut self.state, InitState::Failed);
        let result = match state {
            InitState::AwaitChallenge => self.on_challenge(token),
            InitState::AwaitCompletion => self.on_completion(token),
            InitState::Initial | InitState::Done | InitState::Failed => return Err(AuthError::UnexpectedMessage),
        };
        if result.is_err() {
            self.state = InitState::Failed;
        }
        result
    }

    /// True once the server's accept-completed was verified.
    pub fn is_done(&self) -> bool {
        self.state == InitState::Done
    }

    /// The NTLM session, once done.
    pub fn session_mut(&mut self) -> Option<&mut NtlmSession> {
        if self.is_done() {
            self.ntlm.session_mut()
        } else {
            None
        }
    }

    /// Takes the NTLM session, once done.
    pub fn take_session(&mut self) -> Option<NtlmSession> {
        if self.is_done() {
            self.ntlm.take_session()
        } else {
            None
        }
    }

    fn on_challenge(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let resp = parse_resp_token(token)?;
        if resp.neg_state == Some(REJECT) {
            return Err(AuthError::Rejected);
        }
        if resp.supported_mech.is_some_and(|m| m != NTLMSSP_OID) {
            return Err(AuthError::NoCommonMech);
        }
        let challenge = resp.response_token.ok_or(AuthError::Malformed("spnego: missing responsetoken"))?;
        let authenticate = self.ntlm.step(challenge)?;
        let mic = if self.ntlm.mic_sent() {
            let session = self.ntlm.session_mut().ok_or(AuthError::UnexpectedMessage)?;
            self.sent_mic = true;
            Some(session.sign_mech_list_mic(&self.mech_types))
        } else {
            None
        };
        self.state = InitState::AwaitCompletion;
        Ok(Step::Continue(encode_resp(&NegTokenResp {
            response_token: Some(&authenticate),
            mech_list_mic: mic.as_ref().map(|m| &m[..]),
            ..Default::default()
        })))
    }

    fn on_completion(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let resp = parse_resp_token(token)?;
        match resp.neg_state {
            Some(ACCEPT_COMPLETED) => {}
            Some(REJECT) => return Err(AuthError::Rejected),
            _ => return Err(AuthError::Malformed("spnego: expected accept-completed")),
        }
        match (resp.mech_list_mic, self.ntlm.session_mut()) {
            (Some(mic), Some(session)) => {
                session.verify_mech_list_mic(&self.mech_types, mic).map_err(|_| AuthError::BadMic)?;
            }
            (Some(_), None) => return Err(AuthError::Unsupported("mechlistmic without ntlm session security")),
            (None, _) if self.sent_mic => return Err(AuthError::MissingMechListMic),
            (None, _) => {}
        }
        self.state = InitState::Done;
        Ok(Step::Done(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_token_round_trip() {
        let mt = encode_mech_types(&[NTLMSSP_OID]);
        let tok = encode_init(&mt, Some(b"NTLMSSP\0xyz"));
        let p = parse_init_token(&tok).unwrap();
        assert_eq!(p.mech_types, vec![NTLMSSP_OID]);
        assert_eq!(p.mech_types_raw, &mt[..]);
        assert_eq!(p.mech_token, Some(&b"NTLMSSP\0xyz"[..]));
        // Bare NegTokenInit (without the GSS wrapper) is accepted.
        let mut r = Reader::new(&tok);
        let app = r.read().unwrap();
        let mut inner = r.enter(&app).unwrap();
        inner.read().unwrap();
        let bare = inner.read().unwrap().raw;
        assert_eq!(parse_init_token(bare).unwrap(), p);
        // A NegTokenResp where an init is expected and vice versa.
        let resp = encode_resp(&NegTokenResp { neg_state: Some(1), ..Default::default() });
        assert_eq!(parse_init_token(&resp), Err(AuthError::UnexpectedMessage));
        assert_eq!(parse_resp_token(&tok), Err(AuthError::UnexpectedMessage));
    }

    #[test]
    fn resp_round_trip() {
        let r = NegTokenResp {
            neg_state: Some(ACCEPT_INCOMPLETE),
            supported_mech: Some(NTLMSSP_OID),
            response_token: Some(&[1, 2, 3]),
            mech_list_mic: Some(&[4; 16]),
        };
        assert_eq!(parse_resp_token(&encode_resp(&r)).unwrap(), r);
        let empty = NegTokenResp::default();
        assert_eq!(parse_resp_token(&encode_resp(&empty)).unwrap(), empty);
    }

    /// A NegTokenInit as Windows sends it when Kerberos is preferred:
    /// mechTypes {MS-KRB5, KRB5, NEGOEX, NTLMSSP}, reqFlags, mechToken.
    #[test]
    fn parses_multi_mech_init_with_req_flags() {
        let ms_krb5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
        let krb5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
        let negoex: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e];
        let mt = encode_mech_types(&[ms_krb5, krb5, negoex, NTLMSSP_OID]);
        let mut seq = Vec::new();
        write_tlv(&mut seq, tag::context(0), &mt);
        write_tlv(&mut seq, tag::context(1), &tlv(tag::BIT_STRING, &[0x01, 0x02]));
        write_tlv(&mut seq, tag::context(2), &tlv(tag::OCTET_STRING, b"kerberos-ap-req"));
        let mut inner = tlv(tag::OID, SPNEGO_OID);
        write_tlv(&mut inner, tag::context(0), &tlv(tag::SEQUENCE, &seq));
        let tok = tlv(tag::APPLICATION_0, &inner);
        let p = parse_init_token(&tok).unwrap();
        assert_eq!(p.mech_types.len(), 4);
        assert_eq!(p.mech_types[3], NTLMSSP_OID);
        assert_eq!(p.mech_token, Some(&b"kerberos-ap-req"[..]));
    }

    #[test]
    fn malformed_tokens_do_not_panic() {
        let mt = encode_mech_types(&[NTLMSSP_OID]);
        let tok = encode_init(&mt, Some(b"NTLMSSP\0xyz"));
        let resp = encode_resp(&NegTokenResp {
            neg_state: Some(ACCEPT_INCOMPLETE),
            supported_mech: Some(NTLMSSP_OID),
            response_token: Some(&[1, 2, 3]),
            mech_list_mic: Some(&[4; 16]),
        });
        for t in [&tok, &resp] {
            for len in 0..t.len() {
                let _ = parse_init_token(&t[..len]);
                let _ = parse_resp_token(&t[..len]);
            }
            for i in 0..t.len() {
                for v in [0x00u8, 0x7f, 0x80, 0x84, 0xff] {
                    let mut m = t.clone();
                    m[i] = v;
                    let _ = parse_init_token(&m);
                    let _ = parse_resp_token(&m);
                }
            }
        }
        assert!(parse_init_token(&[0x60, 0x00]).is_err());
        assert!(parse_init_token(&tlv(tag::APPLICATION_0, &tlv(tag::OID, &[0x2a]))).is_err());
    }
}
