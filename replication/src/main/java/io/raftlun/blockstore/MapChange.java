package io.raftlun.blockstore;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Changes to the block map made together: one record in the map's journal, one RocksDB write.
 * Each change is a put, a delete or a range delete of keys in one column family, and says the
 * value outright (none reads what is there), so replaying a journal record again writes the same.
 */
final class MapChange {

    static final byte PUT = 1;
    static final byte DELETE = 2;
    /** Deletes the keys from the key (inclusive) to the value (exclusive). */
    static final byte DELETE_RANGE = 3;

    /** Column families, in the order the block map opens them. */
    static final int DEFAULT = 0;
    static final int CHUNKS = 1;
    static final int VOLUMES = 2;

    private record Op(byte kind, int family, byte[] key, byte[] value) {
    }

    @FunctionalInterface
    interface Visitor {
        void visit(byte kind, int family, byte[] key, byte[] value);
    }

    private final List<Op> ops = new ArrayList<>(1);

    MapChange put(int family, byte[] key, byte[] value) {
        ops.add(new Op(PUT, family, key, value));
        return this;
    }

    MapChange delete(int family, byte[] key) {
        ops.add(new Op(DELETE, family, key, null));
        return this;
    }

    MapChange deleteRange(int family, byte[] from, byte[] to) {
        ops.add(new Op(DELETE_RANGE, family, from, to));
        return this;
    }

    int size() {
        return ops.size();
    }

    void forEach(Visitor visitor) {
        for (Op op : ops) {
            visitor.visit(op.kind, op.family, op.key, op.value);
        }
    }

    /** Per change: kind, family, key length, key, value length (-1: none), value. */
    byte[] encode() {
        int bytes = 0;
        for (Op op : ops) {
            bytes += 1 + 1 + 4 + op.key.length + 4 + (op.value == null ? 0 : op.value.length);
        }
        ByteBuffer out = ByteBuffer.allocate(bytes);
        for (Op op : ops) {
            out.put(op.kind).put((byte) op.family).putInt(op.key.length).put(op.key);
            if (op.value == null) {
                out.putInt(-1);
            } else {
                out.putInt(op.value.length).put(op.value);
            }
        }
        return out.array();
    }

    static MapChange decode(byte[] encoded) {
        ByteBuffer in = ByteBuffer.wrap(encoded);
        MapChange change = new MapChange();
        while (in.hasRemaining()) {
            byte kind = in.get();
            int family = in.get();
            byte[] key = new byte[in.getInt()];
            in.get(key);
            int valueLength = in.getInt();
            byte[] value = null;
            if (valueLength >= 0) {
                value = new byte[valueLength];
                in.get(value);
            }
            if (kind < PUT || kind > DELETE_RANGE || family < DEFAULT || family > VOLUMES) {
                throw new StorageException("block map journal: unknown change " + kind + " of family " + family);
            }
            change.ops.add(new Op(kind, family, key, value));
        }
        return change;
    }
}
