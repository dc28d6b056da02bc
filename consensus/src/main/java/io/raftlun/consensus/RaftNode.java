package io.raftlun.consensus;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.protocol.TransferLeadershipRequest;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.AlreadyExistsException;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.LeaderSteppingDownException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.util.PureJavaCrc32C;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's Ratis server, hosting several Raft groups (the meta group and the groups of the
 * volumes it holds a replica of), and the ways to submit to a group: in this process when this
 * node can answer, through a Raft client to the group's leader when it cannot.
 */
public final class RaftNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

    /** Largest log entry: a maximal SCSI write (8 MiB) plus its header, with room to spare. */
    public static final int MAX_ENTRY_BYTES = 8 * 1024 * 1024 + 64 * 1024;
    /** How long a submission keeps retrying through elections and overload before it fails. */
    static final Duration SUBMIT_DEADLINE = Duration.ofSeconds(30);
    private static final long RETRY_SLEEP_MS = 50;

    private final RaftSettings settings;
    private final RaftProperties properties;
    private final RaftServer server;
    private final ClientId clientId = ClientId.randomId();
    private final AtomicLong callIds = new AtomicLong();
    /** Clients for reads and for entries sent once (reservations, compare-and-write). */
    private final Map<RaftGroupId, RaftClient> clients = new ConcurrentHashMap<>();
    /**
     * Clients for repeatable entries (block writes, unmaps), apart: abandoning one (see
     * {@link #abandonIfTheLeaderMoves}) fails only entries the write loop sends again.
     */
    private final Map<RaftGroupId, RaftClient> repeatableClients = new ConcurrentHashMap<>();
    /** The divisions found by {@link #division}, so that reads start on their caller's thread. */
    private final Map<RaftGroupId, RaftClientAsynchronousProtocol> divisions = new ConcurrentHashMap<>();
    /** The groups built by {@link #group}, with the configuration each was built from. */
    private final Map<RaftGroupId, KnownGroup> knownGroups = new ConcurrentHashMap<>();
    /** Clients replaced by {@link #clientOfLeader}, until their requests have had their time. */
    private final java.util.Set<RaftClient> retiredClients = ConcurrentHashMap.newKeySet();
    /**
     * Where writes start: a division may hold a write on the submitting thread (its lock, room in
     * the log's queue), which must not happen on an iSCSI event loop, and must not serialize a
     * session's queued commands either. Finding a division may wait for the group to start.
     */
    private final java.util.concurrent.ExecutorService submitters = Executors.newFixedThreadPool(8, r -> {
        Thread thread = new Thread(r, "raft-submit");
        thread.setDaemon(true);
        return thread;
    });
    private final ScheduledThreadPoolExecutor retries = new ScheduledThreadPoolExecutor(1, r -> {
        Thread thread = new Thread(r, "raft-retry");
        thread.setDaemon(true);
        return thread;
    });
    /**
     * Where Raft clients are closed. Closing one fails its requests at once, but then waits for
     * its gRPC channel to shut down gracefully, up to 3 s when the member it addresses is cut off.
     * On the single retry thread, that held up every resend behind it: the writes abandoned at a
     * cut-off leader went to the new one 3 s late (partition stalls of 4.1-4.4 s).
     */
    private final java.util.concurrent.ExecutorService closers = Executors.newCachedThreadPool(r -> {
        Thread thread = new Thread(r, "raft-client-close");
        thread.setDaemon(true);
        return thread;
    });

    private RaftNode(RaftSettings settings, RaftProperties properties, RaftServer server) {
        this.settings = settings;
        this.properties = properties;
        this.server = server;
        // A forwarded write's leader watch is cancelled as the write completes, mostly within
        // milliseconds: dropped from the queue, it wakes no thread when its time would have come.
        retries.setRemoveOnCancelPolicy(true);
    }

    /**
     * Starts the server. Groups found in the storage directory are reopened with the state
     * machines {@code registry} gives them; {@code bootstrap} (the meta group) is created on first
     * start and recovered afterwards.
     */
    public static RaftNode start(RaftSettings settings, StateMachine.Registry registry, RaftGroup bootstrap)
            throws IOException {
        refuseTakenAddress(settings.self());
        if (!fastLogChecksum()) {
            log.warn("Ratis's own log checksum class is on the class path ahead of raftlun-consensus's: "
                    + "replicated writes take several times the CPU");
        }
        RaftProperties properties = properties(settings);
        RaftServer server = RaftServer.newBuilder()
                .setServerId(settings.self().peerId())
                .setProperties(properties)
                .setStateMachineRegistry(registry)
                .setGroup(bootstrap)
                .setOption(RaftStorage.StartupOption.RECOVER)
                .build();
        try {
            server.start();
        } catch (IOException | RuntimeException e) {
            // groups that did start keep threads on their state machines: stop them before the caller
            // closes the storage under them
            try {
                server.close();
            } catch (IOException | RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        log.info("raft server {} listening on {}", settings.self().name(), settings.self().raftAddress());
        return new RaftNode(settings, properties, server);
    }

    /**
     * Ratis ends the whole process, with a stack trace, when its port is taken; so the port is
     * tried first, to fail with a line that says what is wrong.
     */
    private static void refuseTakenAddress(RaftMember self) throws IOException {
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(self.raftAddress());
        } catch (IOException e) {
            throw new IOException("the address is taken (" + e.getMessage()
                    + "); is another node running with this Raft address?", e);
        }
    }

    /** The groups whose logs a server on {@code storage} would reopen: Ratis keeps one directory per group, named by its id. */
    public static List<RaftGroupId> groupsOnDisk(Path storage) throws IOException {
        List<RaftGroupId> groups = new ArrayList<>();
        if (!Files.isDirectory(storage)) {
            return groups;
        }
        try (var entries = Files.newDirectoryStream(storage, Files::isDirectory)) {
            for (Path entry : entries) {
                try {
                    groups.add(RaftGroupId.valueOf(UUID.fromString(entry.getFileName().toString())));
                } catch (IllegalArgumentException notAGroup) {
                    // not a group's directory: Ratis ignores it too
                }
            }
        }
        return groups;
    }

    /**
     * True when the Raft log checksums its entries with raftlun's {@link PureJavaCrc32C} (the JDK's
     * CRC-32C), not Ratis's class of that name: the first one on the class path wins.
     */
    public static boolean fastLogChecksum() {
        return PureJavaCrc32C.class.getProtectionDomain().getCodeSource().getLocation()
                .equals(RaftNode.class.getProtectionDomain().getCodeSource().getLocation());
    }

    static RaftProperties properties(RaftSettings settings) {
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(p, List.of(settings.storage().toFile()));
        RaftConfigKeys.Rpc.setType(p, new CommitNotices());
        GrpcConfigKeys.Server.setHost(p, settings.self().raftAddress().getHostString());
        GrpcConfigKeys.Server.setPort(p, settings.self().raftAddress().getPort());
        GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(2L * MAX_ENTRY_BYTES));
        long election = settings.electionTimeout().toMillis();
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(election, TimeUnit.MILLISECONDS));
        // A follower wakes every random timeout in [min, max] and starts an election if the last
        // one passed without a word from the leader: a dead leader is noticed after up to about
        // 2 * max. A narrow range keeps that short; split votes stay rare (pre-vote, 3 replicas).
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(election + election / 4,
                TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(Math.max(3000, 3 * election),
                TimeUnit.MILLISECONDS));
        // Reads are linearizable everywhere: the leader answers within its lease, a follower asks
        // the leader for the read index and waits until it has applied that far (DESIGN.md, Reads).
        RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, true);
        // A follower that fell behind the purged log catches up through its state machine, which
        // fetches only what changed, instead of Ratis shipping snapshot files (the whole volume).
        RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, false);
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(MAX_ENTRY_BYTES));
        // An appender sends what it has at once. Ratis's default holds each send until 1 ms after
        // the last one, which delayed the next write by up to that after every commit notice.
        RaftServerConfigKeys.Log.Appender.setWaitTimeMin(p, TimeDuration.ZERO);
        // Each group's log writer buffers one whole entry at least (a buffer per volume group).
        RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(MAX_ENTRY_BYTES + 8));
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(4L * MAX_ENTRY_BYTES));
        // Entries are cached on the heap until applied and sent to every follower; Ratis's default
        // (six segments, 200 MB per group) ran followers out of a 512 MiB heap under 1 MiB writes.
        // A follower further behind is sent entries read back from the log file.
        RaftServerConfigKeys.Log.setSegmentCacheNumMax(p, 1);
        RaftServerConfigKeys.Log.setSegmentCacheSizeMax(p, SizeInBytes.valueOf(8L * MAX_ENTRY_BYTES));
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        // Composed appends make a follower start writing one appendEntries batch only after the
        // previous one is fsynced: one fsync per batch, none shared. Off, the log worker groups
        // them (measured, three replicas in one JVM: 4 KiB QD1 write ~5 ms instead of ~8, QD32 1.5x).
        RaftServerConfigKeys.Log.setAppendEntriesComposeEnabled(p, false);
        // No log metadata: it costs a second entry (append, fsync on every replica, a replication
        // round, an apply) each time the commit index moves (measured on a demo cluster, 4 KiB
        // writes at queue depth 1: 3.1-3.3 ms with it, 1.8-2.5 ms without; at depth 32, 2.5-3.5k
        // against 3.0-4.4k IOPS). What it gave: followers learnt of each commit at once
        // (CommitNotices tells them, within milliseconds), and a restarted replica applied its own
        // log before it heard from a leader, which the volume's state machine does not need: its
        // block store records the index it applied, so a catch-up after a purge still fetches only
        // the chunks changed while it was away.
        RaftServerConfigKeys.Log.setLogMetadataEnabled(p, false);
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, 65536);
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(Math.max(3000, 3 * election),
                TimeUnit.MILLISECONDS));
        settings.overrides().forEach(p::set);
        return p;
    }

    public RaftMember self() {
        return settings.self();
    }

    public RaftServer server() {
        return server;
    }

    /** True when this node holds a replica of {@code group}. */
    public boolean hasGroup(RaftGroupId group) {
        for (RaftGroupId id : server.getGroupIds()) {
            if (id.equals(group)) {
                return true;
            }
        }
        return false;
    }

    /** Joins {@code group} on this node (its state machine comes from the registry); idempotent. */
    public void join(RaftGroup group) {
        if (hasGroup(group.getGroupId())) {
            return;
        }
        try {
            RaftClientReply reply = server.groupManagement(GroupManagementRequest.newAdd(clientId,
                    settings.self().peerId(), callIds.incrementAndGet(), group));
            if (!reply.isSuccess()) {
                throw new IOException(String.valueOf(reply.getException()));
            }
            log.info("joined raft group {} with {}", group.getGroupId(), group.getPeers());
        } catch (AlreadyExistsException e) {
            // another thread joined first
        } catch (IOException e) {
            throw new UncheckedIOException("joining raft group " + group.getGroupId() + " failed: " + e.getMessage(), e);
        }
    }

    /** Leaves {@code group} and deletes this node's copy of its log. */
    public void leave(RaftGroupId group) {
        if (!hasGroup(group)) {
            return;
        }
        try {
            server.groupManagement(GroupManagementRequest.newRemove(clientId, settings.self().peerId(),
                    callIds.incrementAndGet(), group, true, false));
        } catch (IOException e) {
            throw new UncheckedIOException("leaving raft group " + group + " failed: " + e.getMessage(), e);
        } finally {
            divisions.remove(group); // no read fails on it any more to drop it, and it holds the closed group
            knownGroups.remove(group);
        }
    }

    /** The group's leader as this node knows it. */
    public Optional<String> leader(RaftGroupId group) {
        try {
            RaftPeerId leader = server.getDivision(group).getInfo().getLeaderId();
            return Optional.ofNullable(leader).map(RaftPeerId::toString);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The group's leader as this node knows it, if that is another node. */
    private Optional<String> otherLeader(RaftGroupId group) {
        return leader(group).filter(id -> !id.equals(settings.self().name()));
    }

    /**
     * True while this node's replica of {@code group} knows no live leader: it is electing one, has
     * voted in an election whose winner has not spoken yet, or has heard nothing from its leader
     * for longer than an election timeout (the leader died or is cut off, and an election is about
     * to start). False where this node holds no replica.
     */
    private boolean leaderless(RaftGroupId group) {
        try {
            DivisionInfo info = server.getDivision(group).getInfo();
            if (info.isCandidate()) {
                return true;
            }
            return info.isFollower() && (info.getLeaderId() == null
                    || info.getRoleInfoProto().getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs()
                            > settings.electionTimeout().toMillis());
        } catch (IOException e) {
            return false;
        }
    }

    public boolean isLeader(RaftGroupId group) {
        try {
            return server.getDivision(group).getInfo().isLeader();
        } catch (IOException e) {
            return false;
        }
    }

    /** A group this node led, and where its leadership went: the new leader, or null if nobody took it. */
    public record HandOver(RaftGroupId group, String newLeader, long millis, String problem) {
    }

    /**
     * Hands the leadership of every group this node leads to a follower, the one heard from most
     * recently first (Ratis waits until it has the whole log, then has it start an election at
     * once: no election timeout passes). For planned maintenance: afterwards this node only
     * follows, so stopping it costs the initiators no election. Each group gets {@code timeout}.
     */
    public List<HandOver> handOverLeadership(Duration timeout) {
        return handOverLeadership(timeout, null);
    }

    /**
     * As {@link #handOverLeadership(Duration)}, {@code first} (if led here) before the others,
     * which then go to the node that took {@code first} where it can take them: so the node
     * serving the cluster's floating portal also leads its volumes, without a second hand-over.
     */
    public List<HandOver> handOverLeadership(Duration timeout, RaftGroupId first) {
        List<HandOver> handedOver = new java.util.ArrayList<>();
        String preferred = null;
        if (first != null && isLeader(first)) {
            HandOver handOver = handOver(first, timeout, null);
            handedOver.add(handOver);
            preferred = handOver.newLeader();
        }
        List<CompletableFuture<HandOver>> handOvers = new java.util.ArrayList<>();
        for (RaftGroupId group : server.getGroupIds()) {
            if (!group.equals(first) && isLeader(group)) {
                String to = preferred;
                handOvers.add(CompletableFuture.supplyAsync(() -> handOver(group, timeout, to), submitters));
            }
        }
        handOvers.stream().map(CompletableFuture::join).forEach(handedOver::add);
        return handedOver;
    }

    private HandOver handOver(RaftGroupId group, Duration timeout, String preferred) {
        long start = System.nanoTime();
        String problem = "no follower answered within " + 2 * settings.electionTimeout().toMillis() + " ms";
        List<String> followers = followersByLastContact(group);
        // A leader elected a moment ago is not ready (its first entry uncommitted) and has not
        // heard from its followers yet: wait for that, but not for a follower that is down.
        long listDeadline = start + Math.min(timeout.toNanos(), 2 * settings.electionTimeout().toNanos());
        while ((followers.isEmpty() || !leaderReady(group)) && System.nanoTime() < listDeadline && isLeader(group)) {
            try {
                Thread.sleep(RETRY_SLEEP_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            followers = followersByLastContact(group);
        }
        if (preferred != null && followers.contains(preferred)) {
            followers = java.util.stream.Stream.concat(java.util.stream.Stream.of(preferred),
                    followers.stream().filter(f -> !f.equals(preferred))).toList();
        }
        for (int next = 0; next < followers.size(); next++) {
            String follower = followers.get(next);
            long left = timeout.toMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            if (left <= 0) {
                break;
            }
            try {
                RaftClientReply reply = server.transferLeadershipAsync(new TransferLeadershipRequest(clientId,
                        settings.self().peerId(), group, callIds.incrementAndGet(), RaftPeerId.valueOf(follower),
                        left)).get(left + 1000, TimeUnit.MILLISECONDS);
                if (reply.isSuccess()) {
                    return new HandOver(group, follower, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), null);
                }
                problem = follower + ": " + reply.getException();
                if (!isLeader(group)) {
                    // Refused, yet the election the transfer started went on: once this node
                    // learns who won, leadership has moved all the same.
                    long learnDeadline = System.nanoTime() + 2 * settings.electionTimeout().toNanos();
                    Optional<String> movedTo = otherLeader(group);
                    while (movedTo.isEmpty() && !isLeader(group) && System.nanoTime() < learnDeadline) {
                        Thread.sleep(RETRY_SLEEP_MS);
                        movedTo = otherLeader(group);
                    }
                    if (movedTo.isPresent()) {
                        return new HandOver(group, movedTo.get(),
                                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), null);
                    }
                }
                if (reply.getException() instanceof LeaderNotReadyException) {
                    // This leader, not the follower, is not ready: seen just after it reported
                    // itself ready above. It passes soon; the same follower is asked again.
                    Thread.sleep(RETRY_SLEEP_MS);
                    next--;
                }
            } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                problem = follower + ": " + e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problem = "interrupted";
                break;
            }
        }
        return new HandOver(group, null, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), problem);
    }

    private boolean leaderReady(RaftGroupId group) {
        try {
            return server.getDivision(group).getInfo().isLeaderReady();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A follower as the leader of its group sees it: how many entries its commit index is behind
     * the leader's, when it last answered, and whether that was within two RPC timeouts (up).
     */
    public record Follower(String name, long lag, long lastContactMillis, boolean up) {
    }

    /** The followers of a group this node leads; empty where it does not lead. */
    public List<Follower> followers(RaftGroupId group) {
        try {
            RaftServer.Division division = server.getDivision(group);
            if (!division.getInfo().isLeader()) {
                return List.of();
            }
            long recent = 2 * RaftServerConfigKeys.Rpc.timeoutMin(server.getProperties()).toLong(TimeUnit.MILLISECONDS);
            long leaderCommit = division.getRaftLog().getLastCommittedIndex();
            Map<String, Long> commits = new java.util.HashMap<>();
            for (RaftProtos.CommitInfoProto info : division.getCommitInfos()) {
                commits.put(info.getServer().getId().toStringUtf8(), info.getCommitIndex());
            }
            return division.getInfo().getRoleInfoProto().getLeaderInfo().getFollowerInfoList().stream()
                    .map(follower -> {
                        String name = follower.getId().getId().toStringUtf8();
                        long elapsed = follower.getLastRpcElapsedTimeMs();
                        return new Follower(name, Math.max(0, leaderCommit - commits.getOrDefault(name, 0L)), elapsed,
                                elapsed < recent);
                    }).toList();
        } catch (IOException | RuntimeException e) {
            return List.of(); // the group is starting or gone
        }
    }

    /**
     * The followers of a group this node leads that answered within an election timeout, the most
     * recently heard from first (one that is down would only run the hand-over into its timeout).
     */
    private List<String> followersByLastContact(RaftGroupId group) {
        long recent = settings.electionTimeout().toMillis();
        try {
            return server.getDivision(group).getInfo().getRoleInfoProto().getLeaderInfo().getFollowerInfoList()
                    .stream()
                    .filter(follower -> follower.getLastRpcElapsedTimeMs() < recent)
                    .sorted(java.util.Comparator.comparingLong(RaftProtos.ServerRpcProto::getLastRpcElapsedTimeMs))
                    .map(follower -> follower.getId().getId().toStringUtf8())
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * Asks the leader of {@code group} to hand its leadership to this node (which it does once
     * this node has its whole log). Blocks up to about {@code timeout}; true if this node leads.
     */
    public boolean takeLeadership(RaftGroup group, Duration timeout) {
        if (leaderless(group.getGroupId())) { // nobody to hand it over; try again after the election
            return false;
        }
        try {
            return clientOfLeader(group, false).admin()
                    .transferLeadership(settings.self().peerId(), timeout.toMillis()).isSuccess();
        } catch (IOException | RuntimeException e) {
            log.debug("taking the leadership of {}: {}", group.getGroupId(), e.toString());
            return false;
        }
    }

    // ---------------------------------------------------------------- membership

    /** The group's members as this node's copy of its configuration has them (the newest one). */
    public List<RaftMember> members(RaftGroupId group) throws IOException {
        return group(group).getPeers().stream().map(RaftMember::of).toList();
    }

    /** A group as built from one configuration of it (Ratis replaces the configuration when it changes). */
    private record KnownGroup(RaftConfiguration conf, RaftGroup group) {
    }

    /**
     * The group as this node's replica knows it (its newest configuration; no peers while a new
     * replica waits to be added). Asked on every read and write, so it is built again only when the
     * configuration changed: Ratis builds a new one, maps and all, on each call (a fifth of what a
     * 4 KiB read allocated).
     *
     * @throws IOException no replica of the group here
     */
    public RaftGroup group(RaftGroupId id) throws IOException {
        RaftServer.Division division = server.getDivision(id);
        RaftConfiguration conf = division.getRaftConf();
        KnownGroup known = knownGroups.get(id);
        if (known == null || known.conf() != conf) {
            known = new KnownGroup(conf, division.getGroup());
            knownGroups.put(id, known);
        }
        return known.group();
    }

    /** The index of the last entry in this node's log of {@code group} (-1 when empty). */
    public long lastLogIndex(RaftGroupId group) throws IOException {
        var last = server.getDivision(group).getRaftLog().getLastEntryTermIndex();
        return last == null ? -1 : last.getIndex();
    }

    /**
     * Changes the membership of {@code group} (as {@code current} has it) to {@code members},
     * through its leader: a new member first follows as a non-voting staging member until it holds
     * nearly the whole log, then the joint configuration and the new one are committed (Raft's
     * joint consensus, so a majority of the old and of the new members agree). Returns once the new
     * configuration is committed; fails if that does not happen within {@code timeout}.
     */
    public void changeMembers(RaftGroup current, List<RaftMember> members, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (RaftClient client = RaftClient.newBuilder()
                .setProperties(properties)
                .setRaftGroup(current)
                .setClientId(ClientId.randomId())
                .setClientRpc(new GrpcFactory(new Parameters()).newRaftClientRpc(ClientId.randomId(), properties))
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                        (int) Math.max(1, timeout.toMillis() / 200), TimeDuration.valueOf(200, TimeUnit.MILLISECONDS)))
                .build()) {
            List<org.apache.ratis.protocol.RaftPeer> peers = members.stream().map(RaftMember::peer).toList();
            while (true) {
                RaftClientReply reply = client.admin().setConfiguration(peers);
                if (reply.isSuccess()) {
                    log.info("raft group {} now has members {}", current.getGroupId(),
                            members.stream().map(RaftMember::name).toList());
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("changing the members of " + current.getGroupId() + " failed: "
                            + reply.getException());
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while changing the members of " + current.getGroupId());
                }
            }
        }
    }

    /**
     * Disaster recovery, for a group whose majority is lost for good: rewrites this node's stored
     * configuration of {@code group} so that it is the only member, as Ratis' own offline tool
     * does (a newer configuration entry in the group's {@code raft-meta.conf}). It takes effect at
     * the next start of the Raft server; then this node elects itself and commits every entry of
     * its log. Returns the index of the last entry, what the group recovers to.
     */
    public long forceSoleMember(RaftGroupId group) throws IOException {
        RaftServer.Division division = server.getDivision(group);
        if (division.getInfo().getLeaderId() != null) {
            throw new IOException("group " + group + " has a leader (" + division.getInfo().getLeaderId()
                    + "): its majority is reachable");
        }
        java.nio.file.Path confFile = settings.storage().resolve(group.getUuid().toString()).resolve("current")
                .resolve("raft-meta.conf");
        long lastIndex = lastLogIndex(group);
        long confIndex = -1;
        if (java.nio.file.Files.exists(confFile)) {
            try (var in = java.nio.file.Files.newInputStream(confFile)) {
                confIndex = RaftProtos.LogEntryProto.parseFrom(in).getIndex();
            }
        }
        RaftProtos.LogEntryProto sole = RaftProtos.LogEntryProto.newBuilder()
                .setTerm(division.getInfo().getCurrentTerm())
                .setIndex(Math.max(confIndex, lastIndex) + 1)
                .setConfigurationEntry(RaftProtos.RaftConfigurationProto.newBuilder()
                        .addPeers(settings.self().peer().getRaftPeerProto()))
                .build();
        java.nio.file.Path temporary = confFile.resolveSibling("raft-meta.conf.forced");
        java.nio.file.Files.write(temporary, sole.toByteArray());
        java.nio.file.Files.move(temporary, confFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        log.warn("raft group {}: configuration forced to this node alone, recovering to index {}", group, lastIndex);
        return lastIndex;
    }

    /** A committed entry: the state machine's answer and the entry's log index. */
    public record Committed(Message answer, long index) {
    }

    /**
     * Submits a log entry to {@code group}: in this process when this node leads it, otherwise
     * through a Raft client to the leader. Completes with the state machine's answer once the entry
     * is committed and applied on the node that answered (the leader); fails if no leader accepts it
     * before the deadline or the state machine refuses it.
     */
    public CompletableFuture<Committed> write(RaftGroup group, Message entry) {
        CompletableFuture<Committed> result = new CompletableFuture<>();
        write(group, entry, false, System.nanoTime() + SUBMIT_DEADLINE.toNanos(), result);
        return result;
    }

    /**
     * As {@link #write}, for an entry whose second application changes nothing the first did not
     * (a block write, an unmap). It is also sent again after a failure that leaves unknown whether
     * it was appended: a Raft client closed under it when the leader changed, a request timed out.
     * Failing it instead would fail the initiator's command, which it may not retry.
     */
    public CompletableFuture<Committed> writeRepeatable(RaftGroup group, Message entry) {
        CompletableFuture<Committed> result = new CompletableFuture<>();
        write(group, entry, true, System.nanoTime() + SUBMIT_DEADLINE.toNanos(), result);
        return result;
    }

    /**
     * A leader handing its leadership over refuses new entries before appending them
     * (LeaderSteppingDownException), so does one just elected until it has committed an entry of
     * its term (LeaderNotReadyException: retried here, not forwarded to a leader it no longer
     * knows), and a member still joining the group has no log to append them to
     * (GroupMismatchException), so sending the entry again cannot apply it twice: retried until a
     * leader takes it. Other failures are final unless the entry is repeatable, as a retry could
     * repeat an entry that was appended after all.
     */
    private void write(RaftGroup group, Message entry, boolean repeatable, long deadline,
                       CompletableFuture<Committed> result) {
        if (leaderless(group.getGroupId()) && System.nanoTime() < deadline && !retries.isShutdown()) {
            // Sent now, the entry would go to a leader that has stopped answering and wait out a
            // request timeout (3 s, 10 s for a new client's first request) there: wait for the election.
            retries.schedule(() -> write(group, entry, repeatable, deadline, result), RETRY_SLEEP_MS,
                    TimeUnit.MILLISECONDS);
            return;
        }
        writeOnce(group, entry, repeatable).whenComplete((committed, failure) -> {
            if (failure == null) {
                result.complete(committed);
            } else if ((notAppended(failure) || repeatable && failedInRaft(failure)) && System.nanoTime() < deadline
                    && !retries.isShutdown()) {
                if (repeatable && !notAppended(failure)) {
                    log.debug("raft group {}: sending an entry again after {}", group.getGroupId(), failure.toString());
                }
                retries.schedule(() -> write(group, entry, repeatable, deadline, result), RETRY_SLEEP_MS,
                        TimeUnit.MILLISECONDS);
            } else {
                result.completeExceptionally(failure);
            }
        });
    }

    private static boolean notAppended(Throwable failure) {
        return causedBy(failure, LeaderSteppingDownException.class) || causedBy(failure, GroupMismatchException.class)
                || causedBy(failure, LeaderNotReadyException.class);
    }

    /**
     * A failure of Raft's, not the state machine's answer: Ratis fails requests with IOExceptions
     * (RaftException and its kin), while an entry the state machine refuses fails with the
     * RuntimeException it threw, or a StateMachineException.
     */
    private static boolean failedInRaft(Throwable failure) {
        Throwable cause = failure;
        while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause instanceof IOException && !causedBy(failure, StateMachineException.class);
    }

    private static boolean causedBy(Throwable failure, Class<? extends Throwable> kind) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (kind.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private CompletableFuture<Committed> writeOnce(RaftGroup group, Message entry, boolean repeatable) {
        if (isLeader(group.getGroupId())) {
            return submit(group.getGroupId(), entry, RaftClientRequest.writeRequestType())
                    .thenCompose(reply -> {
                        if (reply.isSuccess()) {
                            return CompletableFuture.completedFuture(new Committed(reply.getMessage(),
                                    reply.getLogIndex()));
                        }
                        if (reply.getStateMachineException() != null) {
                            return CompletableFuture.failedFuture(reply.getStateMachineException().getCause() != null
                                    ? reply.getStateMachineException().getCause() : reply.getStateMachineException());
                        }
                        if (reply.getException() instanceof LeaderNotReadyException) { // just elected: refused unappended
                            return CompletableFuture.failedFuture(reply.getException());
                        }
                        // lost leadership meanwhile: the client finds the new leader
                        return forward(group, entry, repeatable);
                    });
        }
        return forward(group, entry, repeatable);
    }

    private CompletableFuture<Committed> forward(RaftGroup group, Message entry, boolean repeatable) {
        return offEventLoop(() -> {
            RaftClient client = clientOfLeader(group, repeatable);
            CompletableFuture<RaftClientReply> reply = client.async().send(entry);
            if (repeatable) {
                abandonIfTheLeaderMoves(group, client, reply);
            }
            return reply.whenComplete((answer, failure) -> dropIfBroken(group, client, failure));
        }).thenApply(reply -> new Committed(answer(reply), reply.getLogIndex()));
    }

    /**
     * A request sent to a leader that has since been cut off waits out a request timeout (3 s)
     * there; Ratis's client then sends it again to a member picked at random, which may be the
     * cut-off leader again: seen as 7 s pauses of the floating portal's initiator after a
     * partition. So while the request is under way, every half election timeout: once this node's
     * replica follows another leader than the one the client addresses, the client is closed at
     * once: its requests fail, the write loop sends them again to that leader, and the next
     * request gets a client addressed there. Closed, the client cannot deliver a request late,
     * after the writes that followed it. Only for repeatable entries: an entry sent once (a
     * reservation change) must keep Ratis's resending, whose retry cache applies it once.
     */
    private void abandonIfTheLeaderMoves(RaftGroup group, RaftClient client, CompletableFuture<?> request) {
        whenTheLeaderMoves(group.getGroupId(), () -> Optional.ofNullable(client.getLeaderId()).map(RaftPeerId::toString),
                request, followed -> {
                    log.info("raft group {}: a request to {} is still under way, but the leader is now {}: "
                            + "sending again there", group.getGroupId(), client.getLeaderId(), followed);
                    repeatableClients.remove(group.getGroupId(), client);
                    retiredClients.remove(client);
                    closeInBackground(client); // fails the request at once, which ends the watch
                });
    }

    /**
     * A read answered by {@code leader} (a follower's read barrier), failed as soon as this node's
     * replica follows another leader: asked of a leader that was cut off, it would wait out the
     * caller's whole timeout before the caller asked again.
     */
    public CompletableFuture<Message> readFromLeader(RaftGroup group, String leader, Message query) {
        CompletableFuture<Message> read = readFrom(group, leader, query);
        whenTheLeaderMoves(group.getGroupId(), () -> Optional.of(leader), read, followed -> read.completeExceptionally(
                new IOException("raft group " + group.getGroupId() + ": asked " + leader + ", but the leader is now "
                        + followed)));
        return read;
    }

    /**
     * Every half election timeout while {@code request} is under way: once this node's replica
     * follows another leader than {@code addressed} gives, {@code moved} is told which, once.
     */
    private void whenTheLeaderMoves(RaftGroupId group, java.util.function.Supplier<Optional<String>> addressed,
                                    CompletableFuture<?> request, java.util.function.Consumer<String> moved) {
        long period = Math.max(50, settings.electionTimeout().toMillis() / 2);
        java.util.concurrent.atomic.AtomicBoolean told = new java.util.concurrent.atomic.AtomicBoolean();
        ScheduledFuture<?> watch;
        try {
            watch = retries.scheduleWithFixedDelay(() -> {
                Optional<String> asked = addressed.get();
                Optional<String> followed = leader(group);
                if (!request.isDone() && asked.isPresent() && followed.isPresent()
                        && !followed.get().equals(asked.get()) && told.compareAndSet(false, true)) {
                    moved.accept(followed.get());
                }
            }, period, period, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) { // closing: the request fails with it
            return;
        }
        request.whenComplete((reply, failure) -> watch.cancel(false));
    }

    /**
     * A Raft client whose request reached a member without the group (a node still starting) fails
     * that request and every one after it (its ordered stream is closed for good): it is dropped,
     * and the next request gets a new client.
     */
    private void dropIfBroken(RaftGroup group, RaftClient client, Throwable failure) {
        if (failure != null && (causedBy(failure, GroupMismatchException.class)
                || causedBy(failure, AlreadyClosedException.class))) {
            retire(group, client, null);
        }
    }

    /**
     * A linearizable read on this node's replica of {@code group}: completes with the state
     * machine's answer to {@code query} once this replica has applied everything committed before
     * the call. Retries through elections until the deadline.
     */
    public CompletableFuture<Message> readLocal(RaftGroupId group, Message query) {
        long deadline = System.nanoTime() + SUBMIT_DEADLINE.toNanos();
        CompletableFuture<Message> result = new CompletableFuture<>();
        readLocal(group, query, deadline, result);
        return result;
    }

    private void readLocal(RaftGroupId group, Message query, long deadline, CompletableFuture<Message> result) {
        submit(group, query, RaftClientRequest.readRequestType()).whenComplete((reply, failure) -> {
            Throwable problem = failure != null ? failure : reply.isSuccess() ? null : reply.getException();
            if (problem == null) {
                result.complete(reply.getMessage());
            } else if (reply != null && reply.getStateMachineException() != null) {
                result.completeExceptionally(problem);
            } else if (System.nanoTime() < deadline && !retries.isShutdown()) {
                retries.schedule(() -> readLocal(group, query, deadline, result), RETRY_SLEEP_MS, TimeUnit.MILLISECONDS);
            } else {
                result.completeExceptionally(problem);
            }
        });
    }

    /**
     * A linearizable read answered by the group's leader: for a node that holds no replica, or a
     * replica that cannot answer itself (it is catching up). Addressed to the leader this node
     * knows of, never to itself; retried through elections until the deadline.
     */
    public CompletableFuture<Message> readRemote(RaftGroup group, Message query) {
        CompletableFuture<Message> result = new CompletableFuture<>();
        readRemote(group, query, System.nanoTime() + SUBMIT_DEADLINE.toNanos(), result);
        return result;
    }

    private void readRemote(RaftGroup group, Message query, long deadline, CompletableFuture<Message> result) {
        Optional<String> leader = otherLeader(group.getGroupId());
        RaftClient client = client(group);
        CompletableFuture<RaftClientReply> reply = offEventLoop(() -> leader.isPresent()
                ? client.async().sendReadOnly(query, RaftPeerId.valueOf(leader.get()))
                : client.async().sendReadOnly(query))
                .whenComplete((answer, failure) -> dropIfBroken(group, client, failure));
        reply.thenApply(RaftNode::answer).whenComplete((answer, failure) -> {
            if (failure == null) {
                result.complete(answer);
            } else if (System.nanoTime() < deadline && !retries.isShutdown()) {
                retries.schedule(() -> readRemote(group, query, deadline, result), 4 * RETRY_SLEEP_MS,
                        TimeUnit.MILLISECONDS);
            } else {
                result.completeExceptionally(failure);
            }
        });
    }

    /**
     * A linearizable read answered by one given member of the group (another replica's own copy).
     * Unordered: a member that is down or slow must not hold up the writes and reads this node
     * sends through the same client after it.
     */
    public CompletableFuture<Message> readFrom(RaftGroup group, String member, Message query) {
        RaftClient client = client(group);
        return offEventLoop(() -> client.async().sendReadOnlyUnordered(query, RaftPeerId.valueOf(member)))
                .whenComplete((reply, failure) -> dropIfBroken(group, client, failure))
                .thenApply(RaftNode::answer);
    }

    /** The members of {@code group} other than this node, as this node knows the group. */
    public List<String> others(RaftGroup group) {
        return group.getPeers().stream().map(peer -> peer.getId().toString())
                .filter(id -> !id.equals(settings.self().name())).toList();
    }

    private CompletableFuture<RaftClientReply> submit(RaftGroupId group, Message message, RaftClientRequest.Type type) {
        RaftClientRequest request = RaftClientRequest.newBuilder()
                .setClientId(clientId)
                .setServerId(settings.self().peerId())
                .setGroupId(group)
                .setCallId(callIds.incrementAndGet())
                .setMessage(message)
                .setType(type)
                .build();
        RaftClientAsynchronousProtocol known = type.is(RaftProtos.RaftClientRequestProto.TypeCase.READ)
                ? divisions.get(group) : null;
        if (known != null) {
            // A read waits for nothing in a running division (the leader answers within its lease,
            // a follower asks the leader without waiting), so it starts here: through the leader it
            // then completes on the caller's thread, an iSCSI event loop, with no thread hand-off.
            return submitTo(known, request).whenComplete((reply, failure) -> {
                if (failure != null || !reply.isSuccess()) {
                    divisions.remove(group, known); // perhaps closed: the next request looks it up again
                }
            });
        }
        return offEventLoop(() -> {
            try {
                return submitTo(division(group), request);
            } catch (IOException e) {
                return CompletableFuture.failedFuture(e);
            }
        });
    }

    private static CompletableFuture<RaftClientReply> submitTo(RaftClientAsynchronousProtocol division,
                                                               RaftClientRequest request) {
        try {
            return division.submitClientRequestAsync(request);
        } catch (IOException | RuntimeException e) { // a read on the caller's thread must not throw there
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Where this node's own requests to {@code group} go. The server would hand each to a pool of
     * its own and wait there until the request is submitted: two thread wake-ups per request, which
     * the submit pool already spares the caller. So they go to the group's division directly, which
     * takes them on the submitting thread; the server is the fallback should a division not.
     */
    private RaftClientAsynchronousProtocol division(RaftGroupId group) throws IOException {
        if (server.getDivision(group) instanceof RaftClientAsynchronousProtocol direct) {
            if (divisions.get(group) != direct) {
                divisions.put(group, direct);
            }
            return direct;
        }
        return server;
    }

    /** Starts {@code submission} on the submit pool; once this node is closing, fails instead. */
    private CompletableFuture<RaftClientReply> offEventLoop(
            java.util.function.Supplier<CompletableFuture<RaftClientReply>> submission) {
        try {
            return CompletableFuture.supplyAsync(submission, submitters).thenCompose(reply -> reply);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new IOException("raft node " + settings.self().name() + " is closed"));
        }
    }

    private static Message answer(RaftClientReply reply) {
        if (reply.isSuccess()) {
            return reply.getMessage();
        }
        if (reply.getStateMachineException() != null && reply.getStateMachineException().getCause() != null) {
            throw new java.util.concurrent.CompletionException(reply.getStateMachineException().getCause());
        }
        throw new java.util.concurrent.CompletionException(reply.getException());
    }

    private RaftClient client(RaftGroup group) {
        return client(group, false);
    }

    private RaftClient client(RaftGroup group, boolean repeatable) {
        return (repeatable ? repeatableClients : clients).computeIfAbsent(group.getGroupId(),
                id -> newClient(group, null));
    }

    /**
     * The group's client, addressed to the leader this node's replica follows. A client keeps
     * the leader it last reached: after that leader is cut off, its next request would wait a
     * whole request timeout (3 s) before trying another member, though this replica may already
     * follow the new leader. Then the client is replaced by one that starts there; the old one is
     * closed once its requests have had their time.
     */
    private RaftClient clientOfLeader(RaftGroup group, boolean repeatable) {
        RaftClient client = client(group, repeatable);
        Optional<RaftPeerId> leader = otherLeader(group.getGroupId())
                .map(RaftPeerId::valueOf);
        if (leader.isEmpty() || leader.get().equals(client.getLeaderId())) {
            return client;
        }
        RaftClient toLeader = newClient(group, leader.get());
        return retire(group, client, toLeader) ? toLeader : client(group, repeatable);
    }

    /**
     * Replaces {@code client} by {@code successor} (null: a new client on next use) unless another
     * thread replaced it first (then the successor is closed and false returned). The retired
     * client is closed once the requests it still carries have had their time.
     */
    private boolean retire(RaftGroup group, RaftClient client, RaftClient successor) {
        RaftGroupId id = group.getGroupId(); // the client is in one map or the other
        boolean replaced = successor == null
                ? clients.remove(id, client) || repeatableClients.remove(id, client)
                : clients.replace(id, client, successor) || repeatableClients.replace(id, client, successor);
        if (!replaced) {
            if (successor != null) {
                closeInBackground(successor);
            }
            return false;
        }
        retiredClients.add(client);
        try {
            retries.schedule(() -> {
                if (retiredClients.remove(client)) {
                    closeInBackground(client);
                }
            }, SUBMIT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) { // closing: close() closes it
        }
        return true;
    }

    private RaftClient newClient(RaftGroup group, RaftPeerId leader) {
        RaftClient.Builder builder = RaftClient.newBuilder()
                .setProperties(properties)
                .setRaftGroup(group)
                .setClientId(ClientId.randomId())
                .setClientRpc(new GrpcFactory(new Parameters()).newRaftClientRpc(ClientId.randomId(), properties))
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                        (int) (SUBMIT_DEADLINE.toMillis() / 100), TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)));
        if (leader != null) {
            builder.setLeaderId(leader);
        }
        return builder.build();
    }

    /** Closes {@code client} on a thread of its own (see {@link #closers}); here once this node is closing. */
    private void closeInBackground(RaftClient client) {
        try {
            closers.execute(() -> closeQuietly(client));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            closeQuietly(client);
        }
    }

    private static void closeQuietly(RaftClient client) {
        try {
            client.close();
        } catch (IOException e) {
            log.debug("closing raft client: {}", e.toString());
        }
    }

    @Override
    public void close() {
        retries.shutdownNow();
        submitters.shutdownNow();
        closers.shutdown(); // the closes under way finish on their daemon threads
        clients.values().forEach(RaftNode::closeQuietly);
        repeatableClients.values().forEach(RaftNode::closeQuietly);
        retiredClients.forEach(RaftNode::closeQuietly);
        try {
            server.close();
        } catch (IOException e) {
            log.warn("stopping the raft server: {}", e.toString());
        }
    }
}
