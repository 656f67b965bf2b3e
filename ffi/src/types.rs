//! The C layouts shared by the zerokit v2 surface: `Vec { ptr, len, cap }` (safer-ffi's
//! `repr_c::Vec` and `repr_c::String`), `CResult { ok, err }` and `CBoolResult`, and the
//! checked readers of what C hands in (null pointers and impossible lengths become errors).

use rlnkit::Field;

/// A field element handle (`CFr*` in C): zerokit's opaque `CFr`, one BN254 scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CFr(pub Field);

/// A byte vector owned by the library when it hands one out (free it with `ffi_vec_u8_free`,
/// or `ffi_c_string_free` for error strings); a view of the caller's bytes when passed in.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct Vec_uint8 {
    /// First byte (null for "none" in results).
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
    /// Allocated capacity (meaningful only for vectors the library made).
    pub cap: usize,
}

/// A vector of field elements owned by the library (free it with `ffi_vec_cfr_free`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct Vec_CFr {
    /// First element (null for "none" in results).
    pub ptr: *mut CFr,
    /// Number of elements.
    pub len: usize,
    /// Allocated capacity.
    pub cap: usize,
}

macro_rules! vec_conversions {
    ($c:ident, $t:ty) => {
        impl $c {
            /// The "none" value (null pointer).
            pub(crate) const NONE: $c = $c { ptr: std::ptr::null_mut(), len: 0, cap: 0 };

            /// Hands a Rust vector to C.
            pub(crate) fn from_vec(v: Vec<$t>) -> Self {
                let mut v = std::mem::ManuallyDrop::new(v);
                $c { ptr: v.as_mut_ptr(), len: v.len(), cap: v.capacity() }
            }

            /// Takes back a vector this library handed out (None for a null pointer).
            ///
            /// # Safety
            /// `self` must come from [`Self::from_vec`] and not have been freed.
            pub(crate) unsafe fn into_vec(self) -> Option<Vec<$t>> {
                if self.ptr.is_null() {
                    return None;
                }
                Some(unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) })
            }
        }
    };
}
vec_conversions!(Vec_uint8, u8);
vec_conversions!(Vec_CFr, CFr);

impl From<String> for Vec_uint8 {
    fn from(s: String) -> Self {
        Vec_uint8::from_vec(s.into_bytes())
    }
}

/// A result handing out a field element: exactly one of `ok` (free with `ffi_cfr_free`) and
/// `err` (free with `ffi_c_string_free`) is set.
#[repr(C)]
#[derive(Debug)]
pub struct CResultCFr {
    /// The value, or null.
    pub ok: *mut CFr,
    /// The error message (not NUL-terminated), or a null `ptr`.
    pub err: Vec_uint8,
}

/// A result handing out a byte vector (free `ok` with `ffi_vec_u8_free`).
#[repr(C)]
#[derive(Debug)]
pub struct CResultVecU8 {
    /// The bytes, or a null `ptr`.
    pub ok: Vec_uint8,
    /// The error message, or a null `ptr`.
    pub err: Vec_uint8,
}

/// A result handing out a vector of field elements (free `ok` with `ffi_vec_cfr_free`).
#[repr(C)]
#[derive(Debug)]
pub struct CResultVecCFr {
    /// The elements, or a null `ptr`.
    pub ok: Vec_CFr,
    /// The error message, or a null `ptr`.
    pub err: Vec_uint8,
}

/// A verification result: `ok` is true only when every check passed; otherwise `err` says why.
#[repr(C)]
#[derive(Debug)]
pub struct CBoolResult {
    /// Whether the proof was accepted.
    pub ok: bool,
    /// Why not (free with `ffi_c_string_free`), or a null `ptr`.
    pub err: Vec_uint8,
}

/// Results whose `ok` is a value or a null/none marker.
pub(crate) trait FfiResult: Sized {
    /// The success value's C form.
    type Ok;
    /// A result carrying a value.
    fn ok(v: Self::Ok) -> Self;
    /// A result carrying an error message.
    fn err(msg: String) -> Self;
    /// From a Rust result.
    fn from_result(r: Result<Self::Ok, String>) -> Self {
        match r {
            Ok(v) => Self::ok(v),
            Err(e) => Self::err(e),
        }
    }
}

macro_rules! ffi_result {
    ($name:ident, $ok:ty, $none:expr) => {
        impl FfiResult for $name {
            type Ok = $ok;
            fn ok(v: $ok) -> Self {
                $name { ok: v, err: Vec_uint8::NONE }
            }
            fn err(msg: String) -> Self {
                $name { ok: $none, err: msg.into() }
            }
        }
    };
}
pub(crate) use ffi_result;
ffi_result!(CResultCFr, *mut CFr, std::ptr::null_mut());
ffi_result!(CResultVecU8, Vec_uint8, Vec_uint8::NONE);
ffi_result!(CResultVecCFr, Vec_CFr, Vec_CFr::NONE);

impl FfiResult for CBoolResult {
    type Ok = ();
    fn ok(_: ()) -> Self {
        CBoolResult { ok: true, err: Vec_uint8::NONE }
    }
    fn err(msg: String) -> Self {
        CBoolResult { ok: false, err: msg.into() }
    }
}

/// Runs `f`, turning a panic into an error result (a panic must never cross the C boundary).
pub(crate) fn guarded<R: FfiResult>(f: impl FnOnce() -> Result<R::Ok, String>) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => R::from_result(r),
        Err(_) => R::err("internal error: the library panicked (please report)".into()),
    }
}

/// Runs `f`, returning `fallback` on a panic.
pub(crate) fn guarded_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// A new field element handle.
pub(crate) fn boxed(f: Field) -> *mut CFr {
    Box::into_raw(Box::new(CFr(f)))
}

/// Reads a `T*` handle passed by value; an error names the argument when it is null.
///
/// # Safety
/// A non-null `p` must point to a live `T` made by this library.
pub(crate) unsafe fn arg<'a, T>(p: *const T, name: &str) -> Result<&'a T, String> {
    unsafe { p.as_ref() }.ok_or_else(|| format!("{name} is a null pointer"))
}

/// Reads a `T* const*` handle (safer-ffi's `&repr_c::Box<T>`).
///
/// # Safety
/// A non-null `p` must point to a null or live handle made by this library.
pub(crate) unsafe fn handle<'a, T>(p: *const *mut T, name: &str) -> Result<&'a T, String> {
    let inner = unsafe { arg(p, name)? };
    unsafe { arg(*inner as *const T, name) }
}

/// Reads a field element argument.
///
/// # Safety
/// As [`arg`].
pub(crate) unsafe fn field(p: *const CFr, name: &str) -> Result<Field, String> {
    unsafe { arg(p, name) }.map(|c| c.0)
}

/// The bytes a `Vec_uint8*` argument points at (a null `ptr` with length 0 is empty).
///
/// # Safety
/// A non-null `v` must point to a `Vec_uint8` whose `ptr` addresses `len` readable bytes.
pub(crate) unsafe fn bytes<'a>(v: *const Vec_uint8, name: &str) -> Result<&'a [u8], String> {
    let v = unsafe { arg(v, name)? };
    unsafe { slice(v.ptr, v.len, name) }
}

/// The elements a `Vec_CFr*` argument points at.
///
/// # Safety
/// As [`bytes`], for `len` field elements made by this library.
pub(crate) unsafe fn fields<'a>(v: *const Vec_CFr, name: &str) -> Result<&'a [CFr], String> {
    let v = unsafe { arg(v, name)? };
    unsafe { slice(v.ptr, v.len, name) }
}

/// A slice from a C pointer and length; null is allowed only with length 0.
///
/// # Safety
/// A non-null `ptr` must address `len` readable values.
pub(crate) unsafe fn slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], String> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(format!("{name} has a null pointer and length {len}"))
        };
    }
    if len.checked_mul(std::mem::size_of::<T>()).is_none_or(|n| n > isize::MAX as usize) {
        return Err(format!("{name} has an impossible length {len}"));
    }
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}
