package io.raftlun.consensus;

import java.net.InetSocketAddress;

/** HOST:PORT as users write it and Ratis takes it: an IPv6 host in brackets. */
public final class HostPort {

    private HostPort() {
    }

    /** The host as it was given (a name stays a name: no DNS lookup), for messages and peer addresses. */
    public static String of(InetSocketAddress address) {
        return of(address.getHostString(), address.getPort());
    }

    public static String of(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
