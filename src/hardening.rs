//! Keeps health data and the database key out of crash dumps, and lets a
//! closed pipe end a command-line run quietly.
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

/// A closed pipe (`jkda residents search … | head -1`) ends the run at
/// once and quietly, as for any Unix tool (status 141 in a shell), instead
/// of a panic ("failed printing to stdout: Broken pipe"). Rust ignores
/// SIGPIPE before `main`; this restores the default. Only for commands that
/// print: the TUI (which refuses a stdout that is not a terminal) and
/// `jkda-hub serve` keep ignoring it. Sockets are unaffected either way:
/// std writes to a TcpStream with `send(MSG_NOSIGNAL)`, and ureq, native-tls
/// and tiny_http write through it (`write_all`, never `write_vectored`), so
/// a platform that drops the connection is an error, not a signal.
pub fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: signal() with a constant disposition; no handler runs our code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
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
