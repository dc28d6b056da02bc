package io.raftlun.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.raftlun.scsi.BlockTarget;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** The portal's own bookkeeping: its connections' initiator ends, and who else may bind its port. */
class IscsiServerTest {

    private static final FixedDirectory DIRECTORY = new FixedDirectory()
            .add(FixedDirectory.Target.open("iqn.2026-11.io.raftlun:one", new BlockTarget(List.of()), "127.0.0.1:0,1"));

    @Test
    void peersAreTheInitiatorEndsOfTheOpenConnections() throws Exception {
        IscsiSettings settings = IscsiSettings.defaults(new InetSocketAddress("127.0.0.1", 0));
        try (IscsiServer server = IscsiServer.start(settings, DIRECTORY)) {
            assertEquals(List.of(), server.peers());
            try (Socket initiator = new Socket("127.0.0.1", server.localAddress().getPort())) {
                InetSocketAddress end = (InetSocketAddress) initiator.getLocalSocketAddress();
                await(() -> server.peers().equals(List.of(end)), "the connection is listed: " + server.peers());
            }
            await(() -> server.peers().isEmpty(), "a closed connection is not: " + server.peers());
        }
    }

    /**
     * The floating portal's listener shares its address and port (the holder connects from them to
     * reset the previous holder's connections); a node's own portal does not, so a second node
     * started on the same port fails rather than sharing it.
     */
    @Test
    void onlyASharedPortCanBeBoundByAnotherSocketToo() throws Exception {
        IscsiSettings settings = IscsiSettings.defaults(new InetSocketAddress("127.0.0.1", 0));
        try (IscsiServer shared = IscsiServer.start(settings, DIRECTORY, IscsiMetrics.none(), true);
             IscsiServer own = IscsiServer.start(settings, DIRECTORY, IscsiMetrics.none(), false)) {
            bindBeside(shared.localAddress()).close();
            assertThrows(BindException.class, () -> bindBeside(own.localAddress()).close());
        }
    }

    /**
     * The build ships Netty's epoll library for Linux on x86-64, so the portals use it there; NIO
     * is the fallback elsewhere, which would otherwise go unnoticed should the library go missing.
     */
    @Test
    void portalsUseEpollOnLinuxX8664() {
        assumeTrue(System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64"));
        assertTrue(IscsiServer.EPOLL, () -> "epoll did not load: " + Epoll.unavailabilityCause());
    }

    private static Socket bindBeside(InetSocketAddress portal) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setReuseAddress(true);
            socket.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            socket.bind(portal);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(10);
        }
    }
}
