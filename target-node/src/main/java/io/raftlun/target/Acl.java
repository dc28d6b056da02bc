package io.raftlun.target;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * tgt's initiator binding: each entry is {@code ALL}, an IP address, a network in CIDR notation,
 * or an initiator name; an initiator is admitted if any entry matches it.
 */
public final class Acl {

    /** IPv4 dotted quads or IPv6 literals (with a colon), so that no entry ever causes a DNS lookup. */
    private static final Pattern ADDRESS = Pattern.compile(
            "(\\d{1,3}(\\.\\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:.]*)(/\\d{1,3})?");

    private Acl() {
    }

    static boolean valid(String entry) {
        if (entry == null || entry.isBlank()) {
            return false;
        }
        if (entry.equalsIgnoreCase(TargetConfig.ALL) || TargetConfig.validName(entry)) {
            return true;
        }
        return network(entry) != null;
    }

    static boolean admits(List<String> entries, String initiatorName, InetAddress address) {
        for (String entry : entries) {
            if (entry.equalsIgnoreCase(TargetConfig.ALL) || entry.equals(initiatorName)) {
                return true;
            }
            Network network = network(entry);
            if (network != null && address != null && network.contains(address)) {
                return true;
            }
        }
        return false;
    }

    private record Network(byte[] prefix, int bits) {
        boolean contains(InetAddress address) {
            return sameNetwork(prefix, address.getAddress(), bits);
        }
    }

    /** True if both addresses (same family) agree in their first {@code bits} bits. */
    public static boolean sameNetwork(byte[] a, byte[] b, int bits) {
        if (a.length != b.length) {
            return false;
        }
        for (int bit = 0; bit < bits; bit++) {
            int mask = 0x80 >>> (bit % 8);
            if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) {
                return false;
            }
        }
        return true;
    }

    /** The network an address or CIDR entry names, or null if it is not one (no DNS lookups). */
    private static Network network(String entry) {
        if (!ADDRESS.matcher(entry).matches()) {
            return null;
        }
        String[] parts = entry.split("/", 2);
        try {
            byte[] prefix = InetAddress.getByName(parts[0]).getAddress();
            int bits = parts.length == 2 ? Integer.parseInt(parts[1]) : prefix.length * 8;
            if (bits > prefix.length * 8) {
                return null;
            }
            return new Network(prefix, bits);
        } catch (UnknownHostException | NumberFormatException e) {
            return null;
        }
    }
}
