package io.raftlun.target;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One administrative change in tgtadm's vocabulary: an operation ({@code new}, {@code delete},
 * {@code update}, {@code bind}, {@code unbind}) on a mode ({@code target}, {@code logicalunit},
 * {@code account}). It is what the admin API accepts and what {@code raftlun tgtadm}, the native
 * commands and a targets.conf import all send, so each change means the same from every door.
 * Applying one never modifies the config it is given; a refused change throws
 * {@link ConfigException} with one line saying why.
 *
 * @param sizeBytes    a new LUN's size, or the size to grow one to
 * @param backingStore a file or device for a new LUN's blocks (tgt's {@code -b}), or null for a thin volume
 * @param initiator    for bind/unbind: {@code ALL}, an address, a network (CIDR) or an initiator name
 * @param outgoing     for account bind/unbind: the target's own account for mutual CHAP
 */
public record TargetChange(String op, String mode, Integer tid, String targetName, Integer lun, Long sizeBytes,
                           Integer blockSize, String backingStore, Boolean readOnly, String initiator, String user,
                           String password, Boolean outgoing) {

    public static final int DEFAULT_BLOCK_SIZE = 512;

    private static TargetChange onTarget(String op, int tid, String targetName, String initiator) {
        return new TargetChange(op, "target", tid, targetName, null, null, null, null, null, initiator, null, null, null);
    }

    private static TargetChange onLun(String op, int tid, int lun, Long sizeBytes, String backingStore) {
        return new TargetChange(op, "logicalunit", tid, null, lun, sizeBytes, null, backingStore, null, null, null,
                null, null);
    }

    private static TargetChange onAccount(String op, Integer tid, String user, String password, Boolean outgoing) {
        return new TargetChange(op, "account", tid, null, null, null, null, null, null, null, user, password, outgoing);
    }

    public static TargetChange newTarget(int tid, String iqn) {
        return onTarget("new", tid, iqn, null);
    }

    public static TargetChange deleteTarget(int tid) {
        return onTarget("delete", tid, null, null);
    }

    public static TargetChange bind(int tid, String initiator) {
        return onTarget("bind", tid, null, initiator);
    }

    public static TargetChange unbind(int tid, String initiator) {
        return onTarget("unbind", tid, null, initiator);
    }

    public static TargetChange newLun(int tid, int lun, Long sizeBytes, String backingStore) {
        return onLun("new", tid, lun, sizeBytes, backingStore);
    }

    public static TargetChange deleteLun(int tid, int lun) {
        return onLun("delete", tid, lun, null, null);
    }

    public static TargetChange growLun(int tid, int lun, long sizeBytes) {
        return onLun("update", tid, lun, sizeBytes, null);
    }

    public static TargetChange newAccount(String user, String password) {
        return onAccount("new", null, user, password, null);
    }

    public static TargetChange deleteAccount(String user) {
        return onAccount("delete", null, user, null, null);
    }

    public static TargetChange bindAccount(int tid, String user, boolean outgoing) {
        return onAccount("bind", tid, user, null, outgoing);
    }

    public static TargetChange unbindAccount(int tid, String user, boolean outgoing) {
        return onAccount("unbind", tid, user, null, outgoing);
    }

    /** The same change for a thin volume (a cluster keeps a LUN's blocks in each replica's store). */
    public TargetChange withoutBackingStore() {
        return new TargetChange(op, mode, tid, targetName, lun, sizeBytes, blockSize, null, readOnly, initiator, user,
                password, outgoing);
    }

    /** The change in a few words, e.g. "bind target 2 ALL", "update logicalunit 1 of target 2 to 2147483648 bytes". */
    public String summary() {
        StringBuilder words = new StringBuilder(lower(op)).append(' ').append(lower(mode));
        if (user != null) {
            words.append(' ').append(user);
        }
        if (lun != null) {
            words.append(' ').append(lun).append(" of");
        }
        if (tid != null) {
            words.append(lower(mode).equals("target") ? " " : user != null ? " on target " : " target ").append(tid);
        }
        if (targetName != null) {
            words.append(' ').append(targetName);
        }
        if (initiator != null) {
            words.append(' ').append(initiator);
        }
        if (sizeBytes != null) {
            words.append(lower(op).equals("update") ? " to " : ", ").append(sizeBytes).append(" bytes");
        }
        if (Boolean.TRUE.equals(outgoing)) {
            words.append(" (outgoing)");
        }
        return words.toString();
    }

    /** {@code current} with this change made. The result is still to be checked whole ({@link TargetConfig#problems()}). */
    public TargetConfig applyTo(TargetConfig current) {
        String what = lower(op) + " " + lower(mode);
        return switch (what) {
            case "new target" -> newTarget(current);
            case "delete target" -> current.without(existing(current).tid());
            case "update target" -> throw refused("--op update --mode target has nothing to change here "
                    + "(rename: delete and new; ACLs: bind/unbind)");
            case "bind target" -> bindInitiator(current, true);
            case "unbind target" -> bindInitiator(current, false);
            case "new logicalunit" -> newLun(current);
            case "delete logicalunit" -> withLuns(current, lunsWithout(current));
            case "update logicalunit" -> updateLun(current);
            case "new account" -> newAccount(current);
            case "delete account" -> deleteAccount(current);
            case "bind account" -> bindAccount(current, true);
            case "unbind account" -> bindAccount(current, false);
            default -> throw refused("unknown operation '--op " + op + " --mode " + mode
                    + "' (ops: new delete update bind unbind show; modes: target logicalunit account)");
        };
    }

    /** Makes every change in order, all or none. */
    public static TargetConfig applyAll(List<TargetChange> changes, TargetConfig current) {
        TargetConfig next = current;
        for (TargetChange change : changes) {
            next = change.applyTo(next);
        }
        return next;
    }

    private static String lower(String s) {
        return s == null ? "" : s.toLowerCase(Locale.ROOT);
    }

    private static ConfigException refused(String message) {
        return new ConfigException(message);
    }

    private int requiredTid() {
        if (tid == null) {
            throw refused("--tid is required for --mode " + mode + " --op " + op);
        }
        return tid;
    }

    private TargetConfig.Target existing(TargetConfig current) {
        int id = requiredTid();
        return current.target(id).orElseThrow(() -> refused("can't find the target: no target with tid " + id));
    }

    private TargetConfig newTarget(TargetConfig current) {
        int id = requiredTid();
        if (id <= 0) {
            throw refused("target ids (tid) start at 1, not " + id);
        }
        if (targetName == null || !TargetConfig.validName(targetName)) {
            throw refused("'" + targetName + "' is not an iSCSI name (expected iqn.YYYY-MM.reversed.domain:name, "
                    + "e.g. iqn.2026-11.com.example:disk1)");
        }
        current.target(id).ifPresent(t -> {
            throw refused("this target already exists: tid " + id + " is " + t.iqn());
        });
        current.target(targetName).ifPresent(t -> {
            throw refused(targetName + " already exists as target " + t.tid());
        });
        // as in tgt, a new target admits no one until an initiator is bound to it
        return current.with(new TargetConfig.Target(id, targetName, null, List.of(), List.of(), List.of(), null));
    }

    private TargetConfig bindInitiator(TargetConfig current, boolean bind) {
        TargetConfig.Target target = existing(current);
        if (initiator == null || initiator.isBlank()) {
            throw refused("--op " + op + " needs -I ADDRESS|ALL or -Q INITIATOR_NAME");
        }
        List<String> initiators = new ArrayList<>(target.initiators());
        boolean bound = initiators.stream().anyMatch(i -> i.equalsIgnoreCase(initiator));
        if (bind) {
            if (bound) {
                throw refused(initiator + " is already bound to target " + target.tid());
            }
            if (!Acl.valid(initiator)) {
                throw refused("'" + initiator + "' is neither ALL, an IP address or network, nor an initiator name");
            }
            initiators.add(initiator.equalsIgnoreCase(TargetConfig.ALL) ? TargetConfig.ALL : initiator);
        } else {
            if (!bound) {
                throw refused(initiator + " is not bound to target " + target.tid() + " (bound: "
                        + (initiators.isEmpty() ? "none" : String.join(" ", initiators)) + ")");
            }
            initiators.removeIf(i -> i.equalsIgnoreCase(initiator));
        }
        return current.with(new TargetConfig.Target(target.tid(), target.iqn(), target.alias(), target.luns(),
                initiators, target.incomingUsers(), target.outgoingUser()));
    }

    private int lunNumber() {
        if (lun == null) {
            throw refused("--lun is required for --mode logicalunit --op " + op);
        }
        return lun;
    }

    private TargetConfig.Lun existingLun(TargetConfig.Target target) {
        int number = lunNumber();
        return target.lun(number).orElseThrow(() -> refused("can't find the logical unit: target " + target.tid()
                + " has no LUN " + number));
    }

    private TargetConfig newLun(TargetConfig current) {
        TargetConfig.Target target = existing(current);
        int number = lunNumber();
        if (target.lun(number).isPresent()) {
            throw refused("this logical unit already exists: LUN " + number + " of target " + target.tid());
        }
        if (sizeBytes == null) {
            throw refused("a new LUN needs a size (--size SIZE, or -b with an existing file or device to take it from)");
        }
        int block = blockSize == null ? DEFAULT_BLOCK_SIZE : blockSize;
        if (sizeBytes <= 0 || sizeBytes % block != 0) {
            throw refused("the size must be a positive multiple of the " + block + "-byte block size, not "
                    + sizeBytes + " bytes");
        }
        List<TargetConfig.Lun> luns = new ArrayList<>(target.luns());
        luns.add(new TargetConfig.Lun(number, TargetConfig.newVolumeName(), sizeBytes, block, backingStore,
                Boolean.TRUE.equals(readOnly)));
        return withLuns(current, target, luns);
    }

    private List<TargetConfig.Lun> lunsWithout(TargetConfig current) {
        TargetConfig.Target target = existing(current);
        TargetConfig.Lun gone = existingLun(target);
        return target.luns().stream().filter(l -> l != gone).toList();
    }

    private TargetConfig withLuns(TargetConfig current, List<TargetConfig.Lun> luns) {
        return withLuns(current, existing(current), luns);
    }

    private static TargetConfig withLuns(TargetConfig current, TargetConfig.Target target, List<TargetConfig.Lun> luns) {
        List<TargetConfig.Lun> sorted = new ArrayList<>(luns);
        sorted.sort((a, b) -> Integer.compare(a.lun(), b.lun()));
        return current.with(new TargetConfig.Target(target.tid(), target.iqn(), target.alias(), sorted,
                target.initiators(), target.incomingUsers(), target.outgoingUser()));
    }

    /** Grows a LUN (never shrinks: that would cut off blocks a file system uses) or sets it read-only. */
    private TargetConfig updateLun(TargetConfig current) {
        TargetConfig.Target target = existing(current);
        TargetConfig.Lun have = existingLun(target);
        if (sizeBytes == null && readOnly == null) {
            throw refused("--op update --mode logicalunit needs a new --size or --params readonly=0|1");
        }
        long size = have.sizeBytes();
        if (sizeBytes != null) {
            if (sizeBytes < have.sizeBytes()) {
                throw refused("LUN " + have.lun() + " of target " + target.tid() + " holds " + have.sizeBytes()
                        + " bytes; shrinking is refused (it would cut off data); only growing is supported");
            }
            if (sizeBytes % have.blockSize() != 0) {
                throw refused("the size must be a multiple of the " + have.blockSize() + "-byte block size, not "
                        + sizeBytes + " bytes");
            }
            size = sizeBytes;
        }
        boolean ro = readOnly == null ? have.readOnly() : readOnly;
        List<TargetConfig.Lun> luns = new ArrayList<>(target.luns());
        luns.set(target.luns().indexOf(have), new TargetConfig.Lun(have.lun(), have.volume(), size, have.blockSize(),
                have.backingStore(), ro));
        return withLuns(current, target, luns);
    }

    private String requiredUser() {
        if (user == null || user.isBlank()) {
            throw refused("--user is required for --mode account");
        }
        return user;
    }

    private TargetConfig newAccount(TargetConfig current) {
        String name = requiredUser();
        if (current.account(name).isPresent()) {
            throw refused("account " + name + " already exists");
        }
        if (password == null) {
            throw refused("--op new --mode account needs --password");
        }
        List<TargetConfig.Account> accounts = new ArrayList<>(current.accounts());
        accounts.add(new TargetConfig.Account(name, password));
        return current.withAccounts(accounts);
    }

    /** Deletes the account and its bindings, as tgt does. */
    private TargetConfig deleteAccount(TargetConfig current) {
        String name = requiredUser();
        if (current.account(name).isEmpty()) {
            throw refused("can't find the account " + name);
        }
        TargetConfig next = current.withAccounts(current.accounts().stream().filter(a -> !a.user().equals(name))
                .toList());
        for (TargetConfig.Target t : current.targets()) {
            next = next.with(new TargetConfig.Target(t.tid(), t.iqn(), t.alias(), t.luns(), t.initiators(),
                    t.incomingUsers().stream().filter(u -> !u.equals(name)).toList(),
                    name.equals(t.outgoingUser()) ? null : t.outgoingUser()));
        }
        return new TargetConfig(next.targets(), next.accounts(),
                current.discoveryUsers().stream().filter(u -> !u.equals(name)).toList());
    }

    private TargetConfig bindAccount(TargetConfig current, boolean bind) {
        String name = requiredUser();
        if (current.account(name).isEmpty()) {
            throw refused("can't find the account " + name);
        }
        TargetConfig.Target target = existing(current);
        List<String> incoming = new ArrayList<>(target.incomingUsers());
        String outgoingUser = target.outgoingUser();
        if (Boolean.TRUE.equals(outgoing)) {
            if (bind) {
                if (outgoingUser != null) {
                    throw refused("target " + target.tid() + " already has the outgoing account " + outgoingUser);
                }
                outgoingUser = name;
            } else {
                if (!name.equals(outgoingUser)) {
                    throw refused(name + " is not the outgoing account of target " + target.tid());
                }
                outgoingUser = null;
            }
        } else if (bind) {
            if (incoming.contains(name)) {
                throw refused(name + " is already bound to target " + target.tid());
            }
            incoming.add(name);
        } else if (!incoming.remove(name)) {
            throw refused(name + " is not bound to target " + target.tid());
        }
        return current.with(new TargetConfig.Target(target.tid(), target.iqn(), target.alias(), target.luns(),
                target.initiators(), incoming, outgoingUser));
    }
}
