package org.lens4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SuperpositionCommandTest {
    /** Two small experiments that train in a fraction of a second. */
    private static final String CONFIG = """
            {"experiments": [
              {"name": "tiny-2d", "model": "relu-output", "n_features": 3, "d_hidden": 2,
               "feature_probability": [1.0, 0.1], "importance_decay": 0.9,
               "restarts": 2, "steps": 60, "batch_size": 64},
              {"name": "tiny-abs", "model": "neuron-computation", "n_features": 4,
               "d_hidden": 4, "feature_probability": [0.5], "steps": 60, "batch_size": 64}
            ]}
            """;

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cmd = new CommandLine(new SuperpositionCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    private Path config(String json) throws IOException {
        return Files.writeString(dir.resolve("config.json"), json);
    }

    @Test
    void trainsTheConfiguredExperimentsAndWritesPicturesAndCsv() throws IOException {
        Path results = dir.resolve("results");
        assertThat(run("--config", config(CONFIG).toString(), "--out", results.toString()))
                .as(err.toString()).isZero();
        assertThat(results.resolve("tiny-2d-arrows.svg")).exists();
        assertThat(results.resolve("tiny-2d-W.svg")).exists();
        assertThat(results.resolve("tiny-2d-WtW.svg")).exists();
        assertThat(results.resolve("tiny-2d-norms.svg")).exists();
        assertThat(results.resolve("tiny-2d-dimensionality.svg")).exists();
        assertThat(results.resolve("tiny-abs-neurons.svg")).exists();
        assertThat(results.resolve("tiny-abs-arrows.svg")).doesNotExist();
        assertThat(Files.readString(results.resolve("tiny-2d-arrows.svg"))).startsWith("<svg");

        List<String> features = Files.readAllLines(results.resolve("features.csv"));
        assertThat(features.get(0)).isEqualTo("experiment,model,instance,feature_probability,"
                + "feature,importance,norm,interference,dimensionality,angle_deg");
        assertThat(features).hasSize(1 + 2 * 3 + 4);
        assertThat(features.get(1)).startsWith("tiny-2d,relu-output,0,1.0,0,1.0,");
        assertThat(features.get(7)).startsWith("tiny-abs,neuron-computation,0,0.5,0,1.0,");
        List<String> instances = Files.readAllLines(results.resolve("instances.csv"));
        assertThat(instances).hasSize(1 + 2 + 1);
        assertThat(instances.get(2)).startsWith("tiny-2d,relu-output,1,0.1,");
        assertThat(Files.readAllLines(results.resolve("antipodal-pairs.csv")).get(0))
                .startsWith("experiment,instance,feature_probability,feature,neuron_a");

        String printed = out.toString();
        assertThat(printed).contains("training tiny-2d ...", "training tiny-abs ...",
                "tiny-2d (relu-output, 3 features, d_hidden 2, 2 restarts x 60 steps)",
                "antipodal pairs (cosine < -0.9)", "wrote pictures and features.csv");
    }

    @Test
    void onlyRunsTheNamedExperiments() throws IOException {
        assertThat(run("--config", config(CONFIG).toString(), "--out", dir.toString(),
                "--only", "tiny-abs")).as(err.toString()).isZero();
        assertThat(dir.resolve("tiny-abs-neurons.svg")).exists();
        assertThat(dir.resolve("tiny-2d-arrows.svg")).doesNotExist();
        assertThat(Files.readAllLines(dir.resolve("instances.csv"))).hasSize(2);
    }

    @Test
    void reportsBadArgumentsClearly() throws IOException {
        String file = config(CONFIG).toString();
        assertThat(run("--config", file)).isEqualTo(2);
        assertThat(err.toString()).contains("Missing required option: '--out=DIR'");

        err.getBuffer().setLength(0);
        assertThat(run("--config", file, "--out", dir.toString(), "--only", "tiny-3d"))
                .isEqualTo(2);
        assertThat(err.toString()).contains("no experiment named 'tiny-3d'",
                "experiments: tiny-2d, tiny-abs");

        err.getBuffer().setLength(0);
        Path missing = dir.resolve("missing.json");
        assertThat(run("--config", missing.toString(), "--out", dir.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("cannot read --config " + missing);

        err.getBuffer().setLength(0);
        String typo = CONFIG.replace("\"d_hidden\": 2", "\"d_hiden\": 2");
        assertThat(run("--config", config(typo).toString(), "--out", dir.toString()))
                .isEqualTo(2);
        assertThat(err.toString()).contains("experiment 0", "unknown key 'd_hiden'");
    }

    @Test
    void reportsAnOutputDirectoryThatCannotBeCreated() throws IOException {
        Path file = Files.writeString(dir.resolve("not-a-directory"), "x");
        assertThat(run("--config", config(CONFIG).toString(), "--out",
                file.resolve("sub").toString(), "--only", "tiny-abs")).isEqualTo(1);
        assertThat(err.toString().toLowerCase(Locale.ROOT)).contains("cannot write")
                .contains("not-a-directory");
    }

    @Test
    void standardSettingsAreListedInTheHelp() {
        assertThat(run("--help")).isZero();
        assertThat(out.toString()).contains("--config=FILE", "--out=DIR", "--only=NAME",
                "five-features", "feature-geometry");
    }
}
