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
 * @param electionTimeout the shortest election timeout (the longest is a quarter more); the leader
 *                        sends heartbeats every half of it. A dead leader is replaced after one to
 *                        about two and a half timeouts. 500 ms: initiators' failover pause about
 *                        halved against 1000 ms; 300 ms gave elections while node JVMs started
 *                        on a 2-core machine
 * @param overrides       Ratis properties set last (tests use them to make logs roll and purge early)
 */
public record RaftSettings(RaftMember self, Path storage, Duration electionTimeout, Map<String, String> overrides) {

    public static final Duration DEFAULT_ELECTION_TIMEOUT = Duration.ofMillis(500);

    public RaftSettings(RaftMember self, Path storage) {
        this(self, storage, DEFAULT_ELECTION_TIMEOUT, Map.of());
    }

    /** Members other than this node, from {@code members}. */
    public List<RaftMember> others(List<RaftMember> members) {
        return members.stream().filter(m -> !m.name().equals(self.name())).toList();
    }
}
