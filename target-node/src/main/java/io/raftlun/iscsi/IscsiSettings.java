package io.raftlun.iscsi;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * How one node's iSCSI portal is set up.
 *
 * @param portal        address and port to listen on (RFC 7143's well-known port is 3260)
 * @param portalGroupTag this node's target portal group tag
 * @param nopInInterval how long a connection may be idle before the target pings the initiator
 *                      (NOP-In); zero disables the pings
 * @param nopInTimeout  how long the target waits for the answer before dropping the connection
 * @param announcesOnlyItself SendTargets through this portal lists this portal alone, not every
 *                      portal of the target (the cluster's floating portal: an initiator that
 *                      knows one address is not sent to the nodes behind it)
 * @param fencingToken  asked at each login: the token the session's changes carry (see
 *                      {@link io.raftlun.scsi.ItNexus#fencingToken}), for a portal another node
 *                      may take over (the floating portal: the term in which this node took it);
 *                      negative when this node no longer holds the portal, which refuses the login
 * @param busyPoll      how long an event loop polls its connections for the next command before it
 *                      sleeps (see {@link BusyPolling}); zero sleeps at once
 */
public record IscsiSettings(InetSocketAddress portal, int portalGroupTag, Duration nopInInterval,
                            Duration nopInTimeout, boolean announcesOnlyItself, LongSupplier fencingToken,
                            Duration busyPoll) {

    public static final int DEFAULT_PORT = 3260;
    /**
     * Off: polling pays only where a core is free for it. On 2 cores shared with the initiator, 50 µs
     * took a lone node's 4 KiB queue-depth-1 latencies down by half on one host, by 4-15% on another
     * where waking a thread cost less, and cost up to twice the CPU per such command. Polling after
     * every burst of work, as it first did, also cost 8% of queue-depth-32 reads and 20% of 1 MiB
     * writes, and three nodes sharing the cores a third of their queue-depth-32 reads; polling only
     * for initiators that wait for each answer left those rows within the bench's noise.
     */
    public static final int DEFAULT_BUSY_POLL_MICROS = 0;
    public static final Duration DEFAULT_BUSY_POLL = Duration.ofNanos(DEFAULT_BUSY_POLL_MICROS * 1000L);
    /** The fencing token of a portal no other node takes over: none. */
    public static final LongSupplier UNFENCED = () -> 0;

    public IscsiSettings(InetSocketAddress portal, int portalGroupTag, Duration nopInInterval, Duration nopInTimeout) {
        this(portal, portalGroupTag, nopInInterval, nopInTimeout, false, UNFENCED, DEFAULT_BUSY_POLL);
    }

    public static IscsiSettings defaults(InetSocketAddress portal) {
        return new IscsiSettings(portal, 1, Duration.ofSeconds(5), Duration.ofSeconds(10));
    }

    public IscsiSettings withPortalGroupTag(int tag) {
        return new IscsiSettings(portal, tag, nopInInterval, nopInTimeout, announcesOnlyItself, fencingToken, busyPoll);
    }

    public IscsiSettings withBusyPoll(Duration window) {
        return new IscsiSettings(portal, portalGroupTag, nopInInterval, nopInTimeout, announcesOnlyItself,
                fencingToken, window);
    }

    /**
     * These settings for a second portal of the node, on {@code address} with its own tag,
     * announcing only itself, its sessions fenced by {@code fencingToken}.
     */
    public IscsiSettings soleAnnouncedPortal(InetSocketAddress address, int tag, LongSupplier fencingToken) {
        return new IscsiSettings(address, tag, nopInInterval, nopInTimeout, true, fencingToken, busyPoll);
    }
}
