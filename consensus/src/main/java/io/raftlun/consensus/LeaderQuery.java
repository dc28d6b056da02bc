package io.raftlun.consensus;

import java.util.concurrent.CompletableFuture;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;

/**
 * How a state machine that fell behind its leader's purged log asks the leader for state: a
 * linearizable read answered by the leader of {@code group}.
 */
@FunctionalInterface
public interface LeaderQuery {
    CompletableFuture<Message> ask(RaftGroupId group, Message query);
}
