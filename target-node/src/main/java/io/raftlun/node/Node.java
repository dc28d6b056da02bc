package io.raftlun.node;

import io.raftlun.admin.AdminServer;
import io.raftlun.blockstore.BlockStore;
import io.raftlun.blockstore.NodeStorage;
import io.raftlun.blockstore.StorageException;
import io.raftlun.cluster.ClusterConfig;
import io.raftlun.cluster.ClusterNode;
import io.raftlun.cluster.ClusterOptions;
import io.raftlun.cluster.FloatingPortal;
import io.raftlun.consensus.HostPort;
import io.raftlun.iscsi.IscsiMetrics;
import io.raftlun.iscsi.IscsiServer;
import io.raftlun.iscsi.IscsiSettings;
import io.raftlun.metrics.NodeMetrics;
import io.raftlun.metrics.RaftMetrics;
import io.raftlun.metrics.StoreMetrics;
import io.raftlun.metrics.VolumeMetrics;
import io.raftlun.replication.VolumeCheck;
import io.raftlun.target.ConfigException;
import io.raftlun.target.ConfigFiles;
import io.raftlun.target.TargetCatalog;
import io.raftlun.target.TargetChange;
import io.raftlun.target.TargetConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One raftlun node: its storage, the targets it serves, the iSCSI portal, and the admin API with
 * {@code /metrics}. Started whole or not at all: a failure while starting closes what was opened.
 */
public final class Node implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Node.class);
    public static final String VERSION = "0.1.0";
    /** How long a drain waits for each group's follower to take over. */
    static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(3);

    private final NodeOptions options;
    private final List<AutoCloseable> opened;
    private final NodeStorage storage;
    private final TargetCatalog catalog;
    private final IscsiServer iscsi;
    private final AdminServer admin;
    private final ClusterNode cluster;
    private final FloatingPortal floating; // null without a floating portal
    private final NodeMetrics metrics;
    /** The latest scrub and verify of each volume started through this node, by kind and volume. */
    private final Map<String, VolumeCheck> checks = new java.util.concurrent.ConcurrentHashMap<>();

    private Node(NodeOptions options, List<AutoCloseable> opened, NodeStorage storage, TargetCatalog catalog,
                 IscsiServer iscsi, AdminServer admin, ClusterNode cluster, FloatingPortal floating,
                 NodeMetrics metrics) {
        this.cluster = cluster;
        this.floating = floating;
        this.metrics = metrics;
        this.options = options;
        this.opened = opened;
        this.storage = storage;
        this.catalog = catalog;
        this.iscsi = iscsi;
        this.admin = admin;
    }

    /** How long a restarted cluster node waits to learn the cluster's latest targets before its portal opens. */
    static final Duration CATCH_UP_AT_START = Duration.ofSeconds(20);

    public static Node start(NodeOptions options) {
        return start(options, catalog -> { });
    }

    /**
     * Starts a node after {@code prepare} has brought its targets up to date, so no initiator can
     * log in while the targets it was promised are still being created.
     */
    public static Node start(NodeOptions options, Consumer<TargetCatalog> prepare) {
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            NodeStorage storage = NodeStorage.open(options.dataDir());
            opened.add(storage);
            NodeMetrics metrics = new NodeMetrics(options.name(), options.metrics());
            opened.add(metrics);
            StoreMetrics storeMetrics = new StoreMetrics(metrics.registry(), storage);
            metrics.keepUpToDate(storeMetrics::refresh);
            VolumeMetrics volumeMetrics = new VolumeMetrics(metrics.registry(), metrics.histograms());
            IscsiServer[] bound = new IscsiServer[1]; // the portal's port is known once it is bound
            IscsiSettings portal = IscsiSettings.defaults(options.portal()).withBusyPoll(options.busyPoll());
            if (options.cluster() != null) {
                portal = portal.withPortalGroupTag(options.cluster().portalGroupTag(options.name()));
            }
            int tag = portal.portalGroupTag(); // also the relative target port of every nexus through it
            ClusterNode cluster = null;
            FloatingPortal floating = null;
            TargetCatalog catalog;
            if (options.cluster() != null) {
                cluster = ClusterNode.start(options.cluster(), options.name(), storage);
                opened.add(0, cluster);
                metrics.keepUpToDate(new RaftMetrics(metrics.registry(), metrics.histograms(), cluster)::refresh);
                metrics.keepUpToDate(new io.raftlun.metrics.RebuildMetrics(metrics.registry(), cluster)::refresh);
                ClusterNode members = cluster;
                catalog = new TargetCatalog(cluster, () -> portals(members, bound[0], options),
                        options.cluster().portGroups(), tag, volumeMetrics);
                cluster.onTargets(catalog::serve);
                if (!cluster.awaitCurrent(CATCH_UP_AT_START)) {
                    log.warn("node {}: no leader of the cluster's meta group within {} s; serving the targets as this"
                            + " node last knew them until one is elected", options.name(),
                            CATCH_UP_AT_START.toSeconds());
                }
            } else {
                catalog = TargetCatalog.open(storage, options.dataDir().resolve("targets.json"),
                        () -> List.of(portalName(bound[0] == null ? options.portal() : bound[0].localAddress()) + ","
                                + tag), tag, volumeMetrics);
            }
            prepare.accept(catalog);
            IscsiMetrics iscsiMetrics = new IscsiMetrics(metrics.registry(), metrics.histograms());
            IscsiServer iscsi = IscsiServer.start(portal, catalog, iscsiMetrics);
            bound[0] = iscsi;
            opened.add(0, iscsi); // closed first: initiators are logged out before storage goes
            String token = AdminToken.loadOrCreate(options.dataDir().resolve(AdminToken.FILE));
            AdminServer admin = AdminServer.start(options.admin(), token, metrics::scrape);
            opened.add(0, admin);
            if (cluster != null) {
                cluster.announce(new ClusterConfig.NodeInfo(options.name(), portalName(iscsi.localAddress()),
                        portalName(admin.localAddress()), VERSION));
                if (options.cluster().floatingPortal() != null) {
                    floating = floatingPortal(options, cluster, catalog, portal, iscsi, iscsiMetrics);
                    opened.add(0, floating);
                }
            }
            opened.add(0, metrics::stopRefreshing); // before what the refreshes look at closes
            Node node = new Node(options, opened, storage, catalog, iscsi, admin, cluster, floating, metrics);
            node.routes();
            log.info("node {} serving {} target(s) on {}", options.name(), catalog.config().targets().size(),
                    portalName(iscsi.localAddress()));
            return node;
        } catch (RuntimeException e) {
            closeAll(opened);
            throw e;
        }
    }

    /**
     * The cluster's floating portal as this node takes part in it: held while this node leads
     * the cluster, served by a second iSCSI portal with the floating portal's own group tag.
     */
    private static FloatingPortal floatingPortal(NodeOptions options, ClusterNode cluster, TargetCatalog catalog,
                                                 IscsiSettings own, IscsiServer iscsi, IscsiMetrics metrics) {
        ClusterOptions members = options.cluster();
        int port = iscsi.localAddress().getPort();
        return FloatingPortal.start(members.floatingPortal(), options.floatingDevice(),
                options.portal().getAddress(), port, cluster::leadsMeta,
                address -> IscsiServer.start(own.soleAnnouncedPortal(address, members.floatingPortalGroupTag(),
                        cluster::floatingPortalToken), catalog, metrics, true),
                cluster::leadVolumesHere, cluster.floatingInitiators());
    }

    /**
     * What SendTargets announces in a cluster: this node's portal first, then every other node's
     * that announced itself, each with its node's portal group tag.
     */
    private static List<String> portals(ClusterNode cluster, IscsiServer bound, NodeOptions options) {
        ClusterOptions members = options.cluster();
        String own = portalName(bound == null ? options.portal() : bound.localAddress());
        List<String> portals = new ArrayList<>();
        portals.add(own + "," + members.portalGroupTag(options.name()));
        for (ClusterConfig.NodeInfo node : cluster.nodes()) {
            if (!node.name().equals(options.name()) && node.portal() != null
                    && members.members().stream().anyMatch(m -> m.name().equals(node.name()))) {
                portals.add(node.portal() + "," + members.portalGroupTag(node.name()));
            }
        }
        return portals;
    }

    /** host:port as SendTargets announces it (IPv6 in brackets). */
    public static String portalName(InetSocketAddress address) {
        return HostPort.of(address.getAddress().getHostAddress(), address.getPort());
    }

    private void routes() {
        admin.route("GET", "/api/status", request -> AdminServer.Response.ok(
                ConfigFiles.JSON.writeValueAsString(status())));
        admin.route("GET", "/api/targets", request -> AdminServer.Response.ok(
                ConfigFiles.JSON.writeValueAsString(show())));
        admin.route("POST", "/api/targets", this::change);
        admin.route("POST", "/api/drain", request -> cluster == null
                ? AdminServer.Response.error(409, "node " + options.name() + " is not in a cluster: nothing to hand over")
                : AdminServer.Response.ok(ConfigFiles.JSON.writeValueAsString(Map.of("node", options.name(),
                        "handedOver", drain()))));
        admin.route("POST", VOLUMES_API, request -> volumeCheck(request, true));
        admin.route("GET", VOLUMES_API, request -> volumeCheck(request, false));
        admin.route("POST", "/api/metrics/recording", this::recording);
        membershipRoutes();
    }

    static final String VOLUMES_API = "/api/volumes/";

    /**
     * {@code POST /api/metrics/recording?on=true|false}: whether the I/O path records metrics. For
     * the benchmark, which measures what recording costs by switching it within one process.
     */
    private AdminServer.Response recording(AdminServer.Request request) throws Exception {
        String on = required(request, "on");
        if (!on.equals("true") && !on.equals("false")) {
            throw new AdminServer.ApiException(400, "on must be true or false, not " + on);
        }
        metrics.histograms().recording(Boolean.parseBoolean(on));
        return AdminServer.Response.ok(ConfigFiles.JSON.writeValueAsString(Map.of("recording",
                metrics.histograms().recording())));
    }

    /**
     * {@code POST /api/volumes/NAME/scrub?rate=MIB} (or {@code /verify}) starts a check of the
     * volume's replicas from this node (or answers the one running); {@code GET} on the same path
     * tells how far the latest one is and what it found.
     */
    private AdminServer.Response volumeCheck(AdminServer.Request request, boolean start) throws Exception {
        int slash = request.path().lastIndexOf('/');
        String volume = slash > 0 ? request.path().substring(0, slash) : "";
        VolumeCheck.Kind kind = switch (request.path().substring(slash + 1)) {
            case "scrub" -> VolumeCheck.Kind.SCRUB;
            case "verify" -> VolumeCheck.Kind.VERIFY;
            default -> throw new AdminServer.ApiException(404, "no such API: " + VOLUMES_API + request.path()
                    + " (NAME/scrub or NAME/verify)");
        };
        VolumeCheck check;
        if (start) {
            double rate;
            try {
                rate = Double.parseDouble(request.query().getOrDefault("rate",
                        String.valueOf(VolumeCheck.DEFAULT_RATE_MIB)));
            } catch (NumberFormatException e) {
                rate = -1;
            }
            if (!(rate > 0)) {
                throw new AdminServer.ApiException(400, "rate must be a number of MiB/s above zero, not "
                        + request.query().get("rate"));
            }
            check = startCheck(volume, kind, (long) (rate * (1 << 20)));
        } else {
            check = checks.get(kind + "/" + volume);
        }
        if (check == null) {
            throw new AdminServer.ApiException(404, start ? "no volume " + volume
                    + (cluster != null ? " in the cluster" : " on node " + options.name())
                    : "no " + kind.name().toLowerCase() + " of volume " + volume + " was started through this node");
        }
        return AdminServer.Response.ok(ConfigFiles.JSON.writeValueAsString(check.report()));
    }

    /** The body of {@code POST /api/targets}: changes made in order, all or none. */
    record Changes(List<TargetChange> changes) {
    }

    /**
     * Makes the changes in one config change (through the meta group in a cluster, so every node
     * serves the result). In a cluster a LUN's blocks live in each replica's store, so a backing
     * store path is not used there (the change's size stands).
     */
    private AdminServer.Response change(AdminServer.Request request) {
        Changes body;
        try {
            body = ConfigFiles.JSON.readValue(request.body(), Changes.class);
        } catch (RuntimeException e) {
            throw new AdminServer.ApiException(400, "malformed change: " + e.getMessage());
        }
        if (body.changes() == null || body.changes().isEmpty()) {
            throw new AdminServer.ApiException(400, "no change given");
        }
        List<TargetChange> changes = body.changes().stream()
                .map(c -> cluster != null ? c.withoutBackingStore() : c).toList();
        try {
            catalog.update(current -> TargetChange.applyAll(changes, current));
        } catch (ConfigException | StorageException e) { // StorageException: a backing store that cannot serve
            throw new AdminServer.ApiException(409, e.getMessage());
        }
        return AdminServer.Response.ok(ConfigFiles.JSON.writeValueAsString(show()));
    }

    /**
     * What {@code GET /api/targets} reports, in tgtadm's terms ({@code --op show}): each target
     * with the sessions through this node, its LUNs, ACL and accounts (never secrets), and in a
     * cluster each LUN's replicas, leader and Raft indexes as this node sees them.
     */
    public Map<String, Object> show() {
        Map<String, Map<?, ?>> volumes = new java.util.HashMap<>();
        if (cluster != null) {
            for (Object v : (List<?>) cluster.status().get("volumes")) {
                volumes.put((String) ((Map<?, ?>) v).get("volume"), (Map<?, ?>) v);
            }
        }
        TargetConfig config = catalog.config();
        var sessions = iscsi.sessions();
        List<Map<String, Object>> targets = new ArrayList<>();
        for (TargetConfig.Target target : config.targets()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("tid", target.tid());
            t.put("iqn", target.iqn());
            t.put("sessions", sessions.stream().filter(session -> session.targetName().equals(target.iqn())).toList());
            List<Map<String, Object>> luns = new ArrayList<>();
            for (TargetConfig.Lun lun : target.luns()) {
                Map<String, Object> l = new LinkedHashMap<>();
                l.put("lun", lun.lun());
                l.put("volume", lun.volume());
                l.put("sizeBytes", lun.sizeBytes());
                l.put("blockSize", lun.blockSize());
                l.put("backingStore", lun.backingStore());
                l.put("thin", lun.backingStore() == null);
                l.put("readOnly", lun.readOnly());
                l.put("online", true);
                Map<?, ?> replication = volumes.get(lun.volume());
                if (replication != null) {
                    l.put("replicas", replication.get("replicas"));
                    l.put("leader", replication.get("leader"));
                    l.put("commitIndex", replication.get("commitIndex"));
                    l.put("appliedIndex", replication.get("appliedIndex"));
                    if (replication.containsKey("lag")) { // only the leader knows its followers' lag
                        l.put("lag", replication.get("lag"));
                        l.put("health", replication.get("health"));
                    }
                }
                luns.add(l);
            }
            t.put("luns", luns);
            t.put("initiators", target.initiators());
            t.put("incomingUsers", target.incomingUsers());
            t.put("outgoingUser", target.outgoingUser());
            targets.add(t);
        }
        Map<String, Object> show = new LinkedHashMap<>();
        show.put("node", options.name());
        show.put("targets", targets);
        show.put("accounts", config.accounts().stream().map(TargetConfig.Account::user).toList());
        return show;
    }

    /**
     * Starts a check of the volume from this node, of every replica in a cluster, of the one copy
     * on a lone node (scrub only: it has nothing to repair from or compare with); if one of that
     * kind runs already, answers it. Null when there is no such volume.
     */
    private synchronized VolumeCheck startCheck(String volume, VolumeCheck.Kind kind, long bytesPerSecond) {
        VolumeCheck running = checks.get(kind + "/" + volume);
        if (running != null && running.running()) {
            return running;
        }
        VolumeCheck check;
        if (cluster != null) {
            check = cluster.startCheck(volume, kind, bytesPerSecond);
        } else if (storage.volume(volume) == null) {
            check = null;
        } else if (kind == VolumeCheck.Kind.VERIFY) {
            throw new AdminServer.ApiException(409, "volume " + volume + " has one copy, on lone node "
                    + options.name() + ": verify compares replicas");
        } else {
            BlockStore store = storage.store(volume);
            check = VolumeCheck.start(kind, volume, store.blockSize(), store.blockCount(),
                    VolumeCheck.lone(options.name(), store), bytesPerSecond);
        }
        if (check != null) {
            checks.put(kind + "/" + volume, check);
        }
        return check;
    }

    /**
     * Membership and recovery: add or remove a node (on any node), rebuild a volume's replica on
     * this node, and, as a last resort, recover a volume from this node's replica alone. Refusals
     * are one line (409) and change nothing.
     */
    private void membershipRoutes() {
        admin.route("POST", "/api/members/add", request -> inCluster(() -> Map.of("members",
                cluster.addMember(io.raftlun.consensus.RaftMember.parse(required(request, "name"),
                        required(request, "raft"))))));
        admin.route("POST", "/api/members/remove", request -> inCluster(() -> Map.of("members",
                cluster.removeMember(required(request, "name")))));
        admin.route("POST", "/api/rebuild", request -> inCluster(() -> cluster.rebuild(required(request, "volume"),
                request.query().get("replace"), Long.parseLong(request.query().getOrDefault("rate", "0")))));
        admin.route("GET", "/api/rebuilds", request -> inCluster(() -> Map.of("rebuilds",
                cluster.rebuilds().values().stream().map(io.raftlun.cluster.Rebuild::status).toList())));
        admin.route("POST", "/api/recover", request -> inCluster(() -> {
            if (!"yes-i-understand-unreplicated-writes-may-be-lost".equals(request.query().get("confirm"))) {
                throw new AdminServer.ApiException(400, "recovering a volume from one replica needs the confirmation");
            }
            return cluster.recover(required(request, "volume"));
        }));
    }

    private AdminServer.Response inCluster(java.util.function.Supplier<Map<String, Object>> call) {
        if (cluster == null) {
            throw new AdminServer.ApiException(409, "node " + options.name() + " is not in a cluster");
        }
        try {
            return AdminServer.Response.ok(ConfigFiles.JSON.writeValueAsString(call.get()));
        } catch (io.raftlun.target.ConfigException | IllegalArgumentException e) {
            throw new AdminServer.ApiException(409, e.getMessage());
        }
    }

    private static String required(AdminServer.Request request, String parameter) {
        String value = request.query().get(parameter);
        if (value == null || value.isBlank()) {
            throw new AdminServer.ApiException(400, "missing parameter " + parameter);
        }
        return value;
    }

    /** What {@code /api/status} reports: enough for {@code raftlun cluster status}. */
    public Map<String, Object> status() {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("node", options.name());
        status.put("version", VERSION);
        status.put("portal", portalName(iscsi.localAddress()));
        status.put("sessions", iscsi.sessionCount());
        var sessions = iscsi.sessions();
        List<Map<String, Object>> targets = new ArrayList<>();
        for (TargetConfig.Target target : catalog.config().targets()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("tid", target.tid());
            t.put("iqn", target.iqn());
            t.put("sessions", sessions.stream().filter(session -> session.targetName().equals(target.iqn())).count());
            t.put("luns", target.luns().stream().map(lun -> Map.of("lun", lun.lun(), "volume", lun.volume(),
                    "sizeBytes", lun.sizeBytes(), "blockSize", lun.blockSize())).toList());
            t.put("initiators", target.initiators());
            targets.add(t);
        }
        status.put("targets", targets);
        if (cluster != null) {
            status.put("cluster", cluster.status());
        }
        return status;
    }

    /** This node's part in its cluster, or null for a node on its own. */
    public ClusterNode cluster() {
        return cluster;
    }

    public TargetCatalog catalog() {
        return catalog;
    }

    public NodeStorage storage() {
        return storage;
    }

    public InetSocketAddress portal() {
        return iscsi.localAddress();
    }

    public InetSocketAddress adminAddress() {
        return admin.localAddress();
    }

    /**
     * Stops the node. In a cluster it first hands the leadership of its groups to followers
     * (while its portal still serves), so a planned stop costs initiators a hand-over of a few
     * hundred milliseconds instead of an election timeout.
     */
    @Override
    public void close() {
        log.info("node {} stopping", options.name());
        if (cluster != null) {
            try {
                drain();
            } catch (RuntimeException e) {
                log.warn("handing over leadership before stopping failed: {}", e.toString());
            }
        }
        closeAll(opened);
    }

    /** Hands the leadership of every group led here to followers; a planned hand-over for the floating portal. */
    private List<Map<String, Object>> drain() {
        if (floating != null) {
            floating.handOverSoon();
        }
        return cluster.drain(DRAIN_TIMEOUT);
    }

    private static void closeAll(List<AutoCloseable> opened) {
        for (AutoCloseable resource : opened) {
            try {
                resource.close();
            } catch (Exception e) {
                log.warn("while stopping: {}", e.toString());
            }
        }
    }
}
