package io.raftlun.blockstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a node's RocksDB native library goes, and what a node killed without cleaning up leaves. */
class NativeLibraryPlacementTest {

    /** A node's process in miniature: opens the storage in {@code args[0]}, then dies as kill -9 leaves it. */
    public static void main(String[] args) {
        NodeStorage.open(Path.of(args[0]));
        Runtime.getRuntime().halt(0); // no shutdown hooks, no delete-on-exit
    }

    @Test
    void killedNodesLeaveOneLibraryInTheirDataDirectoryAndNothingInTmp(@TempDir Path dataDir) throws Exception {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        Set<Path> before = extractedLibraries(tmp);
        for (int start = 1; start <= 2; start++) {
            Process node = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), NativeLibraryPlacementTest.class.getName(),
                    dataDir.toString()).inheritIO().start();
            assertTrue(node.waitFor(60, TimeUnit.SECONDS), "start " + start + " ended");
            assertEquals(0, node.exitValue(), "start " + start + " opened the storage");
        }
        assertEquals(before, extractedLibraries(tmp), "no library left in " + tmp);
        assertEquals(1, extractedLibraries(dataDir.resolve("native")).size(), "one library, replaced at each start");
    }

    private static Set<Path> extractedLibraries(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(f -> f.getFileName().toString().startsWith("librocksdbjni")).collect(Collectors.toSet());
        }
    }
}
