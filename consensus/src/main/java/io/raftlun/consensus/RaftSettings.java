package io.raftlun.consensus;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How one node takes part in Raft.
 *
 * @param self            this node
 * @param storage         where Ratis keeps each group's log and metadata
 * @param electionTimeout the shortest election timeout; the longest is twice it. Failover takes about
 *                        this long plus an election; shorter risks elections during GC pauses on a
 *                        loaded machine
 * @param overrides       Ratis properties set last (tests use them to make logs roll and purge early)
 */
public record RaftSettings(RaftMember self, Path storage, Duration electionTimeout, Map<String, String> overrides) {

    public static final Duration DEFAULT_ELECTION_TIMEOUT = Duration.ofMillis(1000);

    public RaftSettings(RaftMember self, Path storage) {
        this(self, storage, DEFAULT_ELECTION_TIMEOUT, Map.of());
    }

    /** Members other than this node, from {@code members}. */
    public List<RaftMember> others(List<RaftMember> members) {
        return members.stream().filter(m -> !m.name().equals(self.name())).toList();
    }
}
