//! winbindd through libwbclient (`libwbclient.so.0`, opened at run time): NTLM pass-through
//! at the challenge/response level (`wbcAuthenticateUserEx`, `WBC_AUTH_USER_LEVEL_RESPONSE`, as
//! a member server's smbd does), PAC logons for Kerberos (`WBC_AUTH_USER_LEVEL_PAC`), name to
//! SID lookups for the access configuration, and BUILTIN alias membership.
//!
//! Every call blocks on winbindd's socket: callers run them off the async runtime. Each thread
//! gets its own libwbclient context (`wbcCtxCreate`), so calls from several threads never share
//! a socket. The caller's token is the user SID, the primary group, the groups and extra SIDs
//! the DC returned, the BUILTIN aliases they are members of on this server, and the well-known
//! Everyone, Network and Authenticated Users.
//!
//! The structures below mirror `wbclient.h` of libwbclient 0.16 (Samba 4.22) field by field.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::{Arc, OnceLock};

use auth::{AuthError, NtlmLogon, NtlmVerifier, VerifiedLogon};

use super::dl::{library_functions, DlError};
use super::sid::{self, Sid};

const WBC_MAXSUBAUTHS: usize = 15;

#[repr(C)]
#[derive(Clone, Copy)]
struct WbcDomainSid {
    sid_rev_num: u8,
    num_auths: u8,
    id_auth: [u8; 6],
    sub_auths: [u32; WBC_MAXSUBAUTHS],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct WbcSidWithAttr {
    sid: WbcDomainSid,
    attributes: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct WbcBlob {
    data: *mut u8,
    length: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct WbcResponse {
    challenge: [u8; 8],
    nt_length: u32,
    nt_data: *mut u8,
    lm_length: u32,
    lm_data: *mut u8,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct WbcHash {
    nt_hash: [u8; 16],
    lm_hash: [u8; 16],
}

#[repr(C)]
union WbcPassword {
    plaintext: *const c_char,
    hash: WbcHash,
    response: WbcResponse,
    pac: WbcBlob,
}

const WBC_AUTH_USER_LEVEL_RESPONSE: c_int = 3;
const WBC_AUTH_USER_LEVEL_PAC: c_int = 4;

#[repr(C)]
struct WbcAuthUserParams {
    account_name: *const c_char,
    domain_name: *const c_char,
    workstation_name: *const c_char,
    flags: u32,
    parameter_control: u32,
    level: c_int,
    password: WbcPassword,
}

#[repr(C)]
struct WbcAuthUserInfo {
    user_flags: u32,
    account_name: *mut c_char,
    user_principal: *mut c_char,
    full_name: *mut c_char,
    domain_name: *mut c_char,
    dns_domain_name: *mut c_char,
    acct_flags: u32,
    user_session_key: [u8; 16],
    lm_session_key: [u8; 8],
    logon_count: u16,
    bad_password_count: u16,
    logon_time: u64,
    logoff_time: u64,
    kickoff_time: u64,
    pass_last_set_time: u64,
    pass_can_change_time: u64,
    pass_must_change_time: u64,
    logon_server: *mut c_char,
    logon_script: *mut c_char,
    profile_path: *mut c_char,
    home_directory: *mut c_char,
    home_drive: *mut c_char,
    num_sids: u32,
    sids: *mut WbcSidWithAttr,
}

#[repr(C)]
struct WbcAuthErrorInfo {
    nt_status: u32,
    nt_string: *mut c_char,
    pam_error: i32,
    display_string: *mut c_char,
    authoritative: u8,
}

// The structures as wbclient.h lays them out on LP64 targets (x86_64, aarch64), checked when
// compiling.
#[cfg(target_pointer_width = "64")]
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<WbcDomainSid>() == 68);
    assert!(size_of::<WbcSidWithAttr>() == 72);
    assert!(size_of::<WbcPassword>() == 40);
    assert!(size_of::<WbcAuthUserParams>() == 80);
    assert!(offset_of!(WbcAuthUserParams, password) == 40);
    assert!(offset_of!(WbcAuthUserInfo, user_session_key) == 52);
    assert!(offset_of!(WbcAuthUserInfo, num_sids) == 168);
    assert!(offset_of!(WbcAuthErrorInfo, authoritative) == 32);
};

/// `wbcErr` values.
mod err {
    pub const SUCCESS: i32 = 0;
    pub const WINBIND_NOT_AVAILABLE: i32 = 6;
    pub const DOMAIN_NOT_FOUND: i32 = 7;
    pub const AUTH_ERROR: i32 = 10;
    pub const NOT_MAPPED: i32 = 14;
}

/// `WBC_MSV1_0_ALLOW_SERVER_TRUST_ACCOUNT | WBC_MSV1_0_ALLOW_WORKSTATION_TRUST_ACCOUNT`: what
/// smbd passes for network logons ([MS-APDS] 3.1.5 parameter control).
const PARAMETER_CONTROL: u32 = 0x0000_0020 | 0x0000_0800;
/// `WBC_AUTH_USER_INFO_GUEST`.
const USER_INFO_GUEST: u32 = 0x0000_0001;
/// NT_STATUS codes of a refused logon that mean "wrong user or password" (the rest are kept
/// in the log line: disabled, expired, locked out, ...).
const NT_STATUS_LOGON_FAILURE: u32 = 0xC000_006D;
const NT_STATUS_WRONG_PASSWORD: u32 = 0xC000_006A;
const NT_STATUS_NO_SUCH_USER: u32 = 0xC000_0064;

library_functions! {
    /// The functions of libwbclient clusapid uses; the prototypes are those of wbclient.h.
    struct Api from "libwbclient.so.0" {
        ctx_create: fn wbcCtxCreate() -> *mut c_void;
        ctx_free: fn wbcCtxFree(*mut c_void);
        free_memory: fn wbcFreeMemory(*mut c_void);
        ping: fn wbcCtxPing(*mut c_void) -> c_int;
        auth: fn wbcCtxAuthenticateUserEx(
            *mut c_void,
            *const WbcAuthUserParams,
            *mut *mut WbcAuthUserInfo,
            *mut *mut WbcAuthErrorInfo,
        ) -> c_int;
        lookup_name: fn wbcCtxLookupName(
            *mut c_void,
            *const c_char,
            *const c_char,
            *mut WbcDomainSid,
            *mut c_int,
        ) -> c_int;
        get_sid_aliases: fn wbcCtxGetSidAliases(
            *mut c_void,
            *const WbcDomainSid,
            *mut WbcDomainSid,
            u32,
            *mut *mut u32,
            *mut u32,
        ) -> c_int;
    }
}

/// Errors talking to winbindd.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WbcError {
    #[error("{0}")]
    Library(#[from] DlError),
    #[error("winbindd is not running (libwbclient: WBC_ERR_WINBIND_NOT_AVAILABLE)")]
    NotAvailable,
    #[error("logon refused: NT status {status:#010x} ({text})")]
    Logon { status: u32, text: String },
    #[error("the credentials are those of the guest account")]
    Guest,
    #[error("no such name")]
    NotFound,
    #[error("winbindd answered {0} (wbcErr)")]
    Other(i32),
    #[error("winbindd returned a malformed answer: {0}")]
    Malformed(&'static str),
}

/// One thread's libwbclient context, freed with the thread.
struct ThreadCtx {
    ctx: *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
}

impl Drop for ThreadCtx {
    fn drop(&mut self) {
        if !self.ctx.is_null() {
            // SAFETY: created by wbcCtxCreate on this thread, freed once.
            unsafe { (self.free)(self.ctx) };
        }
    }
}

thread_local! {
    static CTX: RefCell<Option<ThreadCtx>> = const { RefCell::new(None) };
}

/// What a successful logon returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logon {
    pub account: String,
    pub domain: String,
    /// The SessionBaseKey (NTLM). Secret.
    pub session_key: [u8; 16],
    /// User, primary group, groups and extra SIDs, as the DC returned them.
    pub sids: Vec<Sid>,
}

/// A handle on winbindd (the library is loaded once per process).
#[derive(Clone)]
pub struct Winbind {
    api: Arc<Api>,
}

impl std::fmt::Debug for Winbind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Winbind")
    }
}

fn cstring(s: &str) -> Result<CString, WbcError> {
    CString::new(s).map_err(|_| WbcError::Malformed("NUL in a name"))
}

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn owned(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: per the contract.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

fn to_sid(w: &WbcDomainSid) -> Option<Sid> {
    let n = usize::from(w.num_auths);
    if n > WBC_MAXSUBAUTHS {
        return None;
    }
    let mut auth = 0u64;
    for b in w.id_auth {
        auth = (auth << 8) | u64::from(b);
    }
    Some(Sid::new(w.sid_rev_num, auth, &w.sub_auths[..n]))
}

fn from_sid(s: &Sid) -> WbcDomainSid {
    let mut w =
        WbcDomainSid { sid_rev_num: s.revision, num_auths: 0, id_auth: [0; 6], sub_auths: [0; WBC_MAXSUBAUTHS] };
    let a = s.authority.to_be_bytes();
    w.id_auth.copy_from_slice(&a[2..8]);
    let n = s.subs.len().min(WBC_MAXSUBAUTHS);
    w.sub_auths[..n].copy_from_slice(&s.subs[..n]);
    w.num_auths = n as u8;
    w
}

impl Winbind {
    /// Loads libwbclient (once per process).
    pub fn new() -> Result<Winbind, WbcError> {
        static API: OnceLock<Result<Arc<Api>, DlError>> = OnceLock::new();
        let api = API.get_or_init(|| Api::load().map(Arc::new)).clone()?;
        Ok(Winbind { api })
    }

    /// Runs `f` with this thread's context.
    fn with_ctx<T>(&self, f: impl FnOnce(*mut c_void) -> Result<T, WbcError>) -> Result<T, WbcError> {
        CTX.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                // SAFETY: no arguments; returns NULL on allocation failure.
                let ctx = unsafe { (self.api.ctx_create)() };
                if ctx.is_null() {
                    return Err(WbcError::Other(3));
                }
                *c = Some(ThreadCtx { ctx, free: self.api.ctx_free });
            }
            f(c.as_ref().map_or(std::ptr::null_mut(), |t| t.ctx))
        })
    }

    fn check(rc: c_int) -> Result<(), WbcError> {
        match rc {
            err::SUCCESS => Ok(()),
            err::WINBIND_NOT_AVAILABLE => Err(WbcError::NotAvailable),
            err::DOMAIN_NOT_FOUND | err::NOT_MAPPED => Err(WbcError::NotFound),
            e => Err(WbcError::Other(e)),
        }
    }

    /// Whether winbindd answers.
    pub fn ping(&self) -> Result<(), WbcError> {
        // SAFETY: a valid context.
        self.with_ctx(|ctx| Self::check(unsafe { (self.api.ping)(ctx) }))
    }

    fn authenticate(&self, params: &WbcAuthUserParams) -> Result<Logon, WbcError> {
        self.with_ctx(|ctx| {
            let mut info: *mut WbcAuthUserInfo = std::ptr::null_mut();
            let mut error: *mut WbcAuthErrorInfo = std::ptr::null_mut();
            // SAFETY: params points to a fully initialised struct whose pointers outlive the
            // call; info and error are out-pointers freed below with wbcFreeMemory.
            let rc = unsafe { (self.api.auth)(ctx, params, &mut info, &mut error) };
            let result = if rc == err::AUTH_ERROR && !error.is_null() {
                // SAFETY: non-null error from libwbclient.
                let e = unsafe { &*error };
                // SAFETY: NUL-terminated or NULL.
                let text = unsafe { owned(e.nt_string) };
                Err(WbcError::Logon { status: e.nt_status, text })
            } else if rc != err::SUCCESS {
                Self::check(rc).and(Err(WbcError::Other(rc)))
            } else if info.is_null() {
                Err(WbcError::Malformed("no user info"))
            } else {
                // SAFETY: non-null info from libwbclient; the arrays have the stated lengths.
                let i = unsafe { &*info };
                if i.user_flags & USER_INFO_GUEST != 0 {
                    Err(WbcError::Guest)
                } else {
                    let n = i.num_sids as usize;
                    let list: &[WbcSidWithAttr] =
                        if n == 0 || i.sids.is_null() { &[] } else { unsafe { std::slice::from_raw_parts(i.sids, n) } };
                    let sids: Option<Vec<Sid>> = list.iter().map(|s| to_sid(&s.sid)).collect();
                    match sids {
                        Some(sids) if !sids.is_empty() => Ok(Logon {
                            // SAFETY: NUL-terminated or NULL.
                            account: unsafe { owned(i.account_name) },
                            // SAFETY: NUL-terminated or NULL.
                            domain: unsafe { owned(i.domain_name) },
                            session_key: i.user_session_key,
                            sids,
                        }),
                        _ => Err(WbcError::Malformed("no or bad SIDs")),
                    }
                }
            };
            // SAFETY: both were allocated by libwbclient (or are NULL, which it accepts).
            unsafe {
                (self.api.free_memory)(info.cast());
                (self.api.free_memory)(error.cast());
            }
            result
        })
    }

    /// NTLM pass-through: checks the client's responses to `challenge` with the DC.
    pub fn logon_response(
        &self,
        user: &str,
        domain: &str,
        workstation: &str,
        challenge: [u8; 8],
        nt: &[u8],
        lm: &[u8],
    ) -> Result<Logon, WbcError> {
        let (user, domain, ws) = (cstring(user)?, cstring(domain)?, cstring(workstation)?);
        let nt_length = u32::try_from(nt.len()).map_err(|_| WbcError::Malformed("response too long"))?;
        let lm_length = u32::try_from(lm.len()).map_err(|_| WbcError::Malformed("response too long"))?;
        let params = WbcAuthUserParams {
            account_name: user.as_ptr(),
            domain_name: domain.as_ptr(),
            workstation_name: ws.as_ptr(),
            flags: 0,
            parameter_control: PARAMETER_CONTROL,
            level: WBC_AUTH_USER_LEVEL_RESPONSE,
            password: WbcPassword {
                response: WbcResponse {
                    challenge,
                    nt_length,
                    // libwbclient only reads these buffers
                    nt_data: nt.as_ptr().cast_mut(),
                    lm_length,
                    lm_data: if lm.is_empty() { std::ptr::null_mut() } else { lm.as_ptr().cast_mut() },
                },
            },
        };
        self.authenticate(&params)
    }

    /// The token of a Kerberos client from its (verified) PAC.
    pub fn logon_pac(&self, pac: &[u8]) -> Result<Logon, WbcError> {
        let empty = cstring("")?;
        let params = WbcAuthUserParams {
            account_name: empty.as_ptr(),
            domain_name: empty.as_ptr(),
            workstation_name: empty.as_ptr(),
            flags: 0,
            parameter_control: 0,
            level: WBC_AUTH_USER_LEVEL_PAC,
            password: WbcPassword { pac: WbcBlob { data: pac.as_ptr().cast_mut(), length: pac.len() } },
        };
        self.authenticate(&params)
    }

    /// The SID of `DOMAIN\name` (or of a bare `name`, looked up in every domain winbindd knows).
    pub fn lookup_name(&self, domain: &str, name: &str) -> Result<Sid, WbcError> {
        let (d, n) = (cstring(domain)?, cstring(name)?);
        self.with_ctx(|ctx| {
            let mut sid = WbcDomainSid { sid_rev_num: 0, num_auths: 0, id_auth: [0; 6], sub_auths: [0; 15] };
            let mut kind: c_int = 0;
            // SAFETY: valid C strings and out-pointers.
            Self::check(unsafe { (self.api.lookup_name)(ctx, d.as_ptr(), n.as_ptr(), &mut sid, &mut kind) })?;
            to_sid(&sid).ok_or(WbcError::Malformed("bad SID"))
        })
    }

    /// The aliases of `domain` (e.g. BUILTIN, S-1-5-32) that any of `sids` is a member of.
    pub fn aliases(&self, domain: &Sid, sids: &[Sid]) -> Result<Vec<Sid>, WbcError> {
        let dom = from_sid(domain);
        let mut list: Vec<WbcDomainSid> = sids.iter().map(from_sid).collect();
        let n = u32::try_from(list.len()).map_err(|_| WbcError::Malformed("too many SIDs"))?;
        self.with_ctx(|ctx| {
            let mut rids: *mut u32 = std::ptr::null_mut();
            let mut num: u32 = 0;
            // SAFETY: valid pointers; rids is allocated by libwbclient and freed below.
            let rc = unsafe { (self.api.get_sid_aliases)(ctx, &dom, list.as_mut_ptr(), n, &mut rids, &mut num) };
            let out = if rc == err::SUCCESS && !rids.is_null() {
                // SAFETY: num entries allocated by libwbclient.
                let r = unsafe { std::slice::from_raw_parts(rids, num as usize) };
                Ok(r.iter().map(|rid| domain.with_rid(*rid)).collect())
            } else if rc == err::SUCCESS {
                Ok(Vec::new())
            } else {
                Self::check(rc).map(|()| Vec::new())
            };
            // SAFETY: allocated by libwbclient or NULL.
            unsafe { (self.api.free_memory)(rids.cast()) };
            out
        })
    }

    /// The full token of a logon: its SIDs, the BUILTIN aliases they belong to here, and
    /// Everyone, Network and Authenticated Users. Alias lookup failures are logged and leave
    /// the aliases out.
    pub fn token(&self, logon: &Logon) -> Vec<Sid> {
        let mut t = logon.sids.clone();
        match self.aliases(&sid::builtin_domain(), &logon.sids) {
            Ok(a) => t.extend(a),
            Err(e) => tracing::warn!(error = %e, "Cannot read BUILTIN alias membership; left out of the token"),
        }
        for w in [sid::everyone(), sid::network(), sid::authenticated_users()] {
            t.push(w);
        }
        let mut seen = std::collections::HashSet::new();
        t.retain(|s| seen.insert(s.clone()));
        t
    }
}

/// The NTLM verifier of domain logons: pass-through to winbindd.
#[derive(Clone, Debug)]
pub struct WinbindVerifier {
    wb: Winbind,
}

impl WinbindVerifier {
    /// A verifier over a loaded libwbclient.
    pub fn new(wb: Winbind) -> Self {
        WinbindVerifier { wb }
    }
}

impl NtlmVerifier for WinbindVerifier {
    fn verify(&self, l: &NtlmLogon<'_>) -> Result<VerifiedLogon, AuthError> {
        let r =
            self.wb.logon_response(l.user, l.domain, l.workstation, l.server_challenge, l.nt_response, l.lm_response);
        match r {
            Ok(logon) => {
                let sids = self.wb.token(&logon).iter().map(Sid::to_string).collect();
                Ok(VerifiedLogon {
                    session_base_key: logon.session_key,
                    account: Some(logon.account),
                    domain: Some(logon.domain),
                    sids,
                })
            }
            Err(WbcError::Guest) => {
                tracing::info!(user = l.user, domain = l.domain, "Guest logon refused");
                Err(AuthError::Guest)
            }
            Err(WbcError::Logon { status, text }) => {
                if !matches!(status, NT_STATUS_LOGON_FAILURE | NT_STATUS_WRONG_PASSWORD | NT_STATUS_NO_SUCH_USER) {
                    tracing::info!(
                        user = l.user,
                        domain = l.domain,
                        status = format_args!("{status:#010x}"),
                        text,
                        "Domain logon refused"
                    );
                }
                Err(AuthError::LogonFailure)
            }
            Err(e) => {
                tracing::warn!(error = %e, "NTLM logon cannot be checked with winbindd");
                Err(AuthError::Backend(e.to_string()))
            }
        }
    }

    fn blocking(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sid_conversions() {
        let s: Sid = "S-1-5-21-204471008-2431811987-2932024094-1103".parse().unwrap();
        let w = from_sid(&s);
        assert_eq!((w.sid_rev_num, w.num_auths, w.id_auth), (1, 5, [0, 0, 0, 0, 0, 5]));
        assert_eq!(to_sid(&w), Some(s));
        let mut bad = w;
        bad.num_auths = 16;
        assert_eq!(to_sid(&bad), None);
    }

    #[test]
    fn without_winbindd_calls_fail_cleanly() {
        // on a machine (or in a namespace) without winbindd, nothing hangs or panics
        let Ok(wb) = Winbind::new() else { return };
        if wb.ping().is_ok() {
            return; // a winbindd answers here: nothing to check
        }
        let r = wb.logon_response("u", "D", "W", [0; 8], &[0; 60], &[]);
        assert!(matches!(r, Err(WbcError::NotAvailable) | Err(WbcError::Other(_))), "{r:?}");
        let v = WinbindVerifier::new(wb);
        let l = NtlmLogon {
            user: "u",
            domain: "D",
            workstation: "W",
            server_challenge: [0; 8],
            lm_response: &[],
            nt_response: &[0; 60],
        };
        assert!(matches!(v.verify(&l), Err(AuthError::Backend(_))));
    }
}
