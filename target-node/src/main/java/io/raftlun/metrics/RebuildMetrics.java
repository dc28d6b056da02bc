package io.raftlun.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.raftlun.cluster.ClusterNode;
import io.raftlun.cluster.Rebuild;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Progress of the replicas being rebuilt on this node (a replaced node's, a re-added one), per
 * volume: bytes copied, bytes left and the copy rate, so a rebuild shows in the dashboards and
 * its end can be alerted on. A rebuild keeps its figures (0 left) until the node restarts.
 */
public final class RebuildMetrics {

    private final MeterRegistry registry;
    private final ClusterNode cluster;
    private final KeyedMeters rebuilds;

    public RebuildMetrics(MeterRegistry registry, ClusterNode cluster) {
        this.registry = registry;
        this.cluster = cluster;
        this.rebuilds = new KeyedMeters(registry);
    }

    public void refresh() {
        rebuilds.sync(cluster.rebuilds().keySet(), volume -> {
            Rebuild rebuild = cluster.rebuilds().get(volume);
            return List.of(
                    gauge("raftlun_rebuild_bytes_done", volume, rebuild, Rebuild::bytesDone,
                            "Bytes of the volume copied to this node's new replica"),
                    gauge("raftlun_rebuild_bytes_remaining", volume, rebuild, Rebuild::bytesRemaining,
                            "Bytes still to copy to this node's new replica (0 once copied)"),
                    gauge("raftlun_rebuild_bytes_per_second", volume, rebuild, Rebuild::bytesPerSecondNow,
                            "Copy rate of this node's new replica over the last batches"));
        });
    }

    private Meter gauge(String metric, String volume, Rebuild rebuild, ToDoubleFunction<Rebuild> figure,
                        String description) {
        return Gauge.builder(metric, rebuild, figure).tag("volume", volume).strongReference(true)
                .description(description).register(registry);
    }
}
