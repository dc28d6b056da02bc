package io.raftlun.consensus;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;

/**
 * Raft group identities, derived from names so that every node computes the same group for the
 * same cluster or volume without asking anyone.
 */
public final class RaftGroups {

    private RaftGroups() {
    }

    /** The meta group of the cluster {@code clusterId}: every node is a member. */
    public static RaftGroupId meta(String clusterId) {
        return id("raftlun-meta:" + clusterId);
    }

    /** The group that replicates volume {@code volume}. */
    public static RaftGroupId volume(String volume) {
        return id("raftlun-volume:" + volume);
    }

    public static RaftGroup group(RaftGroupId id, List<RaftMember> members) {
        return RaftGroup.valueOf(id, members.stream().map(RaftMember::peer).toList());
    }

    private static RaftGroupId id(String name) {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)));
    }
}
