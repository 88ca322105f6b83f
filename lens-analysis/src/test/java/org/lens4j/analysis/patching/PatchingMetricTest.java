package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Metrics against values computed element by element in Java. */
class PatchingMetricTest {

    private NDManager manager;
    private NDArray logits;
    private double[][][] values;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        logits = manager.randomNormal(new Shape(3, 5, 20)).toType(DataType.FLOAT64, false);
        values = new double[3][5][20];
        double[] flat = logits.toDoubleArray();
        for (int i = 0; i < flat.length; i++) {
            values[i / 100][(i / 20) % 5][i % 20] = flat[i];
        }
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @Test
    void logitDiffAveragesTheLastPositionOverTheBatch() {
        double expected = 0;
        for (int b = 0; b < 3; b++) {
            expected += (values[b][4][7] - values[b][4][13]) / 3;
        }
        assertThat(PatchingMetric.logitDiff(7, 13).value(logits)).isCloseTo(expected, Offset.offset(1e-12));
    }

    @Test
    void perRowAnswersPickEachRowsTokens() {
        long[][] answers = {{1, 2}, {19, 0}, {5, 5}};
        double expected = 0;
        for (int b = 0; b < 3; b++) {
            expected += (values[b][4][(int) answers[b][0]] - values[b][4][(int) answers[b][1]]) / 3;
        }
        assertThat(PatchingMetric.logitDiff(answers).value(logits)).isCloseTo(expected, Offset.offset(1e-12));
    }

    @Test
    void theStackedFormGivesEachRunsValue() {
        // 2 runs of a batch of 3, positions already selected: [runs, batch, 1, vocab]
        NDArray other = logits.mul(-2).add(1);
        NDArray stacked = logits.get(":, 4:5").stack(other.get(":, 4:5"));
        for (PatchingMetric metric : new PatchingMetric[] {PatchingMetric.logitDiff(3, 9),
                PatchingMetric.logitDiff(new long[][] {{1, 2}, {3, 4}, {5, 6}}),
                PatchingMetric.logitDiff(3, 9).normalized(2.5, -1.0)}) {
            double[] perRun = metric.applyStacked(stacked).toDoubleArray();
            assertThat(perRun[0]).isCloseTo(metric.value(logits), Offset.offset(1e-12));
            assertThat(perRun[1]).isCloseTo(metric.value(other), Offset.offset(1e-12));
        }
        assertThat(PatchingMetric.of(l -> l.sum()).applyStacked(stacked)).isNull();
    }

    @Test
    void normalizedMapsCorruptedToZeroAndCleanToOne() {
        PatchingMetric base = PatchingMetric.logitDiff(7, 13);
        double v = base.value(logits);
        assertThat(base.normalized(v, v - 2).value(logits)).isCloseTo(1.0, Offset.offset(1e-12));
        assertThat(base.normalized(v + 4, v).value(logits)).isCloseTo(0.0, Offset.offset(1e-12));
        assertThat(base.normalized(v + 4, v - 4).value(logits)).isCloseTo(0.5, Offset.offset(1e-12));
        assertThatThrownBy(() -> base.normalized(1.5, 1.5)).hasMessageContaining("do not differ");
    }

    @Test
    void positionsAreSelectedBeforeTheFunction() {
        PatchingMetric m = PatchingMetric.atPositions(new int[] {1, -2}, l -> {
            assertThat(l.getShape()).isEqualTo(new Shape(3, 2, 20));
            return l.get(":, 1, 0").sub(l.get(":, 0, 0")).sum();
        });
        double expected = 0;
        for (int b = 0; b < 3; b++) {
            expected += values[b][3][0] - values[b][1][0];
        }
        assertThat(m.value(logits)).isCloseTo(expected, Offset.offset(1e-12));
        assertThat(PatchingMetric.lastPosition(l -> l.get(":, 0").mean()).value(logits))
                .isCloseTo((values[0][4][0] + values[1][4][0] + values[2][4][0]) / 3, Offset.offset(1e-12));
    }

    @Test
    void badMetricsAreReported() {
        assertThatThrownBy(() -> PatchingMetric.of(l -> l.get(":, -1, 0")).value(logits))
                .hasMessageContaining("must return one value, not an array of shape (3)");
        assertThatThrownBy(() -> PatchingMetric.logitDiff(7, 20).value(logits))
                .hasMessageContaining("answer token 20 is out of range for d_vocab_out = 20");
        assertThatThrownBy(() -> PatchingMetric.logitDiff(-1, 2)).hasMessageContaining("correct token id -1");
        assertThatThrownBy(() -> PatchingMetric.logitDiff(new long[][] {{1, 2}}).value(logits))
                .hasMessageContaining("answers for 1 batch rows but the logits have 3");
        assertThatThrownBy(() -> PatchingMetric.logitDiff(new long[][] {{1, 2, 3}}))
                .hasMessageContaining("answers[0] must be {correct, incorrect}");
        assertThatThrownBy(() -> PatchingMetric.atPositions(new int[] {5}, l -> l.sum()).value(logits))
                .hasMessageContaining("metric position 5 is out of range for 5 positions");
    }
}
