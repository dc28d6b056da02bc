package io.raftlun.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code raftlun} command. */
@Command(name = "raftlun", mixinStandardHelpOptions = true, version = "raftlun 0.1.0",
        subcommands = {io.raftlun.bench.BenchCommand.class},
        description = "Highly available iSCSI storage: every write committed through Raft.")
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
