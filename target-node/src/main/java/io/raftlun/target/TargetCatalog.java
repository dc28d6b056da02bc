package io.raftlun.target;

import io.raftlun.blockstore.NodeStorage;
import io.raftlun.iscsi.TargetDirectory;
import io.raftlun.metrics.VolumeMetrics;
import io.raftlun.scsi.BlockTarget;
import io.raftlun.scsi.LogicalUnit;
import io.raftlun.scsi.LunIdentity;
import io.raftlun.scsi.ScsiTarget;
import io.raftlun.scsi.TargetPortGroups;
import io.raftlun.volume.BlockVolume;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The targets this node serves: the target config, kept by a {@link TargetStore} (the node's
 * {@code targets.json}, or the cluster's meta group) so a restart serves the same targets, turned
 * into live iSCSI targets over the store's volumes. Config changes apply while initiators are logged in: new LUNs appear (with REPORTED LUNS
 * DATA HAS CHANGED), ACL and account changes take effect at the next login.
 *
 * <p>Removing a LUN never deletes its volume: adding a LUN with the same volume name brings the
 * data back, as tgt leaves a backing store alone when its LUN is deleted.
 */
public final class TargetCatalog implements TargetDirectory {

    private static final Logger log = LoggerFactory.getLogger(TargetCatalog.class);

    private final TargetStore store;
    private final Supplier<List<String>> portals;
    private final TargetPortGroups portGroups;
    private final int relativeTargetPort;
    private final VolumeMetrics metrics;
    private final Map<Integer, Served> served = new ConcurrentSkipListMap<>();
    private volatile TargetConfig config = TargetConfig.empty();
    private long servedVersion;

    /**
     * @param portals            the portals every target is reachable on, as {@code host:port,tpgt}
     *                           (asked at each discovery, so a portal bound after the catalog opened
     *                           is reported right)
     * @param portGroups         the target port groups every target reports (ALUA)
     * @param relativeTargetPort this node's target port (its portal group tag): what initiators
     *                           reserved through it before the LUNs open here is released then
     */
    public TargetCatalog(TargetStore store, Supplier<List<String>> portals, TargetPortGroups portGroups,
                         int relativeTargetPort) {
        this(store, portals, portGroups, relativeTargetPort, VolumeMetrics.none());
    }

    /** As above, counting the I/O of every LUN's volume into {@code metrics}. */
    public TargetCatalog(TargetStore store, Supplier<List<String>> portals, TargetPortGroups portGroups,
                         int relativeTargetPort, VolumeMetrics metrics) {
        this.store = store;
        this.portals = portals;
        this.portGroups = portGroups;
        this.relativeTargetPort = relativeTargetPort;
        this.metrics = metrics;
        TargetStore.Versioned stored = store.current();
        if (stored != null) {
            serve(stored);
        }
    }

    /**
     * Opens the catalog kept in {@code file} (none yet: no targets) and starts serving its targets.
     *
     * @param relativeTargetPort this node's target port (its portal group tag)
     */
    public static TargetCatalog open(NodeStorage storage, Path file, Supplier<List<String>> portals,
                                     int relativeTargetPort) {
        return open(storage, file, portals, relativeTargetPort, VolumeMetrics.none());
    }

    /** As above, counting the I/O of every LUN's volume into {@code metrics}. */
    public static TargetCatalog open(NodeStorage storage, Path file, Supplier<List<String>> portals,
                                     int relativeTargetPort, VolumeMetrics metrics) {
        return new TargetCatalog(new LocalTargetStore(storage, file), portals, TargetPortGroups.SINGLE,
                relativeTargetPort, metrics);
    }

    public TargetConfig config() {
        return config;
    }

    /**
     * Changes the config with {@code change} (atomically with respect to other changes, on any
     * node), creating the volumes of new LUNs, and serves the result.
     *
     * @throws ConfigException naming every problem; nothing changes then
     */
    public TargetConfig update(UnaryOperator<TargetConfig> change) {
        TargetStore.Versioned next = store.update(change, TargetCatalog::check);
        serve(next);
        return next.config();
    }

    /** Replaces the config with {@code next}. */
    public TargetConfig apply(TargetConfig next) {
        return update(current -> next);
    }

    private static TargetConfig check(TargetConfig next) {
        List<String> problems = next.problems();
        if (!problems.isEmpty()) {
            throw ConfigException.of(problems);
        }
        return next;
    }

    /** Serves {@code stored} unless a newer version is served already (changes may arrive from several threads). */
    public synchronized void serve(TargetStore.Versioned stored) {
        if (stored.version() <= servedVersion) {
            return;
        }
        serve(stored.config());
        config = stored.config();
        servedVersion = stored.version();
    }

    private void serve(TargetConfig next) {
        for (Integer tid : List.copyOf(served.keySet())) {
            if (next.target(tid).isEmpty()) {
                served.remove(tid).scsi.close();
                log.info("target {} removed", tid);
            }
        }
        for (TargetConfig.Target target : next.targets()) {
            Served current = served.get(target.tid());
            if (current != null && !current.settings.iqn().equals(target.iqn())) {
                served.remove(target.tid()).scsi.close(); // renamed: a different target to initiators
                current = null;
            }
            if (current == null) {
                current = new Served(target, new BlockTarget(List.of(), portGroups));
                served.put(target.tid(), current);
                log.info("serving target {} {}", target.tid(), target.iqn());
            }
            current.settings = target;
            for (TargetConfig.Lun lun : target.luns()) {
                LogicalUnit unit = current.scsi.unit(lun.lun());
                if (unit != null && (!unit.volume().name().equals(lun.volume()) || unit.readOnly() != lun.readOnly())) {
                    current.scsi.removeUnit(lun.lun());
                    unit = null;
                }
                if (unit != null && grew(target.tid(), lun)) {
                    unit.capacityChanged();
                }
                if (unit == null) {
                    BlockVolume volume = metrics.metered(store.open(lun));
                    unit = new LogicalUnit(lun.lun(), volume, LunIdentity.forVolume(lun.volume()), lun.readOnly(),
                            metrics.senses(lun.volume()));
                    unit.openedOnPort(relativeTargetPort);
                    current.scsi.addUnit(unit);
                }
            }
            for (TargetConfig.Lun gone : lunsNotIn(current.scsi, target)) {
                current.scsi.removeUnit(gone.lun());
            }
        }
    }

    /** True if the served config had this LUN, on the same volume, smaller. */
    private boolean grew(int tid, TargetConfig.Lun lun) {
        return config.target(tid).flatMap(t -> t.lun(lun.lun()))
                .filter(old -> old.volume().equals(lun.volume()) && old.sizeBytes() < lun.sizeBytes()).isPresent();
    }

    private List<TargetConfig.Lun> lunsNotIn(BlockTarget scsi, TargetConfig.Target target) {
        List<TargetConfig.Lun> gone = new ArrayList<>();
        for (TargetConfig.Target old : config.targets()) {
            if (old.tid() == target.tid()) {
                for (TargetConfig.Lun lun : old.luns()) {
                    if (target.lun(lun.lun()).isEmpty() && scsi.unit(lun.lun()) != null) {
                        gone.add(lun);
                    }
                }
            }
        }
        return gone;
    }

    // ---------------------------------------------------------------- TargetDirectory

    @Override
    public Optional<IscsiTarget> find(String targetName) {
        return served.values().stream().filter(s -> s.settings.iqn().equals(targetName))
                .map(s -> (IscsiTarget) s).findFirst();
    }

    @Override
    public List<IscsiTarget> all() {
        return List.copyOf(served.values());
    }

    @Override
    public List<ChapAccount> discoveryAccounts() {
        TargetConfig current = config;
        return current.discoveryUsers().stream().map(user -> chap(current, user)).toList();
    }

    private static ChapAccount chap(TargetConfig config, String user) {
        TargetConfig.Account account = config.account(user)
                .orElseThrow(() -> new IllegalStateException("account " + user + " vanished"));
        return new ChapAccount(account.user(), account.secret());
    }

    /** One served target: its current settings and its SCSI device. */
    private final class Served implements IscsiTarget {
        private volatile TargetConfig.Target settings;
        private final BlockTarget scsi;

        Served(TargetConfig.Target settings, BlockTarget scsi) {
            this.settings = settings;
            this.scsi = scsi;
        }

        @Override
        public int tid() {
            return settings.tid();
        }

        @Override
        public String name() {
            return settings.iqn();
        }

        @Override
        public String alias() {
            return settings.alias();
        }

        @Override
        public boolean admits(String initiatorName, InetAddress initiatorAddress) {
            return Acl.admits(settings.initiators(), initiatorName, initiatorAddress);
        }

        @Override
        public List<ChapAccount> incomingAccounts() {
            TargetConfig current = config;
            return settings.incomingUsers().stream().map(user -> chap(current, user)).toList();
        }

        @Override
        public Optional<ChapAccount> outgoingAccount() {
            String user = settings.outgoingUser();
            return user == null ? Optional.empty() : Optional.of(chap(config, user));
        }

        @Override
        public List<String> portals() {
            return portals.get();
        }

        @Override
        public ScsiTarget scsi() {
            return scsi;
        }
    }
}
