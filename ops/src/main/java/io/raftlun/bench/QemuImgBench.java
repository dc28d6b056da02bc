package io.raftlun.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code qemu-img bench} on the iSCSI URL: QEMU's libiscsi driver issuing fixed-size requests at a
 * fixed queue depth, sequentially through the working set (the same offsets for every target).
 */
record QemuImgBench(String label, boolean write, int depth, int requestBytes, int requests, long workingSetBytes,
                    int initiatorCpu) implements Workload {

    private static final Pattern COMPLETED = Pattern.compile("Run completed in ([0-9.]+) seconds");

    @Override
    public String name() {
        return label;
    }

    /** qemu-img on whichever CPU the system gives it. */
    QemuImgBench(String label, boolean write, int depth, int requestBytes, int requests, long workingSetBytes) {
        this(label, write, depth, requestBytes, requests, workingSetBytes, -1);
    }

    /** The same workload with {@code factor} times its requests. */
    QemuImgBench resized(double factor) {
        return new QemuImgBench(label, write, depth, requestBytes, Math.max(1, (int) (requests * factor)),
                workingSetBytes, initiatorCpu);
    }

    /** The same workload with qemu-img on CPU {@code cpu} only. */
    QemuImgBench onCpu(int cpu) {
        return new QemuImgBench(label, write, depth, requestBytes, requests, workingSetBytes, cpu);
    }

    /** The target's LUN as QEMU opens it: its first {@code bytes} only, through libiscsi. */
    static String image(TargetUnderTest target, long bytes) {
        return "json:{\"driver\":\"raw\",\"size\":" + bytes + ",\"file\":{\"driver\":\"iscsi\","
                + "\"transport\":\"tcp\",\"portal\":\"" + target.portal() + "\",\"target\":\"" + target.iqn()
                + "\",\"lun\":" + target.lun() + "}}";
    }

    @Override
    public List<Measurement> run(TargetUnderTest target, Path workDir) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("qemu-img", "bench", "-f", "raw", "-t", "none",
                "-i", "threads", "-c", Integer.toString(requests), "-d", Integer.toString(depth), "-s",
                Integer.toString(requestBytes), "-S", Integer.toString(requestBytes)));
        if (write) {
            command.add("-w");
        }
        command.add(image(target, workingSetBytes));
        long cpuBefore = target.cpuNanos();
        String output = Processes.run(Duration.ofMinutes(5), Processes.onCpu(initiatorCpu, command));
        // The target's CPU per request: less affected than throughput by other load on the
        // machine, and it shows what the target spends where throughput is equal.
        Measurement cpu = new Measurement(target.name(), label + " target CPU per request", "µs",
                (target.cpuNanos() - cpuBefore) / 1000.0 / requests, false);
        Matcher matcher = COMPLETED.matcher(output);
        if (!matcher.find()) {
            throw new IllegalStateException("qemu-img bench printed no result:\n" + output);
        }
        double seconds = Double.parseDouble(matcher.group(1));
        if (requestBytes >= 1024 * 1024) {
            double mibPerSecond = (double) requests * requestBytes / (1024.0 * 1024.0) / seconds;
            return List.of(new Measurement(target.name(), label + " throughput", "MiB/s", mibPerSecond, true), cpu);
        }
        double iops = requests / seconds;
        if (depth == 1) {
            return List.of(new Measurement(target.name(), label + " latency", "µs", 1e6 / iops, false), cpu);
        }
        return List.of(new Measurement(target.name(), label + " IOPS", "IOPS", iops, true), cpu);
    }
}
