package io.raftlun.cluster;

import io.netty.util.concurrent.DefaultThreadFactory;
import io.raftlun.blockstore.NodeStorage;
import io.raftlun.blockstore.VolumeRecord;
import io.raftlun.consensus.HostPort;
import io.raftlun.consensus.MetaStateMachine;
import io.raftlun.consensus.RaftGroups;
import io.raftlun.consensus.RaftMember;
import io.raftlun.consensus.RaftNode;
import io.raftlun.consensus.RaftSettings;
import io.raftlun.replication.ReplicatedVolume;
import io.raftlun.replication.VolumeCheck;
import io.raftlun.replication.VolumeStateMachine;
import io.raftlun.target.ConfigException;
import io.raftlun.target.ConfigFiles;
import io.raftlun.target.TargetConfig;
import io.raftlun.target.TargetStore;
import io.raftlun.volume.BlockVolume;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in the cluster: its Raft server, the meta group's state (targets and volume
 * placement, the same on every node), and the replicas of the volumes placed on it. Every node
 * applies the same config, so every node serves the same targets; each node creates and joins the
 * volume groups it holds a replica of when it applies the config that places them.
 */
public final class ClusterNode implements TargetStore, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);
    static final String CONFIG = "config";
    static final String NODE_PREFIX = "node/";
    /** The initiators connected through the floating portal, one "address port" per line. */
    static final String FLOATING_INITIATORS = "floating-portal/initiators";
    /** How long a config change waits for the meta group (an election, a lost majority). */
    static final Duration CHANGE_DEADLINE = Duration.ofSeconds(30);

    private final ClusterOptions options;
    private final RaftMember self;
    private final NodeStorage storage;
    private final RaftGroup metaGroup;
    private final Map<String, VolumeStateMachine> replicas = new ConcurrentHashMap<>();
    private final Map<String, ClusterConfig.NodeInfo> nodes = new ConcurrentHashMap<>();
    private final ExecutorService reconciler = Executors.newSingleThreadExecutor(
            new DefaultThreadFactory("cluster-reconcile", true));
    private final ExecutorService io = Executors.newFixedThreadPool(4, new DefaultThreadFactory("volume-io", true));
    private final ExecutorService rebuilder = Executors.newSingleThreadExecutor(
            new DefaultThreadFactory("rebuild", true));
    private final Map<String, Rebuild> rebuilds = new ConcurrentHashMap<>();
    private final MetaStateMachine meta;
    private volatile RaftNode raft;
    private final AtomicBoolean takingLeaderships = new AtomicBoolean();
    private volatile long nextLeadershipTake;
    private volatile Versioned<ClusterConfig> config = new Versioned<>(ClusterConfig.empty(), 0);
    private volatile Consumer<TargetStore.Versioned> onTargets = targets -> { };
    /** Whether the meta group's log was on disk at start: a node that was in the cluster before. */
    private boolean rejoining;

    private record Versioned<T>(T value, long version) {
    }

    private ClusterNode(ClusterOptions options, String name, NodeStorage storage) {
        this.options = options;
        this.self = options.member(name);
        this.storage = storage;
        this.metaGroup = RaftGroups.group(RaftGroups.meta(options.id()), options.members());
        this.meta = new MetaStateMachine(this::metaChanged, (group, query) -> raft.readRemote(metaGroup, query));
    }

    /** Starts this node's Raft server with the meta group and the volume groups it already holds. */
    public static ClusterNode start(ClusterOptions options, String name, NodeStorage storage) {
        ClusterNode node = new ClusterNode(options, name, storage);
        try {
            node.refuseGroupsOfOtherClusters();
            // a joining node starts with no configuration of the group, so it waits for the leader to add it
            RaftGroup bootstrap = options.joining() ? RaftGroup.valueOf(node.metaGroup.getGroupId())
                    : node.metaGroup;
            node.raft = RaftNode.start(new RaftSettings(node.self, node.raftDirectory(),
                    options.electionTimeout(), Map.of()), node::stateMachineFor, bootstrap);
            node.reconciler.execute(node::reconcile);
            node.reconciler.execute(node::placeRecovered);
            node.resumeRebuilds();
        } catch (IOException e) {
            node.close();
            throw new UncheckedIOException("cannot start the Raft server on " + HostPort.of(node.self.raftAddress())
                    + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
        return node;
    }

    /**
     * Refuses a data directory whose Raft logs are neither this cluster's meta group nor this node's
     * volumes: Ratis would reopen them with no state machine to give them. It happens when a node's
     * cluster id is changed, or a directory of another cluster is reused.
     */
    private void refuseGroupsOfOtherClusters() {
        Path logs = raftDirectory();
        List<RaftGroupId> known = new ArrayList<>(List.of(metaGroup.getGroupId()));
        storage.volumes().forEach(record -> known.add(RaftGroups.volume(record.name())));
        List<RaftGroupId> foreign;
        try {
            List<RaftGroupId> onDisk = RaftNode.groupsOnDisk(logs);
            rejoining = onDisk.contains(metaGroup.getGroupId());
            foreign = onDisk.stream().filter(group -> !known.contains(group)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + logs + ": " + e.getMessage(), e);
        }
        if (!foreign.isEmpty()) {
            List<String> ids = foreign.stream().map(group -> group.getUuid().toString()).toList();
            throw new ConfigException("data directory " + storage.directory() + " holds the Raft log of "
                    + (ids.size() == 1 ? "group " : "groups ") + String.join(", ", ids) + " under " + logs
                    + ", which belongs neither to cluster '" + options.id() + "' nor to a volume of this node: the"
                    + " directory was made for another cluster (or the node's cluster id was changed). Give the"
                    + " node an empty data directory, or the cluster id it was made with.");
        }
    }

    private Path raftDirectory() {
        return storage.directory().resolve("raft");
    }

    private org.apache.ratis.statemachine.StateMachine stateMachineFor(RaftGroupId group) {
        if (group.equals(metaGroup.getGroupId())) {
            return meta;
        }
        for (VolumeRecord record : storage.volumes()) {
            if (RaftGroups.volume(record.name()).equals(group)) {
                return replica(record.name());
            }
        }
        throw new IllegalStateException("raft group " + group + " belongs to no volume on this node");
    }

    private VolumeStateMachine replica(String volume) {
        return replicas.computeIfAbsent(volume, name -> new VolumeStateMachine(storage.store(name),
                (group, query) -> raft.readRemote(groupOf(group), query), io));
    }

    /** The group's members as this node's replica knows them, else as the placement says. */
    private RaftGroup groupOf(RaftGroupId id) {
        try {
            RaftGroup known = raft.group(id);
            if (!known.getPeers().isEmpty()) { // empty while a new replica waits to be added
                return known;
            }
        } catch (IOException e) {
            // no replica here
        }
        for (Map.Entry<String, ClusterConfig.Placement> volume : config.value().volumes().entrySet()) {
            if (RaftGroups.volume(volume.getKey()).equals(id)) {
                return volumeGroup(volume.getKey(), volume.getValue());
            }
        }
        throw new IllegalStateException("raft group " + id + " belongs to no volume");
    }

    private RaftGroup volumeGroup(String volume, ClusterConfig.Placement placement) {
        List<RaftMember> members = placement.replicas().stream().map(this::member).toList();
        return RaftGroups.group(RaftGroups.volume(volume), members);
    }

    /** Who is told when the targets change (the catalog, which serves them). */
    public void onTargets(Consumer<TargetStore.Versioned> listener) {
        this.onTargets = listener;
        Versioned<ClusterConfig> current = config;
        if (current.version() > 0) {
            listener.accept(new TargetStore.Versioned(current.value().targets(), current.version()));
        }
    }

    /**
     * Waits, at most {@code timeout}, until this node's cluster config is the cluster's latest and
     * the {@link #onTargets} listener has been given it. A restarted node replays its meta log only
     * as far as a leader tells it the commit; a portal opened before then answers logins to the
     * targets it serves with "target not found". A node new to the cluster has nothing to catch up
     * on (and, started before the others, would wait for a leader that needs it). False if the
     * wait ran out, as it does while most of the cluster is down.
     */
    public boolean awaitCurrent(Duration timeout) {
        if (!rejoining) {
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            raft.readLocal(metaGroup.getGroupId(), MetaStateMachine.barrier()).get(remaining(deadline),
                    TimeUnit.NANOSECONDS);
            // the barrier answered once the config was applied here, which queued its reconcile
            reconciler.submit(() -> { }).get(remaining(deadline), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException | ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ---------------------------------------------------------------- the meta group's documents

    /** Called on the meta group's applying thread: note the change, reconcile elsewhere. */
    private void metaChanged(String key, MetaStateMachine.Document document) {
        if (key.equals(CONFIG)) {
            ClusterConfig parsed = ConfigFiles.JSON.readValue(new String(document.value(), StandardCharsets.UTF_8),
                    ClusterConfig.class);
            config = new Versioned<>(parsed, document.version());
            reconciler.execute(this::reconcile);
        } else if (key.startsWith(NODE_PREFIX)) {
            ClusterConfig.NodeInfo info = ConfigFiles.JSON.readValue(new String(document.value(),
                    StandardCharsets.UTF_8), ClusterConfig.NodeInfo.class);
            nodes.put(info.name(), info);
        }
    }

    /** Creates and joins this node's replicas of placed volumes, then has the targets served. */
    private void reconcile() {
        if (raft == null) {
            return; // the meta log replays while the server starts; start() reconciles once it runs
        }
        Versioned<ClusterConfig> current = config;
        for (Map.Entry<String, ClusterConfig.Placement> volume : current.value().volumes().entrySet()) {
            ClusterConfig.Placement placement = volume.getValue();
            if (!placement.replicas().contains(self.name())) {
                continue;
            }
            try {
                ensureReplica(volume.getKey(), placement);
                raft.join(volumeGroup(volume.getKey(), placement));
            } catch (RuntimeException e) {
                log.error("cannot take up the replica of volume {}: {}", volume.getKey(), e.getMessage());
            }
        }
        onTargets.accept(new TargetStore.Versioned(current.value().targets(), current.version()));
    }

    /** This node's replica of a volume placed on it: its block store created if missing, its state machine. */
    private synchronized VolumeStateMachine ensureReplica(String volume, ClusterConfig.Placement placement) {
        if (storage.volume(volume) == null) {
            storage.create(volume, placement.sizeBytes() / placement.blockSize(), placement.blockSize(),
                    placement.backingStore() == null ? null : Path.of(placement.backingStore()));
            log.info("created replica of volume {} ({} bytes)", volume, placement.sizeBytes());
        }
        return replica(volume);
    }

    /** Announces this node (portal and admin address) in the meta group, retrying until it is in. */
    public void announce(ClusterConfig.NodeInfo info) {
        nodes.put(info.name(), info);
        byte[] value = ConfigFiles.JSON.writeValueAsString(info).getBytes(StandardCharsets.UTF_8);
        raft.write(metaGroup, MetaStateMachine.put(NODE_PREFIX + info.name(), MetaStateMachine.ANY_VERSION, value))
                .whenComplete((answer, failure) -> {
                    if (failure != null && !reconciler.isShutdown()) {
                        log.warn("announcing this node to the cluster failed ({}); retrying", failure.toString());
                        reconciler.execute(() -> announce(info));
                    }
                });
    }

    /**
     * The cluster's members: the meta group's Raft configuration as this node knows it (nodes are
     * added and removed there), else the node config's list while the group starts.
     */
    public List<RaftMember> members() {
        try {
            List<RaftMember> configured = raft.members(metaGroup.getGroupId());
            if (configured.isEmpty()) { // joining, not added yet
                return options.members();
            }
            List<RaftMember> ordered = new ArrayList<>();
            for (RaftMember member : options.members()) { // the config's order first, as the portal group tags
                configured.stream().filter(m -> m.name().equals(member.name())).findFirst().ifPresent(ordered::add);
            }
            configured.stream().filter(m -> ordered.stream().noneMatch(o -> o.name().equals(m.name())))
                    .forEach(ordered::add);
            return ordered;
        } catch (IOException | RuntimeException e) {
            return options.members();
        }
    }

    /** A member by name: in the node config, or added to the cluster since. */
    RaftMember member(String name) {
        for (RaftMember member : options.members()) {
            if (member.name().equals(name)) {
                return member;
            }
        }
        return members().stream().filter(m -> m.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("node " + name + " is not a member of cluster "
                        + options.id() + " (members: " + members().stream().map(RaftMember::name).toList() + ")"));
    }

    /** Every node that announced itself, in member order. */
    public List<ClusterConfig.NodeInfo> nodes() {
        List<ClusterConfig.NodeInfo> known = new ArrayList<>();
        for (RaftMember member : members()) {
            ClusterConfig.NodeInfo info = nodes.get(member.name());
            if (info != null) {
                known.add(info);
            }
        }
        return known;
    }

    // ---------------------------------------------------------------- TargetStore

    @Override
    public TargetStore.Versioned current() {
        Versioned<ClusterConfig> current = config;
        return current.version() == 0 ? null : new TargetStore.Versioned(current.value().targets(), current.version());
    }

    @Override
    public TargetStore.Versioned update(UnaryOperator<TargetConfig> change, UnaryOperator<TargetConfig> check) {
        Versioned<ClusterConfig> changed = change(current -> {
            TargetConfig targets = check.apply(change.apply(current.targets()));
            return new ClusterConfig(targets, place(current.volumes(), targets));
        });
        return new TargetStore.Versioned(changed.value().targets(), changed.version());
    }

    /**
     * Changes the cluster config by compare-and-set in the meta group, starting again from the new
     * config when another node changed it meanwhile; returns once this node applied the change.
     */
    private Versioned<ClusterConfig> change(UnaryOperator<ClusterConfig> change) {
        long deadline = System.nanoTime() + CHANGE_DEADLINE.toNanos();
        while (true) {
            try {
                // a linearizable read first, so the change starts from the latest config
                raft.readLocal(metaGroup.getGroupId(), MetaStateMachine.barrier()).get(remaining(deadline),
                        TimeUnit.NANOSECONDS);
                MetaStateMachine.Document document = meta.document(CONFIG);
                ClusterConfig current = document.value() == null ? ClusterConfig.empty()
                        : ConfigFiles.JSON.readValue(new String(document.value(), StandardCharsets.UTF_8),
                                ClusterConfig.class);
                ClusterConfig next = change.apply(current);
                growReplicas(current.volumes(), next.volumes(), deadline);
                byte[] value = ConfigFiles.JSON.writeValueAsString(next).getBytes(StandardCharsets.UTF_8);
                long version = MetaStateMachine.version(raft.write(metaGroup,
                        MetaStateMachine.put(CONFIG, document.version(), value))
                        .get(remaining(deadline), TimeUnit.NANOSECONDS).answer());
                if (version < 0) {
                    continue; // changed meanwhile through another node: start again from the new config
                }
                while (config.version() < version) { // until this node applied it (the catalog opens its volumes)
                    Thread.sleep(5);
                    remaining(deadline);
                }
                return new Versioned<>(next, version);
            } catch (ExecutionException e) {
                throw new ConfigException("the cluster could not store the change: " + e.getCause().getMessage());
            } catch (TimeoutException e) {
                throw new ConfigException("the cluster did not accept the change within " + CHANGE_DEADLINE.toSeconds()
                        + " s (no majority of nodes reachable?)");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ConfigException("interrupted while changing the cluster config");
            }
        }
    }

    private static long remaining(long deadline) throws TimeoutException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new TimeoutException();
        }
        return left;
    }

    /** Placement for the LUNs' volumes: existing volumes keep theirs, new ones get replicas chosen here. */
    private Map<String, ClusterConfig.Placement> place(Map<String, ClusterConfig.Placement> placed, TargetConfig targets) {
        Map<String, ClusterConfig.Placement> next = new TreeMap<>(placed);
        for (TargetConfig.Target target : targets.targets()) {
            for (TargetConfig.Lun lun : target.luns()) {
                ClusterConfig.Placement existing = next.get(lun.volume());
                if (existing == null) {
                    next.put(lun.volume(), new ClusterConfig.Placement(lun.sizeBytes(), lun.blockSize(),
                            lun.backingStore(), chooseReplicas(lun.volume())));
                } else if (existing.blockSize() == lun.blockSize() && existing.sizeBytes() < lun.sizeBytes()) {
                    next.put(lun.volume(), new ClusterConfig.Placement(lun.sizeBytes(), existing.blockSize(),
                            existing.backingStore(), existing.replicas()));
                } else if (existing.sizeBytes() != lun.sizeBytes() || existing.blockSize() != lun.blockSize()) {
                    throw new ConfigException("volume " + lun.volume() + " exists with " + existing.sizeBytes()
                            + " bytes in " + existing.blockSize() + "-byte blocks; LUN " + lun.lun() + " asks for "
                            + lun.sizeBytes() + " bytes in " + lun.blockSize() + "-byte blocks");
                }
            }
        }
        return next;
    }

    /**
     * Grows the block stores of the volumes a change makes larger, through each volume's log,
     * before the config that shows initiators the new size is written: a write to the new blocks
     * can only come after the growth in the log, so every replica has them by then.
     */
    private void growReplicas(Map<String, ClusterConfig.Placement> before, Map<String, ClusterConfig.Placement> after,
                              long deadline) throws ExecutionException, TimeoutException, InterruptedException {
        for (Map.Entry<String, ClusterConfig.Placement> volume : after.entrySet()) {
            ClusterConfig.Placement old = before.get(volume.getKey());
            ClusterConfig.Placement grown = volume.getValue();
            if (old != null && grown.sizeBytes() > old.sizeBytes()) {
                long blocks = grown.sizeBytes() / grown.blockSize();
                volume(volume.getKey(), grown.blockSize(), () -> blocks).grow(blocks)
                        .get(remaining(deadline), TimeUnit.NANOSECONDS);
                log.info("volume {} grown to {} bytes on its replicas", volume.getKey(), grown.sizeBytes());
            }
        }
    }

    /** replicationFactor members, starting at a place the name decides, so volumes spread over the nodes. */
    private List<String> chooseReplicas(String volume) {
        List<RaftMember> members = members();
        int count = Math.min(Math.max(1, options.replicationFactor()), members.size());
        int start = Math.floorMod(volume.hashCode(), members.size());
        List<String> chosen = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            chosen.add(members.get((start + i) % members.size()).name());
        }
        return chosen;
    }

    @Override
    public BlockVolume open(TargetConfig.Lun lun) {
        ClusterConfig.Placement placement = config.value().volumes().get(lun.volume());
        if (placement == null) {
            throw new ConfigException("volume " + lun.volume() + " is not placed on any node");
        }
        if (placement.replicas().contains(self.name())) {
            ensureReplica(lun.volume(), placement); // the reconciler joins its group
        }
        String name = lun.volume();
        long blocks = lun.sizeBytes() / lun.blockSize();
        return volume(name, lun.blockSize(), () -> { // as the config applied here says, so it grows with it
            ClusterConfig.Placement now = config.value().volumes().get(name);
            return now == null ? blocks : now.sizeBytes() / now.blockSize();
        });
    }

    private ReplicatedVolume volume(String name, int blockSize, java.util.function.LongSupplier blockCount) {
        RaftGroupId group = RaftGroups.volume(name); // a hash of the name: worked out once, not per write
        return new ReplicatedVolume(name, blockSize, blockCount, raft, () -> groupOf(group), replicas.get(name), io);
    }

    // ---------------------------------------------------------------- maintenance

    /**
     * Hands the leadership of every group this node leads to a follower, for maintenance: the
     * meta group first, then the volumes, to the same node where it can take them (it also takes
     * the floating portal). I/O moves to the new leaders with no election timeout, and ALUA makes
     * their ports the optimized paths. Each entry names the group ("meta" or the volume),
     * where its leadership went (null: nowhere) and how long that took.
     */
    public List<Map<String, Object>> drain(Duration timeout) {
        Map<RaftGroupId, String> names = groupNames();
        List<Map<String, Object>> handedOver = new ArrayList<>();
        for (RaftNode.HandOver handOver : raft.handOverLeadership(timeout, metaGroup.getGroupId())) {
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("group", names.getOrDefault(handOver.group(), handOver.group().toString()));
            h.put("newLeader", handOver.newLeader());
            h.put("millis", handOver.millis());
            if (handOver.problem() != null) {
                h.put("problem", handOver.problem());
            }
            handedOver.add(h);
            log.info("leadership of {} {}", h.get("group"), handOver.newLeader() != null
                    ? "handed to " + handOver.newLeader() + " in " + handOver.millis() + " ms"
                    : "kept: " + handOver.problem());
        }
        return handedOver;
    }

    /**
     * Starts a scrub or a verify of every replica of {@code volume} from this node, at
     * {@code bytesPerSecond}; null when the cluster has no such volume.
     */
    public VolumeCheck startCheck(String volume, VolumeCheck.Kind kind, long bytesPerSecond) {
        ClusterConfig.Placement placement = config.value().volumes().get(volume);
        if (placement == null) {
            return null;
        }
        RaftGroupId group = RaftGroups.volume(volume);
        return VolumeCheck.start(kind, volume, placement.blockSize(), placement.sizeBytes() / placement.blockSize(),
                VolumeCheck.raftGroup(raft, () -> groupOf(group)), bytesPerSecond);
    }

    /** The floating portal's initiators, kept in the meta group for its next holder. */
    public FloatingPortal.InitiatorRecord floatingInitiators() {
        return new FloatingPortal.InitiatorRecord() {
            @Override
            public void record(List<InetSocketAddress> initiators) {
                String lines = initiators.stream().map(a -> a.getAddress().getHostAddress() + " " + a.getPort())
                        .collect(java.util.stream.Collectors.joining("\n"));
                raft.write(metaGroup, MetaStateMachine.put(FLOATING_INITIATORS, MetaStateMachine.ANY_VERSION,
                        lines.getBytes(StandardCharsets.UTF_8))).whenComplete((answer, failure) -> {
                            if (failure != null) { // the next holder then resets fewer connections
                                log.debug("recording the floating portal's initiators failed: {}", failure.toString());
                            }
                        });
            }

            @Override
            public List<InetSocketAddress> recorded() {
                byte[] value = meta.document(FLOATING_INITIATORS).value();
                List<InetSocketAddress> initiators = new ArrayList<>();
                if (value != null) {
                    for (String line : new String(value, StandardCharsets.UTF_8).split("\n")) {
                        String[] parts = line.split(" ");
                        if (parts.length == 2 && parts[1].matches("[0-9]{1,5}")) { // a literal address: no lookup
                            initiators.add(new InetSocketAddress(parts[0], Integer.parseInt(parts[1])));
                        }
                    }
                }
                return initiators;
            }
        };
    }

    /** True while this node leads the cluster's meta group (and so holds the floating portal). */
    public boolean leadsMeta() {
        return raft.isLeader(metaGroup.getGroupId());
    }

    /**
     * The fencing token of a session logging in through the floating portal now: the meta group's
     * term while this node leads it, as the portal's holder (a term has one leader, and a later
     * holder's term is higher), or -1 when this node does not lead it.
     */
    public long floatingPortalToken() {
        long term = term(metaGroup.getGroupId());
        return term > 0 && leadsMeta() && term(metaGroup.getGroupId()) == term ? term : -1;
    }

    /**
     * Brings here the leadership of every volume this node has a replica of, in the background
     * and at most every few seconds: the floating portal's holder then serves single-path
     * initiators without a forwarding hop.
     */
    public void leadVolumesHere() {
        long now = System.currentTimeMillis();
        if (now < nextLeadershipTake || !takingLeaderships.compareAndSet(false, true)) {
            return;
        }
        nextLeadershipTake = now + 3000;
        try {
            io.execute(() -> {
                try {
                    for (String volume : config.value().volumes().keySet()) {
                        RaftGroupId id = RaftGroups.volume(volume);
                        if (raft.hasGroup(id) && !raft.isLeader(id) && raft.leader(id).isPresent()
                                && raft.takeLeadership(groupOf(id), Duration.ofSeconds(3))) {
                            log.info("volume {} now led here, with the floating portal", volume);
                        }
                    }
                } finally {
                    takingLeaderships.set(false);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            takingLeaderships.set(false); // closing
        }
    }

    // ---------------------------------------------------------------- membership and recovery

    /** How long a membership change may take (a new member catching up on the meta log, say). */
    static final Duration MEMBERSHIP_DEADLINE = Duration.ofSeconds(60);

    /**
     * Adds a node to the cluster's meta group (through its leader): it then applies the cluster
     * config and serves the targets; volumes get replicas on it by {@link #rebuild}. The node must
     * run already, started with a config naming the cluster (and itself among the members).
     */
    public List<String> addMember(RaftMember added) {
        if (members().stream().anyMatch(m -> m.name().equals(added.name()))) {
            throw new ConfigException("node " + added.name() + " is already a member of the cluster");
        }
        requireReachable(added.name(), added.raftAddress());
        List<RaftMember> next = new ArrayList<>(members());
        next.add(added);
        return changeMetaMembers(next);
    }

    /** Removes a node from the meta group, once no volume has a replica on it. */
    public List<String> removeMember(String name) {
        if (members().stream().noneMatch(m -> m.name().equals(name))) {
            throw new ConfigException("node " + name + " is not a member of the cluster (members: "
                    + members().stream().map(RaftMember::name).toList() + ")");
        }
        List<String> holding = config.value().volumes().entrySet().stream()
                .filter(v -> v.getValue().replicas().contains(name)).map(Map.Entry::getKey).toList();
        if (!holding.isEmpty()) {
            throw new ConfigException("node " + name + " still holds replicas of " + holding
                    + ": rebuild them elsewhere first");
        }
        return changeMetaMembers(members().stream().filter(m -> !m.name().equals(name)).toList());
    }

    private List<String> changeMetaMembers(List<RaftMember> next) {
        try {
            raft.changeMembers(RaftGroups.group(metaGroup.getGroupId(), members()), next, MEMBERSHIP_DEADLINE);
        } catch (IOException e) {
            throw new ConfigException("the cluster's members could not be changed: " + e.getMessage());
        }
        return next.stream().map(RaftMember::name).toList();
    }

    private static void requireReachable(String name, java.net.InetSocketAddress raftAddress) {
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.connect(raftAddress, 2000);
        } catch (IOException e) {
            throw new ConfigException("node " + name + " does not answer on its Raft address "
                    + HostPort.of(raftAddress) + " (" + e.getMessage() + ")");
        }
    }

    /**
     * Builds a replica of {@code volume} on this node, replacing the one on {@code replacing} (or
     * adding one when null), in the background: the data copied from the leader at no more than
     * {@code bytesPerSecond} (0: unlimited), then this node placed, joined, and made a member of the
     * volume's group in {@code replacing}'s stead. Refused, with nothing changed, for an unknown
     * volume or node or when this node holds a replica already. Goes on after a restart of this
     * node (from where the copy stood) or of the leader (another replica answers).
     */
    public Map<String, Object> rebuild(String volume, String replacing, long bytesPerSecond) {
        Rebuild running = rebuilds.get(volume);
        if (running != null && running.underWay() && java.util.Objects.equals(running.replacing(), replacing)) {
            return running.status(); // asked again (the caller lost track, this node restarted): the same rebuild
        }
        ClusterConfig.Placement placement = config.value().volumes().get(volume);
        if (placement == null) {
            throw new ConfigException("no volume " + volume + " (volumes: " + config.value().volumes().keySet() + ")");
        }
        if (placement.replicas().contains(self.name())) {
            throw new ConfigException("node " + self.name() + " already holds a replica of " + volume);
        }
        if (replacing != null && !placement.replicas().contains(replacing)) {
            throw new ConfigException("node " + replacing + " holds no replica of " + volume + " (replicas: "
                    + placement.replicas() + ")");
        }
        Rebuild rebuild = new Rebuild(volume, replacing, bytesPerSecond, null);
        if (rebuilds.putIfAbsent(volume, rebuild) != null) {
            throw new ConfigException("volume " + volume + " is being rebuilt here already");
        }
        rebuild.save(rebuildFile(volume));
        rebuilder.execute(() -> runRebuild(rebuild));
        return rebuild.status();
    }

    private Path rebuildFile(String volume) {
        return storage.directory().resolve("rebuild").resolve(volume + ".json");
    }

    /** Rebuilds this node was doing when it stopped: they go on. */
    private void resumeRebuilds() {
        java.io.File[] files = storage.directory().resolve("rebuild").toFile().listFiles((dir, f) -> f.endsWith(".json"));
        for (java.io.File file : files == null ? new java.io.File[0] : files) {
            Rebuild rebuild = ConfigFiles.read(file.toPath(), Rebuild.Saved.class).resume();
            rebuilds.put(rebuild.volume(), rebuild);
            log.info("resuming the rebuild of volume {} here", rebuild.volume());
            rebuilder.execute(() -> runRebuild(rebuild));
        }
    }

    private void runRebuild(Rebuild rebuild) {
        String volume = rebuild.volume();
        RaftGroupId id = RaftGroups.volume(volume);
        Path file = rebuildFile(volume);
        boolean placed = false;
        try {
            while (config.version() == 0) { // resumed at start: the meta log is still replaying
                Thread.sleep(100);
            }
            ClusterConfig.Placement placement = config.value().volumes().get(volume);
            placed = placement != null && placement.replicas().contains(self.name());
            if (!placed) {
                if (storage.volume(volume) == null) {
                    storage.create(volume, placement.sizeBytes() / placement.blockSize(), placement.blockSize(),
                            placement.backingStore() == null ? null : Path.of(placement.backingStore()));
                }
                io.raftlun.replication.ReplicaRebuild copy = new io.raftlun.replication.ReplicaRebuild(
                        storage.store(volume), (group, query) -> raft.readRemote(volumeGroup(volume, placement), query),
                        id, rebuild.bytesPerSecond(), rebuild.position(), position -> {
                            rebuild.copied(position);
                            rebuild.save(file);
                        });
                rebuild.copying(copy);
                copy.run();
                rebuild.phase("joining");
                // The replica joins knowing the group without itself (so it waits for the leader instead of
                // standing for election), starting after the copied index; then it is placed here.
                ensureReplica(volume, placement);
                raft.join(RaftGroup.valueOf(id));
                change(current -> current.withReplicas(volume,
                        replicasAfter(current.volumes().get(volume), rebuild.replacing())));
                placed = true;
            }
            ClusterConfig.Placement now = config.value().volumes().get(volume);
            List<String> old = new ArrayList<>(now.replicas());
            old.remove(self.name());
            if (rebuild.replacing() != null && !old.contains(rebuild.replacing())) {
                old.add(rebuild.replacing());
            }
            raft.changeMembers(RaftGroups.group(id, old.stream().map(this::member).toList()),
                    now.replicas().stream().map(this::member).toList(), MEMBERSHIP_DEADLINE);
            rebuild.phase("done");
            java.nio.file.Files.deleteIfExists(file);
            log.info("volume {} rebuilt here{}", volume, rebuild.replacing() == null ? ""
                    : " in place of " + rebuild.replacing());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                return; // stopping: the saved rebuild goes on at the next start
            }
            String problem = e instanceof ExecutionException && e.getCause() != null ? e.getCause().toString()
                    : e.toString();
            log.error("rebuilding volume {} here failed: {}", volume, problem);
            rebuild.failed(problem);
            try {
                java.nio.file.Files.deleteIfExists(file);
                if (!placed && storage.volume(volume) != null) {
                    storage.delete(volume); // nothing of it was placed: leave nothing behind
                }
            } catch (IOException | RuntimeException cleanup) {
                log.warn("cleaning up after the failed rebuild of {}: {}", volume, cleanup.toString());
            }
        }
    }

    private List<String> replicasAfter(ClusterConfig.Placement placement, String replacing) {
        List<String> next = new ArrayList<>(placement.replicas());
        if (next.contains(self.name())) {
            return next;
        }
        int at = replacing == null ? -1 : next.indexOf(replacing);
        if (at >= 0) {
            next.set(at, self.name());
        } else {
            next.add(self.name());
        }
        return next;
    }

    /** The rebuilds this node runs or ran since it started, by volume. */
    public Map<String, Rebuild> rebuilds() {
        return rebuilds;
    }

    /**
     * Disaster recovery, when the majority of {@code volume}'s replicas is lost for good: makes this
     * node's replica the volume's only member, recovering to the last entry of its log. Refused
     * when the group has a leader (its majority is reachable) or this node holds no replica. If the
     * meta group has lost its majority too, it is recovered the same way. Takes effect when the
     * node restarts; then this node is placed as the volume's only replica.
     */
    public Map<String, Object> recover(String volume) {
        ClusterConfig.Placement placement = config.value().volumes().get(volume);
        if (placement == null) {
            throw new ConfigException("no volume " + volume + " (volumes: " + config.value().volumes().keySet() + ")");
        }
        RaftGroupId id = RaftGroups.volume(volume);
        if (!placement.replicas().contains(self.name()) || !raft.hasGroup(id)) {
            throw new ConfigException("node " + self.name() + " holds no replica of " + volume + " (replicas: "
                    + placement.replicas() + ")");
        }
        // Lost means leaderless for a while: just after the loss a replica may still name the old
        // leader (a follower until its election timeout, a leader until it misses its majority).
        long window = 2 * options.electionTimeout().toNanos() * 5 / 4;
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        long volumeLeaderless = -1;
        long metaLeaderless = -1;
        while (true) {
            long now = System.nanoTime();
            java.util.Optional<String> leader = raft.leader(id);
            volumeLeaderless = leader.isPresent() ? -1 : volumeLeaderless < 0 ? now : volumeLeaderless;
            metaLeaderless = hasMetaLeader() ? -1 : metaLeaderless < 0 ? now : metaLeaderless;
            boolean metaSettled = metaLeaderless < 0 || now - metaLeaderless > window;
            if (volumeLeaderless >= 0 && now - volumeLeaderless > window && metaSettled) {
                break;
            }
            if (now > deadline) {
                throw new ConfigException("volume " + volume + " has a leader (" + leader.orElse("being elected")
                        + "): a majority of its replicas is reachable; nothing changed");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ConfigException("interrupted");
            }
        }
        boolean metaLost = metaLeaderless >= 0;
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("volume", volume);
        try {
            answer.put("recoveredIndex", raft.forceSoleMember(id));
            if (metaLost) {
                answer.put("metaRecoveredIndex", raft.forceSoleMember(metaGroup.getGroupId()));
            }
        } catch (IOException e) {
            throw new ConfigException("cannot recover " + volume + ": " + e.getMessage());
        }
        Path file = storage.directory().resolve("recovered").resolve(volume);
        try {
            java.nio.file.Files.createDirectories(file.getParent());
            java.nio.file.Files.writeString(file, self.name() + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        answer.put("restartRequired", true);
        return answer;
    }

    /** After a recovery and restart: this node becomes the recovered volumes' only replica in the placement. */
    private void placeRecovered() {
        java.io.File[] files = storage.directory().resolve("recovered").toFile().listFiles();
        for (java.io.File file : files == null ? new java.io.File[0] : files) {
            String volume = file.getName();
            try {
                change(current -> current.volumes().containsKey(volume)
                        ? current.withReplicas(volume, List.of(self.name())) : current);
                java.nio.file.Files.delete(file.toPath());
                log.warn("volume {} recovered: its only replica is on this node now", volume);
            } catch (IOException | RuntimeException e) {
                log.warn("placing recovered volume {} here failed ({}); retrying", volume, e.toString());
                reconciler.execute(this::placeRecovered);
                return;
            }
        }
    }

    // ---------------------------------------------------------------- status

    /** Every group of the cluster by the name status and metrics give it: "meta", or its volume's name. */
    public Map<RaftGroupId, String> groupNames() {
        Map<RaftGroupId, String> names = new HashMap<>();
        names.put(metaGroup.getGroupId(), "meta");
        config.value().volumes().keySet().forEach(volume -> names.put(RaftGroups.volume(volume), volume));
        return names;
    }

    /** This node's Raft server, for metrics. */
    public RaftNode raft() {
        return raft;
    }

    /** The meta group's state machine on this node, for metrics. */
    public MetaStateMachine meta() {
        return meta;
    }

    /** This node's replica of {@code volume}, or null when it holds none. */
    public VolumeStateMachine replicaOf(String volume) {
        return replicas.get(volume);
    }

    /** True once the meta group has a leader this node knows of. */
    public boolean hasMetaLeader() {
        return raft.leader(metaGroup.getGroupId()).isPresent();
    }

    /** The group's current Raft term as this node knows it (-1 while it starts): every election raises it. */
    private long term(RaftGroupId group) {
        try {
            return raft.server().getDivision(group).getInfo().getCurrentTerm();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Entries behind the leader past which an answering replica counts as rebuilding (catching up). */
    static final long REBUILDING_LAG = 1024;

    /**
     * A volume's health as its leader sees it: degraded when a replica does not answer, rebuilding
     * when all answer but one is far behind, healthy otherwise.
     */
    private static String health(List<RaftNode.Follower> followers) {
        if (followers.stream().anyMatch(f -> !f.up())) {
            return "degraded";
        }
        return followers.stream().anyMatch(f -> f.lag() > REBUILDING_LAG) ? "rebuilding" : "healthy";
    }

    /** For {@code /api/status}: the meta group and each volume's replicas as this node sees them. */
    public Map<String, Object> status() {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("cluster", options.id());
        status.put("metaLeader", raft.leader(metaGroup.getGroupId()).orElse(null));
        status.put("metaTerm", term(metaGroup.getGroupId()));
        status.put("members", members().stream().map(RaftMember::name).toList());
        status.put("nodes", nodes());
        List<Map<String, Object>> volumes = new ArrayList<>();
        for (Map.Entry<String, ClusterConfig.Placement> volume : config.value().volumes().entrySet()) {
            Map<String, Object> v = new LinkedHashMap<>();
            RaftGroupId group = RaftGroups.volume(volume.getKey());
            v.put("volume", volume.getKey());
            v.put("replicas", volume.getValue().replicas());
            v.put("leader", raft.leader(group).orElse(null));
            if (raft.hasGroup(group)) {
                try {
                    RaftServer.Division division = raft.server().getDivision(group);
                    v.put("role", String.valueOf(division.getInfo().getCurrentRole()));
                    v.put("term", division.getInfo().getCurrentTerm());
                    v.put("commitIndex", division.getRaftLog().getLastCommittedIndex());
                    v.put("appliedIndex", division.getInfo().getLastAppliedIndex());
                    v.put("members", division.getGroup().getPeers().stream().map(p -> p.getId().toString()).toList());
                    if (division.getInfo().isLeader()) {
                        List<RaftNode.Follower> followers = raft.followers(group);
                        Map<String, Long> lag = new TreeMap<>(); // entries each member's commit index is behind the leader's
                        lag.put(self.name(), 0L);
                        followers.forEach(f -> lag.put(f.name(), f.lag()));
                        v.put("lag", lag);
                        v.put("down", followers.stream().filter(f -> !f.up()).map(RaftNode.Follower::name).toList());
                        v.put("health", health(followers));
                    } else if (division.getInfo().getLeaderId() == null) {
                        v.put("health", "unavailable");
                    }
                } catch (IOException | RuntimeException e) { // the group is still starting
                    v.put("role", "starting");
                }
            }
            volumes.add(v);
        }
        status.put("volumes", volumes);
        status.put("rebuilds", rebuilds.values().stream().map(Rebuild::status).toList());
        return status;
    }

    @Override
    public void close() {
        reconciler.shutdownNow();
        rebuilder.shutdownNow();
        if (raft != null) {
            raft.close();
        }
        io.shutdownNow();
    }
}
