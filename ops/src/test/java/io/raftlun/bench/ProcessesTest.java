package io.raftlun.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessesTest {

    @Test
    void cpuTimeOfAProcessGrowsAsItComputesAndMatchesWhatTheJvmCounts() {
        long pid = ProcessHandle.current().pid();
        long before = Processes.cpuNanos(pid);
        long threadBefore = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        long sink = 0;
        while (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - threadBefore < 300_000_000L) {
            sink += Long.numberOfTrailingZeros(sink + System.nanoTime());
        }
        long used = Processes.cpuNanos(pid) - before;
        assertTrue(used >= 250_000_000L, "300 ms of computing counted as " + used / 1_000_000 + " ms (" + sink + ")");
    }

    /** A cluster node started again (the catch-up measurement) keeps its first run's log. */
    @Test
    void aProcessStartedAgainAddsToItsLog(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("node.log");
        Processes.start(log, List.of("echo", "first run")).waitFor();
        Processes.startAppending(log, List.of("echo", "second run")).waitFor();
        assertEquals("first run\nsecond run\n", Files.readString(log));
    }

    @Test
    void aProcessThatIsGoneHasUsedNothing() {
        assertEquals(0, Processes.cpuNanos(Long.MAX_VALUE));
        assertEquals(0, Processes.compilerNanos(Long.MAX_VALUE));
    }

    @Test
    void theJitCompilersOfThisJvmHaveUsedSomeOfItsCpuTime() {
        long pid = ProcessHandle.current().pid();
        long compiler = Processes.compilerNanos(pid);
        // starting JUnit alone makes C1 and C2 compile hundreds of methods: far more than one 10 ms tick
        assertTrue(compiler > 0, "the C1/C2 compiler threads were found and have used CPU time");
        assertTrue(compiler <= Processes.cpuNanos(pid), "compiler time is a part of the process's CPU time: "
                + compiler + " of " + Processes.cpuNanos(pid));
    }

    @Test
    void aCommandPinnedToACpuRunsOnThatCpuOnly() throws Exception {
        List<String> command = List.of("grep", "Cpus_allowed_list", "/proc/self/status");
        assertEquals(command, Processes.onCpu(-1, command), "not pinned");
        Assumptions.assumeTrue(Processes.onPath("taskset"), "taskset (util-linux) is not installed");
        List<Integer> cpus = Processes.allowedCpus();
        assertEquals(Runtime.getRuntime().availableProcessors(), cpus.size(), "the CPUs this JVM may use: " + cpus);
        int cpu = cpus.get(cpus.size() - 1);
        String allowed = Processes.run(Duration.ofSeconds(10), Processes.onCpu(cpu, command));
        assertEquals("Cpus_allowed_list:\t" + cpu, allowed.strip());
    }
}
