package io.raftlun.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes as administrators type them: 1073741824, 512M, 1G, 1GiB, 2T (powers of 1024, as tgt's). */
final class Sizes {

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGTP]?)(I?B)?", Pattern.CASE_INSENSITIVE);

    private Sizes() {
    }

    static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (examples: 1G, 512M, 1073741824)");
        }
        long value = Long.parseLong(m.group(1));
        int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            case "P" -> 50;
            default -> 0;
        };
        if (shift > 0 && value > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return value << shift;
    }

    static String format(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int unit = 0;
        double value = bytes;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return value == Math.rint(value) ? String.format("%d %s", (long) value, units[unit])
                : String.format("%.1f %s", value, units[unit]);
    }
}
