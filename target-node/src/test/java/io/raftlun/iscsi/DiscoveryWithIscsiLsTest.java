package io.raftlun.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.scsi.BlockTarget;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** SendTargets discovery through libiscsi's iscsi-ls, a real initiator. */
class DiscoveryWithIscsiLsTest {

    @Test
    void iscsiLsListsEveryTargetWithItsPortal() throws Exception {
        FixedDirectory directory = new FixedDirectory()
                .add(FixedDirectory.Target.open("iqn.2026-11.io.raftlun:one", new BlockTarget(List.of()),
                        "127.0.0.1:0,1"))
                .add(FixedDirectory.Target.open("iqn.2026-11.io.raftlun:two", new BlockTarget(List.of()),
                        "127.0.0.1:0,1"));
        IscsiSettings settings = IscsiSettings.defaults(new InetSocketAddress("127.0.0.1", 0));
        try (IscsiServer server = IscsiServer.start(settings, directory)) {
            int port = server.localAddress().getPort();
            String output = run("iscsi-ls", "iscsi://127.0.0.1:" + port);
            assertTrue(output.contains("Target:iqn.2026-11.io.raftlun:one"), output);
            assertTrue(output.contains("Target:iqn.2026-11.io.raftlun:two"), output);
            assertTrue(output.contains("Portal:127.0.0.1:0,1"), output);
        }
    }

    /** The floating portal's way: discovery through it names it alone, with its own tag. */
    @Test
    void aPortalThatAnnouncesOnlyItselfListsItselfAlone() throws Exception {
        FixedDirectory directory = new FixedDirectory()
                .add(FixedDirectory.Target.open("iqn.2026-11.io.raftlun:one", new BlockTarget(List.of()),
                        "127.0.0.1:3260,1", "127.0.0.2:3260,2"));
        IscsiSettings settings = IscsiSettings.defaults(new InetSocketAddress("127.0.0.1", 0))
                .soleAnnouncedPortal(new InetSocketAddress("127.0.0.1", 0), 4, IscsiSettings.UNFENCED);
        try (IscsiServer server = IscsiServer.start(settings, directory)) {
            int port = server.localAddress().getPort();
            String output = run("iscsi-ls", "iscsi://127.0.0.1:" + port);
            assertTrue(output.contains("Target:iqn.2026-11.io.raftlun:one Portal:127.0.0.1:" + port + ",4"), output);
            assertEquals(1, output.lines().filter(line -> line.contains("Portal:")).count(), output);
        }
    }

    static String run(String... command) throws IOException, InterruptedException {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException(command[0] + " is missing: install Debian's libiscsi-bin (see .ci/run)", e);
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in 30 s");
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), output);
        return output;
    }
}
