//! Runs the agent as a child that owns the terminal: stdio inherited, Ctrl-C left to it (the
//! terminal sends SIGINT to the whole foreground group, so gw only has to survive it), SIGTERM and
//! SIGHUP forwarded, and its exit status turned into gw's exit code.

use std::process::{ExitStatus, Stdio};

/// Spawns `command` and waits for it, forwarding termination signals. Returns its exit status.
pub async fn run(mut command: tokio::process::Command) -> std::io::Result<ExitStatus> {
    command
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        // Registered before the spawn, so a Ctrl-C that lands at once does not kill gw.
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        let mut quit = signal(SignalKind::quit())?;
        let mut child = command.spawn()?;
        let pid = child.id().map(|id| id as libc::pid_t);
        loop {
            let forward = tokio::select! {
                status = child.wait() => return status,
                _ = interrupt.recv() => None, // the agent got it from the terminal too
                _ = quit.recv() => None,
                _ = terminate.recv() => Some(libc::SIGTERM),
                _ = hangup.recv() => Some(libc::SIGHUP),
            };
            if let (Some(sig), Some(pid)) = (forward, pid) {
                // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
                unsafe {
                    libc::kill(pid, sig);
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let mut child = command.spawn()?;
        loop {
            tokio::select! {
                status = child.wait() => return status,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
}

/// The exit code a shell would report: the child's code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return code.clamp(0, 255) as u8;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return (128 + signal).clamp(0, 255) as u8;
        }
    }
    1
}
