package io.raftlun.cli;

import io.raftlun.cluster.ClusterOptions;
import io.raftlun.cluster.FloatingPortal;
import io.raftlun.consensus.RaftMember;
import io.raftlun.consensus.RaftSettings;
import io.raftlun.target.TargetConfig;
import java.time.Duration;
import java.util.List;

/**
 * The file {@code raftlun node --config FILE} reads (JSON). Every field but {@code dataDir} may be
 * left out. {@code targets}, when present, is applied at every start, as tgt-admin applies
 * targets.conf; leave it out to keep the targets managed through the CLI.
 *
 * @param name    node name (default: the host name); in a cluster, one of the members' names
 * @param dataDir data directory (volumes, block map, Raft logs, target config, admin token)
 * @param portal  iSCSI portal, HOST[:PORT] (default 0.0.0.0:3260); in a cluster give the address
 *                initiators reach this node on, since discovery announces it
 * @param admin   admin API and /metrics, HOST[:PORT] (default 127.0.0.1:9260)
 * @param targets targets, LUNs, ACLs and accounts to serve
 * @param cluster the cluster this node belongs to, or null for a node on its own
 * @param floatingDevice the interface for the cluster's floating portal (default: the one carrying
 *                this node's portal address)
 * @param busyPollMicros how long the portal polls for the next command before sleeping, in µs
 *                (default 0: sleeps at once), as {@code raftlun node --busy-poll-us}
 */
public record NodeConfigFile(String name, String dataDir, String portal, String admin, TargetConfig targets,
                             Cluster cluster, String floatingDevice, Integer busyPollMicros) {

    public NodeConfigFile(String name, String dataDir, String portal, String admin, TargetConfig targets,
                          Cluster cluster, String floatingDevice) {
        this(name, dataDir, portal, admin, targets, cluster, floatingDevice, null);
    }

    public NodeConfigFile(String name, String dataDir, String portal, String admin, TargetConfig targets,
                          Cluster cluster) {
        this(name, dataDir, portal, admin, targets, cluster, null);
    }

    /**
     * A cluster, the same on every node.
     *
     * @param id                  the cluster's identity
     * @param members             every node: name and Raft address HOST:PORT
     * @param replicationFactor   replicas per new volume (default 3)
     * @param electionTimeoutMs   Raft's shortest election timeout (default 500)
     * @param floatingPortal      ADDRESS/PREFIX the cluster's leader holds for single-path initiators
     *                            (optional; needs root or CAP_NET_ADMIN and CAP_NET_RAW)
     * @param joining             true on a node added to a running cluster: it waits until the
     *                            cluster's leader adds it ('raftlun cluster add-node')
     */
    public record Cluster(String id, List<Member> members, Integer replicationFactor, Integer electionTimeoutMs,
                          String floatingPortal, Boolean joining) {

        public Cluster(String id, List<Member> members, Integer replicationFactor, Integer electionTimeoutMs) {
            this(id, members, replicationFactor, electionTimeoutMs, null, null);
        }

        public Cluster(String id, List<Member> members, Integer replicationFactor, Integer electionTimeoutMs,
                       String floatingPortal) {
            this(id, members, replicationFactor, electionTimeoutMs, floatingPortal, null);
        }

        public record Member(String name, String raft) {
        }

        ClusterOptions options() {
            if (id == null || id.isBlank()) {
                throw new IllegalArgumentException("cluster.id is missing");
            }
            if (members == null || members.isEmpty()) {
                throw new IllegalArgumentException("cluster.members is empty");
            }
            List<RaftMember> raft = members.stream().map(m -> {
                if (m.name() == null || m.raft() == null) {
                    throw new IllegalArgumentException("every cluster member needs a name and a raft address");
                }
                return new RaftMember(m.name(), Addresses.parse(m.raft(), 9270));
            }).toList();
            return new ClusterOptions(id, raft,
                    replicationFactor == null ? ClusterOptions.DEFAULT_REPLICATION_FACTOR : replicationFactor,
                    electionTimeoutMs == null ? RaftSettings.DEFAULT_ELECTION_TIMEOUT : Duration.ofMillis(electionTimeoutMs),
                    floatingPortal == null ? null : FloatingPortal.Address.parse(floatingPortal),
                    Boolean.TRUE.equals(joining));
        }
    }
}
