package io.raftlun.cli;

import io.raftlun.blockstore.Devices;
import io.raftlun.cli.AdminClient.AdminException;
import io.raftlun.target.ConfigFiles;
import io.raftlun.target.TargetChange;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code raftlun tgtadm}: tgtadm's own options, so the classic recipe's commands run unchanged
 * against a raftlun cluster. Each command becomes one {@link TargetChange} (or a show).
 */
@Command(name = "tgtadm", mixinStandardHelpOptions = true,
        description = {"tgtadm's options against a raftlun cluster: the classic recipe's commands work unchanged.", "",
            "  raftlun tgtadm --lld iscsi --op new --mode target --tid 1 -T iqn.2026-11.com.example:disk1",
            "  raftlun tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b /srv/disk1.img",
            "  raftlun tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL",
            "  raftlun tgtadm --lld iscsi --op show --mode target",
            "",
            "What -b means here: in a replicated cluster a LUN is a thin replicated volume whose blocks",
            "live in each replica's store; -b PATH (an existing file or device, as for tgt) gives its size,",
            "and PATH itself is not used. On a lone node (cluster up --nodes 1) PATH holds the blocks, as",
            "in tgt. --size SIZE (raftlun's own) makes a thin LUN without any file.",
            "Grow a LUN online: --op update --mode logicalunit --tid 1 --lun 1 --size 2G (never shrinks).",
            "Accounts: --op new --mode account --user U --password P; --op bind --mode account --tid 1",
            "--user U [--outgoing]."})
final class TgtadmCommand implements Callable<Integer> {

    @Mixin
    AdminOptions admin;

    @Option(names = {"-L", "--lld"}, paramLabel = "DRIVER", description = "Low-level driver: iscsi (the only one).")
    String lld = "iscsi";

    @Option(names = {"-o", "--op"}, required = true, paramLabel = "OP", description = "new, delete, update, bind, unbind or show.")
    String op;

    @Option(names = {"-m", "--mode"}, required = true, paramLabel = "MODE", description = "target, logicalunit, account or sys.")
    String mode;

    @Option(names = {"-t", "--tid"}, paramLabel = "TID", description = "Target id (from 1).")
    Integer tid;

    @Option(names = {"-T", "--targetname"}, paramLabel = "IQN", description = "Target name.")
    String targetName;

    @Option(names = {"-l", "--lun"}, paramLabel = "LUN", description = "Logical unit number.")
    Integer lun;

    @Option(names = {"-b", "--backing-store"}, paramLabel = "PATH",
            description = "An existing file or device: the LUN's size (and, on a lone node, its blocks).")
    Path backingStore;

    @Option(names = "--size", paramLabel = "SIZE", description = "raftlun: the LUN's size (1G, 512M, bytes); for "
            + "--op update, the size to grow it to.")
    String size;

    @Option(names = {"-y", "--blocksize"}, paramLabel = "BYTES", description = "Block size, 512 (default) or 4096.")
    Integer blockSize;

    @Option(names = {"-E", "--bstype"}, paramLabel = "TYPE", description = "Accepted for compatibility (rdwr, aio); ignored.")
    String bsType;

    @Option(names = {"-Y", "--device-type"}, paramLabel = "TYPE", description = "disk (the only one).")
    String deviceType = "disk";

    @Option(names = {"-I", "--initiator-address"}, paramLabel = "ADDRESS", description = "ALL, an address or a network (CIDR).")
    String initiatorAddress;

    @Option(names = {"-Q", "--initiator-name"}, paramLabel = "NAME", description = "An initiator name.")
    String initiatorName;

    @Option(names = {"-u", "--user"}, paramLabel = "USER", description = "CHAP account name.")
    String user;

    @Option(names = {"-p", "--password"}, paramLabel = "SECRET", description = "CHAP secret (12 to 255 characters).")
    String password;

    @Option(names = {"-O", "--outgoing"}, description = "The target's own account (mutual CHAP).")
    boolean outgoing;

    @Option(names = {"-P", "--params"}, paramLabel = "K=V[,K=V]", description = "For logicalunit update: readonly=0|1.")
    String params;

    @Option(names = {"-F", "--force"}, description = "Accepted for compatibility.")
    boolean force;

    @Option(names = {"-C", "--control-port"}, paramLabel = "PORT", description = "Accepted for compatibility; ignored.")
    Integer controlPort;

    @Override
    public Integer call() throws Exception {
        if (!lld.equalsIgnoreCase("iscsi")) {
            throw new AdminException(AdminException.REFUSED, "--lld " + lld + ": raftlun serves iscsi only");
        }
        if (!deviceType.equalsIgnoreCase("disk")) {
            throw new AdminException(AdminException.REFUSED, "--device-type " + deviceType + ": raftlun serves disks only");
        }
        String operation = op.toLowerCase(Locale.ROOT);
        if (operation.equals("show")) {
            return show();
        }
        TargetChange change = change(operation);
        AdminClient client = admin.client();
        Map<?, ?> after = client.post("/api/targets", Map.of("changes", List.of(change)));
        if (admin.json()) {
            System.out.println(ConfigFiles.JSON.writeValueAsString(after));
        }
        return 0; // tgtadm says nothing when it succeeds
    }

    private int show() throws Exception {
        AdminClient client = admin.client();
        Map<?, ?> show = TargetShow.fromEveryNode(client);
        if (admin.json()) {
            System.out.println(ConfigFiles.JSON.writeValueAsString(show));
            return 0;
        }
        switch (mode.toLowerCase(Locale.ROOT)) {
            case "target" -> TargetShow.print(show, tid, System.out);
            case "account" -> TargetShow.printAccounts(show, System.out);
            case "sys", "system" -> System.out.println("System:\n    State: ready\n    debug: off");
            default -> throw new AdminException(AdminException.REFUSED, "--op show --mode " + mode
                    + ": modes are target, account and sys");
        }
        return 0;
    }

    private TargetChange change(String operation) throws AdminException {
        String initiator = initiatorAddress != null ? initiatorAddress : initiatorName;
        Long bytes = size == null ? null : parseSize(size);
        Boolean readOnly = null;
        if (params != null) {
            for (String param : params.split(",")) {
                String[] kv = param.split("=", 2);
                if (kv.length == 2 && kv[0].trim().equalsIgnoreCase("readonly") && kv[1].trim().matches("[01]")) {
                    readOnly = kv[1].trim().equals("1");
                } else {
                    throw new AdminException(AdminException.REFUSED, "--params " + param
                            + ": raftlun knows readonly=0|1");
                }
            }
        }
        String backing = null;
        if (backingStore != null) {
            backing = backingStore.toAbsolutePath().toString();
            if (bytes == null) {
                bytes = backingStoreSize(backingStore);
            }
        }
        return new TargetChange(operation, mode, tid, targetName, lun, bytes, blockSize, backing, readOnly, initiator,
                user, password, outgoing ? Boolean.TRUE : null);
    }

    static long parseSize(String text) throws AdminException {
        try {
            return Sizes.parse(text);
        } catch (IllegalArgumentException e) {
            throw new AdminException(AdminException.REFUSED, e.getMessage());
        }
    }

    /** The size of a backing store as tgt takes it: a file's length, a block device's capacity. */
    static long backingStoreSize(Path path) throws AdminException {
        if (!Files.exists(path)) {
            throw new AdminException(AdminException.REFUSED, "backing store " + path + " does not exist "
                    + "(give an existing file or device, or --size SIZE for a thin LUN)");
        }
        try {
            return Devices.size(path);
        } catch (java.io.IOException | RuntimeException e) {
            throw new AdminException(AdminException.REFUSED, "cannot tell the size of " + path + ": " + e);
        }
    }
}
