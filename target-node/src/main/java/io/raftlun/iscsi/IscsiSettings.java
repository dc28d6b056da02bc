package io.raftlun.iscsi;

import java.net.InetSocketAddress;
import java.time.Duration;

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
 */
public record IscsiSettings(InetSocketAddress portal, int portalGroupTag, Duration nopInInterval,
                            Duration nopInTimeout, boolean announcesOnlyItself) {

    public static final int DEFAULT_PORT = 3260;

    public IscsiSettings(InetSocketAddress portal, int portalGroupTag, Duration nopInInterval, Duration nopInTimeout) {
        this(portal, portalGroupTag, nopInInterval, nopInTimeout, false);
    }

    public static IscsiSettings defaults(InetSocketAddress portal) {
        return new IscsiSettings(portal, 1, Duration.ofSeconds(5), Duration.ofSeconds(10));
    }

    public IscsiSettings withPortalGroupTag(int tag) {
        return new IscsiSettings(portal, tag, nopInInterval, nopInTimeout, announcesOnlyItself);
    }

    /** These settings for a second portal of the node, on {@code address} with its own tag, announcing only itself. */
    public IscsiSettings soleAnnouncedPortal(InetSocketAddress address, int tag) {
        return new IscsiSettings(address, tag, nopInInterval, nopInTimeout, true);
    }
}
