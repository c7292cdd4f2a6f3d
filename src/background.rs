//! Threads that work beside the proxy (the ledger writer, the meter) and give the CPU way to it.

/// Puts the calling thread at idle priority, Linux's `SCHED_IDLE`: its work runs on CPU time
/// nothing else wants, and a request's thread that wakes on its core takes the core back at once.
/// At normal priority (or any nice value) the woken proxy thread waited out the background
/// thread's slice: on two cores, beside the agent and the upstream, a ledger commit of a few
/// hundred microseconds (a checkpoint: over a millisecond) was gw's p99. What it costs: while
/// other programs keep every core busy (a build), the work waits for a spare moment (the proxy
/// bench measures how long), and what waits for it waits too. One way: an unprivileged thread
/// cannot leave `SCHED_IDLE`.
pub fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread, and `param` is a valid `sched_param` for the call.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "a background thread stays at normal priority"
            );
        }
    }
}

/// The ids of this process's threads named `name` (Linux), for tests of their priority.
#[cfg(all(test, target_os = "linux"))]
pub fn threads_named(name: &str) -> Vec<libc::pid_t> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .filter_map(|task| task.file_name().to_str()?.parse().ok())
        .collect()
}
