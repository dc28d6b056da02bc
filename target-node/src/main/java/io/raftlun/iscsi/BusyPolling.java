package io.raftlun.iscsi;

import io.netty.channel.DefaultSelectStrategyFactory;
import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * How an event loop of the portal waits for work: when a connection on it has just answered the
 * only command it had, from an initiator sending one at a time, the loop polls its connections
 * (epoll_wait without waiting) for a short window before it sleeps in epoll_wait. Such an
 * initiator sends its next command a few tens of microseconds after our answer; found by polling,
 * the command skips the wake-up of a sleeping thread, which cost about as long as serving a 4 KiB
 * read. Otherwise the loop sleeps at once: at a deeper queue the next command comes while others
 * are under way, and polling there only took CPU from the initiator and the replicas (see
 * {@link IscsiSettings#DEFAULT_BUSY_POLL_MICROS}).
 */
public final class BusyPolling implements SelectStrategy {

    /** The strategy of the polling event loop running on this thread, once it has run. */
    private static final FastThreadLocal<BusyPolling> LOOP_STRATEGY = new FastThreadLocal<>();

    private final long windowNanos;
    private final BooleanSupplier tasksPending;
    private final LongSupplier nanoTime;
    private SingleThreadEventExecutor loop;
    private boolean registered;
    /** Set on this loop's thread by a connection expecting its next command at once. */
    private boolean pollRequested;

    /** Loops that poll for {@code window} before sleeping; zero: Netty's default, which sleeps at once. */
    static SelectStrategyFactory factory(Duration window) {
        if (window.isZero()) {
            return DefaultSelectStrategyFactory.INSTANCE;
        }
        long nanos = window.toNanos();
        return () -> new BusyPolling(nanos, null, System::nanoTime);
    }

    /**
     * @param tasksPending whether the loop has tasks queued, or null to ask the loop running the
     *                     strategy: while we poll, Netty believes the loop awake, so a task given to
     *                     it from another thread (a replicated write's completion) wakes nothing
     * @param nanoTime     the clock the window is measured on: {@code System::nanoTime}, or a test's
     *                     own, since a thread that yields may not run again within a short window
     */
    public BusyPolling(long windowNanos, BooleanSupplier tasksPending, LongSupplier nanoTime) {
        this.windowNanos = windowNanos;
        this.tasksPending = tasksPending != null ? tasksPending : this::loopHasTasks;
        this.nanoTime = nanoTime;
    }

    /**
     * Called on a portal event loop by a connection that has just answered the only command it
     * had, from an initiator that waits for each answer (see {@code IscsiConnection}): the loop
     * polls for the next command once before it sleeps. Does nothing on a loop that does not poll.
     */
    public static void pollBeforeSleeping() {
        BusyPolling polling = LOOP_STRATEGY.getIfExists();
        if (polling != null) {
            polling.pollRequested = true;
        }
    }

    @Override
    public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
        if (!registered) {
            LOOP_STRATEGY.set(this); // Netty asks on the loop's own thread, where connections run
            registered = true;
        }
        if (hasTasks) {
            return selectNow.get(); // as Netty's default: tasks to run, so no waiting
        }
        if (windowNanos <= 0 || !pollRequested) {
            return SELECT;
        }
        pollRequested = false;
        long deadline = nanoTime.getAsLong() + windowNanos;
        do {
            int ready = selectNow.get();
            if (ready > 0) {
                return ready;
            }
            if (tasksPending.getAsBoolean()) {
                return 0; // handle no events, run the tasks
            }
            // Not Thread.onSpinWait(): a thread waiting for this core (the initiator's, a replica's)
            // runs first. Spinning without yielding cost ext4 on the LUN a third of its small-file
            // rate in the bench; yielding, 1%.
            Thread.yield();
        } while (nanoTime.getAsLong() - deadline < 0);
        return SELECT;
    }

    private boolean loopHasTasks() {
        if (loop == null) {
            EventExecutor current = ThreadExecutorMap.currentExecutor();
            if (!(current instanceof SingleThreadEventExecutor single)) {
                return false;
            }
            loop = single;
        }
        return loop.pendingTasks() > 0;
    }
}
