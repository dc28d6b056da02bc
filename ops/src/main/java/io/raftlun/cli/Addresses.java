package io.raftlun.cli;

import java.net.InetSocketAddress;

/** host:port arguments, with a default port, checked without DNS lookups for literal addresses. */
final class Addresses {

    private Addresses() {
    }

    static InetSocketAddress parse(String text, int defaultPort) {
        String host = text;
        int port = defaultPort;
        int colon = text.lastIndexOf(':');
        if (text.startsWith("[")) { // [v6]:port
            int close = text.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'" + text + "' is not HOST:PORT");
            }
            host = text.substring(1, close);
            if (close + 1 < text.length()) {
                port = port(text.substring(close + 2), text);
            }
        } else if (colon >= 0 && text.indexOf(':') == colon) {
            host = text.substring(0, colon);
            port = port(text.substring(colon + 1), text);
        }
        if (host.isEmpty()) {
            host = "0.0.0.0";
        }
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("cannot resolve host '" + host + "' in '" + text + "'");
        }
        return address;
    }

    private static int port(String digits, String text) {
        try {
            int port = Integer.parseInt(digits);
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return port;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' has no valid port (0-65535)");
        }
    }
}
