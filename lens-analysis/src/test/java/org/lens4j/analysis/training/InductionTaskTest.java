package org.lens4j.analysis.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class InductionTaskTest {

    private final InductionTask task = new InductionTask(128, 48, 6, 16);

    /** The longest segment of a sequence that occurs twice without overlap: {start1, start2, length}. */
    private static int[] longestRepeat(long[] t) {
        int[] best = {0, 0, 0};
        for (int a = 1; a < t.length; a++) {
            for (int b = a + 1; b < t.length; b++) {
                int len = 0;
                while (b + len < t.length && a + len < b && t[a + len] == t[b + len]) {
                    len++;
                }
                if (len > best[2]) {
                    best = new int[] {a, b, len};
                }
            }
        }
        return best;
    }

    @Test
    void everySequenceHoldsARepeatedSegmentAtVaryingPlaces() {
        Random rng = new Random(5);
        Set<Integer> firstStarts = new HashSet<>();
        Set<Integer> gaps = new HashSet<>();
        Set<Integer> lengths = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            long[] t = task.sequence(rng);
            assertThat(t).hasSize(48);
            assertThat(t[0]).isEqualTo(InductionTask.BOS);
            for (int p = 1; p < t.length; p++) {
                assertThat(t[p]).isBetween(1L, 127L);
            }
            int[] r = longestRepeat(t);
            assertThat(r[2]).as("repeat in sequence %d", i).isGreaterThanOrEqualTo(6);
            firstStarts.add(r[0]);
            gaps.add(r[1] - r[0]);
            lengths.add(Math.min(r[2], 16));
        }
        // the copies are not at fixed positions (the point of the task) and the length varies
        assertThat(firstStarts.size()).isGreaterThan(10);
        assertThat(gaps.size()).isGreaterThan(10);
        assertThat(lengths).hasSizeGreaterThan(8);
    }

    @Test
    void batchesHaveTheTaskShapeAndNoMask() {
        try (NDManager m = NDManager.newBaseManager(); Batch b = task.sample(m, 5, new Random(1))) {
            assertThat(b.tokens().getShape()).isEqualTo(new Shape(5, 48));
            assertThat(b.lossMask()).isNull();
        }
    }

    @Test
    void impossibleSettingsAreRefused() {
        assertThatThrownBy(() -> new InductionTask(2, 48, 6, 16)).hasMessageContaining("vocabSize");
        assertThatThrownBy(() -> new InductionTask(128, 48, 1, 16)).hasMessageContaining("minSegment");
        assertThatThrownBy(() -> new InductionTask(128, 48, 8, 6)).hasMessageContaining("8, 6");
        assertThatThrownBy(() -> new InductionTask(128, 32, 6, 16)).hasMessageContaining("sequenceLength 32");
    }
}
