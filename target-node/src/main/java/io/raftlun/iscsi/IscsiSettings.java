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
 */
public record IscsiSettings(InetSocketAddress portal, int portalGroupTag, Duration nopInInterval,
                            Duration nopInTimeout) {

    public static final int DEFAULT_PORT = 3260;

    public static IscsiSettings defaults(InetSocketAddress portal) {
        return new IscsiSettings(portal, 1, Duration.ofSeconds(5), Duration.ofSeconds(10));
    }

    public IscsiSettings withPortalGroupTag(int tag) {
        return new IscsiSettings(portal, tag, nopInInterval, nopInTimeout);
    }
}
