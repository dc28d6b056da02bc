package io.raftlun.cli;

import io.raftlun.replication.VolumeCheck;
import io.raftlun.target.ConfigFiles;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raftlun volume}: checks of a volume's replicas, rebuilding one, recovering a volume from its last one. */
@Command(name = "volume", mixinStandardHelpOptions = true,
        description = {"Checks a volume's replicas (scrub, verify), rebuilds a replica on a node, or",
                "recovers a volume whose majority is lost, in a running cluster (found through",
                "--dir or $RAFTLUN_DIR)."},
        subcommands = {VolumeCommand.Scrub.class, VolumeCommand.Verify.class, RecoveryCommands.Rebuild.class,
            RecoveryCommands.Recover.class})
public final class VolumeCommand implements Runnable {

    @Override
    public void run() {
        Main.usage(this);
    }

    /** What scrub and verify share: the cluster, the rate, starting the check on a node and following it. */
    abstract static class Check implements Callable<Integer> {
        @Mixin
        AdminOptions admin;

        @Option(names = "--rate", paramLabel = "MIB", description = "MiB/s to read (scrub) or cover (verify); "
                + "default " + VolumeCheck.DEFAULT_RATE_MIB + ".")
        double rate = VolumeCheck.DEFAULT_RATE_MIB;

        @Parameters(paramLabel = "VOLUME", description = "The volume (as 'raftlun cluster status' names it).")
        String volume;

        abstract String kind();

        /** The final report's first line, for humans. */
        abstract String summary(Map<?, ?> report);

        /** The report's list of findings. */
        abstract List<?> findings(Map<?, ?> report);

        /** One finding, for humans. */
        abstract String line(Map<?, ?> finding);

        /** True when the check found nothing left wrong. */
        abstract boolean clean(Map<?, ?> report);

        @Override
        public Integer call() throws Exception {
            boolean json = admin.json();
            if (!(rate > 0)) {
                throw new IllegalArgumentException("--rate must be above zero MiB/s");
            }
            AdminClient node = admin.client().firstReachable(); // the check is followed where it runs
            String path = "/api/volumes/" + URLEncoder.encode(volume, StandardCharsets.UTF_8) + "/" + kind();
            Map<?, ?> report = node.post(path + "?rate=" + rate, null);
            long deadline = System.nanoTime() + Duration.ofDays(7).toNanos(); // a bound, far above any volume's
            StoreCommand.Progress progress = new StoreCommand.Progress(kind() + " " + volume + " through "
                    + node.firstName(), 1000, false);
            while ("running".equals(report.get("state")) && System.nanoTime() < deadline) {
                progress.at(Math.round(((Number) report.get("progress")).doubleValue() * 1000));
                Thread.sleep(500);
                report = node.get(path);
            }
            progress.at(1000);
            if (json) {
                System.out.println(ConfigFiles.JSON.writeValueAsString(report));
            }
            if (report.get("error") != null) {
                throw new IllegalStateException(kind() + " of " + volume + " failed: " + report.get("error"));
            }
            List<?> unreachable = (List<?>) report.get("unreachable");
            if (!json) {
                System.out.println(summary(report));
                findings(report).forEach(finding -> System.out.println("  " + line((Map<?, ?>) finding)));
                unreachable.forEach(replica -> System.out.println("  replica not checked: " + replica));
            }
            return clean(report) && unreachable.isEmpty() ? 0 : 1;
        }
    }

    @Command(name = "scrub", mixinStandardHelpOptions = true,
            description = {"Finds and repairs corrupt blocks of the volume's replicas.",
                "",
                "Reads every allocated block of every replica of the volume and checks it",
                "against its CRC32C; a corrupt block is repaired from a replica holding a good",
                "copy of the same write (through the volume's Raft log, so never over a newer",
                "write). Online, at --rate. On a lone node its one copy is checked: corrupt",
                "blocks are named, with nothing to repair them from."},
            footer = {"",
                "Exit status: 0 when no corrupt block is left; 1 if one could not be repaired,",
                "a replica could not be checked, or the volume is unknown; 3 no node reachable;",
                "4 wrong admin token."})
    static final class Scrub extends Check {
        @Override
        String kind() {
            return "scrub";
        }

        @Override
        String summary(Map<?, ?> report) {
            return String.format("scrub of volume %s: %s blocks (%s) checked in %s s; %s corrupt, %s repaired",
                    volume, report.get("blocksChecked"),
                    Sizes.format(((Number) report.get("bytesChecked")).longValue()),
                    report.get("seconds"), report.get("corruptBlocks"), report.get("repairedBlocks"));
        }

        @Override
        List<?> findings(Map<?, ?> report) {
            return (List<?>) report.get("corrupt");
        }

        @Override
        String line(Map<?, ?> finding) {
            return "block " + finding.get("block") + " on " + finding.get("replica") + ": "
                    + (Boolean.TRUE.equals(finding.get("repaired")) ? "repaired from " + finding.get("from")
                    : "NOT repaired (no healthy copy of the same write; scrub again)");
        }

        @Override
        boolean clean(Map<?, ?> report) {
            return ((Number) report.get("corruptBlocks")).longValue()
                    == ((Number) report.get("repairedBlocks")).longValue();
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Compares the block maps of the volume's replicas.",
                "",
                "Compares the block maps of the volume's replicas chunk by chunk (the last log",
                "index and the CRC32C of every allocated block), without shipping data. Online,",
                "at --rate."},
            footer = {"",
                "Exit status: 0 when every replica's map agrees; 1 if they differ, a replica",
                "could not be checked, or the volume is unknown; 3 no node reachable; 4 wrong",
                "admin token."})
    static final class Verify extends Check {
        @Override
        String kind() {
            return "verify";
        }

        @Override
        String summary(Map<?, ?> report) {
            List<?> differences = findings(report);
            return String.format("verify of volume %s: %s allocated blocks compared in %s s; %s", volume,
                    report.get("blocksChecked"), report.get("seconds"),
                    differences.isEmpty() ? "the replicas agree" : differences.size() + " chunk(s) differ");
        }

        @Override
        List<?> findings(Map<?, ?> report) {
            return (List<?>) report.get("differences");
        }

        @Override
        String line(Map<?, ?> difference) {
            return "blocks " + difference.get("firstBlock") + "+" + difference.get("blocks") + ": "
                    + difference.get("replicas");
        }

        @Override
        boolean clean(Map<?, ?> report) {
            return ((List<?>) report.get("differences")).isEmpty();
        }
    }
}
