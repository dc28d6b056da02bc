package io.raftlun.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.consensus.RaftMember;
import io.raftlun.consensus.RaftSettings;
import io.raftlun.node.Node;
import io.raftlun.node.NodeOptions;
import io.raftlun.target.ConfigException;
import io.raftlun.target.TargetConfig;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's data directory belongs to the cluster it was made in. Started under another cluster id,
 * the node refuses with a message naming the directory and the cluster, before its Raft server
 * opens anything, and the directory still serves its own cluster afterwards. Likewise a node whose
 * Raft address another process holds refuses with a line, and the process lives on.
 */
class DataDirectoryOfAnotherClusterTest {

    static final String IQN = "iqn.2026-11.io.raftlun:moved";

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void aNodeStartedUnderAnotherClusterIdRefusesAndLeavesItsDirectoryIntact(@TempDir Path dir) throws Exception {
        String host = "127.0.0.1";
        RaftMember member = new RaftMember("n1", new InetSocketAddress(host, ThreeNodeClusterTest.freePort(host)));
        Path data = dir.resolve("n1");
        try (Node node = Node.start(options(data, member, "first"))) {
            node.catalog().update(config -> config.with(new TargetConfig.Target(1, IQN, null,
                    List.of(new TargetConfig.Lun(1, "disk", 16L << 20, 512, null, false)), List.of(TargetConfig.ALL),
                    List.of(), null)));
        }

        ConfigException refused = assertThrows(ConfigException.class,
                () -> Node.start(options(data, member, "second")).close());
        assertTrue(refused.getMessage().contains("data directory " + data)
                        && refused.getMessage().contains("cluster 'second'"),
                "the refusal names the directory and the cluster: " + refused.getMessage());

        try (Node node = Node.start(options(data, member, "first"))) {
            assertNotNull(node.storage().volume("disk"), "the volume is still there");
            ThreeNodeClusterTest.waitFor(() -> node.catalog().config().target(IQN).isPresent(),
                    "the target is served again");
            assertEquals(1, node.catalog().config().target(IQN).orElseThrow().luns().size());
        }
    }

    @Test
    @Timeout(value = 1, unit = TimeUnit.MINUTES)
    void aNodeWhoseRaftPortIsTakenRefusesWithoutEndingTheProcess(@TempDir Path dir) throws Exception {
        String host = "127.0.0.1";
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            RaftMember member = new RaftMember("n1", new InetSocketAddress(host, taken.getLocalPort()));
            // Ratis would end this JVM (and the test run with it) had the node tried to listen there
            UncheckedIOException refused = assertThrows(UncheckedIOException.class,
                    () -> Node.start(options(dir.resolve("n1"), member, "first")).close());
            assertTrue(refused.getMessage().contains(host + ":" + taken.getLocalPort())
                            && refused.getMessage().contains("taken"),
                    "the refusal names the address and why: " + refused.getMessage());
        }
    }

    static NodeOptions options(Path data, RaftMember member, String clusterId) {
        ClusterOptions cluster = new ClusterOptions(clusterId, List.of(member), 1, RaftSettings.DEFAULT_ELECTION_TIMEOUT);
        return new NodeOptions(member.name(), data, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), cluster);
    }
}
