package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FeatureGeometryTest extends ManagedArraysTest {
    @Test
    void matchesTheDefinitionsOnRandomWeights() {
        int inst = 2;
        int hidden = 3;
        int feat = 5;
        Random r = new Random(3);
        float[] flat = new float[inst * hidden * feat];
        for (int k = 0; k < flat.length; k++) {
            flat[k] = (float) r.nextGaussian();
        }
        FeatureGeometry g = FeatureGeometry.of(manager.create(flat, new Shape(inst, hidden, feat)));
        assertThat(g.nInstances()).isEqualTo(inst);
        assertThat(g.dHidden()).isEqualTo(hidden);
        assertThat(g.nFeatures()).isEqualTo(feat);
        for (int n = 0; n < inst; n++) {
            double frobenius = 0;
            for (int i = 0; i < feat; i++) {
                double[] wi = column(flat, n, i, hidden, feat);
                double norm = Math.sqrt(dot(wi, wi));
                double[] unit = {wi[0] / norm, wi[1] / norm, wi[2] / norm};
                double interference = 0;
                double allProjections = 0;
                for (int j = 0; j < feat; j++) {
                    double[] wj = column(flat, n, j, hidden, feat);
                    assertThat(g.gram()[n][i][j]).isCloseTo((float) dot(wi, wj), within(1e-5f));
                    double projection = dot(unit, wj);
                    allProjections += projection * projection;
                    if (j != i) {
                        interference += projection * projection;
                    }
                }
                assertThat(g.norms()[n][i]).isCloseTo((float) norm, within(1e-5f));
                assertThat(g.interference()[n][i]).isCloseTo((float) interference, within(1e-4f));
                assertThat(g.dimensionality()[n][i])
                        .isCloseTo((float) (norm * norm / allProjections), within(1e-5f));
                assertThat(g.weights()[n][1][i]).isEqualTo(flat[(n * hidden + 1) * feat + i]);
                frobenius += norm * norm;
            }
            assertThat(g.dimensionsPerFeature(n)).isCloseTo(hidden / frobenius, within(1e-5));
        }
    }

    @Test
    void regularPentagonHasNeighbourAnglesOf72AndDimensionalityTwoFifths() {
        float[] w = new float[2 * 5];
        for (int i = 0; i < 5; i++) {
            double angle = Math.toRadians(30 + 72 * i);
            w[i] = (float) Math.cos(angle);
            w[5 + i] = (float) Math.sin(angle);
        }
        FeatureGeometry g = FeatureGeometry.of(manager.create(w, new Shape(1, 2, 5)));
        assertThat(g.neighbourAngles(0, 0.5))
                .containsExactly(new double[] {72, 72, 72, 72, 72}, within(1e-4));
        assertThat(g.angles(0)[0]).isCloseTo(30.0, within(1e-4));
        assertThat(g.angles(0)[3]).isCloseTo(246.0 - 360, within(1e-4));
        for (float d : g.dimensionality()[0]) {
            assertThat(d).isCloseTo(0.4f, within(1e-5f));
        }
        assertThat(g.dimensionsPerFeature(0)).isCloseTo(0.4, within(1e-5));
        assertThat(g.representedFeatures(0, 0.5)).isEqualTo(5);
    }

    @Test
    void antipodalOrthogonalAndMissingFeatures() {
        // Features 0 and 1 antipodal, feature 2 alone on the second axis, feature 3 absent.
        float[] w = {1, -1, 0, 0,
                     0, 0, 0.7f, 0};
        FeatureGeometry g = FeatureGeometry.of(manager.create(w, new Shape(1, 2, 4)));
        assertThat(g.dimensionality()[0]).containsExactly(new float[] {0.5f, 0.5f, 1f, 0f},
                within(1e-6f));
        assertThat(g.interference()[0]).containsExactly(new float[] {1f, 1f, 0f, 0f},
                within(1e-6f));
        assertThat(g.norms()[0]).containsExactly(new float[] {1f, 1f, 0.7f, 0f}, within(1e-6f));
        assertThat(g.representedFeatures(0, 0.5)).isEqualTo(3);
        assertThat(g.neighbourAngles(0, 0.5)).containsExactly(new double[] {90, 90, 180},
                within(1e-4));
        assertThat(g.neighbourAngles(0, 0.9)).containsExactly(new double[] {180, 180},
                within(1e-4));
        assertThat(g.neighbourAngles(0, 1.5)).isEmpty();
    }

    @Test
    void readsWeightsThatRequireGradients() {
        NDArray w = manager.create(new float[] {3, 4}, new Shape(1, 2, 1));
        w.setRequiresGradient(true);
        assertThat(FeatureGeometry.of(w).norms()[0][0]).isEqualTo(5f);
    }

    @Test
    void rejectsBadShapesAndQuestionsItCannotAnswer() {
        assertThatThrownBy(() -> FeatureGeometry.of(manager.zeros(new Shape(2, 3))))
                .hasMessageContaining("[instances, d_hidden, features]")
                .hasMessageContaining("(2, 3)");
        FeatureGeometry g = FeatureGeometry.of(manager.ones(new Shape(1, 3, 2)));
        assertThatThrownBy(() -> g.angles(0)).hasMessageContaining("d_hidden = 2, got 3");
        assertThatThrownBy(() -> g.representedFeatures(1, 0.5)).hasMessageContaining("instance 1");
    }

    private static double[] column(float[] flat, int inst, int feature, int hidden, int feat) {
        double[] c = new double[hidden];
        for (int h = 0; h < hidden; h++) {
            c[h] = flat[(inst * hidden + h) * feat + feature];
        }
        return c;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int k = 0; k < a.length; k++) {
            s += a[k] * b[k];
        }
        return s;
    }
}
