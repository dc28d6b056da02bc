package io.raftlun.iscsi.login;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Text key=value pairs as Login and Text PDUs carry them (RFC 7143 §6.1): UTF-8, each pair ended
 * by a NUL. Order is kept, because answers follow the order of the offers.
 */
public final class TextKeys {

    /** RFC 7143 §6.1: keys are at most 63 bytes, values at most 255 (8192 for some). */
    static final int MAX_KEY_LENGTH = 63;
    static final int MAX_VALUE_LENGTH = 8192;

    private final LinkedHashMap<String, String> pairs = new LinkedHashMap<>();
    private final StringBuilder raw = new StringBuilder();

    /** Parses pairs; a malformed pair (no '=', key too long) is a protocol error. */
    public static TextKeys parse(ByteBuf data) throws LoginException {
        TextKeys keys = new TextKeys();
        String text = data.toString(StandardCharsets.UTF_8);
        int at = 0;
        while (at < text.length()) {
            int end = text.indexOf('\0', at);
            if (end < 0) {
                end = text.length();
            }
            if (end > at) {
                String pair = text.substring(at, end);
                int eq = pair.indexOf('=');
                if (eq <= 0 || eq > MAX_KEY_LENGTH || pair.length() - eq - 1 > MAX_VALUE_LENGTH) {
                    throw LoginException.initiatorError("malformed text key: " + abbreviate(pair));
                }
                String key = pair.substring(0, eq);
                if (keys.pairs.containsKey(key)) {
                    throw LoginException.initiatorError("key sent twice: " + key);
                }
                keys.pairs.put(key, pair.substring(eq + 1));
            }
            at = end + 1;
        }
        return keys;
    }

    public TextKeys put(String key, String value) {
        pairs.put(key, value);
        return this;
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(pairs.get(key));
    }

    public Map<String, String> asMap() {
        return pairs;
    }

    public boolean isEmpty() {
        return pairs.isEmpty() && raw.length() == 0;
    }

    /** Adds every pair of {@code other}, replacing equal keys. */
    public TextKeys putAll(TextKeys other) {
        pairs.putAll(other.pairs);
        return this;
    }

    /** Appends text that is already key=value pairs ended by NULs (answers that repeat a key). */
    public TextKeys putRaw(String pairsText) {
        raw.append(pairsText);
        return this;
    }

    public byte[] toBytes() {
        StringBuilder text = new StringBuilder();
        pairs.forEach((k, v) -> text.append(k).append('=').append(v).append('\0'));
        text.append(raw);
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    public ByteBuf encode(ByteBufAllocator allocator) {
        byte[] bytes = toBytes();
        return allocator.buffer(bytes.length).writeBytes(bytes);
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        pairs.forEach((k, v) -> text.append(k).append('=').append(k.startsWith("CHAP_") ? "…" : v).append(' '));
        return text.toString().trim();
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }
}
