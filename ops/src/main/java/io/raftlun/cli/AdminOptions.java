package io.raftlun.cli;

import io.raftlun.cli.AdminClient.AdminException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * How an admin command finds the cluster and proves it may change it: a local cluster's directory
 * ({@code --dir}, {@code $RAFTLUN_DIR}), whose nodes and token it reads, or any node's admin
 * address ({@code --node}) with the token ({@code --token-file}, {@code $RAFTLUN_TOKEN}).
 */
@Command(footer = {"",
    "Reaching the cluster: --dir DIR (or $RAFTLUN_DIR) for one started by",
    "'raftlun cluster up' or 'raftlun demo'; any cluster through --node HOST:PORT",
    "(a node's admin address) with the token in --token-file FILE or",
    "$RAFTLUN_TOKEN (DIR/admin.token, or a node's DATA_DIR/admin.token).",
    "",
    "Exit status: 0 done; 1 refused or bad input (nothing changed);",
    "2 command-line usage error; 3 no node reachable; 4 wrong admin token."})
final class AdminOptions {

    @Option(names = "--dir", paramLabel = "DIR", description = "Local cluster directory (default: $RAFTLUN_DIR, else ./run/demo).")
    Path dir;

    @Option(names = "--node", paramLabel = "HOST:PORT", description = "A node's admin API address, instead of --dir.")
    String node;

    @Option(names = "--token-file", paramLabel = "FILE", description = "The admin token (default: $RAFTLUN_TOKEN, "
            + "else the cluster directory's admin.token).")
    Path tokenFile;

    @Option(names = "--output", paramLabel = "FORMAT", description = "text (default) or json.")
    String output = "text";

    boolean json() throws AdminException {
        if (!output.equals("text") && !output.equals("json")) {
            throw new AdminException(AdminException.REFUSED, "--output must be text or json, not " + output);
        }
        return output.equals("json");
    }

    AdminClient client() throws AdminException {
        json(); // a bad --output is refused before anything is sent
        if (node != null) {
            if (!node.matches("[^:/\\s]+:\\d{1,5}")) {
                throw new AdminException(AdminException.REFUSED, "--node " + node
                        + ": expected HOST:PORT of a node's admin API, e.g. 127.0.0.1:9260");
            }
            return new AdminClient(List.of(new AdminClient.Endpoint(node, node)), token(null));
        }
        Path directory = LocalCluster.directory(dir);
        LocalCluster cluster = LocalCluster.find(directory).orElseThrow(() -> new AdminException(
                AdminException.REFUSED, "no cluster in " + directory + " (give --dir DIR or set RAFTLUN_DIR; "
                        + "for a cluster elsewhere, --node HOST:PORT with --token-file FILE)"));
        return new AdminClient(cluster.members().stream().map(LocalCluster.Member::endpoint).toList(),
                token(directory.resolve(io.raftlun.node.AdminToken.FILE)));
    }

    private String token(Path clusterToken) throws AdminException {
        Path file = tokenFile;
        if (file == null) {
            String env = System.getenv("RAFTLUN_TOKEN");
            if (env != null && !env.isBlank()) {
                return env.trim();
            }
            file = clusterToken;
        }
        if (file == null) {
            throw new AdminException(AdminException.REFUSED, "--node needs the cluster's admin token: "
                    + "--token-file FILE or RAFTLUN_TOKEN");
        }
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            throw new AdminException(AdminException.REFUSED, "cannot read the admin token " + file + ": " + e);
        }
    }
}
