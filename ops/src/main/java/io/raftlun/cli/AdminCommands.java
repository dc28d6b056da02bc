package io.raftlun.cli;

import io.raftlun.cli.AdminClient.AdminException;
import io.raftlun.target.ConfigFiles;
import io.raftlun.target.TargetChange;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * raftlun's own administration commands ({@code target}, {@code lun}, {@code account}): the same
 * changes as {@code raftlun tgtadm}, with positional arguments and a line saying what was done.
 */
final class AdminCommands {

    private AdminCommands() {
    }

    /** A command that sends changes and reports them. */
    abstract static class Change implements Callable<Integer> {
        @Mixin
        AdminOptions admin;
        private List<TargetChange> sent = List.of();

        /** The one change this command makes (commands of several override {@link #changes}). */
        TargetChange change() throws AdminException {
            throw new UnsupportedOperationException();
        }

        List<TargetChange> changes(AdminClient client) throws Exception {
            return List.of(change());
        }

        /** What the command says once the cluster made the changes. */
        String done() {
            return "done: " + String.join("; ", sent.stream().map(TargetChange::summary).toList());
        }

        @Override
        public Integer call() throws Exception {
            AdminClient client = admin.client();
            sent = changes(client);
            Map<?, ?> after = client.post("/api/targets", Map.of("changes", sent));
            System.out.println(admin.json() ? ConfigFiles.JSON.writeValueAsString(after) : done());
            return 0;
        }
    }

    /** A change to one target: its tid comes first. */
    abstract static class OnTarget extends Change {
        @Parameters(index = "0", paramLabel = "TID", description = "The target's id.")
        int tid;
    }

    /** A change to one LUN of a target. */
    abstract static class OnLun extends OnTarget {
        @Parameters(index = "1", paramLabel = "LUN", description = "The logical unit number.")
        int lun;
    }

    /** A change to a target's ACL. */
    abstract static class OnInitiator extends OnTarget {
        @Parameters(index = "1", paramLabel = "INITIATOR", description = "ALL, an address, a network (CIDR) or an initiator name.")
        String initiator;
    }

    /** A change binding an account to a target. */
    abstract static class OnAccountBinding extends OnTarget {
        @Parameters(index = "1", paramLabel = "USER")
        String user;
        @Option(names = "--outgoing", description = "The target's own account, for mutual CHAP.")
        boolean outgoing;
    }

    @Command(name = "target", mixinStandardHelpOptions = true,
            description = "Targets: create, delete, show, bind initiators (ACL), import a tgt targets.conf.",
            subcommands = {NewTarget.class, DeleteTarget.class, ShowTargets.class, Bind.class, Unbind.class,
                ImportConf.class})
    static final class TargetCommand implements Runnable {
        @Override
        public void run() {
            Main.usage(this);
        }
    }

    @Command(name = "new", mixinStandardHelpOptions = true, description = "Creates a target (it admits no one until bound).")
    static final class NewTarget extends Change {
        @Parameters(index = "0", paramLabel = "TID", description = "Target id, from 1.")
        int tid;
        @Parameters(index = "1", paramLabel = "IQN", description = "Target name, e.g. iqn.2026-11.com.example:disk1.")
        String iqn;

        @Override
        TargetChange change() {
            return TargetChange.newTarget(tid, iqn);
        }

        @Override
        String done() {
            return "target " + tid + " " + iqn + " created; admit initiators with: raftlun target bind " + tid + " ALL";
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Deletes a target. Its LUNs' volumes are kept: a LUN with the same volume brings the data back.")
    static final class DeleteTarget extends OnTarget {
        @Override
        TargetChange change() {
            return TargetChange.deleteTarget(tid);
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Shows targets as tgtadm --op show does, with each LUN's replicas and leader.")
    static final class ShowTargets implements Callable<Integer> {
        @Mixin
        AdminOptions admin;
        @Parameters(arity = "0..1", paramLabel = "TID", description = "Only this target.")
        Integer tid;

        @Override
        public Integer call() throws Exception {
            Map<?, ?> show = TargetShow.fromEveryNode(admin.client());
            if (admin.json()) {
                System.out.println(ConfigFiles.JSON.writeValueAsString(show));
            } else {
                TargetShow.print(show, tid, System.out);
                TargetShow.printAccounts(show, System.out);
            }
            return 0;
        }
    }

    @Command(name = "bind", mixinStandardHelpOptions = true,
            description = "Admits an initiator: ALL, an address, a network (CIDR) or an initiator name.")
    static final class Bind extends OnInitiator {
        @Override
        TargetChange change() {
            return TargetChange.bind(tid, initiator);
        }
    }

    @Command(name = "unbind", mixinStandardHelpOptions = true, description = "Removes an initiator from a target's ACL.")
    static final class Unbind extends OnInitiator {
        @Override
        TargetChange change() {
            return TargetChange.unbind(tid, initiator);
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = {"Creates the targets of a tgt targets.conf (tgt-admin's file), all or none.", "",
                "Each <target IQN> gets the next free tid; backing-store/direct-store lines become LUNs",
                "from 1 (sized by the file or device; see 'raftlun tgtadm --help' for what a path means",
                "in a cluster); initiator-address/-name lines the ACL (none: ALL, as tgt-admin);",
                "incominguser/outgoinguser accounts bound to the target."})
    static final class ImportConf extends Change {
        @Parameters(paramLabel = "FILE", description = "e.g. /etc/tgt/targets.conf")
        Path file;
        private int created;

        @Override
        List<TargetChange> changes(AdminClient client) throws Exception {
            Map<?, ?> show = client.get("/api/targets");
            int firstTid = 1 + ((List<?>) show.get("targets")).stream()
                    .mapToInt(t -> ((Number) ((Map<?, ?>) t).get("tid")).intValue()).max().orElse(0);
            List<String> lines;
            try {
                lines = Files.readAllLines(file);
            } catch (java.io.IOException e) {
                throw new AdminException(AdminException.REFUSED, "cannot read " + file + ": " + e.getMessage());
            }
            TargetsConf.Parsed parsed = TargetsConf.parse(lines, firstTid,
                    new HashSet<>(((List<?>) show.get("accounts")).stream().map(String::valueOf).toList()));
            parsed.skipped().forEach(line -> System.err.println("raftlun: skipped (no use here): " + line));
            if (parsed.changes().isEmpty()) {
                throw new AdminException(AdminException.REFUSED, file + " defines no target");
            }
            created = (int) parsed.changes().stream().filter(c -> c.op().equals("new") && c.mode().equals("target"))
                    .count();
            return parsed.changes();
        }

        @Override
        String done() {
            return created + " target(s) imported from " + file;
        }
    }

    @Command(name = "lun", mixinStandardHelpOptions = true, description = "Logical units: create, delete, grow.",
            subcommands = {NewLun.class, DeleteLun.class, GrowLun.class})
    static final class LunCommand implements Runnable {
        @Override
        public void run() {
            Main.usage(this);
        }
    }

    @Command(name = "new", mixinStandardHelpOptions = true,
            description = {"Creates a LUN: a thin volume of --size, replicated in a cluster.",
                "--backing-store PATH takes the size from an existing file or device; on a lone node",
                "PATH holds the blocks (as tgt's -b)."})
    static final class NewLun extends OnLun {
        @Option(names = "--size", paramLabel = "SIZE", description = "1G, 512M, or bytes; a multiple of the block size.")
        String size;
        @Option(names = "--backing-store", paramLabel = "PATH", description = "An existing file or device.")
        Path backingStore;
        @Option(names = "--block-size", paramLabel = "BYTES", description = "512 (default) or 4096.")
        Integer blockSize;
        @Option(names = "--read-only", description = "Initiators may read only.")
        boolean readOnly;

        @Override
        TargetChange change() throws AdminException {
            if ((size == null) == (backingStore == null)) {
                throw new AdminException(AdminException.REFUSED, "give --size SIZE or --backing-store PATH");
            }
            Long bytes = size != null ? TgtadmCommand.parseSize(size) : TgtadmCommand.backingStoreSize(backingStore);
            return new TargetChange("new", "logicalunit", tid, null, lun, bytes, blockSize,
                    backingStore == null ? null : backingStore.toAbsolutePath().toString(), readOnly, null, null,
                    null, null);
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Deletes a LUN. Its volume's data is kept (as tgt leaves a backing store alone).")
    static final class DeleteLun extends OnLun {
        @Override
        TargetChange change() {
            return TargetChange.deleteLun(tid, lun);
        }
    }

    @Command(name = "grow", mixinStandardHelpOptions = true,
            description = {"Grows a LUN online. Every replica grows at the same point of the volume's log;",
                "initiators on every node get CAPACITY DATA HAS CHANGED and read the new capacity.",
                "Shrinking is refused."})
    static final class GrowLun extends OnLun {
        @Parameters(index = "2", paramLabel = "SIZE", description = "The new size: 2G, 1536M, or bytes.")
        String size;

        @Override
        TargetChange change() throws AdminException {
            return TargetChange.growLun(tid, lun, TgtadmCommand.parseSize(size));
        }
    }

    @Command(name = "account", mixinStandardHelpOptions = true,
            description = "CHAP accounts: create, delete, bind to targets (incoming, or --outgoing for mutual CHAP).",
            subcommands = {NewAccount.class, DeleteAccount.class, BindAccount.class, UnbindAccount.class})
    static final class AccountCommand implements Runnable {
        @Override
        public void run() {
            Main.usage(this);
        }
    }

    @Command(name = "new", mixinStandardHelpOptions = true, description = "Creates a CHAP account.")
    static final class NewAccount extends Change {
        @Parameters(index = "0", paramLabel = "USER")
        String user;
        @Option(names = "--password-file", paramLabel = "FILE", description = "The secret (12 to 255 characters), "
                + "first line of FILE; default: $RAFTLUN_CHAP_SECRET.")
        Path passwordFile;

        @Override
        TargetChange change() throws AdminException {
            String secret = System.getenv("RAFTLUN_CHAP_SECRET");
            if (passwordFile != null) {
                try {
                    secret = Files.readAllLines(passwordFile).stream().findFirst().orElse("").strip();
                } catch (java.io.IOException e) {
                    throw new AdminException(AdminException.REFUSED, "cannot read " + passwordFile + ": " + e.getMessage());
                }
            }
            if (secret == null) {
                throw new AdminException(AdminException.REFUSED, "give the secret in --password-file FILE or "
                        + "RAFTLUN_CHAP_SECRET (never on the command line, where ps shows it)");
            }
            return TargetChange.newAccount(user, secret);
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes an account and its bindings.")
    static final class DeleteAccount extends Change {
        @Parameters(paramLabel = "USER")
        String user;

        @Override
        TargetChange change() {
            return TargetChange.deleteAccount(user);
        }
    }

    @Command(name = "bind", mixinStandardHelpOptions = true,
            description = "Binds an account to a target: initiators must log in with it (or, --outgoing, the target answers with it).")
    static final class BindAccount extends OnAccountBinding {
        @Override
        TargetChange change() {
            return TargetChange.bindAccount(tid, user, outgoing);
        }
    }

    @Command(name = "unbind", mixinStandardHelpOptions = true, description = "Unbinds an account from a target.")
    static final class UnbindAccount extends OnAccountBinding {
        @Override
        TargetChange change() {
            return TargetChange.unbindAccount(tid, user, outgoing);
        }
    }
}
