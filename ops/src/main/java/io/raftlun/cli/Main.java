package io.raftlun.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code raftlun} command. */
@Command(name = "raftlun", mixinStandardHelpOptions = true, version = "raftlun " + io.raftlun.node.Node.VERSION,
        subcommands = {NodeCommand.class, DemoCommand.class, ClusterCommand.class, AdminCommands.TargetCommand.class,
            AdminCommands.LunCommand.class, AdminCommands.AccountCommand.class, TgtadmCommand.class,
            VolumeCommand.class, StoreCommand.class, io.raftlun.bench.BenchCommand.class, CompletionCommand.class,
            CommandLine.HelpCommand.class},
        description = {"Highly available iSCSI storage: every write committed through Raft.", "",
            "Start here: raftlun demo --detach, then iscsi-ls iscsi://127.0.0.1"},
        footer = {"", "Exit status: 0 done; 1 refused or bad input (nothing changed);",
            "2 command-line usage error; 3 no node reachable; 4 wrong admin token."})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with raftlun's error handling: a failure is one clear line, not a stack trace. */
    static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new Main()).setUsageHelpWidth(USAGE_WIDTH);
        commandLine.setExecutionExceptionHandler((failure, line, parsed) -> {
            String message = failure.getMessage() != null ? failure.getMessage() : failure.toString();
            line.getErr().println("raftlun: " + message);
            if (System.getenv("RAFTLUN_DEBUG") != null) {
                failure.printStackTrace(line.getErr());
            }
            return failure instanceof AdminClient.AdminException refused ? refused.exitCode() : 1;
        });
        commandLine.setParameterExceptionHandler((mistake, arguments) -> { // one line, not the whole usage
            CommandLine line = mistake.getCommandLine();
            line.getErr().println("raftlun: " + mistake.getMessage() + " (see: " + line.getCommandSpec().qualifiedName()
                    + " --help)");
            return line.getCommandSpec().exitCodeOnInvalidInput();
        });
        return commandLine;
    }

    /** Help text is written in lines of up to this many characters; picocli's 80 would break them again. */
    static final int USAGE_WIDTH = 100;

    @Override
    public void run() {
        usage(this);
    }

    /** Prints the usage of a command group run without a subcommand. */
    static void usage(Object command) {
        new CommandLine(command).setUsageHelpWidth(USAGE_WIDTH).usage(System.out);
    }
}
