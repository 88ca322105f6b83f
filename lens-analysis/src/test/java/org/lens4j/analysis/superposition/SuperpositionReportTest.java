package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SuperpositionReportTest extends ManagedArraysTest {
    @TempDir
    Path dir;
    private ExperimentResult planar;
    private ExperimentResult neurons;

    @BeforeEach
    void buildSampleResults() {
        ToyModelConfig twoD = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT).nFeatures(3)
                .dHidden(2).featureProbabilityPerInstance(1.0, 0.1).importanceDecay(0.5).build();
        // Instance 1: three unit features at 0, 120 and 240 degrees.
        float c = (float) Math.cos(Math.toRadians(120));
        float s = (float) Math.sin(Math.toRadians(120));
        FeatureGeometry g = FeatureGeometry.of(manager.create(new float[] {
            1, 0, 0.1f,
            0, 1, 0,
            1, c, c,
            0, s, -s}, new Shape(2, 2, 3)));
        planar = new ExperimentResult(new SuperpositionExperiment("planar", twoD, 2,
                TrainingOptions.builder().steps(123).build()), g, new float[] {0.25f, 0.125f},
                new int[] {1, 0}, Duration.ofMillis(1500), List.of());
        ToyModelConfig abs = ToyModelConfig.builder(ToyModelKind.NEURON_COMPUTATION).nFeatures(2)
                .dHidden(3).featureProbabilityPerInstance(0.5).build();
        FeatureGeometry w1 = FeatureGeometry.of(manager.create(new float[] {1, 0, -1, 0, 0, 1},
                new Shape(1, 3, 2)));
        neurons = new ExperimentResult(new SuperpositionExperiment("abs", abs, 1,
                TrainingOptions.defaults()), w1, new float[] {0.5f}, new int[] {0},
                Duration.ofSeconds(2), List.of(new AntipodalPair(0, 0, 0, 1, -1.0, 1f, -1f, 0.5f,
                0.75f)));
    }


    @Test
    void csvTablesHoldTheGeometryOfEveryInstance() throws IOException {
        List<Path> files = SuperpositionReport.writeCsv(List.of(planar, neurons), dir);
        assertThat(files).containsExactly(dir.resolve("features.csv"),
                dir.resolve("instances.csv"), dir.resolve("antipodal-pairs.csv"));

        List<String> features = Files.readAllLines(dir.resolve("features.csv"));
        assertThat(features).hasSize(1 + 6 + 2);
        FeatureGeometry g = planar.geometry();
        assertThat(features.get(3)).isEqualTo(String.join(",", "planar", "relu-output", "0",
                "1.0", "2", "0.25", String.valueOf(g.norms()[0][2]),
                String.valueOf(g.interference()[0][2]), String.valueOf(g.dimensionality()[0][2]),
                String.valueOf(g.angles(0)[2])));
        assertThat(features.get(7)).startsWith("abs,neuron-computation,0,0.5,0,1.0,1.4142")
                .endsWith(",");

        List<String> instances = Files.readAllLines(dir.resolve("instances.csv"));
        assertThat(instances).containsExactly(
                "experiment,model,instance,feature_probability,loss,chosen_restart,restarts,"
                        + "represented_features,dimensions_per_feature,neighbour_angles_deg,"
                        + "training_seconds,steps",
                "planar,relu-output,0,1.0,0.25,1,2,2," + g.dimensionsPerFeature(0)
                        + ",90.0;270.0,1.5,123",
                "planar,relu-output,1,0.1,0.125,0,2,3," + g.dimensionsPerFeature(1)
                        + ",120.0;120.0;120.0,1.5,123",
                "abs,neuron-computation,0,0.5,0.5,0,1,2,"
                        + neurons.geometry().dimensionsPerFeature(0) + ",,2.0,10000");

        assertThat(Files.readAllLines(dir.resolve("antipodal-pairs.csv"))).containsExactly(
                "experiment,instance,feature_probability,feature,neuron_a,neuron_b,cosine,"
                        + "input_weight_a,input_weight_b,output_weight_a,output_weight_b",
                "abs,0,0.5,0,0,1,-1.0,1.0,-1.0,0.5,0.75");
    }

    @Test
    void picturesDependOnTheModel() {
        assertThat(SuperpositionReport.writePictures(planar, dir)).extracting(Path::getFileName)
                .map(Path::toString).containsExactly("planar-W.svg", "planar-WtW.svg",
                        "planar-norms.svg", "planar-arrows.svg", "planar-dimensionality.svg");
        assertThat(SuperpositionReport.writePictures(neurons, dir)).extracting(Path::getFileName)
                .map(Path::toString).containsExactly("abs-W.svg", "abs-WtW.svg",
                        "abs-norms.svg", "abs-neurons.svg");
        assertThat(dir.resolve("planar-arrows.svg")).content().startsWith("<svg");
    }

    @Test
    void summaryListsNormsAnglesAndPairs() {
        assertThat(SuperpositionReport.summary(planar)).contains(
                "planar (relu-output, 3 features, d_hidden 2, 2 restarts x 123 steps):"
                        + " trained in 1.5 s",
                "p=0.1     loss 1.250e-01  represented 3/3  norms 1.000;1.000;1.000"
                        + "  neighbour angles 120.0;120.0;120.0");
        assertThat(SuperpositionReport.summary(neurons))
                .contains("antipodal pairs (cosine < -0.9): 1");
    }

    @Test
    void namesTheFileItCannotWrite() throws IOException {
        Path file = Files.writeString(dir.resolve("occupied"), "x");
        assertThatThrownBy(() -> SuperpositionReport.writeCsv(List.of(planar), file))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("cannot write " + file.resolve("features.csv"));
    }
}
