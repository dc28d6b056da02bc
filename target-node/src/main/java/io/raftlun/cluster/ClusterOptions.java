package io.raftlun.cluster;

import io.raftlun.consensus.RaftMember;
import java.time.Duration;
import java.util.List;

/**
 * How a node takes part in a cluster.
 *
 * @param id                the cluster's identity (names its meta group), the same on every node
 * @param members           every node: name and Raft address; the same list on every node
 * @param replicationFactor replicas per new volume (capped at the number of members)
 * @param electionTimeout   Raft's shortest election timeout
 */
public record ClusterOptions(String id, List<RaftMember> members, int replicationFactor, Duration electionTimeout) {

    public static final int DEFAULT_REPLICATION_FACTOR = 3;

    public ClusterOptions {
        members = List.copyOf(members);
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
}
