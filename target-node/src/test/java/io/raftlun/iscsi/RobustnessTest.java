package io.raftlun.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.blockstore.NodeStorage;
import io.raftlun.scsi.BlockTarget;
import io.raftlun.scsi.LogicalUnit;
import io.raftlun.scsi.LunIdentity;
import io.raftlun.volume.BlockVolume;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input does no harm: thousands of malformed and mutated PDUs hit a node while a real initiator
 * (qemu-io through QEMU's libiscsi) writes and verifies patterns in a session of its own. The node
 * stays up, the verified session never sees an error, and memory stays bounded.
 */
class RobustnessTest {

    private static final String IQN = "iqn.2026-11.io.raftlun:fuzz";
    private static final int FUZZ_SECONDS = 20;
    private static final int MAX_CONNECTIONS = 4000;

    @TempDir
    Path dataDir;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void malformedPdusDoNoHarmToTheNodeOrToOtherSessions() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dataDir)) {
            BlockVolume volume = storage.openVolume("fuzz", 64L * 1024 * 1024 / 512, 512);
            BlockTarget scsi = new BlockTarget(List.of(new LogicalUnit(1, volume, LunIdentity.forVolume("fuzz"),
                    false)));
            FixedDirectory directory = new FixedDirectory().add(FixedDirectory.Target.open(IQN, scsi, "127.0.0.1:0,1"));
            IscsiSettings settings = new IscsiSettings(new InetSocketAddress("127.0.0.1", 0), 1, Duration.ofSeconds(2),
                    Duration.ofSeconds(4));
            try (IscsiServer server = IscsiServer.start(settings, directory)) {
                InetSocketAddress portal = server.localAddress();
                long heapBefore = usedHeapAfterGc();

                AtomicBoolean fuzzing = new AtomicBoolean(true);
                List<PduFuzzer> fuzzers = List.of(new PduFuzzer(portal, IQN, 1), new PduFuzzer(portal, IQN, 2));
                List<CompletableFuture<Void>> running = new ArrayList<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(FUZZ_SECONDS);
                for (PduFuzzer fuzzer : fuzzers) {
                    running.add(CompletableFuture.runAsync(() -> {
                        try {
                            while (fuzzing.get() && System.nanoTime() < deadline
                                    && fuzzer.connections < MAX_CONNECTIONS) {
                                fuzzer.oneConnection(40);
                            }
                        } catch (Exception e) {
                            throw new IllegalStateException("fuzzer lost its footing: " + e, e);
                        }
                    }));
                }
                VerifiedSession verified = new VerifiedSession(portal);
                // A stuck I/O would block reading qemu-io's output for ever: end it, and the test fails.
                CompletableFuture.delayedExecutor(FUZZ_SECONDS + 60, TimeUnit.SECONDS)
                        .execute(verified.process::destroyForcibly);
                int rounds = 0;
                try {
                    while (System.nanoTime() < deadline) {
                        verified.writeAndVerify(rounds++);
                    }
                } finally {
                    fuzzing.set(false);
                    verified.close();
                }
                for (CompletableFuture<Void> f : running) {
                    f.get(60, TimeUnit.SECONDS);
                }
                long pdus = fuzzers.stream().mapToLong(f -> f.pdusSent).sum();
                long connections = fuzzers.stream().mapToLong(f -> f.connections).sum();
                System.out.printf("robustness: %d malformed or mutated PDUs over %d connections; %d verified rounds "
                        + "of 64 KiB write+read in the other session%n", pdus, connections, rounds);
                assertTrue(pdus > 5000, "the fuzzers sent only " + pdus + " PDUs");
                assertTrue(rounds > 10, "the verified session completed only " + rounds + " rounds");
                assertEquals("", verified.errors(), "the verified session saw errors");

                // The node still serves new sessions.
                String inquiry = DiscoveryWithIscsiLsTest.run("iscsi-inq",
                        "iscsi://127.0.0.1:" + portal.getPort() + "/" + IQN + "/1");
                assertTrue(inquiry.contains("RAFTLUN"), inquiry);

                long growth = usedHeapAfterGc() - heapBefore;
                assertTrue(growth < 64L * 1024 * 1024, "heap grew by " + growth / (1024 * 1024) + " MiB");
            }
        }
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** One long-lived qemu-io session writing a pattern and reading it back, round after round. */
    private static final class VerifiedSession implements AutoCloseable {
        private final Process process;
        private final Writer commands;
        private final BufferedReader output;
        private final StringBuilder errors = new StringBuilder();

        VerifiedSession(InetSocketAddress portal) throws Exception {
            // stdbuf: qemu-io buffers its output when it goes to a pipe, and each answer is awaited here
            process = new ProcessBuilder("stdbuf", "-oL", "-eL", "qemu-io", "-f", "raw",
                    "iscsi://127.0.0.1:" + portal.getPort() + "/" + IQN + "/1")
                    .redirectErrorStream(true).start();
            commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        void writeAndVerify(int round) throws Exception {
            int pattern = 1 + round % 250;
            long offset = (round % 512) * 65536L;
            // One command at a time: qemu-io reads stdin through stdio, and a second line already
            // buffered there is not seen until more input arrives.
            commands.write("write -P " + pattern + " " + offset + " 64k\n");
            commands.flush();
            expect("wrote 65536/65536 bytes");
            commands.write("read -P " + pattern + " " + offset + " 64k\n");
            commands.flush();
            expect("read 65536/65536 bytes");
        }

        private void expect(String done) throws Exception {
            String line;
            while ((line = output.readLine()) != null) {
                if (line.contains("failed") || line.contains("error") || line.contains("Error")) {
                    errors.append(line).append('\n');
                }
                if (line.contains(done)) {
                    return;
                }
            }
            throw new AssertionError("qemu-io ended before '" + done + "'; errors so far: " + errors);
        }

        String errors() {
            return errors.toString();
        }

        @Override
        public void close() throws Exception {
            commands.write("quit\n");
            commands.flush();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
