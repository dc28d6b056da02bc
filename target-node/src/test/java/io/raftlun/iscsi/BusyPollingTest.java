package io.raftlun.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;
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

    @Test
    void aZeroWindowSleepsAtOnce() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        assertEquals(SelectStrategy.SELECT, new BusyPolling(0, () -> false).calculateStrategy(readyOn(1, 1, polls), false));
        assertEquals(0, polls.get(), "no poll");
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
        assertEquals(3, new BusyPolling(WINDOW, () -> false).calculateStrategy(readyOn(5, 3, polls), false));
        assertEquals(5, polls.get());
    }

    @Test
    void aTaskGivenFromAnotherThreadEndsThePolling() throws Exception {
        // while the loop polls, Netty does not wake it for a new task: the strategy must notice
        AtomicInteger polls = new AtomicInteger();
        BusyPolling polling = new BusyPolling(WINDOW, () -> polls.get() >= 4);
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
                new BusyPolling(WINDOW, () -> false).calculateStrategy(readyOn(Integer.MAX_VALUE, 1, polls), false));
        long took = System.nanoTime() - start;
        assertTrue(took >= WINDOW, "polled the whole window, took " + took + " ns");
        assertTrue(polls.get() > 1, "polled more than once: " + polls.get());
    }
}
