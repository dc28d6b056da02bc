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
 * Ratis's gRPC transport, with log appenders that tell a follower within milliseconds how far the
 * log is committed. Ratis 3.3 tells it only with the next entry or the next heartbeat (half an
 * election timeout later), so a follower applies the last entry of a burst that late: a read
 * through it right after a write waited for that, and so did a reservation change, which every
 * replica applies before it is answered. Ratis's log metadata entries, appended after each commit,
 * used to carry the commit along; they cost an entry each (an append and an fsync on every
 * replica), and a heartbeat costs none.
 *
 * <p>The notice is a heartbeat naming the last entry sent, so the follower may commit up to it.
 * It goes once the follower has answered every entry sent to it (a heartbeat while appends are
 * under way names no entry and commits nothing) and its commit index has lagged the leader's for
 * {@link #NOTICE_DELAY_NANOS}: while writes keep coming, the next entry carries the commit and no
 * notice is sent. Sent at once, a notice cost each follower a second request per write at queue
 * depth 1, and the next write's entry queued behind it. A follower that has not answered for an
 * election timeout (down, cut off) gets none, only Ratis's heartbeats.
 */
public final class CommitNotices implements RpcType {

    /**
     * How long a follower's commit index lags before it gets a notice: longer than a write at
     * queue depth 1 takes from its commit to the next write's entry (its answer, the initiator's
     * next command, its submission), short beside the heartbeat interval (half an election
     * timeout).
     */
    private static final long NOTICE_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

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

        /** When this appender's thread first saw the follower {@link #lagging}; 0: not since. */
        private long lagSeenNanos;

        /**
         * Ratis asks for the next request whenever the follower's commit index lags the leader's,
         * and without entries to send gets none; it then gets the notice, once it is due.
         */
        @Override
        public AppendEntriesRequestProto newAppendEntriesRequest(long callId, boolean heartbeat)
                throws RaftLogIOException {
            AppendEntriesRequestProto request = super.newAppendEntriesRequest(callId, heartbeat);
            if (request == null && noticeDue()) {
                request = super.newAppendEntriesRequest(callId, true);
            }
            if (request != null) {
                lagSeenNanos = 0; // whatever goes carries the leader's commit index
            }
            return request;
        }

        /** Ratis's wait before it looks again, cut short when a notice falls due sooner. */
        @Override
        public long getWaitTimeMs() {
            long wait = super.getWaitTimeMs();
            long seen = lagSeenNanos;
            if (seen == 0) {
                return wait;
            }
            if (!lagging()) {
                lagSeenNanos = 0;
                return wait;
            }
            long left = NOTICE_DELAY_NANOS - (System.nanoTime() - seen);
            return Math.min(wait, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left + 999_999)));
        }

        /**
         * Due once the follower has lagged for the delay, counted again after each request sent:
         * a follower still lagging after a notice (its answer lost, or the follower restarted with
         * the whole log and nothing left to send) gets another, one per delay at most.
         */
        private boolean noticeDue() {
            if (!lagging()) {
                lagSeenNanos = 0;
                return false;
            }
            long seen = lagSeenNanos;
            if (seen == 0) {
                lagSeenNanos = System.nanoTime();
                return false;
            }
            return System.nanoTime() - seen >= NOTICE_DELAY_NANOS;
        }

        /** The follower has answered everything sent and not yet learnt the last commit. */
        boolean lagging() {
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

        /**
         * An entry answered after its commit (by the slower follower) leaves the follower lagging:
         * its appender looks again, to time the notice.
         */
        @Override
        public void onFollowerSuccessAppendEntries(FollowerInfo follower) {
            leader.onFollowerSuccessAppendEntries(follower);
            Appender noting = appender;
            if (noting != null && noting.lagging()) {
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
