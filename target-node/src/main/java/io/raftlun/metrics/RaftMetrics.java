package io.raftlun.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.raftlun.cluster.ClusterNode;
import io.raftlun.consensus.RaftNode;
import io.raftlun.replication.VolumeStateMachine;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;

/**
 * The Raft groups this node takes part in (the meta group, its volumes' groups) and the volumes'
 * replication health, read from the Ratis server's own view of each group when Prometheus scrapes:
 * nothing is counted on the write path but the commit latency.
 *
 * <p>Some figures only the leader knows (followers' lag and contact, replicas up, health while a
 * leader exists): on the other members they read NaN, which PromQL's min/max/sum skip, so an
 * aggregation over the nodes gives the leader's figure.
 */
public final class RaftMetrics {

    /** {@code raftlun_volume_health}: every replica answers the leader. */
    public static final int HEALTHY = 0;
    /** {@code raftlun_volume_health}: the leader misses a replica. */
    public static final int DEGRADED = 1;
    /** {@code raftlun_volume_health}: this replica knows no leader: no writes, no linearizable reads. */
    public static final int UNAVAILABLE = 2;

    private final MeterRegistry registry;
    private final ClusterNode cluster;
    private final KeyedMeters groups;
    private final LatencyHistograms.Family commitLatency;

    public RaftMetrics(MeterRegistry registry, LatencyHistograms histograms, ClusterNode cluster) {
        this.registry = registry;
        this.cluster = cluster;
        this.groups = new KeyedMeters(registry);
        this.commitLatency = histograms.family("raftlun_raft_commit_seconds",
                "Submission to commit of the entries this node led: appended, replicated, fsynced on a majority",
                "group");
    }

    /** Brings the per-group meters up to date with the groups this node holds. */
    public void refresh() {
        Map<RaftGroupId, String> names = cluster.groupNames();
        List<String> held = new ArrayList<>();
        names.forEach((id, name) -> {
            if (cluster.raft().hasGroup(id)) {
                held.add(name);
            }
        });
        groups.sync(held, name -> register(names.entrySet().stream().filter(e -> e.getValue().equals(name))
                .findFirst().orElseThrow().getKey(), name));
        commitLatency.retain(held);
    }

    private List<Meter> register(RaftGroupId id, String name) {
        Group group = new Group(id);
        List<Meter> meters = new ArrayList<>();
        for (RaftProtos.RaftPeerRole role : List.of(RaftProtos.RaftPeerRole.LEADER, RaftProtos.RaftPeerRole.FOLLOWER,
                RaftProtos.RaftPeerRole.CANDIDATE)) {
            meters.add(Gauge.builder("raftlun_raft_role", group, g -> g.role() == role ? 1 : 0).tag("group", name)
                    .tag("role", role.name().toLowerCase(java.util.Locale.ROOT)).strongReference(true)
                    .description("1 for this node's role in the group").register(registry));
        }
        meters.add(gauge("raftlun_raft_term", name, group, Group::term, "Current term"));
        meters.add(gauge("raftlun_raft_commit_index", name, group, Group::commitIndex, "Highest committed log index"));
        meters.add(gauge("raftlun_raft_applied_index", name, group, Group::appliedIndex,
                "Highest log index applied by this replica's state machine"));
        meters.add(gauge("raftlun_raft_log_size_bytes", name, group, Group::logBytes,
                "Size of this replica's Raft log on disk"));
        RaftServer.Division division = group.divisionOrNull();
        List<String> followers = division == null ? List.of() : cluster.raft().others(division.getGroup());
        for (String follower : followers) {
            meters.add(Gauge.builder("raftlun_raft_follower_lag_entries", group, g -> g.lag(follower))
                    .tag("group", name).tag("follower", follower).strongReference(true)
                    .description("Entries the follower's commit index is behind the leader's (on the leader)")
                    .register(registry));
            meters.add(Gauge.builder("raftlun_raft_follower_last_contact_seconds", group,
                            g -> g.lastContactMillis(follower) / 1000.0)
                    .tag("group", name).tag("follower", follower).strongReference(true)
                    .description("Time since the follower last answered the leader (on the leader)")
                    .register(registry));
        }
        if (name.equals("meta")) {
            meters.add(FunctionCounter.builder("raftlun_raft_leader_changes_total", cluster.meta(),
                    m -> m.leaderChanges()).tag("group", name)
                    .description("Leaders this replica learned of").register(registry));
            return meters;
        }
        VolumeStateMachine replica = cluster.replicaOf(name);
        if (replica != null) {
            meters.addAll(replicaMeters(name, replica));
        }
        meters.add(gauge("raftlun_volume_health", name, group, Group::health, "volume",
                "0 healthy, 1 degraded (the leader misses a replica), 2 unavailable (no leader known here)"));
        meters.add(gauge("raftlun_volume_replicas", name, group, g -> g.onLeader(g.peers()), "volume",
                "Replicas of the volume (on the leader)"));
        meters.add(gauge("raftlun_volume_replicas_up", name, group, g -> g.onLeader(g.replicasUp()), "volume",
                "Replicas answering the leader, the leader included (on the leader)"));
        return meters;
    }

    private List<Meter> replicaMeters(String volume, VolumeStateMachine replica) {
        replica.onCommitLatency(commitLatency.series(volume)::record);
        return List.of(
                FunctionCounter.builder("raftlun_raft_leader_changes_total", replica,
                        VolumeStateMachine::leaderChanges).tag("group", volume)
                        .description("Leaders this replica learned of").register(registry),
                FunctionTimer.builder("raftlun_raft_snapshot_seconds", replica, VolumeStateMachine::checkpoints,
                        VolumeStateMachine::checkpointNanos, TimeUnit.NANOSECONDS).tag("group", volume)
                        .description("Snapshots (block store checkpoints) taken, and their duration")
                        .register(registry),
                FunctionCounter.builder("raftlun_volume_catch_up_bytes_total", replica,
                        VolumeStateMachine::catchUpBytes).tag("volume", volume)
                        .description("Chunk data this replica fetched from the leader to catch up (rebuild)")
                        .register(registry));
    }

    private Gauge gauge(String metric, String group, Group value, ToDoubleFunction<Group> figure, String description) {
        return gauge(metric, group, value, figure, "group", description);
    }

    private Gauge gauge(String metric, String group, Group value, ToDoubleFunction<Group> figure, String label,
                        String description) {
        return Gauge.builder(metric, value, figure).tag(label, group).strongReference(true).description(description)
                .register(registry);
    }

    /** One group as this node's Ratis server sees it at the moment of the scrape. */
    private final class Group {
        private final RaftGroupId id;

        Group(RaftGroupId id) {
            this.id = id;
        }

        RaftServer.Division divisionOrNull() {
            try {
                return cluster.raft().server().getDivision(id);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        RaftProtos.RaftPeerRole role() {
            RaftServer.Division d = divisionOrNull();
            return d == null ? null : d.getInfo().getCurrentRole();
        }

        double term() {
            RaftServer.Division d = divisionOrNull();
            return d == null ? Double.NaN : d.getInfo().getCurrentTerm();
        }

        double commitIndex() {
            RaftServer.Division d = divisionOrNull();
            return d == null ? Double.NaN : d.getRaftLog().getLastCommittedIndex();
        }

        double appliedIndex() {
            RaftServer.Division d = divisionOrNull();
            return d == null ? Double.NaN : d.getInfo().getLastAppliedIndex();
        }

        double logBytes() {
            RaftServer.Division d = divisionOrNull();
            File[] files = d == null ? null : d.getRaftStorage().getStorageDir().getCurrentDir().listFiles();
            if (files == null) {
                return Double.NaN;
            }
            long bytes = 0;
            for (File file : files) {
                bytes += file.length();
            }
            return bytes;
        }

        double peers() {
            RaftServer.Division d = divisionOrNull();
            return d == null ? Double.NaN : d.getGroup().getPeers().size();
        }

        /** The figure where this node leads the group; NaN elsewhere. */
        double onLeader(double figure) {
            RaftServer.Division d = divisionOrNull();
            return d != null && d.getInfo().isLeader() ? figure : Double.NaN;
        }

        /** The leader and the followers that answered it within two RPC timeouts. */
        double replicasUp() {
            RaftServer.Division d = divisionOrNull();
            if (d == null || !d.getInfo().isLeader()) {
                return Double.NaN;
            }
            return 1 + cluster.raft().followers(id).stream().filter(RaftNode.Follower::up).count();
        }

        double health() {
            RaftServer.Division d = divisionOrNull();
            if (d == null) {
                return Double.NaN;
            }
            if (d.getInfo().isLeader()) {
                return replicasUp() < d.getGroup().getPeers().size() ? DEGRADED : HEALTHY;
            }
            return d.getInfo().getLeaderId() == null ? UNAVAILABLE : Double.NaN; // the leader tells
        }

        double lag(String follower) {
            return follower(follower).map(f -> (double) f.lag()).orElse(Double.NaN);
        }

        double lastContactMillis(String follower) {
            return follower(follower).map(f -> (double) f.lastContactMillis()).orElse(Double.NaN);
        }

        private java.util.Optional<RaftNode.Follower> follower(String name) {
            return cluster.raft().followers(id).stream().filter(f -> f.name().equals(name)).findFirst();
        }
    }

}
