package io.raftlun.cli;

import io.raftlun.cli.AdminClient.AdminException;
import io.raftlun.target.TargetChange;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A tgt {@code targets.conf} (tgt-admin's file) read as {@link TargetChange}s: each
 * {@code <target IQN>} block becomes a target with the next free tid, its {@code backing-store}
 * and {@code direct-store} lines (or blocks, with {@code lun N}) LUNs numbered from 1, its
 * {@code initiator-address}/{@code initiator-name} lines the ACL (none: ALL, as tgt-admin does),
 * {@code incominguser}/{@code outgoinguser} accounts bound to it. Settings raftlun has no use for
 * (write-cache, vendor_id, ...) are reported and skipped.
 */
final class TargetsConf {

    private static final Set<String> SKIPPED = Set.of("write-cache", "vendor_id", "product_id", "product_rev",
            "scsi_id", "scsi_sn", "bs-type", "bsoflags", "bsopts", "allow-in-use", "params", "mode_page",
            "removable", "sense_format", "readonly", "online", "device-type", "path", "block-size",
            "max_connections", "MaxRecvDataSegmentLength", "MaxXmitDataSegmentLength", "controller_tid",
            "default-driver", "driver", "ignore-errors", "control-port", "iser", "lld");

    /** What the file asks for, and what was skipped. */
    record Parsed(List<TargetChange> changes, List<String> skipped) {
    }

    private TargetsConf() {
    }

    static Parsed parse(List<String> lines, int firstTid, Set<String> existingAccounts) throws AdminException {
        List<TargetChange> changes = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        Set<String> accounts = new LinkedHashSet<>(existingAccounts);
        int tid = firstTid;
        Target target = null;
        String openStore = null;
        Integer openLun = null;
        int number = 0;
        for (String raw : lines) {
            number++;
            String line = raw.strip();
            int hash = line.indexOf('#');
            if (hash >= 0) {
                line = line.substring(0, hash).strip();
            }
            if (line.isEmpty()) {
                continue;
            }
            String where = "line " + number + ": ";
            if (line.startsWith("<target ") && line.endsWith(">")) {
                if (target != null) {
                    throw refused(where + "<target> inside <target>");
                }
                target = new Target(tid++, line.substring(8, line.length() - 1).strip());
                continue;
            }
            if (line.equals("</target>")) {
                if (target == null) {
                    throw refused(where + "</target> without <target>");
                }
                target.addTo(changes);
                target = null;
                continue;
            }
            if ((line.startsWith("<backing-store ") || line.startsWith("<direct-store ")) && line.endsWith(">")) {
                requireTarget(target, where);
                openStore = line.substring(line.indexOf(' ') + 1, line.length() - 1).strip();
                openLun = null;
                continue;
            }
            if (line.equals("</backing-store>") || line.equals("</direct-store>")) {
                if (openStore == null) {
                    throw refused(where + line + " without its opening line");
                }
                target.lun(openLun, openStore);
                openStore = null;
                continue;
            }
            String[] words = line.split("\\s+");
            String key = words[0].toLowerCase(Locale.ROOT);
            if (openStore != null && key.equals("lun") && words.length == 2) {
                try {
                    openLun = Integer.parseInt(words[1]);
                } catch (NumberFormatException e) {
                    throw refused(where + "'" + words[1] + "' is not a LUN number");
                }
                continue;
            }
            switch (key) {
                case "backing-store", "direct-store" -> requireTarget(target, where).lun(null, value(words, where));
                case "initiator-address", "initiator-name" -> requireTarget(target, where).initiators.add(value(words, where));
                case "incominguser", "outgoinguser" -> {
                    Target t = requireTarget(target, where);
                    if (words.length != 3) {
                        throw refused(where + key + " needs a user and a secret");
                    }
                    if (accounts.add(words[1])) {
                        changes.add(TargetChange.newAccount(words[1], words[2]));
                    }
                    t.accounts.add(TargetChange.bindAccount(t.tid, words[1], key.equals("outgoinguser")));
                }
                case "include" -> throw refused(where + "include is not supported: import each file");
                default -> {
                    if (!SKIPPED.contains(words[0])) {
                        throw refused(where + "unknown setting '" + words[0] + "'");
                    }
                    skipped.add(where + line);
                }
            }
        }
        if (target != null) {
            throw refused("the file ends inside <target " + target.iqn + ">");
        }
        return new Parsed(changes, skipped);
    }

    private static Target requireTarget(Target target, String where) throws AdminException {
        if (target == null) {
            throw refused(where + "this belongs inside a <target IQN> block");
        }
        return target;
    }

    private static String value(String[] words, String where) throws AdminException {
        if (words.length != 2) {
            throw refused(where + words[0] + " takes one value");
        }
        return words[1];
    }

    private static AdminException refused(String message) {
        return new AdminException(AdminException.REFUSED, message);
    }

    /** One {@code <target>} block as it is read. */
    private static final class Target {
        final int tid;
        final String iqn;
        final List<TargetChange> luns = new ArrayList<>();
        final List<String> initiators = new ArrayList<>();
        final List<TargetChange> accounts = new ArrayList<>();
        int nextLun = 1;

        Target(int tid, String iqn) {
            this.tid = tid;
            this.iqn = iqn;
        }

        void lun(Integer number, String path) throws AdminException {
            int lun = number != null ? number : nextLun;
            nextLun = Math.max(nextLun, lun + 1);
            Path store = Path.of(path).toAbsolutePath();
            luns.add(TargetChange.newLun(tid, lun, TgtadmCommand.backingStoreSize(store), store.toString()));
        }

        void addTo(List<TargetChange> changes) {
            changes.add(TargetChange.newTarget(tid, iqn));
            changes.addAll(luns);
            for (String initiator : initiators.isEmpty() ? List.of("ALL") : initiators) {
                changes.add(TargetChange.bind(tid, initiator));
            }
            changes.addAll(accounts);
        }
    }
}
