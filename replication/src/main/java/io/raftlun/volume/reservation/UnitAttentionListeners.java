package io.raftlun.volume.reservation;

import io.raftlun.volume.reservation.ReservationOutcome.UnitAttention;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** Who hears the unit attentions that applied reservation changes establish: a node's logical units. */
public final class UnitAttentionListeners {

    private final List<Consumer<List<UnitAttention>>> listeners = new CopyOnWriteArrayList<>();

    /** Adds {@code listener}; returns what removes it. */
    public AutoCloseable add(Consumer<List<UnitAttention>> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** Tells every listener the unit attentions {@code outcome} establishes, if any; returns it. */
    public ReservationOutcome tell(ReservationOutcome outcome) {
        if (!outcome.unitAttentions().isEmpty()) {
            listeners.forEach(listener -> listener.accept(outcome.unitAttentions()));
        }
        return outcome;
    }
}
