package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** A direction against the neuron basis, against sorting and summing done here. */
class NeuronBasisTest {

    @Test
    void cosinesAndTheNinetyPercentCount() {
        Random rng = new Random(3);
        for (int trial = 0; trial < 20; trial++) {
            int d = 1 + rng.nextInt(50);
            float[] w = new float[d];
            double norm2 = 0;
            for (int j = 0; j < d; j++) {
                w[j] = rng.nextInt(4) == 0 ? 0 : (float) (rng.nextGaussian() * Math.exp(2 * rng.nextGaussian()));
                norm2 += (double) w[j] * w[j];
            }
            NeuronBasis basis = NeuronBasis.of(w, 5);
            double[] squares = new double[d];
            int nonZero = 0;
            for (int j = 0; j < d; j++) {
                squares[j] = (double) w[j] * w[j] / norm2;
                nonZero += w[j] != 0 ? 1 : 0;
            }
            java.util.Arrays.sort(squares);
            int needed = 0;
            double share = 0;
            for (int r = d - 1; r >= 0 && share < 0.9; r--) {
                share += squares[r];
                needed++;
            }
            assertThat(basis.dim()).isEqualTo(d);
            assertThat(basis.nonZero()).isEqualTo(nonZero);
            if (norm2 > 0) {
                assertThat(basis.neuronsFor90Percent()).as("trial " + trial).isEqualTo(needed);
            }
            assertThat(basis.top()).hasSize(Math.min(5, d));
            for (int r = 0; r < basis.top().size(); r++) {
                NeuronBasis.NeuronWeight n = basis.top().get(r);
                assertThat(n.weight()).isEqualTo(w[n.neuron()]);
                if (norm2 > 0) {
                    assertThat(n.cosine()).isCloseTo(w[n.neuron()] / Math.sqrt(norm2), within(1e-12));
                    assertThat(n.cosine() * n.cosine()).isCloseTo(squares[d - 1 - r], within(1e-12));
                }
            }
        }
    }

    @Test
    void aZeroDirectionHasNoNeurons() {
        NeuronBasis basis = NeuronBasis.of(new float[4], 2);
        assertThat(basis.nonZero()).isZero();
        assertThat(basis.neuronsFor90Percent()).isZero();
        assertThat(basis.top()).allSatisfy(n -> assertThat(n.cosine()).isZero());
    }
}
