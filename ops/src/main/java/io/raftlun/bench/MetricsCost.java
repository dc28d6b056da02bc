package io.raftlun.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What recording metrics costs, measured in pairs within one node: each qemu-img workload runs with
 * the node recording its I/O metrics, then at once with recording switched off (through the admin
 * API), several times, the order swapped every pair. One process, so the two sides differ only in
 * recording: not in heap, page cache or what a JIT compiler made of the code, as a node started
 * without metrics would. Runs still vary from one to the next (on a shared two-core machine by up
 * to 20% either way for runs of a few seconds): the report gives the spread with the medians.
 */
final class MetricsCost {

    /**
     * One workload's cost: the median over the pairs of the throughput given up (or latency added)
     * while recording, and of the CPU time per request spent more, as fractions.
     */
    record Cost(String workload, double throughput, double cpuPerRequest, int pairs, double lowestThroughput,
                double highestThroughput) {
    }

    private MetricsCost() {
    }

    static List<Cost> measure(RaftlunNodes node, List<QemuImgBench> workloads, int pairs) throws Exception {
        List<Cost> costs = new ArrayList<>();
        try {
            for (QemuImgBench workload : workloads) {
                double[] throughput = new double[pairs];
                double[] cpu = new double[pairs];
                for (int pair = 0; pair < pairs; pair++) {
                    boolean recordingFirst = pair % 2 == 0;
                    List<Measurement> first = run(node, workload, recordingFirst);
                    List<Measurement> second = run(node, workload, !recordingFirst);
                    List<Measurement> with = recordingFirst ? first : second;
                    List<Measurement> without = recordingFirst ? second : first;
                    Measurement result = with.get(0);
                    throughput[pair] = result.higherIsBetter() ? 1 - result.value() / without.get(0).value()
                            : result.value() / without.get(0).value() - 1;
                    cpu[pair] = with.get(1).value() / without.get(1).value() - 1;
                }
                costs.add(new Cost(workload.name(), median(throughput), median(cpu), pairs,
                        Arrays.stream(throughput).min().orElse(0), Arrays.stream(throughput).max().orElse(0)));
                System.out.printf("  %-36s %+6.1f%% throughput, %+6.1f%% CPU per request (median of %d pairs: %s)%n",
                        workload.name(), 100 * median(throughput), 100 * median(cpu), pairs, percents(cpu));
            }
        } finally {
            node.recordMetrics(true);
        }
        return costs;
    }

    private static List<Measurement> run(RaftlunNodes node, QemuImgBench workload, boolean recording)
            throws Exception {
        node.recordMetrics(recording);
        return workload.run(node, null);
    }

    private static String percents(double[] fractions) {
        StringBuilder text = new StringBuilder();
        for (double fraction : fractions) {
            text.append(text.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%+.1f%%", 100 * fraction));
        }
        return text.toString();
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
