//! How long received bytes waited in the kernel before the client read them: the
//! part of a first token's timestamp error that is the client's own.
//!
//! Why: a token is stamped when the client *reads* it, not when it arrived. When
//! the client could not run (a stolen core, another process on its CPU, SIGSTOP,
//! a runtime busy with other sockets), the bytes wait in the socket and the TTFT
//! grows by that wait. With `SO_TIMESTAMPNS` the kernel stamps each packet as it
//! is received (on loopback, inside the server's own `write`), and `recvmsg`
//! returns that stamp with the bytes; the clock read right after the call gives
//! the wait. This measures per request what the paired study measures from the
//! server's side (docs/performance.md), where a stall detector can only guess
//! which first tokens a stall touched.
//!
//! Cost: `recvmsg` with a control message costs more than a `read` (about 7 %
//! more client CPU per token at 1,024 streams when every read used it), so a
//! connection reads this way only from a request's send to its first token
//! (docs/performance.md). The kernel still stamps every packet once any socket
//! asks.
//!
//! TCP reports the stamp of the newest packet a read took: when a read takes
//! several packets, the older ones waited longer, so the figure is a lower bound
//! for the first of them. The kernel turns stamping on a moment after the first
//! socket asks for it, so a run's first packets may come unstamped. Linux only;
//! elsewhere, over TLS, and for unstamped packets no wait is known.

use std::io;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;

/// Asks the kernel to stamp what this socket receives. Failing that, reads carry
/// no wait ([`recv`] returns `None`); nothing else changes.
pub fn enable(tcp: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: the descriptor is open for as long as `tcp` lives; the option
        // value is a c_int of the size given.
        unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = tcp;
}

/// Reads what is there into `buf`, waiting until something is. Returns the byte
/// count (0: the server closed) and how long the newest of those bytes had
/// waited in the kernel, when it stamped them.
pub async fn recv(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
    tcp.async_io(Interest::READABLE, || recv_now(tcp, buf))
        .await
}

#[cfg(target_os = "linux")]
fn recv_now(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
    use std::os::fd::AsRawFd;
    // Room for one `struct timespec` control message, aligned as cmsghdr wants.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is valid (no name, no iovecs, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: the descriptor is open; `iov` points at `buf.len()` writable bytes
    // and `msg_control` at `msg_controllen` writable bytes, all outliving the call.
    let n = unsafe { libc::recvmsg(tcp.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let read_at = realtime_now();
    // SAFETY: `msg` was filled by the kernel; the CMSG macros walk only within
    // `msg_controllen`, and a SCM_TIMESTAMPNS message holds one timespec.
    let stamped = unsafe {
        let mut found = None;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                found = Some(ts);
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        found
    };
    let waited = match (stamped, read_at) {
        (Some(arrived), Some(read_at)) => wait(arrived, read_at),
        _ => None,
    };
    Ok((n.unsigned_abs(), waited))
}

#[cfg(not(target_os = "linux"))]
fn recv_now(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
    tcp.try_read(buf).map(|n| (n, None))
}

/// `CLOCK_REALTIME`, the clock the kernel stamps packets on.
#[cfg(target_os = "linux")]
fn realtime_now() -> Option<libc::timespec> {
    // SAFETY: an all-zero timespec is valid, and clock_gettime writes one.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `now` is a valid timespec to write to.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    (rc == 0).then_some(now)
}

/// From the kernel's stamp to the read. A stamp of zero means none was taken; a
/// stamp after the read means the wall clock was stepped in between: neither
/// says anything.
#[cfg(target_os = "linux")]
fn wait(arrived: libc::timespec, read_at: libc::timespec) -> Option<Duration> {
    let ns = |t: libc::timespec| i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec);
    let (arrived, read_at) = (ns(arrived), ns(read_at));
    if arrived == 0 || arrived > read_at {
        return None;
    }
    u64::try_from(read_at - arrived)
        .ok()
        .map(Duration::from_nanos)
}

/// Waits until the kernel stamps loopback packets: it turns stamping on a moment
/// after the first socket asks (a deferred static key). Panics after 2 s.
#[cfg(all(test, target_os = "linux"))]
pub(super) async fn until_stamping_is_on() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    enable(&client);
    let mut buf = [0u8; 8];
    for _ in 0..200 {
        server.write_all(b".").await.unwrap();
        let (n, waited) = recv(&client, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b".");
        if waited.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the kernel never stamped a loopback packet");
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Bytes left unread for 30 ms report at least that wait; bytes read as
    /// they come report less than the pause before them.
    #[tokio::test]
    async fn bytes_left_waiting_report_how_long_they_waited() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        enable(&client);
        until_stamping_is_on().await;
        let mut buf = [0u8; 64];

        server.write_all(b"first").await.unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let (n, waited) = recv(&client, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"first");
        let waited = waited.expect("stamped");
        assert!(waited >= Duration::from_millis(29), "{waited:?}");
        assert!(waited < Duration::from_secs(30), "{waited:?}");

        // Read while waiting for it: the wait is the read's own latency, far
        // below the 200 ms the bytes took to come.
        let writer = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            server.write_all(b"second").await.unwrap();
        };
        let ((n, waited), ()) =
            tokio::join!(async { recv(&client, &mut buf).await.unwrap() }, writer);
        assert_eq!(&buf[..n], b"second");
        let waited = waited.expect("stamped");
        assert!(waited < Duration::from_millis(150), "{waited:?}");
    }

    #[test]
    fn no_stamp_or_a_stepped_clock_says_nothing() {
        let t = |s, ns| libc::timespec {
            tv_sec: s,
            tv_nsec: ns,
        };
        assert_eq!(wait(t(0, 0), t(5, 0)), None);
        assert_eq!(wait(t(6, 0), t(5, 0)), None);
        assert_eq!(
            wait(t(5, 999_000_000), t(6, 1_000_000)),
            Some(Duration::from_millis(2))
        );
    }
}
