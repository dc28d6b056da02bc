package io.raftlun.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.blockstore.VolumeRecord;
import io.raftlun.node.AdminToken;
import io.raftlun.node.Node;
import io.raftlun.node.NodeOptions;
import io.raftlun.recipe.Shell;
import io.raftlun.target.ConfigFiles;
import io.raftlun.target.TargetConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bit rot under one node's replica, written by a real initiator: reads through that node never
 * return the bad bytes, and a scrub through the admin API names the corrupt blocks and repairs
 * them from the healthy replicas, after which verify finds the replicas agreeing. On a lone node
 * the scrub names them and reads of them fail rather than return them.
 */
class ScrubTest {

    static final String IQN = "iqn.2026-11.io.raftlun:scrub";
    static final String VOLUME = "vol-scrub";
    static final int BLOCK = 512;
    /** Read through node 3 before the scrub, so healed on the read path (region of 1 MiB at 0, pattern 0xa5). */
    static final long[] READ_BEFORE = {10, 1000};
    /** Left for the scrub (region of 1 MiB at 4 MiB, pattern 0x3c). */
    static final long[] LEFT_FOR_SCRUB = {8192 + 5, 8192 + 1500};

    final List<Node> nodes = new ArrayList<>();
    final List<NodeOptions> options = new ArrayList<>();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() {
        for (Node node : nodes) {
            if (node != null) {
                node.close();
            }
        }
    }

    String url(int node) {
        InetSocketAddress portal = nodes.get(node).portal();
        return "iscsi://" + portal.getAddress().getHostAddress() + ":" + portal.getPort() + "/" + IQN + "/1";
    }

    /** qemu-io through a node; fails the test if the command or its pattern check fails. */
    void qemuIo(int node, String command) throws Exception {
        Shell.Result result = Shell.run("qemu-io", "-f", "raw", "-c", command, url(node))
                .orFail("qemu-io " + command + " through node " + (node + 1));
        assertFalse(result.output().contains("Pattern verification failed") || result.output().contains("error"),
                "qemu-io " + command + " through node " + (node + 1) + ":\n" + result.output());
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void scrubRepairsBitRotUnderOneReplicaAndInitiatorsNeverReadIt(@TempDir Path dir) throws Exception {
        options.addAll(ThreeNodeClusterTest.threeNodes(dir, "scrub", Duration.ofMillis(1000), false));
        for (NodeOptions node : options) {
            nodes.add(Node.start(node));
        }
        nodes.get(0).catalog().update(config -> config.with(new TargetConfig.Target(1, IQN, null,
                List.of(new TargetConfig.Lun(1, VOLUME, 64L << 20, BLOCK, null, false)), List.of(TargetConfig.ALL),
                List.of(), null)));
        for (Node node : nodes) {
            ThreeNodeClusterTest.waitFor(() -> node.catalog().find(IQN).isPresent(), "every node serves the target");
        }
        qemuIo(0, "write -P 0xa5 0 1M");
        qemuIo(0, "write -P 0x3c 4M 1M");
        qemuIo(2, "read -P 0x3c 4M 1M"); // node 3 applied both writes (a linearizable read there)

        VolumeRecord record = nodes.get(2).storage().volume(VOLUME);
        nodes.set(2, null).close();
        for (long block : READ_BEFORE) {
            flip(record, block);
        }
        for (long block : LEFT_FOR_SCRUB) {
            flip(record, block);
        }
        nodes.set(2, Node.start(options.get(2)));
        ThreeNodeClusterTest.waitFor(() -> nodes.get(2).cluster().replicaOf(VOLUME) != null
                && nodes.get(2).cluster().replicaOf(VOLUME).serving(), "node 3's replica serves again");

        qemuIo(2, "read -P 0xa5 0 1M");
        assertEquals(READ_BEFORE.length, nodes.get(2).storage().counters(VOLUME).repairedBlocks(),
                "the read through node 3 met the corrupt blocks and healed them");

        Map<?, ?> scrub = runCheck(0, "scrub");
        assertEquals(LEFT_FOR_SCRUB.length, scrub.get("corruptBlocks"), scrub.toString());
        assertEquals(LEFT_FOR_SCRUB.length, ((Number) scrub.get("repairedBlocks")).intValue(), scrub.toString());
        TreeSet<Long> named = new TreeSet<>();
        for (Object f : (List<?>) scrub.get("corrupt")) {
            assertEquals("node3", ((Map<?, ?>) f).get("replica"), scrub.toString());
            named.add(((Number) ((Map<?, ?>) f).get("block")).longValue());
        }
        assertEquals(new TreeSet<>(List.of(LEFT_FOR_SCRUB[0], LEFT_FOR_SCRUB[1])), named, "the report names the blocks");
        assertEquals(0, ((Map<?, ?>) runCheck(1, "verify")).get("differingChunks"), "the replicas' maps agree");

        for (long block : READ_BEFORE) {
            assertTrue(blockHolds(record, block, (byte) 0xa5), "node 3's file holds block " + block + " again");
        }
        for (long block : LEFT_FOR_SCRUB) {
            assertTrue(blockHolds(record, block, (byte) 0x3c), "node 3's file holds block " + block + " again");
        }
        qemuIo(2, "read -P 0x3c 4M 1M");
        qemuIo(2, "read -P 0xa5 0 1M");
        String metrics = get(2, "/metrics");
        assertTrue(metrics.contains("raftlun_scrub_corruptions_repaired_total{node=\"node3\",volume=\"" + VOLUME
                + "\"} 2.0"), metrics.lines().filter(l -> l.startsWith("raftlun_scrub")).toList().toString());
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aLoneNodesScrubNamesCorruptBlocksAndReadsOfThemFailRatherThanReturnThem(@TempDir Path dir)
            throws Exception {
        options.add(new NodeOptions("lone", dir.resolve("lone"), new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0)));
        nodes.add(Node.start(options.get(0)));
        nodes.get(0).catalog().update(config -> config.with(new TargetConfig.Target(1, IQN, null,
                List.of(new TargetConfig.Lun(1, VOLUME, 64L << 20, BLOCK, null, false)), List.of(TargetConfig.ALL),
                List.of(), null)));
        qemuIo(0, "write -P 0x3c 4M 1M");
        VolumeRecord record = nodes.get(0).storage().volume(VOLUME);
        nodes.set(0, null).close();
        flip(record, LEFT_FOR_SCRUB[0]);
        nodes.set(0, Node.start(options.get(0)));

        Map<?, ?> scrub = runCheck(0, "scrub");
        assertEquals(1, scrub.get("corruptBlocks"), scrub.toString());
        assertEquals(0, ((Number) scrub.get("repairedBlocks")).intValue(), "no other copy to repair from");
        assertEquals(LEFT_FOR_SCRUB[0], ((Number) ((Map<?, ?>) ((List<?>) scrub.get("corrupt")).get(0)).get("block"))
                .longValue());
        Shell.Result read = Shell.run("qemu-io", "-f", "raw", "-c", "read -P 0x3c 4M 1M", url(0));
        assertTrue(read.output().contains("read failed") && !read.output().contains("read 1048576/1048576"),
                "the read of the corrupt block fails (MEDIUM ERROR) instead of returning it:\n" + read.output());
        qemuIo(0, "read -P 0x3c 4M 2k"); // the blocks before it still read
        HttpResponse<String> verify = send(0, "POST", "/api/volumes/" + VOLUME + "/verify");
        assertEquals(409, verify.statusCode(), verify.body());
    }

    /** Starts a check through a node's admin API and follows it to its end (bounded). */
    Map<?, ?> runCheck(int node, String kind) throws Exception {
        String path = "/api/volumes/" + VOLUME + "/" + kind;
        Map<?, ?> report = ConfigFiles.JSON.readValue(call(node, "POST", path + "?rate=256"), Map.class);
        for (int i = 0; i < 600 && "running".equals(report.get("state")); i++) {
            Thread.sleep(100);
            report = ConfigFiles.JSON.readValue(get(node, path), Map.class);
        }
        assertEquals("done", report.get("state"), kind + " finished: " + report);
        assertEquals(List.of(), report.get("unreachable"), report.toString());
        return report;
    }

    String get(int node, String path) throws Exception {
        return call(node, "GET", path);
    }

    String call(int node, String method, String path) throws Exception {
        HttpResponse<String> response = send(node, method, path);
        assertEquals(200, response.statusCode(), method + " " + path + ": " + response.body());
        return response.body();
    }

    HttpResponse<String> send(int node, String method, String path) throws Exception {
        InetSocketAddress admin = nodes.get(node).adminAddress();
        String token = Files.readString(options.get(node).dataDir().resolve(AdminToken.FILE)).trim();
        return http.send(HttpRequest.newBuilder(URI.create("http://"
                + admin.getAddress().getHostAddress() + ":" + admin.getPort() + path))
                .header("Authorization", "Bearer " + token).method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Inverts four bytes of the block in the stopped node's data file. */
    static void flip(VolumeRecord record, long block) throws IOException {
        try (FileChannel data = FileChannel.open(Path.of(record.dataPath()), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer bytes = ByteBuffer.allocate(4);
            long at = record.dataOffset() + block * BLOCK + 100;
            data.read(bytes, at);
            for (int i = 0; i < 4; i++) {
                bytes.put(i, (byte) ~bytes.get(i));
            }
            data.write(bytes.flip(), at);
        }
    }

    static boolean blockHolds(VolumeRecord record, long block, byte pattern) throws IOException {
        try (FileChannel data = FileChannel.open(Path.of(record.dataPath()), StandardOpenOption.READ)) {
            ByteBuffer bytes = ByteBuffer.allocate(BLOCK);
            data.read(bytes, record.dataOffset() + block * BLOCK);
            for (int i = 0; i < BLOCK; i++) {
                if (bytes.get(i) != pattern) {
                    return false;
                }
            }
            return true;
        }
    }
}
