package io.raftlun.cli;

import static io.raftlun.cli.StoreCommandTest.raftlun;
import static io.raftlun.cli.StoreCommandTest.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.raftlun.iscsi.IscsiSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code raftlun node} settings refused before anything starts. */
class NodeCommandTest {

    @TempDir
    Path dir;

    @Test
    void aBusyPollOutOfRangeIsOneLineFromTheCommandLineOrTheConfigFile() throws Exception {
        refused(raftlun("node", "--data-dir", dir.toString(), "--busy-poll-us", "-1"), "expected 0 (off) to 10000");
        Path config = dir.resolve("node.json");
        Files.writeString(config, "{\"dataDir\": \"" + dir + "\", \"busyPollMicros\": 20000}");
        refused(raftlun("node", "--config", config.toString()), "busy poll of 20000 µs");
        assertEquals(Duration.ofNanos(50_000), NodeCommand.busyPoll(50));
        assertEquals(Duration.ZERO, NodeCommand.busyPoll(IscsiSettings.DEFAULT_BUSY_POLL_MICROS));
    }
}
