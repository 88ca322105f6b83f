package org.lens4j.analysis.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ToyIoiTaskTest {

    private final ToyIoiTask task = new ToyIoiTask(8, 5);

    @Test
    void examplesFollowTheTemplate() {
        Random rng = new Random(3);
        int abba = 0;
        for (int i = 0; i < 200; i++) {
            ToyIoiTask.Example e = task.example(rng);
            long[] t = e.tokens();
            assertThat(t).hasSize(ToyIoiTask.LENGTH);
            assertThat(t[0]).isZero();
            long n1 = t[ToyIoiTask.FIRST_NAME_POSITION];
            long n2 = t[ToyIoiTask.SECOND_NAME_POSITION];
            assertThat(task.isName(n1) && task.isName(n2)).isTrue();
            assertThat(n1).isNotEqualTo(n2);
            assertThat(t[4]).isEqualTo(task.and());
            assertThat(t[9]).isEqualTo(task.gave());
            assertThat(t[ToyIoiTask.END_POSITION]).isEqualTo(task.to());
            assertThat(t[ToyIoiTask.SUBJECT_POSITION]).isEqualTo(e.subject()).isIn(n1, n2);
            assertThat(t[ToyIoiTask.ANSWER_POSITION]).isEqualTo(e.io()).isIn(n1, n2).isNotEqualTo(e.subject());
            assertThat(e.ioFirst()).isEqualTo(e.io() == n1);
            for (int p : new int[] {1, 2, 6, 7, 10}) {
                assertThat(t[p]).isBetween(12L, 16L);
            }
            abba += e.ioFirst() ? 1 : 0;
        }
        assertThat(abba).as("both name orders occur").isBetween(70, 130);
        assertThat(task.vocabSize()).isEqualTo(17);
    }

    @Test
    void lossMaskKeepsOnlyTheAnswer() {
        try (NDManager m = NDManager.newBaseManager(); Batch b = task.sample(m, 4, new Random(1))) {
            assertThat(b.tokens().getShape()).isEqualTo(new Shape(4, ToyIoiTask.LENGTH));
            assertThat(b.lossMask().getShape()).isEqualTo(new Shape(4, ToyIoiTask.LENGTH - 1));
            assertThat(b.lossMask().sum().getFloat()).isEqualTo(4f);
            assertThat(b.lossMask().get(":, " + ToyIoiTask.END_POSITION).toFloatArray()).containsOnly(1f);
        }
    }

    @Test
    void tooFewNamesOrFillersAreRefused() {
        assertThatThrownBy(() -> new ToyIoiTask(1, 5)).hasMessageContaining("2 names");
        assertThatThrownBy(() -> new ToyIoiTask(4, 0)).hasMessageContaining("1 filler");
    }
}
