package org.lens4j.analysis.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.List;
import org.junit.jupiter.api.Test;

class LayerHeadScoresTest {

    private final LayerHeadScores s = new LayerHeadScores("x", new double[][] {{0.1, 0.7, 0.3}, {0.7, 0.2, 0.9}});

    @Test
    void rankingAndLookups() {
        assertThat(s.layers()).isEqualTo(2);
        assertThat(s.heads()).isEqualTo(3);
        assertThat(s.get(new LayerHead(1, 2))).isEqualTo(0.9);
        assertThat(s.argmax()).isEqualTo(new LayerHead(1, 2));
        assertThat(s.headsAtLeast(0.5)).containsExactly(new LayerHead(1, 2), new LayerHead(0, 1), new LayerHead(1, 0));
        assertThat(s.maxInLayer(0)).isEqualTo(0.7);
        assertThat(new LayerHead(1, 2).label()).isEqualTo("L1H2");
        assertThat(s.toString()).contains("x [2 layers x 3 heads]").contains("L1:   0.7000   0.2000   0.9000");
    }

    @Test
    void meanAndArrays() {
        LayerHeadScores other = new LayerHeadScores("y", new double[][] {{0.3, 0.1, 0.1}, {0.1, 0.0, 0.1}});
        LayerHeadScores mean = LayerHeadScores.mean("m", List.of(s, other));
        assertThat(mean.name()).isEqualTo("m");
        double[][] expected = {{0.2, 0.4, 0.2}, {0.4, 0.1, 0.5}};
        for (int l = 0; l < 2; l++) {
            assertThat(mean.toArray()[l]).containsExactly(expected[l], offset(1e-15));
        }
        try (NDManager m = NDManager.newBaseManager()) {
            assertThat(LayerHeadScores.of("back", s.toNDArray(m, DataType.FLOAT64)).toArray()).isDeepEqualTo(s.toArray());
        }
        double[][] copy = s.toArray();
        copy[0][0] = 5;
        assertThat(s.get(0, 0)).isEqualTo(0.1);
    }

    @Test
    void badInputIsRefused() {
        assertThatThrownBy(() -> s.get(2, 0)).hasMessageContaining("L2H0");
        assertThatThrownBy(() -> new LayerHeadScores("r", new double[][] {{1, 2}, {3}})).hasMessageContaining("layer 1 has 1");
        assertThatThrownBy(() -> new LayerHeadScores("e", new double[0][])).hasMessageContaining("at least one");
        assertThatThrownBy(() -> LayerHeadScores.mean("m", List.of())).hasMessageContaining("no scores");
        assertThatThrownBy(() -> LayerHeadScores.mean("m", List.of(s, new LayerHeadScores("z", new double[][] {{1}}))))
                .hasMessageContaining("[1, 1]");
        assertThatThrownBy(() -> new LayerHead(-1, 0)).hasMessageContaining("non-negative");
        try (NDManager m = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> LayerHeadScores.of("v", m.zeros(new ai.djl.ndarray.types.Shape(3))))
                    .hasMessageContaining("[n_layers, n_heads]");
        }
    }
}
