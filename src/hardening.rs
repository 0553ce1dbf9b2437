//! Keeps health data and the database key out of crash dumps.
//!
//! A crash in the C code (SQLCipher, OpenSSL) would otherwise let the
//! kernel write a core file holding whatever was in memory: the unwrapped
//! database key, decrypted pages, the form being typed. Both programs
//! turn core dumps off for themselves first thing.

// The two system calls need `unsafe`; each block says why it is sound.
#![allow(unsafe_code)]

/// No core file for this process (soft and hard limit 0), and not dumpable,
/// which also keeps other processes of the same user from reading its
/// memory through ptrace or /proc. Best effort: a failure changes nothing.
pub fn forbid_core_dumps() {
    #[cfg(unix)]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass; no memory is shared.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_DUMPABLE takes plain integer arguments.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0)
        };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn core_dumps_are_off_afterwards() {
        super::forbid_core_dumps();
        let mut limit = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: getrlimit writes into the struct we own.
        unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) };
        assert_eq!((limit.rlim_cur, limit.rlim_max), (0, 0));
        #[cfg(target_os = "linux")]
        // SAFETY: PR_GET_DUMPABLE takes no pointer.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
    }
}
