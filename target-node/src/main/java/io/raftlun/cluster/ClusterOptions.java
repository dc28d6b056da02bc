package io.raftlun.cluster;

import io.raftlun.consensus.RaftMember;
import io.raftlun.scsi.TargetPortGroups;
import io.raftlun.volume.BlockVolume;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;

/**
 * How a node takes part in a cluster.
 *
 * @param id                the cluster's identity (names its meta group), the same on every node
 * @param members           every node: name and Raft address; the same list on every node
 * @param replicationFactor replicas per new volume (capped at the number of members)
 * @param electionTimeout   Raft's shortest election timeout
 * @param floatingPortal    the service address the cluster's leader holds for single-path
 *                          initiators, or null for none (see {@link FloatingPortal})
 * @param joining           this node joins a running cluster: it waits, without standing for
 *                          election, until the cluster's leader adds it to the meta group
 *                          (a node outside the group's configuration that asked for votes would
 *                          be told to shut its replica of the group down)
 */
public record ClusterOptions(String id, List<RaftMember> members, int replicationFactor, Duration electionTimeout,
                             FloatingPortal.Address floatingPortal, boolean joining) {

    public static final int DEFAULT_REPLICATION_FACTOR = 3;

    public ClusterOptions {
        members = List.copyOf(members);
    }

    public ClusterOptions(String id, List<RaftMember> members, int replicationFactor, Duration electionTimeout) {
        this(id, members, replicationFactor, electionTimeout, null, false);
    }

    public ClusterOptions(String id, List<RaftMember> members, int replicationFactor, Duration electionTimeout,
                          FloatingPortal.Address floatingPortal) {
        this(id, members, replicationFactor, electionTimeout, floatingPortal, false);
    }

    /**
     * The floating portal's own target portal group tag, after the nodes': it is one target port
     * wherever it is held, so an initiator's I_T nexus through it (and its reservations) stays
     * the same across a failover.
     */
    public int floatingPortalGroupTag() {
        return members.size() + 1;
    }

    public RaftMember member(String name) {
        return members.stream().filter(m -> m.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("node " + name + " is not a member of cluster " + id
                        + " (members: " + members.stream().map(RaftMember::name).toList() + ")"));
    }

    /**
     * The node's target portal group tag: its place in the member list, from 1. Each node is a
     * target port of its own, so an initiator with a path through two nodes has two I_T nexuses
     * (persistent reservations tell them apart) and ALUA can give each node's group its state.
     */
    public int portalGroupTag(String name) {
        return members.indexOf(member(name)) + 1;
    }

    /**
     * ALUA in the cluster: one group per node, tagged as {@link #portalGroupTag}; active/optimized
     * for a volume on the node leading its Raft group (no forwarding hop), active/non-optimized on
     * the others and on every node while no leader is known. The floating portal's group is
     * active/optimized: its holder brings the leadership of its volumes to itself.
     */
    public TargetPortGroups portGroups() {
        List<String> names = members.stream().map(RaftMember::name).toList();
        int groupCount = floatingPortal == null ? names.size() : floatingPortalGroupTag();
        List<Integer> groups = IntStream.rangeClosed(1, groupCount).boxed().toList();
        return new TargetPortGroups() {
            @Override
            public List<Integer> groups() {
                return groups;
            }

            @Override
            public int state(BlockVolume volume, int group) {
                if (group > names.size()) {
                    return ACTIVE_OPTIMIZED;
                }
                String leader = volume.leaderNode();
                return leader != null && names.indexOf(leader) + 1 == group ? ACTIVE_OPTIMIZED : ACTIVE_NON_OPTIMIZED;
            }
        };
    }
}
