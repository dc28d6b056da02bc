package io.raftlun.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code raftlun} command. */
@Command(name = "raftlun", mixinStandardHelpOptions = true, version = "raftlun " + io.raftlun.node.Node.VERSION,
        subcommands = {NodeCommand.class, DemoCommand.class, ClusterCommand.class, RecoveryCommands.VolumeCommand.class,
            io.raftlun.bench.BenchCommand.class,
            CommandLine.HelpCommand.class},
        description = {"Highly available iSCSI storage: every write committed through Raft.", "",
            "Start here: raftlun demo --detach, then iscsi-ls iscsi://127.0.0.1"})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with raftlun's error handling: a failure is one clear line, not a stack trace. */
    static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new Main());
        commandLine.setExecutionExceptionHandler((failure, line, parsed) -> {
            String message = failure.getMessage() != null ? failure.getMessage() : failure.toString();
            line.getErr().println("raftlun: " + message);
            if (System.getenv("RAFTLUN_DEBUG") != null) {
                failure.printStackTrace(line.getErr());
            }
            return 1;
        });
        return commandLine;
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
