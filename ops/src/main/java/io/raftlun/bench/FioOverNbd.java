package io.raftlun.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * fio random I/O through an NBD export of the LUN: qemu-storage-daemon attaches the LUN with
 * libiscsi and serves it over a Unix socket, fio's nbd engine drives it. Reports IOPS and the
 * p50/p99 completion latency.
 */
record FioOverNbd(String label, String readWrite, int blockBytes, int depth, int seconds, long workingSetBytes)
        implements Workload {

    @Override
    public String name() {
        return label;
    }

    @Override
    public List<Measurement> run(TargetUnderTest target, Path workDir) throws Exception {
        Path socket = workDir.resolve("nbd-" + target.name() + ".sock");
        Files.deleteIfExists(socket);
        Process daemon = Processes.start(workDir.resolve("qsd-nbd.log"), List.of("qemu-storage-daemon",
                "--blockdev", "driver=iscsi,node-name=lun,transport=tcp,portal=" + target.portal() + ",target="
                        + target.iqn() + ",lun=" + target.lun() + ",cache.direct=on",
                "--nbd-server", "addr.type=unix,addr.path=" + socket,
                "--export", "type=nbd,id=export,node-name=lun,name=lun,writable=on"));
        try {
            waitFor(socket);
            String json = Processes.run(Duration.ofSeconds(seconds + 60), "fio", "--name=" + label,
                    "--ioengine=nbd", "--uri=nbd+unix:///lun?socket=" + socket, "--rw=" + readWrite,
                    "--bs=" + blockBytes, "--iodepth=" + depth, "--size=" + workingSetBytes, "--runtime=" + seconds,
                    "--time_based", "--randrepeat=1", "--output-format=json");
            String section = readWrite.contains("write") ? "write" : "read";
            double iops = number(json, "\"" + section + "\"\\s*:\\s*\\{[^}]*?\"iops\"\\s*:\\s*([0-9.eE+-]+)");
            String clat = json.substring(json.indexOf("\"" + section + "\""));
            clat = clat.substring(clat.indexOf("\"clat_ns\""));
            double p50 = number(clat, "\"50\\.000000\"\\s*:\\s*([0-9]+)") / 1000.0;
            double p99 = number(clat, "\"99\\.000000\"\\s*:\\s*([0-9]+)") / 1000.0;
            return List.of(new Measurement(target.name(), label + " IOPS", "IOPS", iops, true),
                    new Measurement(target.name(), label + " p50 latency", "µs", p50, false),
                    new Measurement(target.name(), label + " p99 latency", "µs", p99, false));
        } finally {
            Processes.stop(daemon);
            Files.deleteIfExists(socket);
        }
    }

    private static double number(String text, String regex) {
        Matcher matcher = Pattern.compile(regex, Pattern.DOTALL).matcher(text);
        if (!matcher.find()) {
            throw new IllegalStateException("fio output lacks " + regex);
        }
        return Double.parseDouble(matcher.group(1));
    }

    static void waitFor(Path socket) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!Files.exists(socket)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("qemu-storage-daemon did not create " + socket);
            }
            Thread.sleep(50);
        }
        Thread.sleep(200); // the socket file appears just before it listens
    }
}
