package org.lens4j.examples;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.lens4j.analysis.superposition.ExperimentResult;
import org.lens4j.analysis.superposition.SuperpositionExperiment;
import org.lens4j.analysis.superposition.SuperpositionReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code lens superposition}: trains the toy models of superposition (Elhage et al. 2022) and
 * writes their pictures (SVG) and a CSV of the numbers.
 *
 * <pre>
 * lens superposition --out superposition-out
 * lens superposition --config my-settings.json --out out --only five-features
 * </pre>
 */
@Command(name = "superposition", mixinStandardHelpOptions = true,
        description = {"Trains the toy models of superposition (Elhage et al. 2022) and writes"
            + " their pictures (SVG) and the numbers (features.csv, instances.csv,"
            + " antipodal-pairs.csv).",
            "Without --config it runs the standard settings: five-features, correlated,"
                + " anticorrelated, hidden-relu, neuron-computation, feature-geometry."})
public final class SuperpositionCommand implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE",
            description = "JSON file of experiments (see docs/superposition.md); default: the"
                + " standard settings")
    private Path config;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "directory for the pictures and CSV files (created if missing)")
    private Path out;

    @Option(names = "--only", split = ",", paramLabel = "NAME",
            description = "run only these experiments (comma-separated names)")
    private List<String> only;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        List<SuperpositionExperiment> experiments = selected(loadExperiments());
        PrintWriter stdout = spec.commandLine().getOut();
        List<ExperimentResult> results = new ArrayList<>();
        try {
            for (SuperpositionExperiment e : experiments) {
                stdout.printf("training %s ...%n", e.name());
                stdout.flush();
                ExperimentResult result = e.run();
                stdout.print(SuperpositionReport.summary(result));
                SuperpositionReport.writePictures(result, out);
                results.add(result);
            }
            List<Path> tables = SuperpositionReport.writeCsv(results, out);
            stdout.printf("wrote pictures and %s to %s%n", tables.stream()
                    .map(p -> p.getFileName().toString()).collect(Collectors.joining(", ")), out);
            return 0;
        } catch (UncheckedIOException e) {
            spec.commandLine().getErr().println("superposition: " + e.getMessage() + ": "
                    + e.getCause().getMessage());
            return 1;
        }
    }

    private List<SuperpositionExperiment> loadExperiments() {
        if (config == null) {
            return SuperpositionExperiment.standard();
        }
        try (Reader reader = Files.newBufferedReader(config, StandardCharsets.UTF_8)) {
            return SuperpositionExperiment.fromJson(reader, config.toString());
        } catch (IOException e) {
            throw new ParameterException(spec.commandLine(),
                    "cannot read --config " + config + ": " + e);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "bad --config: " + e.getMessage());
        }
    }

    private List<SuperpositionExperiment> selected(List<SuperpositionExperiment> experiments) {
        if (only == null) {
            return experiments;
        }
        Set<String> known = experiments.stream().map(SuperpositionExperiment::name)
                .collect(Collectors.toCollection(TreeSet::new));
        for (String name : only) {
            if (!known.contains(name)) {
                throw new ParameterException(spec.commandLine(), "--only: no experiment named '"
                        + name + "'; experiments: " + String.join(", ", known));
            }
        }
        return experiments.stream().filter(e -> only.contains(e.name())).toList();
    }

    /** Runs the command on its own: {@code java ... SuperpositionCommand --out DIR}. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new SuperpositionCommand()).execute(args));
    }
}
