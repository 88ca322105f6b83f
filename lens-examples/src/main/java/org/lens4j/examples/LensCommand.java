package org.lens4j.examples;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lens} command line: one subcommand per job. */
@Command(name = "lens", mixinStandardHelpOptions = true, version = "lens4j 0.1.0",
        description = "TransformerLens for the JVM: activations, head reports, patching, probes.",
        subcommands = {CacheCommand.class, HeadsCommand.class, ProbeCommand.class, SuperpositionCommand.class,
            BenchCommand.class})
public final class LensCommand implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line, with errors reported as one line naming the problem rather than a stack trace. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new LensCommand());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("lens " + commandLine.getCommandName() + ": " + e.getMessage());
            if (System.getenv("LENS_DEBUG") != null) {
                e.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cli;
    }
}
