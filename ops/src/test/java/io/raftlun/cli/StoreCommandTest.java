package io.raftlun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.node.Node;
import io.raftlun.node.NodeOptions;
import io.raftlun.target.TargetConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The offline store tools on a lone node's data directory that a real initiator (QEMU's libiscsi)
 * wrote: export gives the image the initiator reads, import makes a volume that reads back the
 * same, and bad input is one line, exit status 1 and nothing changed.
 */
class StoreCommandTest {

    static final String IQN = "iqn.2026-11.io.raftlun:store";
    static final long SIZE = 16L << 20;

    @TempDir
    Path dir;

    record Run(int status, String out, String err) {
    }

    /** {@code raftlun ARGS} in this JVM, its output captured. */
    static Run raftlun(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(stdout, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
            picocli.CommandLine line = Main.commandLine();
            line.setErr(new java.io.PrintWriter(System.err, true));
            int status = line.execute(args);
            return new Run(status, stdout.toString(StandardCharsets.UTF_8), stderr.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    /** A refusal: status 1 and exactly one line on stderr, which says {@code why}. */
    static void refused(Run run, String why) {
        assertEquals(1, run.status(), run.toString());
        List<String> lines = run.err().lines().toList();
        assertEquals(1, lines.size(), "one line: " + run.err());
        assertTrue(lines.get(0).startsWith("raftlun: ") && lines.get(0).contains(why), run.err());
    }

    static Node startLoneNode(Path dataDir, String volume) {
        Node node = Node.start(new NodeOptions("lone", dataDir, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0)));
        node.catalog().update(config -> config.with(new TargetConfig.Target(1, IQN, null,
                List.of(new TargetConfig.Lun(1, volume, SIZE, 512, null, false)), List.of(TargetConfig.ALL),
                List.of(), null)));
        return node;
    }

    static String url(Node node) {
        return "iscsi://127.0.0.1:" + node.portal().getPort() + "/" + IQN + "/1";
    }

    static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), String.join(" ", command) + " finished");
        String text = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), String.join(" ", command) + ":\n" + text);
        assertFalse(text.contains("Pattern verification failed"), text);
    }

    /** The LUN's bytes as the initiator reads them, by qemu-img convert to a file; their SHA-256. */
    static String readThroughInitiator(Node node, Path file) throws Exception {
        run("qemu-img", "convert", "-f", "raw", "-O", "raw", url(node), file.toString());
        return sha256(file);
    }

    static String sha256(Path file) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                sha.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void exportAndImportRoundTripWhatTheInitiatorReads() throws Exception {
        Path data = dir.resolve("node");
        Path image = dir.resolve("exported.raw");
        String read;
        Node node = startLoneNode(data, "vol-export");
        try {
            run("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 5M 512k",
                    "-c", "write -P 0x33 16320k 64k", url(node));
            read = readThroughInitiator(node, dir.resolve("read.raw"));
            refused(raftlun("store", "export", "--data-dir", data.toString(), "vol-export", image.toString()),
                    "in use");
            assertFalse(Files.exists(image), "no image while the node runs");
        } finally {
            node.close();
        }

        Run inspect = raftlun("store", "inspect", "--data-dir", data.toString());
        assertEquals(0, inspect.status(), inspect.toString());
        assertTrue(inspect.out().contains("vol-export: 16 MiB") && inspect.out().contains("1.6 MiB allocated"),
                inspect.out());

        Run export = raftlun("store", "export", "--data-dir", data.toString(), "vol-export", image.toString());
        assertEquals(0, export.status(), export.toString());
        assertTrue(export.out().contains(read + "  " + image), "export prints the initiator's SHA-256:\n" + export);
        assertEquals(read, sha256(image));
        assertEquals(SIZE, Files.size(image));

        Path imported = Files.createDirectories(dir.resolve("imported"));
        Run in = raftlun("store", "import", "--data-dir", imported.toString(), image.toString(), "vol-imported");
        assertEquals(0, in.status(), in.toString());
        assertTrue(in.out().contains(read), in.out());
        Node again = startLoneNode(imported, "vol-imported");
        try {
            assertEquals(read, readThroughInitiator(again, dir.resolve("read-again.raw")),
                    "the imported volume reads back what was exported");
        } finally {
            again.close();
        }
        Run inspectImported = raftlun("store", "inspect", "--data-dir", imported.toString());
        assertTrue(inspectImported.out().contains("vol-imported: 16 MiB")
                && inspectImported.out().contains("1.6 MiB allocated"), "zeros stay thin: " + inspectImported.out());
    }

    @Test
    void badInputIsOneLineExitOneAndChangesNothing() throws Exception {
        Path data = dir.resolve("node");
        startLoneNode(data, "vol-a").close();
        Path image = dir.resolve("out.raw");

        refused(raftlun("store", "export", "--data-dir", data.toString(), "vol-nope", image.toString()),
                "no volume vol-nope");
        assertFalse(Files.exists(image));
        Path missing = dir.resolve("missing");
        refused(raftlun("store", "inspect", "--data-dir", missing.toString()), "no data directory");
        refused(raftlun("store", "export", "--data-dir", missing.toString(), "vol-a", image.toString()),
                "no data directory");
        refused(raftlun("store", "import", "--data-dir", missing.toString(), image.toString(), "vol-b"),
                "no data directory");
        assertFalse(Files.exists(missing), "a missing directory is not created");

        Path odd = dir.resolve("odd.raw");
        try (RandomAccessFile file = new RandomAccessFile(odd.toFile(), "rw")) {
            file.setLength(1_000_000);
        }
        refused(raftlun("store", "import", "--data-dir", data.toString(), odd.toString(), "vol-b"),
                "not a (non-zero) multiple of the 512-byte block size");
        refused(raftlun("store", "import", "--data-dir", data.toString(), odd.toString(), "vol-a"),
                "not a (non-zero) multiple");
        Run inspect = raftlun("store", "inspect", "--data-dir", data.toString(), "-o", "json");
        assertEquals(0, inspect.status(), inspect.toString());
        assertTrue(inspect.out().contains("\"vol-a\"") && !inspect.out().contains("vol-b"),
                "no volume was created: " + inspect.out());
    }
}
