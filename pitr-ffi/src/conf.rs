//! `postgresql.conf` and `postgresql.auto.conf`: a data directory's effective
//! settings (`pitr_config` handles), and writing `postgresql.auto.conf` like
//! `ALTER SYSTEM`.

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    arg_array, arg_handle, arg_out, arg_str, free_handle, handle_out, opt_handle, opt_str, string_out,
    to_cstring, to_json,
};
use pitr_core::conf::{self, AutoConfEdit, ConfigSet, Setting};
use std::ffi::{CString, c_char};
use std::path::Path;
use std::ptr;

/// One setting as read from a file, as `pitr_config_get` and
/// `pitr_config_effective` return it. The strings are borrowed from the
/// `pitr_config` handle: valid until it is freed; do not free them.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pitr_setting {
    /// The name as written in the file (names are case-insensitive).
    pub name: *const c_char,
    /// The value, quotes and escapes processed (`'it''s'` is `it's`).
    pub value: *const c_char,
    /// The file the value comes from.
    pub file: *const c_char,
    /// 1-based line in that file.
    pub line: u64,
}

#[derive(Debug)]
struct CSetting {
    /// The lower-case name (the sort and lookup key).
    key: String,
    name: CString,
    value: CString,
    file: CString,
    line: u64,
}

impl CSetting {
    fn new(s: &Setting) -> CSetting {
        CSetting {
            key: s.name.to_ascii_lowercase(),
            name: to_cstring(s.name.clone()),
            value: to_cstring(s.value.clone()),
            file: to_cstring(s.file.to_string_lossy().into_owned()),
            line: s.line as u64,
        }
    }

    fn view(&self) -> pitr_setting {
        pitr_setting {
            name: self.name.as_ptr(),
            value: self.value.as_ptr(),
            file: self.file.as_ptr(),
            line: self.line,
        }
    }
}

/// The configuration of a data directory (opaque): every setting line of
/// `postgresql.conf`, the files it includes and `postgresql.auto.conf`, in
/// the order the server reads them, with every error the server would
/// report. Made by `pitr_config_load_data_dir` or `pitr_config_load`, freed
/// with `pitr_config_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_config {
    inner: ConfigSet,
    /// The effective settings (last occurrence of each name), sorted by
    /// lower-case name.
    effective: Vec<CSetting>,
    errors: Vec<CString>,
}

impl pitr_config {
    fn new(inner: ConfigSet) -> pitr_config {
        let effective = inner.effective().into_iter().map(CSetting::new).collect();
        let errors = inner.errors.iter().map(|e| to_cstring(e.to_string())).collect();
        pitr_config { inner, effective, errors }
    }
}

/// Reads a data directory's configuration like the server: `postgresql.conf`
/// with its `include`, `include_if_exists` and `include_dir` files, then
/// `postgresql.auto.conf` if present. Problems in the files (syntax errors, a
/// missing `postgresql.conf` or included file, nesting too deep) do not make
/// this fail: they are in the handle (`pitr_config_is_ok`,
/// `pitr_config_error`), as the server would refuse to start. `*out`
/// receives a new handle, freed with `pitr_config_free`.
///
/// Errors: `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `pgdata` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_config *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_load_data_dir(
    pgdata: *const c_char,
    out: *mut *mut pitr_config,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (pgdata, out) = unsafe { (arg_str(pgdata, "pgdata")?, arg_out(out, "out")?) };
        handle_out(out, pitr_config::new(ConfigSet::load_data_dir(Path::new(pgdata))));
        Ok(())
    })
}

/// As `pitr_config_load_data_dir` for a server whose configuration file lives
/// elsewhere (`config_file`): reads `config_file` with its includes, then,
/// when `data_dir` is not NULL, `data_dir/postgresql.auto.conf` if present.
///
/// Thread safety: any thread.
///
/// # Safety
/// `config_file` must be a NUL-terminated string; `data_dir` must be NULL or
/// one; `out` must point to a writable `pitr_config *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_load(
    config_file: *const c_char,
    data_dir: *const c_char,
    out: *mut *mut pitr_config,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (file, dir, out) = unsafe {
            (arg_str(config_file, "config_file")?, opt_str(data_dir, "data_dir")?, arg_out(out, "out")?)
        };
        handle_out(out, pitr_config::new(ConfigSet::load(Path::new(file), dir.map(Path::new))));
        Ok(())
    })
}

/// Frees a configuration handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `c` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_free(c: *mut pitr_config) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(c) })
}

/// True when no file had an error (the server would start with this
/// configuration). False when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_is_ok(c: *const pitr_config) -> bool {
    // SAFETY: documented contract.
    guard_value(false, || unsafe { opt_handle(c) }.is_some_and(|c| c.inner.is_ok()))
}

/// The number of errors (0 when `c` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_error_count(c: *const pitr_config) -> usize {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.errors.len()))
}

/// The message of error `index` (naming the file and line, e.g.
/// `.../postgresql.conf:3: invalid configuration file: syntax error in file
/// ... near token "MB"`), or NULL when `index` is out of range or `c` is NULL.
/// Borrowed: valid until the handle is freed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_error(c: *const pitr_config, index: usize) -> *const c_char {
    guard_value(ptr::null(), || {
        // SAFETY: documented contract.
        unsafe { opt_handle(c) }.and_then(|c| c.errors.get(index)).map_or(ptr::null(), |e| e.as_ptr())
    })
}

/// `*out` = the effective setting of `name` (case-insensitive): its last
/// occurrence, with the file and line it comes from.
///
/// Errors: `PITR_STATUS_NO_VALUE` (not set in any file),
/// `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be a live handle; `name` must be a NUL-terminated string; `out`
/// must point to a writable `pitr_setting`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_get(
    c: *const pitr_config,
    name: *const c_char,
    out: *mut pitr_setting,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (c, name, out) = unsafe { (arg_handle(c, "c")?, arg_str(name, "name")?, arg_out(out, "out")?) };
        let lower = name.to_ascii_lowercase();
        let s = c
            .effective
            .binary_search_by(|s| s.key.as_str().cmp(&lower))
            .ok()
            .and_then(|i| c.effective.get(i))
            .ok_or_else(|| FfiError::no_value(format!("{name} is not set in any configuration file")))?;
        out.write(s.view());
        Ok(())
    })
}

/// The number of effective settings (distinct names; 0 when `c` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_effective_count(c: *const pitr_config) -> usize {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.effective.len()))
}

/// `*out` = effective setting `index`, in the order of their lower-case
/// names.
///
/// Errors: `PITR_STATUS_INVALID_ARGUMENT` (`index` >= the count),
/// `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be a live handle; `out` must point to a writable `pitr_setting`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_effective(
    c: *const pitr_config,
    index: usize,
    out: *mut pitr_setting,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (c, out) = unsafe { (arg_handle(c, "c")?, arg_out(out, "out")?) };
        let s = c.effective.get(index).ok_or_else(|| {
            FfiError::invalid_argument(format!(
                "setting {index} does not exist: there are {} effective settings",
                c.effective.len()
            ))
        })?;
        out.write(s.view());
        Ok(())
    })
}

/// `*out` = the configuration as JSON (pitr-core's serde form): `settings`
/// (every line in reading order: `name`, `value`, `file`, `line`), `files`
/// read, `skipped` (missing `include_if_exists` files) and `errors`
/// (messages). Library-allocated; free with `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_config_to_json(c: *const pitr_config, out: *mut *mut c_char) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (c, out) = unsafe { (arg_handle(c, "c")?, arg_out(out, "out")?) };
        string_out(out, to_json(&c.inner)?);
        Ok(())
    })
}

/// `*out` = a value quoted as `ALTER SYSTEM` writes it: `'...'` with `'` and
/// `\` doubled. Library-allocated; free with `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `value` must be a NUL-terminated string; `out` must point to a writable
/// `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_conf_quote_value(value: *const c_char, out: *mut *mut c_char) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (value, out) = unsafe { (arg_str(value, "value")?, arg_out(out, "out")?) };
        string_out(out, conf::quote_value(value));
        Ok(())
    })
}

/// Reads `n` name/value pairs. Values may be NULL only when `allow_null`.
///
/// # Safety
/// `names` and `values` must each be NULL (when `n` is 0) or point to `n`
/// pointers, each NULL or a NUL-terminated string.
unsafe fn pairs<'a>(
    names: *const *const c_char,
    values: *const *const c_char,
    n: usize,
    allow_null: bool,
) -> Result<Vec<(&'a str, Option<&'a str>)>, FfiError> {
    // SAFETY: forwarded.
    let (names, values) = unsafe { (arg_array(names, n, "names")?, arg_array(values, n, "values")?) };
    let mut v = Vec::with_capacity(n);
    for (i, (&name, &value)) in names.iter().zip(values).enumerate() {
        // SAFETY: forwarded: each is NULL or a string.
        let name = unsafe { arg_str(name, &format!("names[{i}]"))? };
        // SAFETY: as above.
        let value = unsafe {
            if allow_null {
                opt_str(value, &format!("values[{i}]"))?
            } else {
                Some(arg_str(value, &format!("values[{i}]"))?)
            }
        };
        v.push((name, value));
    }
    Ok(v)
}

/// `*out` = a whole `postgresql.auto.conf` as `ALTER SYSTEM` writes it: the
/// two header lines, then `name = 'value'` for each of the `n` pairs
/// (`names[i]`, `values[i]`), in order. Library-allocated; free with
/// `pitr_string_free`.
///
/// Errors: `PITR_STATUS_PARSE` (a name that is not a parameter name or is an
/// include directive, a value with a newline), `PITR_STATUS_NULL_ARGUMENT`
/// (also for a NULL element), `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `names` and `values` must each point to `n` NUL-terminated strings (they
/// may be NULL when `n` is 0); `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_auto_conf_render(
    names: *const *const c_char,
    values: *const *const c_char,
    n: usize,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (pairs, out) = unsafe { (pairs(names, values, n, false)?, arg_out(out, "out")?) };
        let settings: Vec<(&str, &str)> =
            pairs.into_iter().map(|(n, v)| (n, v.unwrap_or_default())).collect();
        string_out(out, conf::render_auto_conf(&settings)?);
        Ok(())
    })
}

/// `*out` = `existing` (the text of a `postgresql.auto.conf`) changed the way
/// `ALTER SYSTEM` changes it, applying the `n` edits in order: `values[i]`
/// not NULL sets `names[i]` (every line of that name, case-insensitive, is
/// removed and `names[i] = 'values[i]'` appended), NULL removes it (`ALTER
/// SYSTEM RESET`). The result is the header plus one quoted line per
/// remaining setting; comments are dropped, as `ALTER SYSTEM` does.
/// Library-allocated; free with `pitr_string_free`.
///
/// Errors: `PITR_STATUS_PARSE` (`existing` has a syntax error or an include
/// directive, a bad name, a value with a newline), `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `existing` must be a NUL-terminated string; `names` must point to `n`
/// NUL-terminated strings and `values` to `n` pointers, each NULL or a
/// NUL-terminated string (both may be NULL when `n` is 0); `out` must point
/// to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_auto_conf_edit(
    existing: *const c_char,
    names: *const *const c_char,
    values: *const *const c_char,
    n: usize,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (existing, pairs, out) =
            unsafe { (arg_str(existing, "existing")?, pairs(names, values, n, true)?, arg_out(out, "out")?) };
        let edits: Vec<AutoConfEdit> = pairs
            .into_iter()
            .map(|(n, v)| match v {
                Some(v) => AutoConfEdit::set(n, v),
                None => AutoConfEdit::remove(n),
            })
            .collect();
        string_out(out, conf::edit_auto_conf(existing, &edits)?);
        Ok(())
    })
}
