package io.raftlun.cluster;

import io.raftlun.target.TargetConfig;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the meta group holds: the targets every node serves, and where each volume's replicas are.
 *
 * @param targets targets, LUNs, ACLs, accounts
 * @param volumes every volume by name
 */
public record ClusterConfig(TargetConfig targets, Map<String, Placement> volumes) {

    /**
     * A volume's shape and the nodes holding its replicas.
     *
     * @param backingStore a file or device each replica keeps the blocks in (the same path on every
     *                     replica node, as with identically named LVM volumes), or null for thin data files
     */
    public record Placement(long sizeBytes, int blockSize, String backingStore, List<String> replicas) {
        public Placement {
            replicas = List.copyOf(replicas);
        }
    }

    public ClusterConfig {
        targets = targets == null ? TargetConfig.empty() : targets;
        volumes = volumes == null ? Map.of() : new TreeMap<>(volumes);
    }

    /** Where a node announces itself: its portal and admin address, for discovery and status. */
    public record NodeInfo(String name, String portal, String admin, String version) {
    }

    /** This config with {@code volume} placed on {@code replicas}. */
    public ClusterConfig withReplicas(String volume, List<String> replicas) {
        Map<String, Placement> next = new TreeMap<>(volumes);
        Placement placement = volumes.get(volume);
        next.put(volume, new Placement(placement.sizeBytes(), placement.blockSize(), placement.backingStore(), replicas));
        return new ClusterConfig(targets, next);
    }

    public static ClusterConfig empty() {
        return new ClusterConfig(TargetConfig.empty(), Map.of());
    }
}
