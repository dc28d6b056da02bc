package io.raftlun.consensus;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.server.GrpcLogAppender;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLogIOException;

/**
 * Ratis's gRPC transport, with log appenders that tell a follower at once how far the log is
 * committed. Ratis 3.3 tells it only with the next entry or the next heartbeat (half an election
 * timeout later), so a follower applies the last entry of a burst that late: a read through it
 * right after a write waited for that, and so did a reservation change, which every replica
 * applies before it is answered. Ratis's log metadata entries, appended after each commit, used to
 * carry the commit along; they cost an entry each (an append and an fsync on every replica), and
 * a heartbeat costs none.
 *
 * <p>The notice is a heartbeat naming the last entry sent, so the follower may commit up to it.
 * It goes once the follower has answered every entry sent to it (a heartbeat while appends are
 * under way names no entry and commits nothing): when the commit index moves, or when the
 * follower answers the last entry after its commit. A follower that has not answered for an
 * election timeout (down, cut off) gets none, only Ratis's heartbeats.
 */
public final class CommitNotices implements RpcType {

    /** Ratis makes the transport from this name (a class name is a user-defined RPC type). */
    @Override
    public String name() {
        return CommitNotices.class.getName();
    }

    @Override
    public RpcFactory newFactory(Parameters parameters) {
        return new GrpcFactory(parameters) {
            @Override
            public LogAppender newLogAppender(RaftServer.Division server, LeaderState leader, FollowerInfo follower) {
                return new Appender(server, new RepliesNoted(leader), follower);
            }
        };
    }

    private static final class Appender extends GrpcLogAppender {

        /** A follower silent for this long (an election timeout) gets Ratis's heartbeats only. */
        private final long answeredWithinMs;

        Appender(RaftServer.Division server, RepliesNoted leader, FollowerInfo follower) {
            super(server, leader, follower);
            this.answeredWithinMs = RaftServerConfigKeys.Rpc.timeoutMin(server.getRaftServer().getProperties())
                    .toLong(TimeUnit.MILLISECONDS);
            leader.appender = this;
        }

        /**
         * Ratis asks for the next request whenever the follower's commit index lags the leader's,
         * and without entries to send gets none; it then gets the notice.
         */
        @Override
        public AppendEntriesRequestProto newAppendEntriesRequest(long callId, boolean heartbeat)
                throws RaftLogIOException {
            AppendEntriesRequestProto request = super.newAppendEntriesRequest(callId, heartbeat);
            if (request == null && noticeDue()) {
                return super.newAppendEntriesRequest(callId, true);
            }
            return request;
        }

        boolean noticeDue() {
            FollowerInfo follower = getFollower();
            return getRaftLog().getLastCommittedIndex() > follower.getCommitIndex() && !hasPendingDataRequests()
                    && follower.getLastRpcResponseTime().elapsedTimeMs() < answeredWithinMs;
        }
    }

    /** The leader's state as an appender sees it, noting each of its follower's answers. */
    private static final class RepliesNoted implements LeaderState {

        private final LeaderState leader;
        private volatile Appender appender;

        RepliesNoted(LeaderState leader) {
            this.leader = leader;
        }

        /** An entry answered after its commit (by the slower follower) leaves a notice due. */
        @Override
        public void onFollowerSuccessAppendEntries(FollowerInfo follower) {
            leader.onFollowerSuccessAppendEntries(follower);
            Appender noting = appender;
            if (noting != null && noting.noticeDue()) {
                noting.notifyLogAppender();
            }
        }

        @Override
        public void restart(LogAppender appender) {
            leader.restart(appender);
        }

        @Override
        public AppendEntriesRequestProto newAppendEntriesRequestProto(FollowerInfo follower,
                List<LogEntryProto> entries, TermIndex previous, long callId) {
            return leader.newAppendEntriesRequestProto(follower, entries, previous, callId);
        }

        @Override
        public void checkHealth(FollowerInfo follower) {
            leader.checkHealth(follower);
        }

        @Override
        public boolean onFollowerTerm(FollowerInfo follower, long followerTerm) {
            return leader.onFollowerTerm(follower, followerTerm);
        }

        @Override
        public void onFollowerCommitIndex(FollowerInfo follower, long commitIndex) {
            leader.onFollowerCommitIndex(follower, commitIndex);
        }

        @Override
        public boolean isFollowerBootstrapping(FollowerInfo follower) {
            return leader.isFollowerBootstrapping(follower);
        }

        @Override
        public void onAppendEntriesReply(LogAppender appender, AppendEntriesReplyProto reply) {
            leader.onAppendEntriesReply(appender, reply);
        }
    }
}
