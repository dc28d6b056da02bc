package io.raftlun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.blockstore.NodeStorage;
import io.raftlun.blockstore.VolumeRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kill -9 under load, in a 3-node cluster of real node processes: QEMU's libiscsi writes regions
 * whose every block carries its LBA and a sequence number while a node (the volume's leader first)
 * is killed and restarted, round after round. Afterwards every acknowledged write reads back
 * through every node, and the replicas' block maps agree block for block.
 */
class FaultIT {

    static final int REGION = 64 * 1024;
    static final int REGIONS = 48;
    static final int ROUNDS = 3;
    static final Pattern WROTE = Pattern.compile("wrote (\\d+)/(\\d+) bytes at offset (\\d+)");

    @TempDir
    Path dir;

    int port;

    @AfterEach
    void stop() throws Exception {
        LocalClusterIT.raftlun("cluster", "down", "--dir", dir.toString());
    }

    /** What region {@code region} holds after write number {@code seq}: each block stamped with its LBA and seq. */
    static byte[] content(int region, int seq) {
        ByteBuffer bytes = ByteBuffer.allocate(REGION);
        for (int block = 0; block < REGION / 512; block++) {
            long lba = (long) region * REGION / 512 + block;
            for (int i = 0; i < 512; i += 16) {
                bytes.putLong(lba).putLong(seq);
            }
        }
        return bytes.array();
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void everyAcknowledgedWriteSurvivesKillsAndTheReplicasAgree() throws Exception {
        port = LocalClusterIT.freePort();
        assertEquals(0, LocalClusterIT.raftlun("demo", "--detach", "--dir", dir.toString(), "--port",
                Integer.toString(port), "--admin-port", Integer.toString(LocalClusterIT.freePort()), "--raft-port",
                Integer.toString(LocalClusterIT.freePort()), "--size", "64M").exitCode());
        Map<Integer, Integer> acknowledged = new HashMap<>(); // region -> last acknowledged seq
        Map<Integer, Set<Integer>> attempted = new HashMap<>(); // region -> seqs sent but not acknowledged
        int seq = 0;
        for (int round = 0; round < ROUNDS; round++) {
            int victim = round == 0 ? LocalClusterIT.leaderIn(dir) : round + 1;
            int writerNode = victim % 3 + 1;
            List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
            Map<Long, int[]> sent = new HashMap<>(); // offset -> {region, seq}
            for (int i = 0; i < REGIONS; i++) {
                int region = (i * 7 + round) % REGIONS;
                seq++;
                Path file = dir.resolve("w-" + region + "-" + seq);
                Files.write(file, content(region, seq));
                command.addAll(List.of("-c", "write -s " + file + " " + (long) region * REGION + " " + REGION));
                sent.put((long) region * REGION, new int[] {region, seq});
                attempted.computeIfAbsent(region, r -> new HashSet<>()).add(seq);
            }
            command.add(LocalClusterIT.url(writerNode, port));
            Process writer = new ProcessBuilder(command).redirectErrorStream(true).start();
            Thread.sleep(300); // the kill lands while writes are in flight
            LocalClusterIT.kill(dir, victim);
            String output = new String(writer.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(writer.waitFor(120, TimeUnit.SECONDS), "the writer finished");
            Matcher wrote = WROTE.matcher(output);
            int count = 0;
            while (wrote.find()) {
                int[] what = sent.get(Long.parseLong(wrote.group(3)));
                acknowledged.put(what[0], what[1]);
                attempted.get(what[0]).remove(what[1]);
                count++;
            }
            assertTrue(count > REGIONS / 2, "the survivors acknowledged writes while node " + victim + " was down:\n"
                    + output);
            LocalClusterIT.restart(dir, victim);
        }
        // every node reads every acknowledged write back (or a later write that was sent, if unacknowledged)
        for (int node = 1; node <= 3; node++) {
            Path image = dir.resolve("image-" + node + ".raw");
            Process convert = new ProcessBuilder("qemu-img", "convert", "-f", "raw", "-O", "raw",
                    LocalClusterIT.url(node, port), image.toString()).redirectErrorStream(true).start();
            String output = new String(convert.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, convert.waitFor(), output);
            byte[] all = Files.readAllBytes(image);
            for (Map.Entry<Integer, Integer> region : acknowledged.entrySet()) {
                byte[] actual = java.util.Arrays.copyOfRange(all, region.getKey() * REGION, (region.getKey() + 1) * REGION);
                boolean ok = java.util.Arrays.equals(actual, content(region.getKey(), region.getValue()));
                for (int later : attempted.get(region.getKey())) {
                    ok |= later > region.getValue() && java.util.Arrays.equals(actual, content(region.getKey(), later));
                }
                assertTrue(ok, "node " + node + ": region " + region.getKey() + " lost acknowledged write "
                        + region.getValue());
            }
            Files.delete(image);
        }
        // stopped cleanly, the replicas' block maps agree block for block
        assertEquals(0, LocalClusterIT.raftlun("cluster", "down", "--dir", dir.toString()).exitCode());
        SortedMap<Long, Integer> first = null;
        for (int node = 1; node <= 3; node++) {
            try (NodeStorage storage = NodeStorage.open(dir.resolve("node" + node + "/data"))) {
                List<VolumeRecord> volumes = storage.volumes();
                assertEquals(1, volumes.size());
                SortedMap<Long, Integer> crcs = storage.store(volumes.get(0).name()).allocatedCrcs();
                assertTrue(crcs.size() >= acknowledged.size() * REGION / 512);
                if (first == null) {
                    first = crcs;
                } else {
                    assertEquals(first, crcs, "node " + node + "'s block map agrees with node 1's");
                }
            }
        }
        // the whole cluster restarted keeps the target, the LUN and the data
        LocalClusterIT.Run up = LocalClusterIT.raftlun("cluster", "up", "--dir", dir.toString());
        assertEquals(0, up.exitCode(), up.output());
        Path image = dir.resolve("after-restart.raw");
        Process convert = new ProcessBuilder("qemu-img", "convert", "-f", "raw", "-O", "raw",
                LocalClusterIT.url(3, port), image.toString()).redirectErrorStream(true).start();
        String output = new String(convert.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, convert.waitFor(), output);
        byte[] all = Files.readAllBytes(image);
        int region = acknowledged.keySet().iterator().next();
        byte[] actual = java.util.Arrays.copyOfRange(all, region * REGION, (region + 1) * REGION);
        assertTrue(java.util.Arrays.equals(actual, content(region, acknowledged.get(region)))
                || attempted.get(region).stream().anyMatch(later -> java.util.Arrays.equals(actual,
                        content(region, later))), "region " + region + " after the whole cluster restarted");
    }
}
