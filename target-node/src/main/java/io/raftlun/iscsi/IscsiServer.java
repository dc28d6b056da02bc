package io.raftlun.iscsi;

import java.net.InetSocketAddress;

/** One node's iSCSI portal. (Stub: filled in by the transport work.) */
public final class IscsiServer implements AutoCloseable {

    private final InetSocketAddress bound;

    private IscsiServer(InetSocketAddress bound) {
        this.bound = bound;
    }

    /** Binds the portal and serves the directory's targets until closed. */
    public static IscsiServer start(IscsiSettings settings, TargetDirectory directory) {
        return new IscsiServer(settings.portal());
    }

    /** The address actually bound (the port is chosen by the system when configured as 0). */
    public InetSocketAddress localAddress() {
        return bound;
    }

    @Override
    public void close() {
    }
}
