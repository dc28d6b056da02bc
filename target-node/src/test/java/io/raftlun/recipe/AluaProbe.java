package io.raftlun.recipe;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code src/test/c/alua-probe.c}, built with gcc against libiscsi: REPORT TARGET PORT GROUPS and
 * the ASYMMETRIC ACCESS STATE CHANGED unit attention as a multipath initiator's ALUA handler sees
 * them (no initiator tool of libiscsi-bin sends that command).
 */
public final class AluaProbe {

    private final Path binary;

    private AluaProbe(Path binary) {
        this.binary = binary;
    }

    public static AluaProbe build(Path dir) throws IOException, InterruptedException {
        Path binary = dir.resolve("alua-probe");
        Path source = Path.of("src/test/c/alua-probe.c"); // from target-node; ops' tests run it too
        if (!java.nio.file.Files.exists(source)) {
            source = Path.of("../target-node/src/test/c/alua-probe.c");
        }
        Shell.run("gcc", "-O2", "-Wall", "-o", binary.toString(), source.toAbsolutePath().toString(), "-liscsi")
                .orFail("building alua-probe (gcc, libiscsi-dev)");
        return new AluaProbe(binary);
    }

    /** Each group's state as the LUN at {@code url} reports it, by group tag. */
    public Map<Integer, String> groups(String url) throws IOException, InterruptedException {
        return parse(Shell.run(binary.toString(), url).orFail("alua-probe " + url).output().lines().toList());
    }

    /** A session waiting for the state-change unit attention (see {@link #waitForChange}). */
    public final class Watch implements AutoCloseable {
        private final Process process;
        private final BufferedReader out;
        private final List<String> lines = new ArrayList<>();

        private Watch(Process process) {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        /** The groups before the change, once the session is logged in and polling. */
        public Map<Integer, String> before() throws IOException {
            List<String> before = new ArrayList<>();
            for (String line = out.readLine(); line != null && !line.equals("waiting"); line = out.readLine()) {
                before.add(line);
            }
            return parse(before);
        }

        /** The groups after the unit attention; fails if none came. */
        public Map<Integer, String> after() throws IOException, InterruptedException {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
            }
            if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0
                    || !lines.contains("unit attention: asymmetric access state changed")) {
                throw new AssertionError("alua-probe saw no ASYMMETRIC ACCESS STATE CHANGED: " + lines + "\n"
                        + new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            return parse(lines);
        }

        /** The blocks READ CAPACITY(16) reports after the unit attention; fails if none came. */
        public long capacity() throws IOException, InterruptedException {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
                if (line.startsWith("capacity ")) {
                    return Long.parseLong(line.substring("capacity ".length()));
                }
            }
            throw new AssertionError("alua-probe saw no CAPACITY DATA HAS CHANGED: " + lines + "\n"
                    + new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    /**
     * Logs in through {@code url} and polls until CAPACITY DATA HAS CHANGED arrives or
     * {@code seconds} pass (see {@link Watch#capacity}).
     */
    public Watch waitForCapacityChange(String url, int seconds) throws IOException {
        return new Watch(new ProcessBuilder(binary.toString(), url, Integer.toString(seconds), "capacity").start());
    }

    /** Logs in through {@code url} and polls until the unit attention or {@code seconds} pass. */
    public Watch waitForChange(String url, int seconds) throws IOException {
        return new Watch(new ProcessBuilder(binary.toString(), url, Integer.toString(seconds)).start());
    }

    private static Map<Integer, String> parse(List<String> lines) {
        Map<Integer, String> groups = new TreeMap<>();
        for (String line : lines) {
            String[] words = line.split(" ");
            if (words[0].equals("group")) {
                groups.put(Integer.parseInt(words[1]), words[2]);
            }
        }
        return groups;
    }
}
