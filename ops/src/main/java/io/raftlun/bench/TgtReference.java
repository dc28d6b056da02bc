package io.raftlun.bench;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;

/**
 * The reference: Debian's tgt, as the classic recipe runs it, with a file-backed LUN of the same
 * size on a loopback portal. tgtd is started with a control port of its own so that it cannot
 * disturb a tgtd the machine may already run.
 */
final class TgtReference implements TargetUnderTest {

    static final String IQN = "iqn.2026-11.io.raftlun.bench:tgt";

    private final String host;
    private final int port;
    private final int controlPort;
    private final Process daemon;

    private TgtReference(String host, int port, int controlPort, Process daemon) {
        this.host = host;
        this.port = port;
        this.controlPort = controlPort;
        this.daemon = daemon;
    }

    static TgtReference start(Path workDir, String host, int port, long sizeBytes)
            throws IOException, InterruptedException {
        Path backing = workDir.resolve("tgt-lun1.img");
        try (FileChannel file = FileChannel.open(backing, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            file.truncate(0);
            file.write(java.nio.ByteBuffer.allocate(1), sizeBytes - 1); // sparse, like a new thin LV
        }
        int controlPort = port + 1000;
        Process daemon = Processes.start(workDir.resolve("tgtd.log"), List.of("tgtd", "-f", "-C",
                Integer.toString(controlPort), "--iscsi", "portal=" + host + ":" + port));
        TgtReference tgt = new TgtReference(host, port, controlPort, daemon);
        try {
            Processes.waitForPort(host, port, Duration.ofSeconds(10));
            tgt.admin("--op", "new", "--mode", "target", "--tid", "1", "-T", IQN);
            tgt.admin("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", backing.toString());
            tgt.admin("--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL");
            return tgt;
        } catch (IOException | InterruptedException e) {
            tgt.close();
            throw e;
        }
    }

    private void admin(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("tgtadm", "-C", Integer.toString(controlPort),
                "--lld", "iscsi"));
        command.addAll(List.of(args));
        Processes.run(Duration.ofSeconds(20), command);
    }

    static String version() {
        try {
            return "tgt " + Processes.run(Duration.ofSeconds(5), "tgtadm", "--version").trim();
        } catch (IOException | InterruptedException e) {
            return "tgt (version unknown)";
        }
    }

    @Override
    public String name() {
        return "tgt";
    }

    @Override
    public String portal() {
        return host + ":" + port;
    }

    @Override
    public String iqn() {
        return IQN;
    }

    @Override
    public int lun() {
        return 1;
    }

    @Override
    public long residentBytes() {
        return Processes.residentBytes(daemon.pid());
    }

    @Override
    public long cpuNanos() {
        return Processes.cpuNanos(daemon.pid());
    }

    @Override
    public void close() throws InterruptedException {
        try {
            admin("--op", "delete", "--mode", "system");
        } catch (IOException e) {
            // tgtd is stopped below in any case
        }
        Processes.stop(daemon);
    }

}
