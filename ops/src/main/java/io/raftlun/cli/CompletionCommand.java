package io.raftlun.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code raftlun completion}: the bash completion script for every command and option. */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Prints a bash completion script for raftlun.", "",
            "  source <(raftlun completion)        # this shell",
            "  raftlun completion > /etc/bash_completion.d/raftlun"})
final class CompletionCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        System.out.print(AutoComplete.bash("raftlun", spec.root().commandLine()));
    }
}
