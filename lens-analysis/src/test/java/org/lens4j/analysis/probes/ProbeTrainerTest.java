package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.junit.jupiter.api.Test;

/** Logistic-regression probes against known answers: planted directions, optimality conditions, sparsity. */
class ProbeTrainerTest {

    @Test
    void aProbeRecoversAPlantedDirection() {
        Random rng = new Random(1);
        int d = 64;
        double strength = 1.5;
        float[] u = Synthetic.unitVector(d, rng);
        ProbingSet set = Synthetic.planted(4000, d, u, strength, 10, rng);
        ProbeReport report = ProbeReport.run(set, ProbeOptions.DEFAULT);
        double cosine = Synthetic.cosine(report.probe().direction(), u);
        System.out.printf("planted direction: cosine %.4f, %s%n", cosine, report.test());
        assertThat(cosine).isGreaterThan(0.9);
        // Two unit-variance Gaussians 1.5 apart along u: the best possible accuracy is Phi(0.75).
        double bayes = new NormalDistribution().cumulativeProbability(strength / 2);
        assertThat(report.test().accuracy()).isCloseTo(bayes, within(0.04));
        assertThat(report.probe().metadata()).containsEntry("converged", "true").containsEntry("feature", "planted");
    }

    @Test
    void shuffledLabelsStayAtChance() {
        Random rng = new Random(2);
        ProbingSet set = Synthetic.planted(4000, 64, Synthetic.unitVector(64, rng), 3.0, 10, rng);
        ProbeReport real = ProbeReport.run(set, ProbeOptions.DEFAULT);
        ProbeReport control = ProbeReport.run(set.withShuffledLabels(9), ProbeOptions.DEFAULT);
        assertThat(real.test().accuracy()).isGreaterThan(0.9);
        // about 1000 balanced test rows: chance is 0.5 with a standard deviation of about 0.016
        assertThat(control.test().accuracy()).isCloseTo(0.5, within(0.06));
        assertThat(control.test().auroc()).isCloseTo(0.5, within(0.06));
    }

    /**
     * The optimality conditions of the objective, checked in double precision with a standardisation
     * computed here: the gradient is zero (L2, none), or within [-lambda, lambda] at zero weights and
     * equal to -lambda sign(w) elsewhere (L1).
     */
    private static void assertOptimal(ProbingSet train, LinearProbe probe, Penalty penalty, double lambda, double tol) {
        int n = train.size();
        int d = train.dim();
        int classes = train.numClasses();
        int k = probe.numDirections();
        double[] mean = new double[d];
        double[] std = new double[d];
        for (int j = 0; j < d; j++) {
            for (int i = 0; i < n; i++) {
                mean[j] += train.get(i, j) / (double) n;
            }
            for (int i = 0; i < n; i++) {
                std[j] += Math.pow(train.get(i, j) - mean[j], 2) / n;
            }
            std[j] = Math.sqrt(std[j]);
        }
        float[][] raw = probe.weights();
        double[][] w = new double[d][k];
        for (int j = 0; j < d; j++) {
            for (int c = 0; c < k; c++) {
                w[j][c] = raw[j][c] * std[j];
            }
        }
        double[] b = new double[k];
        for (int c = 0; c < k; c++) {
            b[c] = probe.bias()[c];
            for (int j = 0; j < d; j++) {
                b[c] += mean[j] * raw[j][c];
            }
        }
        double[][] gw = new double[d][k];
        double[] gb = new double[k];
        int[] labels = train.labels();
        for (int i = 0; i < n; i++) {
            double[] x = new double[d];
            for (int j = 0; j < d; j++) {
                x[j] = (train.get(i, j) - mean[j]) / std[j];
            }
            double[] z = new double[classes];
            for (int c = 0; c < k; c++) {
                double s = b[c];
                for (int j = 0; j < d; j++) {
                    s += x[j] * w[j][c];
                }
                z[k == 1 ? 1 : c] = s;
            }
            double max = java.util.Arrays.stream(z).max().orElseThrow();
            double sum = java.util.Arrays.stream(z).map(v -> Math.exp(v - max)).sum();
            for (int c = 0; c < k; c++) {
                int cls = k == 1 ? 1 : c;
                double residual = Math.exp(z[cls] - max) / sum - (labels[i] == cls ? 1 : 0);
                gb[c] += residual / n;
                for (int j = 0; j < d; j++) {
                    gw[j][c] += residual * x[j] / n;
                }
            }
        }
        for (int c = 0; c < k; c++) {
            assertThat(gb[c]).as("d/d bias " + c).isCloseTo(0, within(tol));
            for (int j = 0; j < d; j++) {
                double g = gw[j][c];
                switch (penalty) {
                    case NONE -> assertThat(g).as("gradient " + j).isCloseTo(0, within(tol));
                    case L2 -> assertThat(g + lambda * w[j][c]).as("gradient " + j).isCloseTo(0, within(tol));
                    case L1 -> {
                        if (w[j][c] == 0) {
                            assertThat(Math.abs(g)).as("subgradient " + j).isLessThanOrEqualTo(lambda + tol);
                        } else {
                            assertThat(g + lambda * Math.signum(w[j][c])).as("gradient " + j).isCloseTo(0, within(tol));
                        }
                    }
                }
            }
        }
    }

    @Test
    void trainingReachesTheOptimumOfEachObjective() {
        Random rng = new Random(4);
        ProbingSet set = Synthetic.planted(2000, 16, Synthetic.unitVector(16, rng), 1.0, 10, rng);
        for (Penalty penalty : Penalty.values()) {
            double lambda = penalty == Penalty.L1 ? 0.02 : 0.01;
            LinearProbe probe = ProbeTrainer.train(set,
                    ProbeOptions.builder().penalty(penalty).lambda(lambda).tolerance(1e-7).build());
            System.out.println(penalty + " steps " + probe.metadata().get("steps"));
            assertThat(probe.metadata()).as(penalty.name()).containsEntry("converged", "true");
            assertOptimal(set, probe, penalty, lambda, 2e-5);
        }
    }

    @Test
    void multiClassProbesReachTheOptimumAndPointAtTheClassMeans() {
        Random rng = new Random(6);
        int n = 3000;
        int d = 24;
        float[][] means = {Synthetic.unitVector(d, rng), Synthetic.unitVector(d, rng), Synthetic.unitVector(d, rng)};
        float[][] x = new float[n][d];
        int[] labels = new int[n];
        int[] sequences = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
            sequences[i] = i / 10;
            for (int j = 0; j < d; j++) {
                x[i][j] = (float) (rng.nextGaussian() + 2 * means[labels[i]][j]);
            }
        }
        ProbingSet set = ProbingSet.of("synthetic", "three means", List.of("a", "b", "c"), x, labels, sequences,
                new int[n]);
        ProbeOptions options = ProbeOptions.builder().lambda(1e-3).tolerance(1e-7).build();
        LinearProbe probe = ProbeTrainer.train(set, options);
        System.out.println("multi-class steps " + probe.metadata().get("steps"));
        assertOptimal(set, probe, Penalty.L2, 1e-3, 2e-5);
        // Gaussian classes with identity covariance: logit_c = 2 mu_c . x + const, so w_c is mu_c up to a shared shift
        float[] centre = new float[d];
        for (float[] mu : means) {
            for (int j = 0; j < d; j++) {
                centre[j] += mu[j] / 3;
            }
        }
        for (int c = 0; c < 3; c++) {
            float[] expected = new float[d];
            for (int j = 0; j < d; j++) {
                expected[j] = means[c][j] - centre[j];
            }
            assertThat(Synthetic.cosine(probe.direction(c), expected)).as("class " + c).isGreaterThan(0.9);
        }
        ProbeReport report = ProbeReport.run(set, options);
        assertThat(report.test().accuracy()).isGreaterThan(0.7);
        assertThat(report.neuronBasis()).hasSize(3);
    }

    @Test
    void anL1ProbeIsSparseInTheNeuronBasis() {
        Random rng = new Random(8);
        int d = 64;
        float[] u = new float[d];
        for (int j : new int[] {3, 7, 11}) {
            u[j] = (float) (1 / Math.sqrt(3));
        }
        ProbingSet set = Synthetic.planted(3000, d, u, 2.0, 10, rng);
        LinearProbe l1 = ProbeTrainer.train(set, ProbeOptions.builder().penalty(Penalty.L1).lambda(0.03).build());
        LinearProbe l2 = ProbeTrainer.train(set, ProbeOptions.DEFAULT);
        NeuronBasis sparse = NeuronBasis.of(l1.direction(), 3);
        NeuronBasis dense = NeuronBasis.of(l2.direction(), 3);
        System.out.printf("L1: %d non-zero, %d for 90%%; L2: %d non-zero, %d for 90%%%n", sparse.nonZero(),
                sparse.neuronsFor90Percent(), dense.nonZero(), dense.neuronsFor90Percent());
        Set<Integer> top = sparse.top().stream().map(NeuronBasis.NeuronWeight::neuron).collect(Collectors.toSet());
        assertThat(top).containsExactlyInAnyOrder(3, 7, 11);
        assertThat(sparse.neuronsFor90Percent()).isLessThanOrEqualTo(3);
        assertThat(sparse.nonZero()).isLessThan(d / 4);
        assertThat(dense.nonZero()).isEqualTo(d);
    }

    @Test
    void rescalingAComponentDoesNotChangeThePredictions() {
        Random rng = new Random(10);
        int d = 8;
        ProbingSet set = Synthetic.planted(1000, d, Synthetic.unitVector(d, rng), 1.0, 10, rng);
        float[][] base = new float[set.size()][];
        float[][] scaled = new float[set.size()][];
        for (int i = 0; i < set.size(); i++) {
            base[i] = set.row(i);
            base[i][5] = 0; // a constant component is ignored
            scaled[i] = base[i].clone();
            scaled[i][2] *= 1000;
            scaled[i][5] = 42;
        }
        ProbingSet original = ProbingSet.of(set.hook(), set.feature(), set.classNames(), base, set.labels(),
                set.sequences(), set.positions());
        ProbingSet rescaled = ProbingSet.of(set.hook(), set.feature(), set.classNames(), scaled, set.labels(),
                set.sequences(), set.positions());
        LinearProbe a = ProbeTrainer.train(original, ProbeOptions.DEFAULT);
        LinearProbe b = ProbeTrainer.train(rescaled, ProbeOptions.DEFAULT);
        assertThat(a.weights()[5][0]).isEqualTo(0f);
        assertThat(b.weights()[5][0]).isEqualTo(0f);
        assertThat(b.weights()[2][0] * 1000).isCloseTo(a.weights()[2][0], within(1e-5f));
        float[][] logitsA = a.logits(original);
        float[][] logitsB = b.logits(rescaled);
        for (int i = 0; i < set.size(); i++) {
            assertThat(logitsB[i][1]).as("row " + i).isCloseTo(logitsA[i][1], within(1e-4f));
        }
    }

    @Test
    void trainingRunsInFlatNativeMemory() throws IOException {
        Random rng = new Random(12);
        ProbingSet set = Synthetic.planted(8000, 16, Synthetic.unitVector(16, rng), 0.5, 10, rng);
        ProbeOptions options = ProbeOptions.builder().penalty(Penalty.NONE).tolerance(0).maxSteps(50).build();
        ProbeTrainer.train(set, options);
        System.gc();
        double warm = rssMiB();
        LinearProbe probe = ProbeTrainer.train(set, options.toBuilder().maxSteps(300).build());
        System.gc();
        double growth = rssMiB() - warm;
        System.out.printf("300 training steps: RSS growth %.1f MiB%n", growth);
        assertThat(probe.metadata()).containsEntry("steps", "300");
        // one leaked step (logits [8000, 1], [8000, 2] with zeros, log-softmax...) is > 200 KiB: 60 MiB in all
        assertThat(growth).isLessThan(20.0);
    }

    private static double rssMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void theStepSizeComesFromTheLargestEigenvalue() {
        Random rng = new Random(13);
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            for (int[] size : new int[][] {{500, 40}, {200, 120}, {300, 1}}) {
                int n = size[0];
                int d = size[1];
                // correlated components: a few strong directions over noise
                double[][] x = new double[n][d];
                double[][] mix = new double[3][d];
                for (double[] row : mix) {
                    for (int j = 0; j < d; j++) {
                        row[j] = rng.nextGaussian();
                    }
                }
                float[] flat = new float[n * d];
                for (int i = 0; i < n; i++) {
                    double[] f = {3 * rng.nextGaussian(), 2 * rng.nextGaussian(), rng.nextGaussian()};
                    for (int j = 0; j < d; j++) {
                        x[i][j] = rng.nextGaussian() + f[0] * mix[0][j] + f[1] * mix[1][j] + f[2] * mix[2][j];
                        flat[i * d + j] = (float) x[i][j];
                    }
                }
                org.apache.commons.math3.linear.RealMatrix xm =
                        org.apache.commons.math3.linear.MatrixUtils.createRealMatrix(x);
                double expected = java.util.Arrays.stream(new org.apache.commons.math3.linear.EigenDecomposition(
                        xm.transpose().multiply(xm).scalarMultiply(1.0 / n)).getRealEigenvalues()).max().orElseThrow();
                double lanczos = ProbeTrainer.largestEigenvalue(m.create(flat, new ai.djl.ndarray.types.Shape(n, d)));
                assertThat(lanczos).as(n + " x " + d).isCloseTo(expected, within(1e-3 * expected));
            }
            assertThat(ProbeTrainer.largestEigenvalue(m.zeros(new ai.djl.ndarray.types.Shape(10, 4)))).isEqualTo(0);
        }
    }

    @Test
    void aMissingClassIsNamed() {
        ProbingSet set = ProbingSet.of("h", "f", List.of("no", "yes", "maybe"), new float[][] {{1}, {2}, {3}},
                new int[] {0, 1, 1}, new int[] {0, 1, 2}, new int[3]);
        assertThatThrownBy(() -> ProbeTrainer.train(set, ProbeOptions.DEFAULT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("class 'maybe' has no training rows");
    }
}
