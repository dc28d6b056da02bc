package io.raftlun.cluster;

import io.netty.util.concurrent.DefaultThreadFactory;
import io.raftlun.iscsi.IscsiServer;
import io.raftlun.target.Acl;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's floating portal, for initiators that know one address: the node leading the
 * cluster's meta group holds it. Holding means the address is on this node's network interface
 * (announced by gratuitous ARP, so neighbours and switches send to this node's MAC at once) and a
 * portal listens on it. A node that stops leading (it stepped down, lost the majority, is
 * draining) drops the address and that portal's sessions; the new leader takes it within an
 * election timeout, and resets the connections initiators still have to the old holder (which
 * recorded them in the meta group), so that they reconnect at once.
 *
 * <p>Needs CAP_NET_ADMIN and CAP_NET_RAW (root, or the capabilities granted to the java binary),
 * {@code ip} (iproute2) and {@code arping} (iputils-arping).
 */
public final class FloatingPortal implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FloatingPortal.class);
    static final long CHECK_MILLIS = 100;
    /** After a failed {@code ip} command (no privilege, no such device): wait before trying again. */
    static final long RETRY_MILLIS = 5000;
    /**
     * How long the address is held before {@code whileHeld} runs: moving a volume's leadership
     * pauses its I/O briefly, which must not add to the pause of the failover that brought the
     * address here.
     */
    static final long SETTLE_MILLIS = 5000;
    /**
     * How long a holder handing the cluster's leadership over on purpose keeps the address after
     * it stopped leading (see {@link #handOverSoon}): time for the new holder to notice, take the
     * address and announce it.
     */
    static final long HAND_OVER_OVERLAP_MILLIS = 500;
    /** How long after {@link #handOverSoon} a loss of the leadership counts as that planned hand-over. */
    static final long HAND_OVER_WINDOW_MILLIS = 15_000;
    /**
     * When, after taking the address, the connections initiators had to the previous holder are
     * reset (see {@link #resetPreviousConnections}): once the first announcement has been heard,
     * and again after the second in case the first was not (arping sends one a second).
     */
    static final long[] RESET_AFTER_MILLIS = {100, 1100};
    /** How long a reset's SYNs are kept open: the initiator's answer and this host's reset, a round trip. */
    static final long RESET_ANSWER_MILLIS = 100;
    /** When, after taking the address, this holder is done resetting the previous holder's initiators. */
    static final long RESETS_DONE_MILLIS = RESET_AFTER_MILLIS[RESET_AFTER_MILLIS.length - 1] + RESET_ANSWER_MILLIS;

    /**
     * Where the holder leaves the addresses of the initiators connected through the floating portal
     * for the next holder (the cluster's meta group).
     */
    public interface InitiatorRecord {
        /** Records the connected initiators, in the background; the latest record wins. */
        void record(List<InetSocketAddress> initiators);

        /** The initiators the last holder recorded. */
        List<InetSocketAddress> recorded();
    }

    /**
     * The floating address as {@code ADDRESS/PREFIX} on a node's interface.
     *
     * @param address      the service address initiators use
     * @param prefixLength its network's prefix length (as on the node's own address)
     */
    public record Address(InetAddress address, int prefixLength) {

        /** Parses {@code 192.168.10.100/24}; one clear message if it is not that. */
        public static Address parse(String text) {
            int slash = text.indexOf('/');
            try {
                if (slash < 0) {
                    throw new IllegalArgumentException("missing /PREFIX");
                }
                InetAddress address = InetAddress.getByName(text.substring(0, slash));
                int prefix = Integer.parseInt(text.substring(slash + 1));
                if (prefix < 1 || prefix > address.getAddress().length * 8) {
                    throw new IllegalArgumentException("prefix out of range");
                }
                return new Address(address, prefix);
            } catch (UnknownHostException | IllegalArgumentException e) {
                throw new IllegalArgumentException("floating portal '" + text + "' is not ADDRESS/PREFIX "
                        + "(e.g. 192.168.10.100/24): " + e.getMessage());
            }
        }

        @Override
        public String toString() {
            return address.getHostAddress() + "/" + prefixLength;
        }
    }

    private final Address address;
    private final String device;
    private final int port;
    private final BooleanSupplier shouldHold;
    private final Function<InetSocketAddress, IscsiServer> listen;
    private final Runnable whileHeld;
    private final InitiatorRecord initiators;
    private final ScheduledExecutorService checks =
            Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("floating-portal", true));
    private IscsiServer listener; // non-null while held; only the checks thread touches it
    private Set<InetSocketAddress> recordedInitiators; // as this holder last recorded them
    private List<InetSocketAddress> previousInitiators = List.of(); // as the previous holder recorded them
    private Process guard; // removes the address if this process dies holding it
    private long nextTry;
    private long heldSince;
    private volatile long plannedUntil; // losing the leadership before then is a planned hand-over
    private long leadershipLostAt; // while still holding the address; only the checks thread touches it

    /**
     * @param device     the interface to put the address on
     * @param shouldHold whether this node is the one to hold it now
     * @param listen     opens a portal on the address (and its close closes that portal's sessions)
     * @param whileHeld  run at each check while held, once settled (to bring volume leaderships here)
     * @param initiators where the holder records its initiators for the next one
     */
    private FloatingPortal(Address address, String device, int port, BooleanSupplier shouldHold,
                           Function<InetSocketAddress, IscsiServer> listen, Runnable whileHeld,
                           InitiatorRecord initiators) {
        this.address = address;
        this.device = device;
        this.port = port;
        this.shouldHold = shouldHold;
        this.listen = listen;
        this.whileHeld = whileHeld;
        this.initiators = initiators;
    }

    /**
     * Starts watching: drops the address first if a previous run of this node left it behind
     * (killed, it could not), then holds it while {@code shouldHold} says so.
     *
     * @param device the interface for the address; null: the one carrying {@code ownAddress}
     */
    public static FloatingPortal start(Address address, String device, InetAddress ownAddress, int port,
                                       BooleanSupplier shouldHold, Function<InetSocketAddress, IscsiServer> listen,
                                       Runnable whileHeld, InitiatorRecord initiators) {
        String dev = device != null ? device : deviceOf(ownAddress);
        FloatingPortal portal = new FloatingPortal(address, dev, port, shouldHold, listen, whileHeld, initiators);
        portal.ip("addr", "del", address.toString(), "dev", dev); // fails harmlessly when not there
        portal.checks.scheduleWithFixedDelay(portal::check, 0, CHECK_MILLIS, TimeUnit.MILLISECONDS);
        log.info("floating portal {} on {}: held by the cluster's leader", address, dev);
        return portal;
    }

    /** The interface whose network contains {@code own} (its own address, or one it routes, as lo does 127/8). */
    private static String deviceOf(InetAddress own) {
        try {
            if (!own.isAnyLocalAddress()) {
                for (NetworkInterface device : java.util.Collections.list(NetworkInterface.getNetworkInterfaces())) {
                    for (java.net.InterfaceAddress address : device.getInterfaceAddresses()) {
                        if (Acl.sameNetwork(address.getAddress().getAddress(), own.getAddress(),
                                address.getNetworkPrefixLength())) {
                            return device.getName();
                        }
                    }
                }
            }
        } catch (SocketException e) {
            throw new IllegalArgumentException("floating portal: cannot list network interfaces: " + e.getMessage());
        }
        throw new IllegalArgumentException("floating portal: no interface is on the network of the portal address "
                + own.getHostAddress() + "; give the node's portal as its own address, or floatingDevice");
    }

    /** True while this node holds the address. */
    public boolean held() {
        return listener != null;
    }

    private void check() {
        try {
            boolean hold = shouldHold.getAsBoolean();
            long now = System.currentTimeMillis();
            if (hold || listener == null) {
                leadershipLostAt = 0;
            }
            if (hold && listener == null && now >= nextTry) {
                acquire();
            } else if (!hold && listener != null) {
                if (leadershipLostAt == 0) {
                    leadershipLostAt = now;
                }
                if (now >= plannedUntil || now - leadershipLostAt >= HAND_OVER_OVERLAP_MILLIS) {
                    release("no longer the cluster's leader");
                }
            }
            if (listener != null) {
                recordInitiators();
            }
            if (listener != null && now - heldSince >= SETTLE_MILLIS) {
                whileHeld.run();
            }
        } catch (RuntimeException e) {
            log.warn("floating portal {}: {}", address, e.toString());
        }
    }

    private void acquire() {
        boolean added = ip("addr", "add", address.toString(), "dev", device);
        if (!added && !hasAddress()) {
            nextTry = System.currentTimeMillis() + RETRY_MILLIS;
            return;
        }
        try {
            listener = listen.apply(new InetSocketAddress(address.address(), port));
        } catch (RuntimeException e) {
            log.error("floating portal {}: cannot listen on it: {}", address, e.getMessage());
            if (added) { // not one found there: on a shared host it may be the previous holder's
                ip("addr", "del", address.toString(), "dev", device);
            }
            nextTry = System.currentTimeMillis() + RETRY_MILLIS;
            return;
        }
        guard = guard();
        // Unsolicited ARP: neighbours replace the previous holder's MAC in their caches now,
        // instead of after their entries go stale. Sent in the background (arping waits between).
        run(List.of("arping", "-U", "-c", "3", "-w", "3", "-I", device, address.address().getHostAddress()), false);
        heldSince = System.currentTimeMillis();
        log.info("floating portal {} taken on {}", address, device);
        List<InetSocketAddress> previous = initiators.recorded();
        previousInitiators = previous;
        recordedInitiators = Set.copyOf(previous); // what the record holds: nothing to write until it changes
        if (!previous.isEmpty()) {
            Thread reset = new Thread(() -> resetPreviousConnections(previous), "floating-portal-reset");
            reset.setDaemon(true);
            reset.start();
        }
    }

    private void recordInitiators() {
        Set<InetSocketAddress> now = initiatorsToRecord(listener.peers(), previousInitiators,
                System.currentTimeMillis() - heldSince);
        if (!now.equals(recordedInitiators)) {
            initiators.record(List.copyOf(now));
            recordedInitiators = now;
        }
    }

    /**
     * The initiators a holder records for the next one, {@code heldMillis} after it took the
     * address: those connected to it and, until it has reset them, those the previous holder
     * recorded. Should this holder fail before its resets, the next one resets them instead of
     * finding a record with only this holder's few (at first, no) connections in it.
     */
    static Set<InetSocketAddress> initiatorsToRecord(Collection<InetSocketAddress> connected,
                                                    List<InetSocketAddress> previous, long heldMillis) {
        if (heldMillis >= RESETS_DONE_MILLIS || previous.isEmpty()) {
            return Set.copyOf(connected);
        }
        Set<InetSocketAddress> both = new HashSet<>(connected);
        both.addAll(previous);
        return Set.copyOf(both);
    }

    /**
     * Resets the connections initiators still have to the previous holder. A holder cut off from
     * the network cannot reset them itself, and an initiator waiting for answers sends nothing
     * until its next ping (libiscsi's and Linux's: every 5 s), so its reconnect would wait for that.
     * Instead this host sends a SYN from the floating portal's address and port to the initiator's
     * end of each such connection: the initiator answers with an acknowledgement for the
     * connection it has (RFC 5961), which this host, knowing no such connection, answers with a
     * reset the initiator accepts. It reconnects at once, here. An initiator that has no such
     * connection any more refuses the SYN, and nothing happens.
     */
    private void resetPreviousConnections(List<InetSocketAddress> previous) {
        long start = System.currentTimeMillis();
        for (long after : RESET_AFTER_MILLIS) {
            List<SocketChannel> probes = new ArrayList<>();
            try {
                Thread.sleep(Math.max(0, start + after - System.currentTimeMillis()));
                for (InetSocketAddress initiator : previous) {
                    SocketChannel probe = probe(initiator);
                    if (probe != null) {
                        probes.add(probe);
                    }
                }
                Thread.sleep(RESET_ANSWER_MILLIS);
            } catch (InterruptedException e) {
                return;
            } finally {
                probes.forEach(FloatingPortal::closeQuietly);
            }
        }
        log.info("floating portal {}: reset the connections of {} initiator(s) to the previous holder", address,
                previous.size());
    }

    /** The SYN to one initiator; null if it could not be sent. Closing it later sends nothing more. */
    private SocketChannel probe(InetSocketAddress initiator) {
        SocketChannel probe = null;
        try {
            probe = SocketChannel.open();
            probe.configureBlocking(false);
            probe.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            probe.setOption(StandardSocketOptions.SO_REUSEPORT, true); // the portal listens on it too
            probe.bind(new InetSocketAddress(address.address(), port));
            probe.connect(initiator);
            return probe;
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("floating portal {}: no reset sent to {}: {}", address, initiator, e.toString());
            if (probe != null) {
                closeQuietly(probe);
            }
            return null;
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing was sent on it that needs closing
        }
    }

    /**
     * A shell that waits on a pipe from this process and removes the address when the pipe closes:
     * if this process dies holding it (kill -9, a crash), its host stops claiming the address at
     * once. Otherwise the host would answer initiators' reconnects to it with RST until the next
     * node start, and keep answering ARP for it next to the new holder. The pipe closes while the
     * dying process still closes its other files: the guard waits until its sockets are all closed
     * (their resets sent; a reset sent after the address is gone is dropped, and an initiator whose
     * login the dying kernel had accepted would wait for TCP keepalive, 30 s). Signals to the process
     * group (Ctrl-C) are ignored: this process releases the address itself then.
     */
    private Process guard() {
        try {
            return new ProcessBuilder("sh", "-c", "trap '' INT HUP TERM; read -r _; i=0; "
                    + "while [ $i -lt 250 ] && [ -n \"$(ls /proc/$PPID/fd 2>/dev/null)\" ]; do sleep 0.02; i=$((i+1)); done; "
                    + "exec ip addr del " + address + " dev " + device)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            log.warn("floating portal {}: no guard removes the address should this process die: {}", address,
                    e.getMessage());
            return null;
        }
    }

    /**
     * Closes the portal first, while the address still carries packets: its initiators are asked
     * to log out and their connections end, so they reconnect at once, to the new holder (which
     * took the address when it became leader, and announced it). Only then the address goes.
     */
    private void release(String why) {
        IscsiServer held = listener;
        listener = null;
        try {
            held.close();
        } catch (Exception e) {
            log.warn("floating portal {}: closing its portal: {}", address, e.toString());
        }
        if (guard != null) { // stopped first, so it cannot remove the address once this node takes it again
            guard.destroyForcibly();
            try {
                guard.waitFor(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            guard = null;
        }
        ip("addr", "del", address.toString(), "dev", device);
        log.info("floating portal {} released: {}", address, why);
    }

    private boolean hasAddress() {
        try {
            NetworkInterface dev = NetworkInterface.getByName(device);
            return dev != null && dev.inetAddresses().anyMatch(address.address()::equals);
        } catch (SocketException e) {
            return false;
        }
    }

    private boolean ip(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        return run(command, true);
    }

    private boolean run(List<String> command, boolean wait) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            if (!wait) {
                process.getOutputStream().close();
                return true;
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (process.waitFor() != 0) {
                boolean alreadyGone = command.contains("del")
                        && (output.contains("Cannot assign") || output.contains("not found"));
                if (!alreadyGone) {
                    log.warn("floating portal: '{}' failed: {}", String.join(" ", command), output);
                }
                return false;
            }
            return true;
        } catch (IOException e) {
            log.error("floating portal: cannot run {}: {} (install iproute2 and iputils-arping)", command.get(0),
                    e.getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Announces a planned hand-over of the cluster's leadership (a drain, a clean stop). Once this
     * node stops leading, it keeps the address and its sessions {@link #HAND_OVER_OVERLAP_MILLIS}
     * longer instead of dropping them at once. Meanwhile the new holder takes the address and
     * announces it by ARP: the initiator's packets go there, its connection here is reset, and
     * its reconnect finds the portal served on the first try (libiscsi waits a second or more
     * after a failed one). Losing the leadership unplanned (the majority lost) releases at once.
     */
    public void handOverSoon() {
        plannedUntil = System.currentTimeMillis() + HAND_OVER_WINDOW_MILLIS;
    }

    /** Drops the address if held (a stopping node gives it up for the next leader to take). */
    @Override
    public void close() {
        if (listener != null && System.currentTimeMillis() < plannedUntil) {
            try { // a clean stop after its drain: the new holder takes the address meanwhile
                Thread.sleep(HAND_OVER_OVERLAP_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        checks.shutdownNow();
        try {
            checks.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (listener != null) {
            release("node stopping");
        }
    }
}
