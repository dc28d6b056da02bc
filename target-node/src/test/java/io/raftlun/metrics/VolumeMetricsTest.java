package io.raftlun.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.Unpooled;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.raftlun.iscsi.IscsiMetrics;
import io.raftlun.scsi.Sense;
import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.MemoryVolume;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class VolumeMetricsTest {

    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final LatencyHistograms histograms = new LatencyHistograms(new PrometheusRegistry(), "node1");

    @Test
    void completedRequestsAreTimedWithTheirBytesAndFailuresCountedApart() throws Exception {
        BlockVolume volume = new VolumeMetrics(registry, histograms).metered(new MemoryVolume("vol-a", 64, 512));
        volume.write(0, Unpooled.wrappedBuffer(new byte[4096]), false).get();
        volume.read(0, 4).get().release();
        assertThrows(ExecutionException.class, () -> volume.read(60, 8).get()); // beyond the end

        assertEquals(1, latencies("vol-a", "write"));
        assertEquals(4096, registry.get("raftlun_volume_io_bytes_total").tags("volume", "vol-a", "op", "write")
                .counter().count());
        assertEquals(1, latencies("vol-a", "read"));
        assertEquals(2048, registry.get("raftlun_volume_io_bytes_total").tags("volume", "vol-a", "op", "read")
                .counter().count());
        assertEquals(1, registry.get("raftlun_volume_io_errors_total").tags("volume", "vol-a", "op", "read")
                .counter().count());
        assertEquals(0, registry.get("raftlun_volume_queue_depth").tags("volume", "vol-a").gauge().value());
    }

    @Test
    void requestsStartedWhileRecordingIsOffAreNotCountedEvenIfItIsBackOnWhenTheyEnd() throws Exception {
        BlockVolume volume = new VolumeMetrics(registry, histograms).metered(new MemoryVolume("vol-c", 64, 512));
        histograms.recording(false);
        java.util.concurrent.CompletableFuture<io.netty.buffer.ByteBuf> read = volume.read(0, 4);
        histograms.recording(true);
        read.get().release();
        assertEquals(0, latencies("vol-c", "read"));
        assertEquals(0, registry.get("raftlun_volume_io_bytes_total").tags("volume", "vol-c", "op", "read")
                .counter().count());
        assertEquals(0, registry.get("raftlun_volume_queue_depth").tags("volume", "vol-c").gauge().value());
        volume.read(0, 4).get().release();
        assertEquals(1, latencies("vol-c", "read"));
    }

    private long latencies(String volume, String op) {
        return histograms.family("raftlun_volume_io_seconds", "", "volume", "op").series(volume, op).count();
    }

    @Test
    void theMeteredVolumePassesEveryMethodOnIncludingDefaultOnes() throws Exception {
        for (java.lang.reflect.Method method : BlockVolume.class.getMethods()) {
            if (!java.lang.reflect.Modifier.isStatic(method.getModifiers())) {
                assertEquals(MeteredVolume.class, MeteredVolume.class.getMethod(method.getName(),
                        method.getParameterTypes()).getDeclaringClass(), method + " is passed on");
            }
        }
    }

    @Test
    void checkConditionsAreCountedBySenseKeyWithUnnamedKeysAsOther() {
        VolumeMetrics metrics = new VolumeMetrics(registry, histograms);
        metrics.senses("vol-b").checkCondition(Sense.UNIT_ATTENTION);
        metrics.senses("vol-b").checkCondition(Sense.MEDIUM_ERROR);
        metrics.senses("vol-b").checkCondition(0x9); // vendor specific
        assertEquals(1, count("vol-b", "unit_attention"));
        assertEquals(1, count("vol-b", "medium_error"));
        assertEquals(1, count("vol-b", "other"));
        assertEquals(0, count("vol-b", "not_ready"));
    }

    private double count(String volume, String senseKey) {
        return registry.get("raftlun_scsi_check_conditions_total").tags("volume", volume, "sense_key", senseKey)
                .counter().count();
    }

    @Test
    void sessionGaugesOfAnInitiatorGoWithItsLastSession() {
        IscsiMetrics metrics = new IscsiMetrics(registry, histograms);
        metrics.sessionStarted("iqn.t", "iqn.i");
        metrics.sessionStarted("iqn.t", "iqn.i");
        metrics.sessionEnded("iqn.t", "iqn.i");
        assertEquals(1, registry.get("raftlun_iscsi_sessions").tags("target", "iqn.t", "initiator", "iqn.i")
                .gauge().value());
        metrics.sessionEnded("iqn.t", "iqn.i");
        assertNull(registry.find("raftlun_iscsi_sessions").tags("initiator", "iqn.i").gauge());
        assertNull(registry.find("raftlun_iscsi_session_connections").tags("initiator", "iqn.i").gauge());
    }

    @Test
    void aConnectionTimesItsFirstCommandAndOneInEightAfterIt() {
        IscsiMetrics metrics = new IscsiMetrics(registry, histograms);
        IscsiMetrics.CommandTimers first = metrics.commandTimers("iqn.t");
        IscsiMetrics.CommandTimers second = metrics.commandTimers("iqn.t");
        for (int command = 0; command < 2 * IscsiMetrics.CommandTimers.TIMED_ONE_IN + 1; command++) {
            first.record(true, false, first.start());
        }
        second.record(false, true, second.start());

        LatencyHistograms.Family commands = histograms.family("raftlun_iscsi_command_seconds", "", "target", "direction");
        assertEquals(3, commands.series("iqn.t", "read").count()); // commands 1, 9 and 17
        assertEquals(1, commands.series("iqn.t", "write").count()); // the other connection's first
        assertEquals(0, commands.series("iqn.t", "none").count());
    }
}
