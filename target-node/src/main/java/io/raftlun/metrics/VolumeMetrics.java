package io.raftlun.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.raftlun.scsi.SenseCounter;
import io.raftlun.volume.BlockVolume;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The I/O metrics of the volumes this node serves, labelled by volume: requests, bytes and latency
 * by operation, requests in flight, failures, and CHECK CONDITIONs by sense key. A volume served
 * by several LUNs, or served again after its LUN was removed, keeps its meters.
 */
public final class VolumeMetrics {

    private final MeterRegistry registry;
    private final LatencyHistograms.Family latency;
    private final Map<String, VolumeIoMeters> volumes = new ConcurrentHashMap<>();

    public VolumeMetrics(MeterRegistry registry, LatencyHistograms histograms) {
        this.registry = registry;
        this.latency = histograms.family("raftlun_volume_io_seconds",
                "Volume request latency on this node, by operation (its count: operations done)", "volume", "op");
    }

    /** Metrics that go nowhere (tests, tools). */
    public static VolumeMetrics none() {
        return new VolumeMetrics(new SimpleMeterRegistry(), LatencyHistograms.none());
    }

    /** {@code volume}, its I/O counted under its name. */
    public BlockVolume metered(BlockVolume volume) {
        return new MeteredVolume(volume, meters(volume.name()));
    }

    /** Where a LUN of {@code volume} counts its CHECK CONDITIONs. */
    public SenseCounter senses(String volume) {
        return meters(volume);
    }

    private VolumeIoMeters meters(String volume) {
        return volumes.computeIfAbsent(volume, name -> new VolumeIoMeters(registry, latency, name));
    }
}
