package io.raftlun.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Running the real tools the benchmark drives: bounded in time, output captured. */
final class Processes {

    private Processes() {
    }

    /** Runs a command to completion; fails with its output if it exits non-zero or runs too long. */
    static String run(Duration timeout, String... command) throws IOException, InterruptedException {
        return run(timeout, List.of(command));
    }

    static String run(Duration timeout, List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[][] output = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                output[0] = process.getInputStream().readAllBytes();
            } catch (IOException e) {
                output[0] = new byte[0];
            }
        });
        reader.start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            reader.join(1000);
            throw new IOException(String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s");
        }
        reader.join();
        String text = new String(output[0], StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + process.exitValue() + ":\n" + text);
        }
        return text;
    }

    /** Starts a long-running helper (a daemon), its output going to {@code log}. */
    static Process start(Path log, List<String> command) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** {@link #start}, the output added to what {@code log} holds already. */
    static Process startAppending(Path log, List<String> command) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    static void stop(Process process) throws InterruptedException {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Resident set size of a process and its children in bytes, from /proc (0 if it is gone). */
    static long residentBytes(long pid) {
        long total = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    total += Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return total;
    }

    /**
     * CPU time (user and system, every thread) a process has used so far, in nanoseconds, from
     * /proc/PID/stat (0 if it is gone). Its clock ticks are USER_HZ, 100 per second on Linux.
     */
    static long cpuNanos(long pid) {
        return statCpuNanos(Path.of("/proc", Long.toString(pid), "stat"));
    }

    /**
     * CPU time a JVM's JIT compiler threads ("C1 CompilerThread0", "C2 CompilerThread1", ...) have
     * used so far, in nanoseconds, from /proc/PID/task (0 if it is gone).
     */
    static long compilerNanos(long pid) {
        long total = 0;
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String thread = Files.readString(task.resolve("comm"));
                    if (thread.startsWith("C1 CompilerThre") || thread.startsWith("C2 CompilerThre")) {
                        total += statCpuNanos(task.resolve("stat"));
                    }
                } catch (IOException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            return total;
        }
        return total;
    }

    /** User and system CPU time in a /proc stat file (a process's or a thread's), in nanoseconds. */
    private static long statCpuNanos(Path statFile) {
        try {
            String stat = Files.readString(statFile);
            // "pid (comm) state ppid ...": comm may hold spaces; utime and stime are fields 14 and 15
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            return ticks * 10_000_000L;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /**
     * {@code command} run on CPU {@code cpu} only (through {@code taskset}), or as it is where
     * that cannot be: {@code cpu} negative, or taskset missing.
     */
    static List<String> onCpu(int cpu, List<String> command) {
        if (cpu < 0 || !onPath("taskset")) {
            return command;
        }
        List<String> pinned = new java.util.ArrayList<>(List.of("taskset", "--cpu-list", Integer.toString(cpu)));
        pinned.addAll(command);
        return pinned;
    }

    /** The CPUs this process may run on (its {@code Cpus_allowed_list}), in order; empty if unknown. */
    static List<Integer> allowedCpus() {
        List<Integer> cpus = new java.util.ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    for (String range : line.substring(line.indexOf(':') + 1).strip().split(",")) {
                        String[] ends = range.split("-");
                        int first = Integer.parseInt(ends[0].strip());
                        int last = Integer.parseInt(ends[ends.length - 1].strip());
                        for (int cpu = first; cpu <= last; cpu++) {
                            cpus.add(cpu);
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            cpus.clear(); // not Linux, or a format not known: nothing pinned
        }
        return cpus;
    }

    /** True if {@code tool} is on the PATH. */
    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    static void waitForPort(String host, int port, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (java.net.Socket socket = new java.net.Socket()) {
                socket.connect(new java.net.InetSocketAddress(host, port), 500);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("nothing listens on " + host + ":" + port + " after " + timeout.toSeconds()
                            + " s", e);
                }
                Thread.sleep(100);
            }
        }
    }
}
