//! The Kerberos acceptor: MIT GSSAPI (`libgssapi_krb5.so.2`, opened at run time) with the
//! host's keytab, as the [`auth::GssContext`] the SPNEGO and raw Kerberos acceptors drive.
//!
//! - The keytab is the one `keytab` in the configuration names (registered once with
//!   `krb5_gss_register_acceptor_identity`), else `KRB5_KTNAME`, else MIT's default. The
//!   acceptor has no fixed name: a ticket for any principal in the keytab is accepted
//!   (`MSServerClusterMgmtAPI/<name>`, `host/<name>`, ...). A ticket for a principal the keytab
//!   lacks is logged with the principal and a pointer to the README.
//! - DCE style (MS-KILE 3.4.5.1): the AP-REQ's checksum asks for it, MIT then answers with an
//!   AP-REP and waits for the client's AP-REP (three legs). Contexts that did not negotiate DCE
//!   style are refused: DCE/RPC verifiers are wrap-token headers, which only DCE style has.
//! - Sealing is `gss_wrap_iov` with HEADER (the verifier) | SIGN_ONLY (PDU headers) | DATA (in
//!   place) | SIGN_ONLY (sec_trailer); unsealing is `gss_unwrap_iov` of the same; integrity is
//!   `gss_get_mic` / `gss_verify_mic`.
//! - Groups come from the ticket's PAC only when MIT verified it (`gss_get_name_attribute` of
//!   `urn:mspac:` says authenticated and complete); winbindd turns it into the token. A ticket
//!   without a verified PAC authenticates the user but carries no SIDs, so no access is granted
//!   through the cluster security descriptor.
//!
//! The structures below mirror MIT krb5 1.20's `gssapi.h` / `gssapi_ext.h`.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, OnceLock};

use auth::{AuthError, AuthenticatedUser, GssAcceptorFactory, GssContext, Mechanism, Step};

use super::dl::{library_functions, DlError};
use super::wbc::Winbind;

type Om = u32;

#[repr(C)]
struct Buffer {
    length: usize,
    value: *mut c_void,
}

impl Buffer {
    fn empty() -> Buffer {
        Buffer { length: 0, value: std::ptr::null_mut() }
    }
    fn of(b: &[u8]) -> Buffer {
        Buffer { length: b.len(), value: b.as_ptr().cast_mut().cast() }
    }
    fn of_mut(b: &mut [u8]) -> Buffer {
        Buffer { length: b.len(), value: b.as_mut_ptr().cast() }
    }
    /// # Safety
    /// `value` points to `length` readable bytes or is NULL.
    unsafe fn to_vec(&self) -> Vec<u8> {
        if self.value.is_null() || self.length == 0 {
            Vec::new()
        } else {
            // SAFETY: per the contract.
            unsafe { std::slice::from_raw_parts(self.value.cast::<u8>(), self.length) }.to_vec()
        }
    }
}

#[repr(C)]
struct Iov {
    kind: Om,
    buffer: Buffer,
}

// gss_buffer_desc and gss_iov_buffer_desc as gssapi.h / gssapi_ext.h lay them out on LP64
// targets, checked when compiling.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Buffer>() == 16 && std::mem::size_of::<Iov>() == 24);

/// The IOV array of a wrap or unwrap: `header` (the token) as HEADER, then `pre` as SIGN_ONLY
/// (when not empty), `data` as DATA (en- or decrypted in place) and `post` as SIGN_ONLY (when
/// not empty). The buffers point into the slices, which must outlive the call.
fn message_iovs(header: Buffer, pre: &[u8], data: &mut [u8], post: &[u8]) -> Vec<Iov> {
    let mut iov = vec![Iov { kind: IOV_HEADER, buffer: header }];
    if !pre.is_empty() {
        iov.push(Iov { kind: IOV_SIGN_ONLY, buffer: Buffer::of(pre) });
    }
    iov.push(Iov { kind: IOV_DATA, buffer: Buffer::of_mut(data) });
    if !post.is_empty() {
        iov.push(Iov { kind: IOV_SIGN_ONLY, buffer: Buffer::of(post) });
    }
    iov
}

const IOV_DATA: Om = 1;
const IOV_HEADER: Om = 2;
const IOV_SIGN_ONLY: Om = 11;
const IOV_MIC_TOKEN: Om = 12;

const GSS_S_COMPLETE: Om = 0;
const GSS_S_CONTINUE_NEEDED: Om = 1;
const GSS_C_GSS_CODE: c_int = 1;
const GSS_C_MECH_CODE: c_int = 2;
const GSS_C_DCE_STYLE: Om = 0x1000;
const GSS_C_CONF_FLAG: Om = 16;
const GSS_C_INTEG_FLAG: Om = 32;

fn gss_error(major: Om) -> bool {
    major & 0xffff_0000 != 0
}

type Ctx = *mut c_void;
type Name = *mut c_void;

library_functions! {
    /// The functions of MIT's libgssapi_krb5 clusapid uses; the prototypes are those of
    /// gssapi.h, gssapi_ext.h and gssapi_krb5.h.
    struct Api from "libgssapi_krb5.so.2" {
        accept: fn gss_accept_sec_context(
            *mut Om,
            *mut Ctx,
            *mut c_void,
            *mut Buffer,
            *mut c_void,
            *mut Name,
            *mut *mut c_void,
            *mut Buffer,
            *mut Om,
            *mut Om,
            *mut *mut c_void,
        ) -> Om;
        delete: fn gss_delete_sec_context(*mut Om, *mut Ctx, *mut Buffer) -> Om;
        release_buffer: fn gss_release_buffer(*mut Om, *mut Buffer) -> Om;
        release_name: fn gss_release_name(*mut Om, *mut Name) -> Om;
        display_name: fn gss_display_name(*mut Om, Name, *mut Buffer, *mut *mut c_void) -> Om;
        display_status: fn gss_display_status(*mut Om, Om, c_int, *mut c_void, *mut Om, *mut Buffer) -> Om;
        get_name_attribute: fn gss_get_name_attribute(
            *mut Om,
            Name,
            *mut Buffer,
            *mut c_int,
            *mut c_int,
            *mut Buffer,
            *mut Buffer,
            *mut c_int,
        ) -> Om;
        get_mic: fn gss_get_mic(*mut Om, Ctx, Om, *mut Buffer, *mut Buffer) -> Om;
        verify_mic: fn gss_verify_mic(*mut Om, Ctx, *mut Buffer, *mut Buffer, *mut Om) -> Om;
        wrap_iov: fn gss_wrap_iov(*mut Om, Ctx, c_int, Om, *mut c_int, *mut Iov, c_int) -> Om;
        unwrap_iov: fn gss_unwrap_iov(*mut Om, Ctx, *mut c_int, *mut Om, *mut Iov, c_int) -> Om;
        wrap_iov_length: fn gss_wrap_iov_length(*mut Om, Ctx, c_int, Om, *mut c_int, *mut Iov, c_int) -> Om;
        get_mic_iov_length: fn gss_get_mic_iov_length(*mut Om, Ctx, Om, *mut Iov, c_int) -> Om;
        register_acceptor_identity: fn krb5_gss_register_acceptor_identity(*const c_char) -> Om;
    }
}

impl Api {
    fn shared() -> Result<Arc<Api>, DlError> {
        static API: OnceLock<Result<Arc<Api>, DlError>> = OnceLock::new();
        API.get_or_init(|| Api::load().map(Arc::new)).clone()
    }

    /// Copies and releases a buffer MIT allocated.
    fn take(&self, b: &mut Buffer) -> Vec<u8> {
        // SAFETY: b was filled by MIT (or is empty).
        let v = unsafe { b.to_vec() };
        let mut minor = 0;
        // SAFETY: releasing a buffer MIT allocated; an empty one is accepted.
        unsafe { (self.release_buffer)(&mut minor, b) };
        v
    }

    /// The text of a status pair, GSS and mechanism parts.
    fn status_text(&self, major: Om, minor: Om) -> String {
        let mut parts = Vec::new();
        for (code, kind) in [(major, GSS_C_GSS_CODE), (minor, GSS_C_MECH_CODE)] {
            if code == 0 {
                continue;
            }
            let mut ctx: Om = 0;
            for _ in 0..8 {
                let mut m = 0;
                let mut b = Buffer::empty();
                // SAFETY: valid out-pointers; mech NULL means the default mechanism.
                let r = unsafe { (self.display_status)(&mut m, code, kind, std::ptr::null_mut(), &mut ctx, &mut b) };
                let text = self.take(&mut b);
                if gss_error(r) {
                    break;
                }
                parts.push(String::from_utf8_lossy(&text).into_owned());
                if ctx == 0 {
                    break;
                }
            }
        }
        if parts.is_empty() {
            format!("GSS major {major:#x}, minor {minor}")
        } else {
            parts.join(": ")
        }
    }
}

/// Makes Kerberos acceptor contexts.
pub struct KerberosAcceptor {
    api: Arc<Api>,
    winbind: Option<Winbind>,
    keytab: String,
}

impl std::fmt::Debug for KerberosAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KerberosAcceptor").field("keytab", &self.keytab).finish_non_exhaustive()
    }
}

impl KerberosAcceptor {
    /// Loads MIT GSSAPI and sets the acceptor's keytab (`keytab`, else `KRB5_KTNAME`, else
    /// MIT's default). `winbind` turns verified PACs into tokens; without it Kerberos clients
    /// get no SIDs.
    pub fn new(keytab: Option<&str>, winbind: Option<Winbind>) -> Result<KerberosAcceptor, String> {
        let api = Api::shared().map_err(|e| e.to_string())?;
        let keytab = match keytab {
            Some(k) => {
                let c = CString::new(k).map_err(|_| "keytab path with NUL".to_string())?;
                // SAFETY: a valid C string; MIT copies it.
                let r = unsafe { (api.register_acceptor_identity)(c.as_ptr()) };
                if gss_error(r) {
                    return Err(format!("cannot use keytab {k}: {}", api.status_text(r, 0)));
                }
                k.to_owned()
            }
            None => std::env::var("KRB5_KTNAME").unwrap_or_else(|_| "FILE:/etc/krb5.keytab (MIT default)".into()),
        };
        let path = keytab.strip_prefix("FILE:").unwrap_or(&keytab);
        if !path.contains(' ') && !std::path::Path::new(path).exists() {
            tracing::warn!(
                keytab,
                "Kerberos keytab does not exist (yet): Kerberos binds fail until it does (SPNEGO clients fall back to NTLM)"
            );
        }
        Ok(KerberosAcceptor { api, winbind, keytab })
    }

    /// The keytab in use, for logs.
    pub fn keytab(&self) -> &str {
        &self.keytab
    }
}

impl GssAcceptorFactory for KerberosAcceptor {
    fn new_context(&self) -> Result<Box<dyn GssContext>, AuthError> {
        Ok(Box::new(Context {
            api: self.api.clone(),
            winbind: self.winbind.clone(),
            keytab: self.keytab.clone(),
            ctx: std::ptr::null_mut(),
            src: std::ptr::null_mut(),
            flags: 0,
            identity: None,
            mic_len: None,
        }))
    }
}

/// One acceptor context.
struct Context {
    api: Arc<Api>,
    winbind: Option<Winbind>,
    keytab: String,
    ctx: Ctx,
    src: Name,
    flags: Om,
    identity: Option<AuthenticatedUser>,
    mic_len: Option<usize>,
}

// SAFETY: an MIT context and name are used by one connection at a time (never concurrently);
// moving them between threads is allowed.
unsafe impl Send for Context {}

impl Drop for Context {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: handles created by MIT (or NULL, which both functions accept).
        unsafe {
            if !self.ctx.is_null() {
                (self.api.delete)(&mut minor, &mut self.ctx, std::ptr::null_mut());
            }
            if !self.src.is_null() {
                (self.api.release_name)(&mut minor, &mut self.src);
            }
        }
    }
}

impl Context {
    fn fail(&self, what: &str, major: Om, minor: Om) -> AuthError {
        AuthError::Kerberos(format!("{what}: {}", self.api.status_text(major, minor)))
    }

    fn client_name(&self) -> Result<String, AuthError> {
        let mut minor = 0;
        let mut b = Buffer::empty();
        // SAFETY: a name MIT returned; out-pointers valid.
        let r = unsafe { (self.api.display_name)(&mut minor, self.src, &mut b, std::ptr::null_mut()) };
        let v = self.api.take(&mut b);
        if gss_error(r) {
            return Err(self.fail("gss_display_name", r, minor));
        }
        Ok(String::from_utf8_lossy(&v).into_owned())
    }

    /// The PAC, when MIT verified it.
    fn verified_pac(&self) -> Option<Vec<u8>> {
        let mut minor = 0;
        let attr = b"urn:mspac:";
        let mut a = Buffer::of(attr);
        let (mut authenticated, mut complete, mut more): (c_int, c_int, c_int) = (0, 0, -1);
        let mut value = Buffer::empty();
        let mut display = Buffer::empty();
        // SAFETY: valid name and out-pointers; the attribute buffer is only read.
        let r = unsafe {
            (self.api.get_name_attribute)(
                &mut minor,
                self.src,
                &mut a,
                &mut authenticated,
                &mut complete,
                &mut value,
                &mut display,
                &mut more,
            )
        };
        let pac = self.api.take(&mut value);
        self.api.take(&mut display);
        if gss_error(r) || pac.is_empty() {
            tracing::info!("Kerberos ticket without a PAC: the client gets no groups");
            return None;
        }
        if authenticated == 0 || complete == 0 {
            tracing::warn!("Kerberos ticket's PAC did not verify: ignored, the client gets no groups");
            return None;
        }
        Some(pac)
    }

    fn complete(&mut self) -> Result<(), AuthError> {
        if self.flags & GSS_C_DCE_STYLE == 0 {
            return Err(AuthError::Kerberos("the client did not ask for DCE style (MS-KILE 3.4.5.1)".into()));
        }
        if self.flags & (GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG) == 0 {
            return Err(AuthError::Kerberos("the context has neither integrity nor confidentiality".into()));
        }
        let principal = self.client_name()?;
        let (user, realm) = match principal.rsplit_once('@') {
            Some((u, r)) => (u.to_owned(), r.to_owned()),
            None => (principal.clone(), String::new()),
        };
        let mut id = AuthenticatedUser {
            user,
            domain: realm,
            workstation: String::new(),
            sids: Vec::new(),
            mechanism: Mechanism::Kerberos,
        };
        if let (Some(pac), Some(wb)) = (self.verified_pac(), self.winbind.as_ref()) {
            match wb.logon_pac(&pac) {
                Ok(logon) => {
                    id.sids = wb.token(&logon).iter().map(ToString::to_string).collect();
                    if !logon.account.is_empty() {
                        id.user = logon.account;
                    }
                    if !logon.domain.is_empty() {
                        id.domain = logon.domain;
                    }
                }
                Err(e) => {
                    tracing::warn!(principal, error = %e, "winbindd cannot read the PAC: the client gets no groups")
                }
            }
        }
        self.identity = Some(id);
        Ok(())
    }
}

impl GssContext for Context {
    fn step(&mut self, token: &[u8]) -> Result<Step, AuthError> {
        let mut minor = 0;
        let mut input = Buffer::of(token);
        let mut output = Buffer::empty();
        let mut flags: Om = 0;
        let mut src: Name = std::ptr::null_mut();
        // SAFETY: ctx is NULL (first leg) or MIT's; the input is only read; out-pointers valid.
        let major = unsafe {
            (self.api.accept)(
                &mut minor,
                &mut self.ctx,
                std::ptr::null_mut(),
                &mut input,
                std::ptr::null_mut(),
                &mut src,
                std::ptr::null_mut(),
                &mut output,
                &mut flags,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        let out = self.api.take(&mut output);
        if !src.is_null() {
            if !self.src.is_null() {
                let mut m = 0;
                // SAFETY: a name MIT returned earlier.
                unsafe { (self.api.release_name)(&mut m, &mut self.src) };
            }
            self.src = src;
        }
        if gss_error(major) {
            let e = self.fail("ticket refused", major, minor);
            let text = e.to_string();
            if text.contains("key table") || text.contains("Key table") || text.contains("keytab") {
                tracing::warn!(
                    keytab = self.keytab,
                    error = text,
                    "Kerberos: the keytab has no key for the service principal the client asked for; add the SPN's \
                     keys (README \"Joining a domain\")"
                );
            } else {
                tracing::info!(error = text, "Kerberos: AP-REQ refused");
            }
            return Err(e);
        }
        self.flags = flags;
        if major & GSS_S_CONTINUE_NEEDED != 0 {
            return Ok(Step::Continue(out));
        }
        debug_assert_eq!(major & 0xffff, GSS_S_COMPLETE);
        self.complete()?;
        Ok(Step::Done((!out.is_empty()).then_some(out)))
    }

    fn identity(&self) -> Option<AuthenticatedUser> {
        self.identity.clone()
    }

    fn mic_len(&mut self) -> Result<usize, AuthError> {
        if let Some(n) = self.mic_len {
            return Ok(n);
        }
        let mut minor = 0;
        let mut iov =
            [Iov { kind: IOV_DATA, buffer: Buffer::empty() }, Iov { kind: IOV_MIC_TOKEN, buffer: Buffer::empty() }];
        // SAFETY: established context; the iov array has 2 entries.
        let r = unsafe { (self.api.get_mic_iov_length)(&mut minor, self.ctx, 0, iov.as_mut_ptr(), 2) };
        if gss_error(r) {
            return Err(self.fail("gss_get_mic_iov_length", r, minor));
        }
        self.mic_len = Some(iov[1].buffer.length);
        Ok(iov[1].buffer.length)
    }

    fn get_mic(&mut self, msg: &[u8]) -> Result<Vec<u8>, AuthError> {
        let mut minor = 0;
        let mut m = Buffer::of(msg);
        let mut t = Buffer::empty();
        // SAFETY: established context; the message is only read.
        let r = unsafe { (self.api.get_mic)(&mut minor, self.ctx, 0, &mut m, &mut t) };
        let token = self.api.take(&mut t);
        if gss_error(r) {
            return Err(self.fail("gss_get_mic", r, minor));
        }
        Ok(token)
    }

    fn verify_mic(&mut self, msg: &[u8], mic: &[u8]) -> Result<(), AuthError> {
        let mut minor = 0;
        let mut m = Buffer::of(msg);
        let mut t = Buffer::of(mic);
        let mut qop: Om = 0;
        // SAFETY: established context; both buffers are only read.
        let r = unsafe { (self.api.verify_mic)(&mut minor, self.ctx, &mut m, &mut t, &mut qop) };
        if gss_error(r) || r != GSS_S_COMPLETE {
            tracing::debug!(error = self.api.status_text(r, minor), "Kerberos MIC refused");
            return Err(AuthError::BadSignature);
        }
        Ok(())
    }

    fn wrap_len(&mut self, data_len: usize) -> Result<usize, AuthError> {
        let mut minor = 0;
        let mut conf: c_int = 0;
        let mut iov = [
            Iov { kind: IOV_HEADER, buffer: Buffer::empty() },
            Iov { kind: IOV_DATA, buffer: Buffer { length: data_len, value: std::ptr::null_mut() } },
        ];
        // SAFETY: established context; only lengths are read and written.
        let r = unsafe { (self.api.wrap_iov_length)(&mut minor, self.ctx, 1, 0, &mut conf, iov.as_mut_ptr(), 2) };
        if gss_error(r) {
            return Err(self.fail("gss_wrap_iov_length", r, minor));
        }
        Ok(iov[0].buffer.length)
    }

    fn wrap(&mut self, pre: &[u8], data: &mut [u8], post: &[u8], token: &mut [u8]) -> Result<(), AuthError> {
        let mut minor = 0;
        let mut conf: c_int = 0;
        let mut iov = message_iovs(Buffer::of_mut(token), pre, data, post);
        let n = iov.len() as c_int;
        // SAFETY: established context; HEADER is exactly wrap_len bytes (the caller's
        // contract), DATA is encrypted in place, SIGN_ONLY buffers are only read.
        let r = unsafe { (self.api.wrap_iov)(&mut minor, self.ctx, 1, 0, &mut conf, iov.as_mut_ptr(), n) };
        if gss_error(r) {
            return Err(self.fail("gss_wrap_iov", r, minor));
        }
        if conf == 0 {
            return Err(AuthError::Kerberos("gss_wrap_iov did not encrypt".into()));
        }
        Ok(())
    }

    fn unwrap(&mut self, pre: &[u8], data: &mut [u8], post: &[u8], token: &[u8]) -> Result<(), AuthError> {
        let mut minor = 0;
        let mut conf: c_int = 0;
        let mut qop: Om = 0;
        let mut iov = message_iovs(Buffer::of(token), pre, data, post);
        let n = iov.len() as c_int;
        // SAFETY: established context; DATA is decrypted in place, the others only read.
        let r = unsafe { (self.api.unwrap_iov)(&mut minor, self.ctx, &mut conf, &mut qop, iov.as_mut_ptr(), n) };
        if gss_error(r) || conf == 0 {
            tracing::debug!(error = self.api.status_text(r, minor), "Kerberos unwrap refused");
            return Err(AuthError::BadSignature);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_tickets_are_refused_without_panic() {
        // MIT is installed wherever clusapid's tests run (Samba depends on it)
        let Ok(k) = KerberosAcceptor::new(Some("/nonexistent/clusapid-test.keytab"), None) else { return };
        for token in [&b""[..], b"\x60\x00", b"not a kerberos token at all", &[0x60, 0x82, 0xff, 0xff][..]] {
            let mut c = k.new_context().unwrap();
            assert!(matches!(c.step(token), Err(AuthError::Kerberos(_))), "{token:?}");
            assert!(c.identity().is_none());
        }
    }
}
