package io.raftlun.node;

import io.raftlun.cluster.ClusterOptions;
import io.raftlun.iscsi.IscsiSettings;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * How one node runs.
 *
 * @param name    the node's name (in logs and metrics)
 * @param dataDir where the node keeps its volumes, block map, target config and admin token
 * @param portal  the iSCSI portal to listen on (default 0.0.0.0:3260)
 * @param admin   the admin API and {@code /metrics} address (default 127.0.0.1:9260)
 * @param cluster how the node takes part in a cluster, or null for a node on its own (its volumes
 *                are local, not replicated)
 * @param floatingDevice the network interface to put the cluster's floating portal on, or null:
 *                the one carrying {@code portal}'s address
 * @param metrics whether meters record (false only to measure what metrics cost)
 * @param busyPoll how long the portal's event loops poll for the next command before they sleep
 */
public record NodeOptions(String name, Path dataDir, InetSocketAddress portal, InetSocketAddress admin,
                          ClusterOptions cluster, String floatingDevice, boolean metrics, Duration busyPoll) {

    public static final int DEFAULT_ADMIN_PORT = 9260;

    public NodeOptions(String name, Path dataDir, InetSocketAddress portal, InetSocketAddress admin,
                       ClusterOptions cluster, String floatingDevice, boolean metrics) {
        this(name, dataDir, portal, admin, cluster, floatingDevice, metrics, IscsiSettings.DEFAULT_BUSY_POLL);
    }

    public NodeOptions(String name, Path dataDir, InetSocketAddress portal, InetSocketAddress admin,
                       ClusterOptions cluster, String floatingDevice) {
        this(name, dataDir, portal, admin, cluster, floatingDevice, true);
    }

    public NodeOptions(String name, Path dataDir, InetSocketAddress portal, InetSocketAddress admin,
                       ClusterOptions cluster) {
        this(name, dataDir, portal, admin, cluster, null);
    }

    public NodeOptions(String name, Path dataDir, InetSocketAddress portal, InetSocketAddress admin) {
        this(name, dataDir, portal, admin, null);
    }
}
