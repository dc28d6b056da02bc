package io.raftlun.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs libiscsi's conformance suite, {@code iscsi-test-cu}, and reads its verbose output test by
 * test. CUnit counts a skipped test as passed; libiscsi marks skips with a {@code [SKIPPED]} line,
 * so a test is: failed if it ends in FAILED, skipped if it printed [SKIPPED], passed otherwise.
 */
public final class IscsiTestCu {

    /** One test's outcome. */
    public enum Outcome { PASSED, FAILED, SKIPPED }

    public record TestResult(String suite, String test, Outcome outcome, String detail) {
        public String name() {
            return suite + "." + test;
        }
    }

    public record Report(List<TestResult> results, String output) {
        public long count(Outcome outcome) {
            return results.stream().filter(r -> r.outcome() == outcome).count();
        }

        public List<TestResult> failures() {
            return results.stream().filter(r -> r.outcome() == Outcome.FAILED).toList();
        }

        /** The closing line a person reads, e.g. "iscsi-test-cu: 170 passed, 0 failed, 60 skipped". */
        public String summary() {
            return "iscsi-test-cu: " + count(Outcome.PASSED) + " passed, " + count(Outcome.FAILED) + " failed, "
                    + count(Outcome.SKIPPED) + " skipped (of " + results.size() + ")";
        }
    }

    private static final Pattern SUITE = Pattern.compile("^Suite: (.+)$");
    private static final Pattern TEST = Pattern.compile("^\\s+Test: (.+?) \\.\\.\\.(.*)$");

    private IscsiTestCu() {
    }

    /**
     * Runs the suite against {@code url} (and {@code multipathUrl}, the same LUN through another
     * portal, when not null), with destructive tests allowed: the LUN must hold nothing of value.
     */
    public static Report run(String url, String multipathUrl, String tests, Duration timeout)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("iscsi-test-cu", "--dataloss", "--verbose", "--test", tests,
                url));
        if (multipathUrl != null) {
            command.add(multipathUrl);
        }
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("iscsi-test-cu is missing: install Debian's libiscsi-bin (see .ci/run)", e);
        }
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
            process.destroyForcibly();
            reader.join(5000);
            String text = output[0] == null ? "" : new String(output[0], StandardCharsets.ISO_8859_1);
            throw new IOException("iscsi-test-cu did not finish within " + timeout.toSeconds() + " s; its output "
                    + "ended with:\n" + text.substring(Math.max(0, text.length() - 4000)));
        }
        reader.join();
        String text = new String(output[0], StandardCharsets.ISO_8859_1);
        return new Report(parse(text), text);
    }

    static List<TestResult> parse(String output) {
        List<TestResult> results = new ArrayList<>();
        String suite = "?";
        String test = null;
        StringBuilder body = new StringBuilder();
        for (String line : output.split("\n")) {
            Matcher suiteLine = SUITE.matcher(line);
            if (suiteLine.matches()) {
                suite = suiteLine.group(1).trim();
                continue;
            }
            Matcher testLine = TEST.matcher(line);
            if (testLine.matches()) {
                test = testLine.group(1).trim();
                body.setLength(0);
                line = testLine.group(2);
            }
            if (test == null) {
                continue;
            }
            body.append(line).append('\n');
            String trimmed = line.trim();
            // The verdict ends its line, or opens it when later log text shares the line.
            boolean passed = trimmed.endsWith("passed") || trimmed.startsWith("passed");
            boolean failed = trimmed.endsWith("FAILED") || trimmed.startsWith("FAILED");
            if (passed || failed) {
                String detail = body.toString().trim();
                Outcome outcome = failed ? Outcome.FAILED
                        : detail.contains("[SKIPPED]") ? Outcome.SKIPPED : Outcome.PASSED;
                results.add(new TestResult(suite, test, outcome, detail));
                test = null;
            }
        }
        return results;
    }
}
