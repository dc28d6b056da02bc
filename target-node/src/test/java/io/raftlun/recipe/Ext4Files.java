package io.raftlun.recipe;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** The files the ext4 recipe writes on a mounted LUN, and how they are checked afterwards. */
public final class Ext4Files {

    private Ext4Files() {
    }

    /** A big file and many small ones, each fsynced; their SHA-256 by name. */
    public static Map<String, String> write(Path mount) throws Exception {
        Random random = new Random(42);
        Map<String, String> sums = new LinkedHashMap<>();
        byte[] big = new byte[24 << 20];
        random.nextBytes(big);
        sums.put("big.bin", writeFile(mount.resolve("big.bin"), big));
        Files.createDirectories(mount.resolve("small"));
        for (int i = 0; i < 300; i++) {
            byte[] small = new byte[random.nextInt(16 << 10) + 1];
            random.nextBytes(small);
            sums.put("small/" + i, writeFile(mount.resolve("small/" + i), small));
        }
        return sums;
    }

    private static String writeFile(Path file, byte[] data) throws Exception {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(data));
            channel.force(true);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    public static Map<String, String> checksums(Path mount) throws Exception {
        Map<String, String> sums = new LinkedHashMap<>();
        sums.put("big.bin", sha256(mount.resolve("big.bin")));
        for (int i = 0; i < 300; i++) {
            sums.put("small/" + i, sha256(mount.resolve("small/" + i)));
        }
        return sums;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
