package io.raftlun.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** When an event loop polls and when it sleeps: the answers Netty's epoll loop acts on. */
class BusyPollingTest {

    static final long WINDOW = TimeUnit.MILLISECONDS.toNanos(20);

    /** A selectNow that reports {@code events} ready on its {@code on}-th call, none before. */
    static IntSupplier readyOn(int on, int events, AtomicInteger calls) {
        return () -> calls.incrementAndGet() >= on ? events : 0;
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
        assertEquals(SelectStrategy.SELECT, asked(new BusyPolling(0, () -> false)).calculateStrategy(readyOn(1, 1, polls), false));
        assertEquals(0, polls.get(), "no poll");
    }

    @Test
    void unaskedTheLoopSleepsAtOnce() throws Exception {
        // no connection just answered a lone command: a deeper queue, or an idle one
        AtomicInteger polls = new AtomicInteger();
        BusyPolling polling = new BusyPolling(WINDOW, () -> false);
        polling.calculateStrategy(() -> 0, true);
        assertEquals(SelectStrategy.SELECT, polling.calculateStrategy(readyOn(1, 1, polls), false));
        assertEquals(0, polls.get(), "no poll");
    }

    @Test
    void oneAskCoversOneWindow() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        BusyPolling polling = asked(new BusyPolling(TimeUnit.MILLISECONDS.toNanos(1), () -> false));
        assertEquals(SelectStrategy.SELECT, polling.calculateStrategy(readyOn(Integer.MAX_VALUE, 1, polls), false));
        int polled = polls.get();
        assertTrue(polled > 1, "polled the window: " + polled);
        assertEquals(SelectStrategy.SELECT, polling.calculateStrategy(readyOn(Integer.MAX_VALUE, 1, polls), false));
        assertEquals(polled, polls.get(), "the next wait sleeps at once");
    }

    @Test
    void anAskReachesOnlyTheLoopOfItsThread() throws Exception {
        ExecutorService loopThread = Executors.newSingleThreadExecutor();
        try {
            BusyPolling polling = new BusyPolling(WINDOW, () -> false);
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
        assertEquals(0, new BusyPolling(WINDOW, () -> false).calculateStrategy(readyOn(2, 1, polls), true));
        assertEquals(1, polls.get());
    }

    @Test
    void eventsFoundWhilePollingAreHandledWithoutSleeping() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        assertEquals(3, asked(new BusyPolling(WINDOW, () -> false)).calculateStrategy(readyOn(5, 3, polls), false));
        assertEquals(5, polls.get());
    }

    @Test
    void aTaskGivenFromAnotherThreadEndsThePolling() throws Exception {
        // while the loop polls, Netty does not wake it for a new task: the strategy must notice
        AtomicInteger polls = new AtomicInteger();
        BusyPolling polling = asked(new BusyPolling(WINDOW, () -> polls.get() >= 4));
        long start = System.nanoTime();
        assertEquals(0, polling.calculateStrategy(readyOn(Integer.MAX_VALUE, 1, polls), false));
        assertEquals(4, polls.get());
        assertTrue(System.nanoTime() - start < WINDOW, "returned before the window ended");
    }

    @Test
    void nothingWithinTheWindowMeansSleep() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        long start = System.nanoTime();
        assertEquals(SelectStrategy.SELECT,
                asked(new BusyPolling(WINDOW, () -> false)).calculateStrategy(readyOn(Integer.MAX_VALUE, 1, polls), false));
        long took = System.nanoTime() - start;
        assertTrue(took >= WINDOW, "polled the whole window, took " + took + " ns");
        assertTrue(polls.get() > 1, "polled more than once: " + polls.get());
    }
}
