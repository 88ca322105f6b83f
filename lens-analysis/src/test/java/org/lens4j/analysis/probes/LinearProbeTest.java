package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.io.Safetensors;
import org.lens4j.core.testing.Fixtures;

/** Applying, saving and loading probes. */
class LinearProbeTest {

    @TempDir
    Path dir;

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private static LinearProbe randomProbe(String hook, int d, List<String> classes, long seed) {
        Random rng = new Random(seed);
        int k = classes.size() == 2 ? 1 : classes.size();
        float[][] w = new float[d][k];
        float[] b = new float[k];
        for (int j = 0; j < d; j++) {
            for (int c = 0; c < k; c++) {
                w[j][c] = (float) rng.nextGaussian();
            }
        }
        for (int c = 0; c < k; c++) {
            b[c] = (float) rng.nextGaussian();
        }
        return LinearProbe.of(hook, classes, w, b, Map.of("feature", "test"));
    }

    /** Softmax class probabilities of one activation, computed here in double precision. */
    private static double[] expectedProbabilities(LinearProbe probe, float[] x) {
        float[][] w = probe.weights();
        float[] b = probe.bias();
        int classes = probe.numClasses();
        double[] z = new double[classes];
        for (int c = 0; c < probe.numDirections(); c++) {
            double s = b[c];
            for (int j = 0; j < x.length; j++) {
                s += (double) x[j] * w[j][c];
            }
            z[probe.numDirections() == 1 ? 1 : c] = s;
        }
        double max = java.util.Arrays.stream(z).max().orElseThrow();
        double sum = java.util.Arrays.stream(z).map(v -> Math.exp(v - max)).sum();
        return java.util.Arrays.stream(z).map(v -> Math.exp(v - max) / sum).toArray();
    }

    @Test
    void probabilitiesAndPredictionsOfAnyBatchShape() {
        for (List<String> classes : List.of(List.of("no", "yes"), List.of("a", "b", "c", "d"))) {
            LinearProbe probe = randomProbe("h", 6, classes, 1);
            NDArray x = manager.randomNormal(new Shape(2, 3, 6));
            NDArray p = probe.probabilities(x);
            assertThat(p.getShape()).isEqualTo(new Shape(2, 3, classes.size()));
            long[] predicted = probe.predict(x).toLongArray();
            float[] flat = x.toFloatArray();
            float[] probs = p.toFloatArray();
            for (int r = 0; r < 6; r++) {
                double[] expected = expectedProbabilities(probe, java.util.Arrays.copyOfRange(flat, r * 6, r * 6 + 6));
                int best = 0;
                for (int c = 0; c < classes.size(); c++) {
                    assertThat((double) probs[r * classes.size() + c]).isCloseTo(expected[c], within(1e-6));
                    best = expected[c] > expected[best] ? c : best;
                }
                assertThat(predicted[r]).isEqualTo(best);
            }
            NDArray x64 = x.toType(DataType.FLOAT64, false);
            assertThat(probe.logits(x64).getDataType()).isEqualTo(DataType.FLOAT64);
        }
    }

    @Test
    void applyingToAModelReadsTheHook() {
        String model = "gpt2_style_2l";
        try (HookedTransformer m = HookedTransformer.fromStateDict(Fixtures.config(model, "model/config.json"),
                Fixtures.tensors(model, "model/weights.safetensors", manager))) {
            NDArray tokens = Fixtures.tensors(model, "inputs.safetensors", manager).get("tokens");
            NDArray reference = Fixtures.tensors(model, "outputs.safetensors", manager)
                    .get("cache.blocks.1.hook_resid_post");
            LinearProbe probe = randomProbe("blocks.1.hook_resid_post", 64, List.of("x", "y", "z"), 2);
            NDArray p = probe.apply(m, tokens);
            assertThat(p.getShape()).isEqualTo(new Shape(3, 16, 3));
            assertThat(p.getManager()).isSameAs(tokens.getManager());
            float[] acts = reference.toFloatArray();
            float[] probs = p.toFloatArray();
            for (int r = 0; r < 3 * 16; r++) {
                double[] expected = expectedProbabilities(probe, java.util.Arrays.copyOfRange(acts, r * 64, r * 64 + 64));
                for (int c = 0; c < 3; c++) {
                    assertThat((double) probs[r * 3 + c]).isCloseTo(expected[c], within(1e-5));
                }
            }
            LinearProbe wrongSize = randomProbe("blocks.0.mlp.hook_post", 64, List.of("x", "y"), 3);
            assertThatThrownBy(() -> wrongSize.apply(m, tokens))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("reads activations [..., 64], not (3, 16, 256)");
        }
    }

    @Test
    void saveAndLoadRoundTrip() throws IOException {
        for (List<String> classes : List.of(List.of("no", "yes"), List.of("a", "b", "c"))) {
            LinearProbe probe = randomProbe("blocks.0.hook_resid_post", 5, classes, 4);
            Path target = dir.resolve("probe-" + classes.size());
            probe.save(target);
            assertThat(target.resolve("probe.json")).exists();
            assertThat(target.resolve("probe.safetensors")).exists();
            LinearProbe loaded = LinearProbe.load(target);
            assertThat(loaded.hook()).isEqualTo(probe.hook());
            assertThat(loaded.classNames()).isEqualTo(classes);
            assertThat(loaded.weights()).isDeepEqualTo(probe.weights());
            assertThat(loaded.bias()).containsExactly(probe.bias());
            assertThat(loaded.metadata()).isEqualTo(probe.metadata());
            Map<String, NDArray> tensors = Safetensors.read(target.resolve("probe.safetensors"), manager);
            assertThat(tensors.get("W").getShape()).isEqualTo(new Shape(5, classes.size() == 2 ? 1 : 3));
        }
    }

    @Test
    void malformedProbeFilesAreNamed() throws IOException {
        LinearProbe probe = randomProbe("h", 4, List.of("no", "yes"), 5);
        assertThatThrownBy(() -> LinearProbe.load(dir.resolve("missing")))
                .isInstanceOf(NoSuchFileException.class).hasMessageContaining("probe.json");

        Path good = dir.resolve("good");
        probe.save(good);
        String json = Files.readString(good.resolve("probe.json"));

        Path p1 = copy(good, "format");
        Files.writeString(p1.resolve("probe.json"), json.replace("lens4j-linear-probe", "something-else"));
        assertThatThrownBy(() -> LinearProbe.load(p1)).isInstanceOf(IOException.class)
                .hasMessageContaining("format is 'something-else'");

        Path p2 = copy(good, "classes");
        Files.writeString(p2.resolve("probe.json"), json.replace("\"no\",", "\"no\", \"maybe\","));
        assertThatThrownBy(() -> LinearProbe.load(p2)).isInstanceOf(IOException.class)
                .hasMessageContaining("tensor 'W' has shape (4, 1); 3 classes need [d, 3]");

        Path p3 = copy(good, "json");
        Files.writeString(p3.resolve("probe.json"), "{\"format\": ");
        assertThatThrownBy(() -> LinearProbe.load(p3)).isInstanceOf(IOException.class).hasMessageContaining("invalid JSON");

        Path p4 = copy(good, "bias");
        Map<String, NDArray> noBias = new LinkedHashMap<>();
        noBias.put("W", probe.weights(manager));
        Safetensors.write(p4.resolve("probe.safetensors"), noBias, Map.of());
        assertThatThrownBy(() -> LinearProbe.load(p4)).isInstanceOf(IOException.class)
                .hasMessageContaining("no tensor 'b'");

        Path p5 = copy(good, "dtype");
        Map<String, NDArray> doubles = new LinkedHashMap<>();
        doubles.put("W", probe.weights(manager).toType(DataType.FLOAT64, false));
        doubles.put("b", probe.bias(manager));
        Safetensors.write(p5.resolve("probe.safetensors"), doubles, Map.of());
        assertThatThrownBy(() -> LinearProbe.load(p5)).isInstanceOf(IOException.class)
                .hasMessageContaining("tensor 'W' is float64, not float32");

        Path p6 = copy(good, "dim");
        Files.writeString(p6.resolve("probe.json"), json.replace("\"dim\": 4", "\"dim\": 5"));
        assertThatThrownBy(() -> LinearProbe.load(p6)).isInstanceOf(IOException.class)
                .hasMessageContaining("'dim' is 5");

        Path p7 = copy(good, "nan");
        Map<String, NDArray> nan = new LinkedHashMap<>();
        nan.put("W", manager.create(new float[] {1, Float.NaN, 0, 0}, new Shape(4, 1)));
        nan.put("b", probe.bias(manager));
        Safetensors.write(p7.resolve("probe.safetensors"), nan, Map.of());
        assertThatThrownBy(() -> LinearProbe.load(p7)).isInstanceOf(IOException.class)
                .hasMessageContaining("non-finite");
    }

    private Path copy(Path from, String name) throws IOException {
        Path to = Files.createDirectories(dir.resolve(name));
        for (String f : List.of("probe.json", "probe.safetensors")) {
            Files.copy(from.resolve(f), to.resolve(f));
        }
        return to;
    }

    @Test
    void badWeightsAndActivationsAreRefused() {
        assertThatThrownBy(() -> LinearProbe.of("h", List.of("a", "b", "c"), new float[][] {{1}}, new float[] {0, 0, 0},
                Map.of())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 0 has 1 values");
        assertThatThrownBy(() -> LinearProbe.of("h", List.of("a", "b"), new float[][] {{1}}, new float[] {0, 0},
                Map.of())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bias has 2 values");
        LinearProbe probe = randomProbe("h", 4, List.of("no", "yes"), 6);
        assertThatThrownBy(() -> probe.probabilities(manager.zeros(new Shape(2, 5))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reads activations [..., 4]");
        assertThatThrownBy(() -> probe.probabilities(manager.zeros(new Shape(2, 4), DataType.INT32)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("floating");
        assertThatThrownBy(() -> randomProbe("h", 4, List.of("a", "b", "c"), 7).direction())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("direction(class)");
    }
}
