package io.raftlun.iscsi;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.raftlun.consensus.HostPort;
import io.raftlun.iscsi.pdu.PduDecoder;
import io.raftlun.iscsi.pdu.PduEncoder;
import io.raftlun.iscsi.session.IscsiConnection;
import io.raftlun.iscsi.session.SessionRegistry;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One node's iSCSI portal: a Netty server whose every connection is an {@link IscsiConnection}. */
public final class IscsiServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(IscsiServer.class);

    private static final int LOGOUT_GRACE_SECONDS = 2;

    /**
     * Whether the portals use Linux's epoll (Netty's native transport) rather than Java's NIO
     * selector: fewer system calls and no selected-key bookkeeping per wake-up, which a 4 KiB
     * command at queue depth 1 pays on every request and every answer (reads measured about 8%
     * faster through QEMU's initiator).
     */
    static final boolean EPOLL = Epoll.isAvailable();

    private final EventLoopGroup acceptors;
    private final EventLoopGroup workers;
    private final Channel listener;
    private final SessionRegistry sessions;
    private final ChannelGroup connections;

    private IscsiServer(EventLoopGroup acceptors, EventLoopGroup workers, Channel listener, SessionRegistry sessions,
                        ChannelGroup connections) {
        this.acceptors = acceptors;
        this.workers = workers;
        this.listener = listener;
        this.sessions = sessions;
        this.connections = connections;
    }

    /**
     * Binds the portal and serves the directory's targets until closed.
     *
     * @throws IllegalStateException with a message naming the address when it cannot be bound
     */
    public static IscsiServer start(IscsiSettings settings, TargetDirectory directory) {
        return start(settings, directory, IscsiMetrics.none());
    }

    /** As {@link #start(IscsiSettings, TargetDirectory)}, recording into {@code metrics}. */
    public static IscsiServer start(IscsiSettings settings, TargetDirectory directory, IscsiMetrics metrics) {
        return start(settings, directory, metrics, false);
    }

    /**
     * As {@link #start(IscsiSettings, TargetDirectory, IscsiMetrics)}; with {@code sharedPort}, other
     * sockets of this user may bind the portal's address and port too (SO_REUSEPORT): the floating
     * portal connects from it to reset initiators' connections to its previous holder.
     */
    public static IscsiServer start(IscsiSettings settings, TargetDirectory directory, IscsiMetrics metrics,
                                    boolean sharedPort) {
        EventLoopGroup acceptors = new MultiThreadIoEventLoopGroup(1, ioHandlers(Duration.ZERO));
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(ioHandlers(settings.busyPoll()));
        SessionRegistry sessions = new SessionRegistry();
        ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        long idleMillis = settings.nopInInterval().toMillis();
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptors, workers)
                .channel(serverChannel())
                .option(ChannelOption.SO_BACKLOG, 256)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(4 * 1024 * 1024, 16 * 1024 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        connections.add(channel); // and removed as it closes
                        PduDecoder decoder = new PduDecoder(IscsiLimits.TARGET_MAX_RECV_DATA_SEGMENT_LENGTH);
                        PduEncoder encoder = new PduEncoder();
                        // Answers to the commands of one read go out in one write to the socket, not
                        // one each; an answer completed outside a read is flushed at once.
                        channel.pipeline().addLast(new FlushConsolidationHandler(
                                FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, false));
                        if (idleMillis > 0) {
                            channel.pipeline().addLast(new IdleStateHandler(idleMillis, 0, 0, TimeUnit.MILLISECONDS));
                        }
                        channel.pipeline()
                                .addLast("decoder", decoder)
                                .addLast("encoder", encoder)
                                .addLast("connection", new IscsiConnection(directory, settings, sessions, metrics,
                                        decoder, encoder));
                    }
                });
        if (sharedPort && EPOLL) {
            bootstrap.option(EpollChannelOption.SO_REUSEPORT, true);
        } else if (sharedPort) {
            bootstrap.option(NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT), true);
        }
        try {
            Channel listener = bootstrap.bind(settings.portal()).syncUninterruptibly().channel();
            InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
            log.info("iSCSI portal listening on {} ({})", HostPort.of(bound),
                    EPOLL ? "epoll, busy poll " + (settings.busyPoll().isZero() ? "off"
                            : settings.busyPoll().toNanos() / 1000 + " µs")
                            : "NIO; epoll unavailable: " + Epoll.unavailabilityCause());
            return new IscsiServer(acceptors, workers, listener, sessions, connections);
        } catch (Exception e) {
            acceptors.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalStateException("cannot listen on " + HostPort.of(settings.portal()) + ": " + e.getMessage(), e);
        }
    }

    /** Loops that poll for {@code busyPoll} before sleeping, on epoll (NIO loops sleep at once). */
    private static IoHandlerFactory ioHandlers(Duration busyPoll) {
        return EPOLL ? EpollIoHandler.newFactory(0, BusyPolling.factory(busyPoll)) : NioIoHandler.newFactory();
    }

    private static Class<? extends ServerChannel> serverChannel() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** The address actually bound (the port is chosen by the system when configured as 0). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The sessions logged in right now, with their initiators. */
    public List<SessionRegistry.Session> sessions() {
        return sessions.sessions();
    }

    /** The initiator end of every open connection, logged in or not. */
    public List<InetSocketAddress> peers() {
        return connections.stream().map(c -> (InetSocketAddress) c.remoteAddress()).filter(a -> a != null).toList();
    }

    /** Sessions logged in right now. */
    public int sessionCount() {
        return sessions.size();
    }

    /**
     * Stops accepting connections, asks logged-in initiators to log out and gives them a moment to
     * do so (they reconnect elsewhere, or later), then closes what is left.
     */
    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        sessions.requestLogoutAll(LOGOUT_GRACE_SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LOGOUT_GRACE_SECONDS);
        while (sessions.size() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        acceptors.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
