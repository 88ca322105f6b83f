package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole experiment: split, balance, train, evaluate, baseline, neuron basis, JSON and picture. */
class ProbeReportTest {

    @TempDir
    Path dir;

    /** A feature carried by neuron 5 alone, on top of isotropic noise. */
    private static ProbingSet oneNeuronFeature() {
        float[] e5 = new float[16];
        e5[5] = 1;
        return Synthetic.planted(2000, 16, e5, 2.5, 8, new Random(3));
    }

    @Test
    void aOneNeuronFeatureIsFoundByTheProbeAndTheBaseline() {
        ProbingSet set = oneNeuronFeature();
        ProbeReport report = ProbeReport.run(set, ProbeOptions.DEFAULT);
        System.out.print(report.summary());

        Set<Integer> train = new HashSet<>();
        Arrays.stream(report.trainSet().sequences()).forEach(train::add);
        assertThat(Arrays.stream(report.testSet().sequences()).noneMatch(train::contains)).isTrue();
        int[] trainCounts = report.trainSet().classCounts();
        int[] testCounts = report.testSet().classCounts();
        assertThat(trainCounts[0]).isEqualTo(trainCounts[1]);
        assertThat(testCounts[0]).isEqualTo(testCounts[1]);
        assertThat(report.testSet().numSequences()).isEqualTo(Math.round(0.25 * set.numSequences()));

        assertThat(report.baseline().neuron()).isEqualTo(5);
        NeuronBasis basis = report.neuronBasis().get(0);
        assertThat(basis.top().get(0).neuron()).isEqualTo(5);
        assertThat(basis.top().get(0).cosine()).isGreaterThan(0.95);
        assertThat(basis.neuronsFor90Percent()).isEqualTo(1);
        // the probe can do no better than the one informative neuron, up to noise
        assertThat(report.test().accuracy()).isCloseTo(report.baseline().test().accuracy(), within(0.03));
        assertThat(report.test()).isEqualTo(report.probe().evaluate(report.testSet()));
    }

    @Test
    void theJsonHoldsTheNumbers() {
        ProbeReport report = ProbeReport.run(oneNeuronFeature(), ProbeOptions.builder().seed(4).build());
        JsonObject json = JsonParser.parseString(report.toJson()).getAsJsonObject();
        assertThat(json.get("hook").getAsString()).isEqualTo("synthetic");
        assertThat(json.get("feature").getAsString()).isEqualTo("planted");
        assertThat(json.getAsJsonObject("options").get("seed").getAsLong()).isEqualTo(4);
        assertThat(json.getAsJsonObject("test_set").get("rows").getAsInt()).isEqualTo(report.testSet().size());
        JsonObject probe = json.getAsJsonObject("probe");
        assertThat(probe.getAsJsonObject("test").get("auroc").getAsDouble()).isEqualTo(report.test().auroc());
        assertThat(probe.getAsJsonObject("train").get("f1").getAsDouble()).isEqualTo(report.train().f1());
        assertThat(probe.get("steps").getAsString()).isEqualTo(report.probe().metadata().get("steps"));
        assertThat(json.getAsJsonObject("single_neuron_baseline").get("neuron").getAsInt()).isEqualTo(5);
        assertThat(json.get("accuracy_gain_over_single_neuron").getAsDouble())
                .isEqualTo(report.test().accuracy() - report.baseline().test().accuracy());
        assertThat(json.getAsJsonArray("neuron_basis").get(0).getAsJsonObject().get("neuronsFor90Percent").getAsInt())
                .isEqualTo(1);
    }

    @Test
    void aClassMissingFromTheTestSequencesIsNamed() {
        float[][] x = new float[8][];
        int[] labels = {0, 1, 0, 1, 0, 1, 0, 0};
        int[] sequences = {0, 0, 1, 1, 2, 2, 3, 3};
        for (int i = 0; i < 8; i++) {
            x[i] = new float[] {i};
        }
        ProbingSet set = ProbingSet.of("h", "f", List.of("no", "yes"), x, labels, sequences, new int[8]);
        // find a seed whose single test sequence is the one without class 1
        long seed = 0;
        while (!Arrays.equals(set.split(0.25, seed).test().sequences(), new int[] {3, 3})) {
            seed++;
        }
        ProbeOptions options = ProbeOptions.builder().seed(seed).build();
        assertThatThrownBy(() -> ProbeReport.run(set, options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("class 'yes' has no rows");
        ProbeOptions unbalanced = options.toBuilder().balance(false).build();
        assertThatThrownBy(() -> ProbeReport.run(set, unbalanced))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the test sequences have no row of class 'yes'");
    }

    @Test
    void theWeightsPictureIsAPng() throws IOException {
        ProbeReport report = ProbeReport.run(oneNeuronFeature(), ProbeOptions.DEFAULT);
        Path png = dir.resolve("pictures/weights.png");
        ProbeWeightsChart.writePng(report.probe(), png);
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(ProbeWeightsChart.WIDTH);
        assertThat(image.getHeight()).isEqualTo(ProbeWeightsChart.HEIGHT);
        assertThat(distinctColours(image)).isGreaterThan(10);

        LinearProbe multi = LinearProbe.of("h", List.of("a", "b", "c"),
                new float[][] {{1, 0, -1}, {0.5f, 2, 0}, {0, 0, 3}}, new float[3], java.util.Map.of());
        BufferedImage heat = ProbeWeightsChart.image(multi);
        assertThat(heat.getWidth()).isEqualTo(ProbeWeightsChart.WIDTH);
        assertThat(distinctColours(heat)).isGreaterThan(10);
    }

    private static int distinctColours(BufferedImage image) {
        Set<Integer> colours = new HashSet<>();
        for (int x = 0; x < image.getWidth(); x += 3) {
            for (int y = 0; y < image.getHeight(); y += 3) {
                colours.add(image.getRGB(x, y));
            }
        }
        return colours.size();
    }
}
