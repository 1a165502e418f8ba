//! Protocol strictness of a server connection: every place where a PDU's header fields and
//! its body, or a PDU and the connection's state, can disagree is checked here before the
//! connection acts on the PDU ([C706] 12.6, [MS-RPCE] 2.2.2.11 and 3.3.1.5). Each check
//! returns a [`Refusal`]: the status the peer is answered with (fault status, or bind_nak
//! reason for binds) and why the connection closes.
//!
//! Checked: the auth trailer's alignment and auth_pad_length against the body of bind,
//! alter_context, auth3 and request; frag_length against the negotiated receive size; an auth
//! trailer on a connection that has no security context, or naming another one; alloc_hint
//! against the request size limit; call ids of calls still executing; the context id and
//! opnum of every later fragment against the call's first fragment.

use super::{CloseReason, ServerConnection};
use crate::pdu::{self, fault, nak, pfc, AuthParts, Header, RequestHdr};

/// Why a PDU is refused: what the peer is told and why the connection ends.
#[derive(Debug)]
pub(super) struct Refusal {
    /// Fault status (requests, alter_context) or bind_nak reason (bind).
    pub status: u32,
    pub reason: CloseReason,
}

fn refuse(status: u32, reason: CloseReason) -> Refusal {
    Refusal { status, reason }
}

fn proto(what: impl Into<String>) -> Refusal {
    refuse(fault::NCA_S_PROTO_ERROR, CloseReason::Protocol(what.into()))
}

impl ServerConnection {
    /// bind / alter_context: the auth trailer sits after the context list, 4-byte aligned,
    /// with its padding inside the room between them. The status is a bind_nak reason.
    pub(super) fn check_bind_pdu(&self, auth: Option<&AuthParts>, bind: &pdu::Bind) -> Result<(), Refusal> {
        let Some(a) = auth else { return Ok(()) };
        pdu::check_auth_placement(a, pdu::HEADER_LEN + bind.wire_len())
            .map_err(|e| refuse(u32::from(nak::REASON_NOT_SPECIFIED), CloseReason::BindRefused(bind_refusal(&e))))
    }

    /// auth3: the trailer follows the 4 octets of the auth3 body.
    pub(super) fn check_auth3_pdu(&self, a: &AuthParts) -> Result<(), CloseReason> {
        pdu::check_auth_placement(a, pdu::HEADER_LEN + 4).map_err(|e| CloseReason::Protocol(format!("auth3: {e}")))
    }

    /// After the bind, no fragment may exceed the receive size the bind_ack announced.
    pub(super) fn check_fragment_size(&self, h: &Header) -> Result<(), Refusal> {
        if self.bound && h.frag_length > self.max_xmit {
            return Err(proto(format!("fragment of {} bytes, {} negotiated", h.frag_length, self.max_xmit)));
        }
        Ok(())
    }

    /// A request fragment, before its verifier is looked at.
    pub(super) fn check_request(&self, frag: &[u8], h: &Header, req: &RequestHdr) -> Result<(), Refusal> {
        self.check_fragment_size(h)?;
        let parts = pdu::auth_parts(frag, h).map_err(|e| proto(e.to_string()))?;
        if let Some(a) = &parts {
            let Some(st) = &self.auth else {
                // no bind ever set up a security context: nothing may claim one
                return Err(refuse(
                    fault::ACCESS_DENIED,
                    CloseReason::AuthFailed("auth trailer on a connection without a security context".into()),
                ));
            };
            if a.trailer.auth_type != st.auth_type || a.trailer.auth_context_id != st.context_id {
                return Err(refuse(
                    fault::ACCESS_DENIED,
                    CloseReason::AuthFailed("auth trailer names another security context".into()),
                ));
            }
            pdu::check_auth_placement(a, req.stub_offset).map_err(|e| proto(format!("request: {e}")))?;
        }
        if h.pfc_flags & pfc::FIRST_FRAG != 0 {
            if self.in_flight.contains(&h.call_id) {
                return Err(proto(format!("call id {} is still executing", h.call_id)));
            }
            if usize::try_from(req.alloc_hint).unwrap_or(usize::MAX) > self.cfg.max_request {
                return Err(refuse(fault::NCA_S_PROTO_ERROR, CloseReason::TooLarge(self.cfg.max_request)));
            }
        } else if let Some(r) = &self.reassembly {
            if r.call_id == h.call_id && (r.context_id != req.context_id || r.opnum != req.opnum) {
                return Err(proto("fragment names another context or opnum than its call"));
            }
        }
        Ok(())
    }

    /// A call handed to the driver: its id is busy until its response or fault is encoded.
    pub(super) fn call_started(&mut self, call_id: u32) {
        self.in_flight.push(call_id);
    }

    /// The call's answer was encoded, or the client orphaned it.
    pub(super) fn call_finished(&mut self, call_id: u32) {
        if let Some(i) = self.in_flight.iter().position(|&c| c == call_id) {
            self.in_flight.swap_remove(i);
        }
    }
}

fn bind_refusal(e: &pdu::PduError) -> &'static str {
    match e {
        pdu::PduError::AuthPad(_) => "auth_pad_length points outside the bind body",
        _ => "auth trailer misplaced",
    }
}
