package io.raftlun.iscsi;

import io.raftlun.scsi.ScsiTarget;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A target directory for transport tests: targets given in code. */
public final class FixedDirectory implements TargetDirectory {

    private final List<IscsiTarget> targets = new ArrayList<>();
    private final List<ChapAccount> discoveryAccounts = new ArrayList<>();

    public FixedDirectory add(IscsiTarget target) {
        targets.add(target);
        return this;
    }

    public FixedDirectory requireDiscoveryChap(ChapAccount account) {
        discoveryAccounts.add(account);
        return this;
    }

    @Override
    public Optional<IscsiTarget> find(String targetName) {
        return targets.stream().filter(t -> t.name().equals(targetName)).findFirst();
    }

    @Override
    public List<IscsiTarget> all() {
        return targets;
    }

    @Override
    public List<ChapAccount> discoveryAccounts() {
        return discoveryAccounts;
    }

    /** A target admitting the given initiator names (or everyone when none are given). */
    public record Target(int tid, String name, String alias, List<String> allowedInitiators,
                         List<ChapAccount> incomingAccounts, Optional<ChapAccount> outgoingAccount,
                         List<String> portals, ScsiTarget scsi) implements IscsiTarget {

        public static Target open(String name, ScsiTarget scsi, String... portals) {
            return new Target(1, name, null, List.of(), List.of(), Optional.empty(), List.of(portals), scsi);
        }

        public Target withChap(ChapAccount incoming, ChapAccount outgoing) {
            return new Target(tid, name, alias, allowedInitiators, List.of(incoming), Optional.ofNullable(outgoing),
                    portals, scsi);
        }

        public Target onlyFor(String initiatorName) {
            return new Target(tid, name, alias, List.of(initiatorName), incomingAccounts, outgoingAccount, portals,
                    scsi);
        }

        @Override
        public boolean admits(String initiatorName, InetAddress initiatorAddress) {
            return allowedInitiators.isEmpty() || allowedInitiators.contains(initiatorName);
        }
    }
}
