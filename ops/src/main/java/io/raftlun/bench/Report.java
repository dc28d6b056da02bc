package io.raftlun.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;

/**
 * Medians per target and metric, and each raftlun target's ratio against the reference, oriented
 * so that above 1 always means raftlun did better (throughput up, latency or memory down).
 */
final class Report {

    private final String reference;
    private final List<Measurement> measurements = new ArrayList<>();
    private List<MetricsCost.Cost> metricsCost = List.of();
    private final List<String> failures = new ArrayList<>();

    Report(String reference) {
        this.reference = reference;
    }

    void add(List<Measurement> more) {
        measurements.addAll(more);
    }

    /** What collecting metrics costs, from paired runs (they replace the comparison of round medians). */
    void metricsCost(List<MetricsCost.Cost> costs) {
        metricsCost = List.copyOf(costs);
    }

    /** A run that failed (its measurements are missing); the report lists it. */
    void failed(String what) {
        failures.add(what);
    }

    List<String> failures() {
        return failures;
    }

    List<String> targets() {
        Set<String> names = new LinkedHashSet<>();
        measurements.forEach(m -> names.add(m.target()));
        return new ArrayList<>(names);
    }

    /** The targets compared with the reference. */
    private List<String> contenders() {
        return targets().stream().filter(t -> !t.equals(reference)).toList();
    }

    Map<String, Measurement> metrics() {
        Map<String, Measurement> metrics = new LinkedHashMap<>();
        measurements.forEach(m -> metrics.putIfAbsent(m.metric(), m));
        return metrics;
    }

    double median(String target, String metric) {
        double[] values = measurements.stream()
                .filter(m -> m.target().equals(target) && m.metric().equals(metric))
                .mapToDouble(Measurement::value).sorted().toArray();
        if (values.length == 0) {
            return Double.NaN;
        }
        int mid = values.length / 2;
        return values.length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    /** raftlun relative to the reference; above 1 means raftlun did better. */
    double ratio(String target, String metric, boolean higherIsBetter) {
        double ours = median(target, metric);
        double theirs = median(reference, metric);
        return higherIsBetter ? ours / theirs : theirs / ours;
    }

    String markdown(String machine) {
        List<String> targets = targets();
        List<String> contenders = contenders();
        StringBuilder md = new StringBuilder();
        md.append("| workload | unit |");
        targets.forEach(t -> md.append(' ').append(t).append(" |"));
        contenders.forEach(t -> md.append(' ').append(t).append('/').append(reference).append(" |"));
        md.append('\n').append("|---|---|");
        targets.forEach(t -> md.append("---:|"));
        contenders.forEach(t -> md.append("---:|"));
        md.append('\n');
        for (Measurement m : metrics().values()) {
            md.append("| ").append(m.metric()).append(" | ").append(m.unit()).append(" |");
            for (String t : targets) {
                md.append(' ').append(format(median(t, m.metric()))).append(" |");
            }
            for (String t : contenders) {
                double r = ratio(t, m.metric(), m.higherIsBetter());
                // no median, or a median of 0 to divide by, makes no ratio (the chart leaves those out too)
                md.append(' ').append(finite(r) ? String.format(Locale.ROOT, "%.2f×", r) : "–").append(" |");
            }
            md.append('\n');
        }
        md.append("\nMedians of all rounds; ratios are oriented so that above 1 means raftlun did better "
                + "(more throughput, less latency or memory).\n");
        if (targets.contains(RaftlunNodes.CLUSTER)) {
            md.append("The initiator reaches " + RaftlunNodes.CLUSTER + " through the portal of the volume's "
                    + "leader, the path ALUA reports active/optimized (multipath initiators use it).\n");
        }
        metricsCost(md, targets);
        if (!failures.isEmpty()) {
            md.append("\n**Failed runs** (their measurements are missing above):\n");
            failures.forEach(f -> md.append("- ").append(f).append('\n'));
        }
        md.append('\n').append(machine).append('\n');
        return md.toString();
    }

    /**
     * With and without metrics both measured: what collecting them costs on each workload, as the
     * share of throughput (or latency) given up by the node that records them.
     */
    private void metricsCost(StringBuilder md, List<String> targets) {
        if (!metricsCost.isEmpty()) {
            md.append("\nCost of metrics collection: one ").append(RaftlunNodes.SINGLE).append(" node, each workload "
                            + "run with recording on and off in turn; medians over the pairs (negative: faster with "
                            + "metrics, i.e. noise):\n\n")
                    .append("| workload | throughput given up | CPU per request added | pairs | throughput given up, "
                            + "lowest and highest pair |\n|---|---:|---:|---:|---:|\n");
            for (MetricsCost.Cost cost : metricsCost) {
                md.append(String.format(Locale.ROOT, "| %s | %+.1f%% | %+.1f%% | %d | %+.1f%% .. %+.1f%% |%n",
                        cost.workload(), 100 * cost.throughput(), 100 * cost.cpuPerRequest(), cost.pairs(),
                        100 * cost.lowestThroughput(), 100 * cost.highestThroughput()));
            }
            return;
        }
        if (!targets.contains(RaftlunNodes.SINGLE) || !targets.contains(RaftlunNodes.SINGLE_WITHOUT_METRICS)) {
            return;
        }
        md.append("\nCost of metrics collection (").append(RaftlunNodes.SINGLE).append(" against ")
                .append(RaftlunNodes.SINGLE_WITHOUT_METRICS).append(", medians of the rounds; negative: faster "
                        + "with metrics, i.e. noise):\n\n");
        for (Measurement m : metrics().values()) {
            double with = median(RaftlunNodes.SINGLE, m.metric());
            double without = median(RaftlunNodes.SINGLE_WITHOUT_METRICS, m.metric());
            if (!Double.isNaN(with) && !Double.isNaN(without) && m.unit().matches("IOPS|MiB/s|files/s|µs|ms|s")) {
                double cost = m.higherIsBetter() ? 1 - with / without : with / without - 1;
                md.append(String.format(Locale.ROOT, "- %s: %+.1f%%%n", m.metric(), 100 * cost));
            }
        }
    }

    private static String format(double value) {
        if (Double.isNaN(value)) {
            return "–";
        }
        return value >= 100 ? String.format(Locale.ROOT, "%.0f", value) : String.format(Locale.ROOT, "%.2f", value);
    }

    /**
     * The metrics the chart shows: those with a ratio for at least one contender. The rest
     * (elections, catch-up, rebuild, failover pauses) have no reference value; report.md has them.
     */
    List<Measurement> chartedMetrics() {
        List<String> contenders = contenders();
        return metrics().values().stream()
                .filter(m -> contenders.stream().anyMatch(t -> finite(ratio(t, m.metric(), m.higherIsBetter()))))
                .toList();
    }

    private static boolean finite(double value) {
        return !Double.isNaN(value) && !Double.isInfinite(value);
    }

    /** A bar per metric and contender: its ratio against the reference, with the 1.0 line drawn. */
    void chart(Path png) throws IOException {
        List<String> contenders = contenders();
        List<Measurement> metrics = chartedMetrics();
        int rowHeight = 18 * Math.max(1, contenders.size()) + 8;
        int width = 1000;
        int left = 330;
        int labelRoom = 150; // right of the longest bar: "3.88× raftlun-rf1"
        int height = 60 + rowHeight * metrics.size();
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        double max = 2.0;
        for (Measurement m : metrics) {
            for (String t : contenders) {
                double r = ratio(t, m.metric(), m.higherIsBetter());
                if (finite(r)) {
                    max = Math.max(max, r);
                }
            }
        }
        double scale = (width - left - labelRoom) / max;
        g.setColor(Color.DARK_GRAY);
        g.drawString("raftlun relative to " + reference + " (above 1 = raftlun better)", left, 20);
        Color[] colors = {new Color(0x2b6cb0), new Color(0xdd6b20), new Color(0x38a169)};
        int y = 40;
        for (Measurement m : metrics) {
            g.setColor(Color.BLACK);
            g.drawString(m.metric(), 10, y + 14);
            for (int i = 0; i < contenders.size(); i++) {
                double r = ratio(contenders.get(i), m.metric(), m.higherIsBetter());
                if (!finite(r)) {
                    continue; // this contender did not run it
                }
                int bar = (int) (r * scale);
                g.setColor(colors[i % colors.length]);
                g.fillRect(left, y + 2 + 18 * i, bar, 14);
                g.setColor(Color.BLACK);
                g.drawString(String.format(Locale.ROOT, "%.2f× %s", r, contenders.get(i)), left + bar + 4,
                        y + 14 + 18 * i);
            }
            y += rowHeight;
        }
        g.setColor(Color.RED);
        g.setStroke(new BasicStroke(1.5f));
        int one = left + (int) scale;
        g.drawLine(one, 30, one, height - 10);
        g.dispose();
        ImageIO.write(image, "png", png.toFile());
    }

    /** Every raw measurement, for whoever wants to look deeper. */
    void writeCsv(Path csv) throws IOException {
        StringBuilder text = new StringBuilder("target,metric,unit,value\n");
        for (Measurement m : measurements) {
            text.append(csvField(m.target())).append(',').append(csvField(m.metric())).append(',')
                    .append(csvField(m.unit())).append(',').append(m.value()).append('\n');
        }
        Files.writeString(csv, text);
    }

    /** A CSV field as RFC 4180 has it: quoted when it holds a comma, a quote or a line break. */
    static String csvField(String value) {
        if (value.contains(",") || value.contains("\"") || value.contains("\n")) {
            return '"' + value.replace("\"", "\"\"") + '"';
        }
        return value;
    }
}
