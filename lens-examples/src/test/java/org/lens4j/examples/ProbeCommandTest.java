package org.lens4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.analysis.probes.LinearProbe;
import org.lens4j.analysis.probes.Positions;
import org.lens4j.analysis.probes.ProbeOptions;
import org.lens4j.analysis.probes.ProbeReport;
import org.lens4j.analysis.probes.ProbingSetCollector;
import org.lens4j.analysis.probes.TokenFeature;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.io.Safetensors;
import org.lens4j.core.testing.Fixtures;
import picocli.CommandLine;

/** {@code lens probe} writes the same probe and numbers as the Java API, and names bad input. */
class ProbeCommandTest {

    private static final String MODEL = "gpt2_style_2l";

    @TempDir
    Path dir;

    private Path modelDir;
    private Path tokensFile;
    private long[][] tokens;

    @BeforeEach
    void setUp() throws IOException {
        modelDir = Files.createDirectories(dir.resolve("model"));
        Fixtures.copy(MODEL, "model/config.json", modelDir.resolve("config.json"));
        Fixtures.copy(MODEL, "model/weights.safetensors", modelDir.resolve("weights.safetensors"));
        // 60 random sequences of 16 tokens from 20 ids, so tokens often repeat
        Random rng = new Random(0);
        tokens = new long[60][16];
        for (long[] row : tokens) {
            for (int p = 0; p < row.length; p++) {
                row[p] = rng.nextInt(20);
            }
        }
        tokensFile = dir.resolve("tokens.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            Safetensors.write(tokensFile, Map.of("tokens", m.create(tokens)), Map.of());
        }
    }

    private int run(StringWriter err, String... args) {
        CommandLine cli = LensCommand.commandLine();
        cli.setErr(new PrintWriter(err));
        return cli.execute(args);
    }

    @Test
    void writesTheProbeItsMetricsAndAPicture() throws IOException {
        Path out = dir.resolve("out");
        int code = run(new StringWriter(), "probe", "--model", modelDir.toString(), "--hook", "blocks.1.hook_resid_post",
                "--label", "seen-before", "--tokens-file", tokensFile.toString(), "--positions", "from:1",
                "--seed", "3", "--max-steps", "100", "--out", out.toString());
        assertThat(code).isZero();
        assertThat(ImageIO.read(out.resolve("weights.png").toFile()).getWidth()).isEqualTo(1000);

        // the same experiment through the Java API
        try (HookedTransformer model = HookedTransformer.fromPretrained(modelDir.toString())) {
            ProbeReport expected = ProbeReport.run(new ProbingSetCollector(model, "blocks.1.hook_resid_post",
                    TokenFeature.seenBefore()).positions(Positions.from(1)).collect(tokens),
                    ProbeOptions.builder().seed(3).maxSteps(100).build());
            JsonObject metrics = JsonParser.parseString(Files.readString(out.resolve("metrics.json"))).getAsJsonObject();
            JsonObject test = metrics.getAsJsonObject("probe").getAsJsonObject("test");
            assertThat(test.get("accuracy").getAsDouble()).isEqualTo(expected.test().accuracy());
            assertThat(test.get("auroc").getAsDouble()).isEqualTo(expected.test().auroc());
            assertThat(test.get("f1").getAsDouble()).isEqualTo(expected.test().f1());
            assertThat(metrics.getAsJsonObject("single_neuron_baseline").get("neuron").getAsInt())
                    .isEqualTo(expected.baseline().neuron());
            LinearProbe written = LinearProbe.load(out);
            assertThat(written.hook()).isEqualTo("blocks.1.hook_resid_post");
            assertThat(written.weights()).isDeepEqualTo(expected.probe().weights());
            assertThat(written.metadata()).containsEntry("feature", "seen-before");
        }
    }

    @Test
    void aZooModelOnItsOwnTask() throws IOException {
        Path out = dir.resolve("zoo");
        int code = run(new StringWriter(), "probe", "--model", "lens4j-induction-attn-only-2l", "--hook",
                "blocks.1.hook_resid_post", "--label", "seen-before", "--induction-sequences", "120", "--positions",
                "from:1", "--max-steps", "300", "--out", out.toString());
        assertThat(code).isZero();
        JsonObject metrics = JsonParser.parseString(Files.readString(out.resolve("metrics.json"))).getAsJsonObject();
        assertThat(metrics.getAsJsonObject("test_set").get("sequences").getAsInt()).isEqualTo(30);
        assertThat(metrics.getAsJsonObject("probe").getAsJsonObject("test").get("accuracy").getAsDouble())
                .isGreaterThan(0.85);
        StringWriter err = new StringWriter();
        assertThat(run(err, "probe", "--model", "lens4j-induction-attn-only-2l", "--hook", "blocks.1.hook_resid_post",
                "--label", "seen-before", "--induction-sequences", "10", "--segment", "6-16", "--out",
                dir.resolve("x").toString())).isEqualTo(1);
        assertThat(err.toString()).contains("--segment must be shortest:longest");
    }

    @Test
    void severalLabelsMakeAMultiClassProbe() throws IOException {
        Path out = dir.resolve("multi");
        int code = run(new StringWriter(), "probe", "--model", modelDir.toString(), "--hook", "blocks.0.mlp.hook_post",
                "--label", "token-in:0,1,2,3,4,5", "--label", "seen-before", "--tokens-file", tokensFile.toString(),
                "--penalty", "l1", "--lambda", "0.01", "--no-balance", "--max-steps", "100", "--out", out.toString());
        assertThat(code).isZero();
        LinearProbe probe = LinearProbe.load(out);
        assertThat(probe.classNames()).containsExactly("token-in:0,1,2,3,4,5", "seen-before", "none");
        assertThat(probe.dim()).isEqualTo(256);
        JsonObject metrics = JsonParser.parseString(Files.readString(out.resolve("metrics.json"))).getAsJsonObject();
        assertThat(metrics.getAsJsonArray("neuron_basis").size()).isEqualTo(3);
        assertThat(metrics.getAsJsonObject("options").get("penalty").getAsString()).isEqualTo("L1");
    }

    @Test
    void theShuffledLabelControlRuns() throws IOException {
        Path out = dir.resolve("control");
        int code = run(new StringWriter(), "probe", "--model", modelDir.toString(), "--hook", "blocks.1.hook_resid_post",
                "--label", "seen-before", "--tokens-file", tokensFile.toString(), "--shuffle-labels",
                "--max-steps", "100", "--out", out.toString());
        assertThat(code).isZero();
        JsonObject metrics = JsonParser.parseString(Files.readString(out.resolve("metrics.json"))).getAsJsonObject();
        assertThat(metrics.get("feature").getAsString()).isEqualTo("shuffled seen-before");
    }

    @Test
    void badInputsEndWithOneClearLine() {
        for (List<String> args : List.of(
                List.of("--hook", "blocks.1.hook_resid_post", "--label", "^\\d+$", "--tokens", "1,2,3"),
                List.of("--hook", "blocks.1.hook_resid_psot", "--label", "seen-before", "--tokens", "1,2,3"),
                List.of("--hook", "blocks.1.hook_resid_post", "--label", "seen-before", "--tokens", "1,2,3",
                        "--penalty", "l3"),
                List.of("--hook", "blocks.1.hook_resid_post", "--label", "seen-before", "--tokens", "1,2,3",
                        "--positions", "first"),
                List.of("--hook", "blocks.1.hook_resid_post", "--label", "seen-before", "--tokens", "1,2,3;4,5,6"))) {
            StringWriter err = new StringWriter();
            List<String> all = new java.util.ArrayList<>(List.of("probe", "--model", modelDir.toString(), "--out",
                    dir.resolve("x").toString()));
            all.addAll(args);
            assertThat(run(err, all.toArray(String[]::new))).as(String.join(" ", args)).isEqualTo(1);
            assertThat(err.toString().strip().lines().count()).as(err.toString()).isEqualTo(1);
        }
        StringWriter err = new StringWriter();
        run(err, "probe", "--model", modelDir.toString(), "--out", dir.resolve("x").toString(), "--hook",
                "blocks.1.hook_resid_post", "--label", "^\\d+$", "--tokens", "1,2,3");
        assertThat(err.toString()).contains("no tokenizer");
        StringWriter err2 = new StringWriter();
        run(err2, "probe", "--model", modelDir.toString(), "--out", dir.resolve("x").toString(), "--hook",
                "blocks.1.hook_resid_post", "--label", "seen-before", "--tokens", "1,2,3;4,5,6");
        assertThat(err2.toString()).contains("cannot balance").contains("class 'seen-before' has no rows");
        assertThat(Files.exists(dir.resolve("x"))).isFalse();
    }
}
