package io.raftlun.target;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The targets a node serves, in tgt's terms: targets (tid, IQN, alias) with LUNs, ACLs binding
 * initiator addresses and names ({@code ALL} admits everyone), and CHAP accounts bound to targets
 * for incoming and outgoing (mutual) authentication. Immutable: every change makes a new config,
 * checked whole before it is used.
 */
public record TargetConfig(List<Target> targets, List<Account> accounts, List<String> discoveryUsers) {

    /** iqn.yyyy-mm.reversed.domain[:anything] or eui.16hex or naa.16/32hex (RFC 3720 §3.2.6.3). */
    private static final Pattern NAME = Pattern.compile(
            "iqn\\.\\d{4}-\\d{2}\\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[a-z0-9.:_-]+)?|eui\\.[0-9a-f]{16}"
                    + "|naa\\.([0-9a-f]{16}|[0-9a-f]{32})");
    public static final String ALL = "ALL";

    public TargetConfig {
        targets = targets == null ? List.of() : List.copyOf(targets);
        accounts = accounts == null ? List.of() : List.copyOf(accounts);
        discoveryUsers = discoveryUsers == null ? List.of() : List.copyOf(discoveryUsers);
    }

    public static TargetConfig empty() {
        return new TargetConfig(List.of(), List.of(), List.of());
    }

    /**
     * One target.
     *
     * @param initiators      bound initiator addresses (IPv4/IPv6, CIDR) and names, or {@code ALL};
     *                        an empty list admits no one, as in tgt
     * @param incomingUsers   CHAP accounts an initiator may log in with (none: no authentication)
     * @param outgoingUser    the account the target answers mutual CHAP with, or null
     */
    public record Target(int tid, String iqn, String alias, List<Lun> luns, List<String> initiators,
                         List<String> incomingUsers, String outgoingUser) {
        public Target {
            luns = luns == null ? List.of() : List.copyOf(luns);
            initiators = initiators == null ? List.of() : List.copyOf(initiators);
            incomingUsers = incomingUsers == null ? List.of() : List.copyOf(incomingUsers);
        }

        public Optional<Lun> lun(int number) {
            return luns.stream().filter(l -> l.lun() == number).findFirst();
        }
    }

    /**
     * One LUN: a volume of {@code sizeBytes} in {@code blockSize}-byte blocks.
     *
     * @param volume       the volume's name (the source of the LUN's SCSI identity)
     * @param backingStore a file or device to keep the blocks in (tgt's {@code -b}), or null for a
     *                     thin data file in the node's data directory
     */
    public record Lun(int lun, String volume, long sizeBytes, int blockSize, String backingStore, boolean readOnly) {
    }

    /** A CHAP account (tgt's {@code --mode account}). */
    public record Account(String user, String secret) {
        @Override
        public String toString() {
            return "Account[" + user + "]";
        }
    }

    public Optional<Target> target(int tid) {
        return targets.stream().filter(t -> t.tid() == tid).findFirst();
    }

    public Optional<Target> target(String iqn) {
        return targets.stream().filter(t -> t.iqn().equals(iqn)).findFirst();
    }

    public Optional<Account> account(String user) {
        return accounts.stream().filter(a -> a.user().equals(user)).findFirst();
    }

    /** The same config with {@code target} in place of the one with its tid (or added). */
    public TargetConfig with(Target target) {
        List<Target> next = new ArrayList<>(targets.stream().filter(t -> t.tid() != target.tid()).toList());
        next.add(target);
        next.sort((a, b) -> Integer.compare(a.tid(), b.tid()));
        return new TargetConfig(next, accounts, discoveryUsers);
    }

    public TargetConfig without(int tid) {
        return new TargetConfig(targets.stream().filter(t -> t.tid() != tid).toList(), accounts, discoveryUsers);
    }

    public TargetConfig withAccounts(List<Account> newAccounts) {
        return new TargetConfig(targets, newAccounts, discoveryUsers);
    }

    /** Every problem with this config, in words an administrator can act on; empty when it is sound. */
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        List<Integer> tids = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<String> volumes = new ArrayList<>();
        for (Target t : targets) {
            String where = "target " + t.tid();
            if (t.tid() <= 0) {
                problems.add("target ids (tid) start at 1, not " + t.tid());
            }
            if (tids.contains(t.tid())) {
                problems.add("tid " + t.tid() + " is used twice");
            }
            tids.add(t.tid());
            if (t.iqn() == null || !NAME.matcher(t.iqn()).matches()) {
                problems.add(where + ": '" + t.iqn() + "' is not an iSCSI name (expected iqn.YYYY-MM.domain:name)");
            } else if (names.contains(t.iqn())) {
                problems.add(where + ": " + t.iqn() + " is already the name of another target");
            }
            names.add(t.iqn());
            List<Integer> lunNumbers = new ArrayList<>();
            for (Lun lun : t.luns()) {
                if (lun.lun() < 0 || lun.lun() > 16383) {
                    problems.add(where + ": LUN " + lun.lun() + " is outside 0..16383");
                }
                if (lunNumbers.contains(lun.lun())) {
                    problems.add(where + ": LUN " + lun.lun() + " is defined twice");
                }
                lunNumbers.add(lun.lun());
                if (lun.blockSize() != 512 && lun.blockSize() != 4096) {
                    problems.add(where + " LUN " + lun.lun() + ": block size must be 512 or 4096");
                } else if (lun.sizeBytes() <= 0 || lun.sizeBytes() % lun.blockSize() != 0) {
                    problems.add(where + " LUN " + lun.lun() + ": size must be a positive multiple of "
                            + lun.blockSize() + " bytes, not " + lun.sizeBytes());
                }
                if (lun.volume() == null || lun.volume().isBlank()) {
                    problems.add(where + " LUN " + lun.lun() + ": no volume name");
                } else if (volumes.contains(lun.volume())) {
                    problems.add(where + " LUN " + lun.lun() + ": volume " + lun.volume() + " is used by another LUN");
                }
                volumes.add(lun.volume());
            }
            for (String initiator : t.initiators()) {
                if (!Acl.valid(initiator)) {
                    problems.add(where + ": '" + initiator + "' is neither ALL, an IP address or network, "
                            + "nor an initiator name");
                }
            }
            for (String user : t.incomingUsers()) {
                if (account(user).isEmpty()) {
                    problems.add(where + ": no account named " + user);
                }
            }
            if (t.outgoingUser() != null) {
                if (account(t.outgoingUser()).isEmpty()) {
                    problems.add(where + ": no account named " + t.outgoingUser());
                }
                if (t.incomingUsers().isEmpty()) {
                    problems.add(where + ": an outgoing (mutual CHAP) account needs an incoming account too");
                }
            }
        }
        List<String> users = new ArrayList<>();
        for (Account a : accounts) {
            if (a.user() == null || a.user().isBlank() || a.user().contains(" ")) {
                problems.add("account names must be non-empty and without spaces: '" + a.user() + "'");
            } else if (users.contains(a.user())) {
                problems.add("account " + a.user() + " is defined twice");
            }
            users.add(a.user());
            if (a.secret() == null || a.secret().length() < 12 || a.secret().length() > 255) {
                problems.add("account " + a.user() + ": CHAP secrets must be 12 to 255 characters "
                        + "(RFC 7143 §12.1.3 asks for at least 96 bits)");
            }
        }
        for (String user : discoveryUsers) {
            if (account(user).isEmpty()) {
                problems.add("discovery: no account named " + user);
            }
        }
        return problems;
    }

    /** A fresh volume name: random, so two clusters never give two disks the same SCSI identity. */
    public static String newVolumeName() {
        byte[] random = new byte[8];
        new SecureRandom().nextBytes(random);
        return "vol-" + HexFormat.of().formatHex(random);
    }

    public static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches();
    }
}
