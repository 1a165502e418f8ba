//! A shared library opened at run time (`dlopen`) and its functions (`dlsym`): clusapid uses
//! libwbclient and MIT's libgssapi_krb5 only when the configuration asks for domain logons,
//! and a machine without them still runs clusapid with local accounts.

use std::ffi::{c_void, CStr, CString};

/// Why a library or one of its symbols could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DlError {
    #[error("cannot load {lib}: {why}")]
    Open { lib: String, why: String },
    #[error("{lib} has no symbol {sym}")]
    Symbol { lib: String, sym: String },
}

/// An open library; it stays loaded for the life of the process (the handle is never closed,
/// so function pointers taken from it stay valid).
#[derive(Debug)]
pub struct Library {
    name: String,
    handle: *mut c_void,
}

// SAFETY: a dlopen handle may be used from any thread (dlsym is thread-safe).
unsafe impl Send for Library {}
// SAFETY: as above; the handle is only read.
unsafe impl Sync for Library {}

fn dlerror_text() -> String {
    // SAFETY: dlerror returns NULL or a pointer to a NUL-terminated string owned by libc.
    let p = unsafe { libc::dlerror() };
    if p.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: non-null, NUL-terminated (see above); copied at once.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Library {
    /// Opens `name` (a soname such as `libwbclient.so.0`).
    pub fn open(name: &str) -> Result<Library, DlError> {
        let c = CString::new(name).map_err(|_| DlError::Open { lib: name.into(), why: "NUL in name".into() })?;
        // SAFETY: c is a valid C string; RTLD_NOW resolves everything up front.
        let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(DlError::Open { lib: name.into(), why: dlerror_text() });
        }
        Ok(Library { name: name.into(), handle })
    }

    /// The address of symbol `sym`, as a function pointer of type `F`.
    ///
    /// # Safety
    /// `F` must be the `extern "C" fn` type the library declares for `sym`.
    pub unsafe fn func<F: Copy>(&self, sym: &str) -> Result<F, DlError> {
        assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>(), "F must be a function pointer");
        let p = self.data(sym)?;
        // SAFETY: the caller guarantees F is the symbol's function pointer type; sizes match.
        Ok(unsafe { std::mem::transmute_copy::<*const c_void, F>(&p) })
    }

    /// The address of data symbol `sym`.
    pub fn data(&self, sym: &str) -> Result<*const c_void, DlError> {
        let c = CString::new(sym).map_err(|_| DlError::Symbol { lib: self.name.clone(), sym: sym.into() })?;
        // SAFETY: valid handle and C string.
        let p = unsafe { libc::dlsym(self.handle, c.as_ptr()) };
        if p.is_null() {
            return Err(DlError::Symbol { lib: self.name.clone(), sym: sym.into() });
        }
        Ok(p.cast_const())
    }
}

/// Declares a struct holding the C functions clusapid uses from one shared library, and its
/// `load()`, which opens the library and resolves every one of them (or says which is missing).
/// Each entry is `field: fn symbol(parameter types) -> return type;`: the C prototype of
/// `symbol`, in Rust types, is the type of `field` (an `unsafe extern "C" fn`). Resolving is
/// sound only if every prototype is right; an invocation names the headers it follows.
macro_rules! library_functions {
    (
        $(#[$meta:meta])*
        struct $name:ident from $lib:literal {
            $( $field:ident: fn $sym:ident($($arg:ty),* $(,)?) $(-> $ret:ty)?; )*
        }
    ) => {
        $(#[$meta])*
        struct $name {
            $( $field: unsafe extern "C" fn($($arg),*) $(-> $ret)?, )*
            _lib: $crate::domain::dl::Library,
        }

        impl $name {
            fn load() -> Result<$name, $crate::domain::dl::DlError> {
                let lib = $crate::domain::dl::Library::open($lib)?;
                // SAFETY: each field's type is the C prototype the invocation gives for its symbol.
                unsafe { Ok($name { $( $field: lib.func(stringify!($sym))?, )* _lib: lib }) }
            }
        }
    };
}
pub(crate) use library_functions;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libc_functions_load_and_missing_ones_are_errors() {
        let lib = Library::open("libc.so.6").unwrap();
        // SAFETY: strlen's C signature.
        let strlen: unsafe extern "C" fn(*const libc::c_char) -> usize = unsafe { lib.func("strlen") }.unwrap();
        let s = CString::new("clusapid").unwrap();
        // SAFETY: valid C string.
        assert_eq!(unsafe { strlen(s.as_ptr()) }, 8);
        assert!(matches!(
            unsafe { lib.func::<unsafe extern "C" fn()>("no_such_function_here") },
            Err(DlError::Symbol { .. })
        ));
        assert!(matches!(Library::open("libno-such-library.so.9"), Err(DlError::Open { .. })));
    }
}
