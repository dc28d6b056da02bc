package io.raftlun.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** When an event loop polls and when it sleeps: the answers Netty's epoll loop acts on. */
class BusyPollingTest {

    static final long TICK = TimeUnit.MILLISECONDS.toNanos(1);
    /** A window of 20 ticks: on a {@link #ticking} clock, 20 polls. */
    static final long WINDOW = 20 * TICK;

    /**
     * A clock one tick later each time it is read, so the number of polls in a window does not
     * depend on how long a loaded machine keeps the polling thread from running after it yields.
     */
    static LongSupplier ticking() {
        AtomicLong now = new AtomicLong();
        return () -> now.addAndGet(TICK);
    }

    /** A selectNow that reports {@code events} ready on its {@code on}-th call, none before. */
    static IntSupplier readyOn(int on, int events, AtomicInteger calls) {
        return () -> calls.incrementAndGet() >= on ? events : 0;
    }

    static IntSupplier never(AtomicInteger calls) {
        return readyOn(Integer.MAX_VALUE, 1, calls);
    }

    /**
     * {@code polling} as a loop runs it after a connection on this thread answered its only
     * command: Netty has asked it before (on the loop's thread), and the connection asked for a poll.
     */
    static BusyPolling asked(BusyPolling polling) throws Exception {
        polling.calculateStrategy(() -> 0, true);
        BusyPolling.pollBeforeSleeping();
        return polling;
    }

    @Test
    void aZeroWindowSleepsAtOnce() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        assertEquals(SelectStrategy.SELECT,
                asked(new BusyPolling(0, () -> false, ticking())).calculateStrategy(readyOn(1, 1, polls), false));
        assertEquals(0, polls.get(), "no poll");
    }

    @Test
    void unaskedTheLoopSleepsAtOnce() throws Exception {
        // no connection just answered a lone command: a deeper queue, or an idle one
        AtomicInteger polls = new AtomicInteger();
        BusyPolling polling = new BusyPolling(WINDOW, () -> false, ticking());
        polling.calculateStrategy(() -> 0, true);
        assertEquals(SelectStrategy.SELECT, polling.calculateStrategy(readyOn(1, 1, polls), false));
        assertEquals(0, polls.get(), "no poll");
    }

    @Test
    void oneAskCoversOneWindow() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        BusyPolling polling = asked(new BusyPolling(WINDOW, () -> false, ticking()));
        assertEquals(SelectStrategy.SELECT, polling.calculateStrategy(never(polls), false));
        assertEquals(20, polls.get(), "polled the window, once a tick");
        assertEquals(SelectStrategy.SELECT, polling.calculateStrategy(never(polls), false));
        assertEquals(20, polls.get(), "the next wait sleeps at once");
    }

    @Test
    void anAskReachesOnlyTheLoopOfItsThread() throws Exception {
        ExecutorService loopThread = Executors.newSingleThreadExecutor();
        try {
            BusyPolling polling = new BusyPolling(WINDOW, () -> false, ticking());
            loopThread.submit(() -> polling.calculateStrategy(() -> 0, true)).get();
            BusyPolling.pollBeforeSleeping(); // on this thread, where that loop does not run
            AtomicInteger polls = new AtomicInteger();
            assertEquals(SelectStrategy.SELECT,
                    loopThread.submit(() -> polling.calculateStrategy(readyOn(1, 1, polls), false)).get());
            assertEquals(0, polls.get(), "no poll");
        } finally {
            loopThread.shutdownNow();
        }
    }

    @Test
    void queuedTasksMeanOnePollAndNoWaiting() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        assertEquals(0, new BusyPolling(WINDOW, () -> false, ticking()).calculateStrategy(readyOn(2, 1, polls), true));
        assertEquals(1, polls.get());
    }

    @Test
    void eventsFoundWhilePollingAreHandledWithoutSleeping() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        assertEquals(3, asked(new BusyPolling(WINDOW, () -> false, ticking())).calculateStrategy(readyOn(5, 3, polls), false));
        assertEquals(5, polls.get());
    }

    @Test
    void aTaskGivenFromAnotherThreadEndsThePolling() throws Exception {
        // while the loop polls, Netty does not wake it for a new task: the strategy must notice
        AtomicInteger polls = new AtomicInteger();
        BusyPolling polling = asked(new BusyPolling(WINDOW, () -> polls.get() >= 4, ticking()));
        assertEquals(0, polling.calculateStrategy(never(polls), false), "run the task, no events");
        assertEquals(4, polls.get(), "stopped before the window's 20 polls");
    }

    @Test
    void theWindowIsMeasuredInRealTime() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        long start = System.nanoTime();
        assertEquals(SelectStrategy.SELECT,
                asked(new BusyPolling(WINDOW, () -> false, System::nanoTime)).calculateStrategy(never(polls), false));
        long took = System.nanoTime() - start;
        assertTrue(took >= WINDOW, "polled the whole window, took " + took + " ns");
        assertTrue(polls.get() >= 1, "polled: " + polls.get());
    }
}
