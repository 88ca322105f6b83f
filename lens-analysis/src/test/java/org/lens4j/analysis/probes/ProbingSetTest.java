package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Splits by sequence, balanced sampling, the shuffled-label control, and input checks. */
class ProbingSetTest {

    private static ProbingSet sample() {
        // 40 sequences of 5 rows; about a quarter of the rows are class 1; row value = row index
        Random rng = new Random(1);
        int n = 200;
        float[][] x = new float[n][];
        int[] labels = new int[n];
        int[] sequences = new int[n];
        int[] positions = new int[n];
        for (int i = 0; i < n; i++) {
            x[i] = new float[] {i, -i};
            labels[i] = rng.nextInt(4) == 0 ? 1 : 0;
            sequences[i] = 100 + i / 5;
            positions[i] = i % 5;
        }
        return ProbingSet.of("h", "f", List.of("no", "yes"), x, labels, sequences, positions);
    }

    private static Set<Integer> ids(int[] a) {
        Set<Integer> s = new HashSet<>();
        Arrays.stream(a).forEach(s::add);
        return s;
    }

    @Test
    void aSplitKeepsEverySequenceWhole() {
        ProbingSet set = sample();
        ProbingSet.Split split = set.split(0.25, 3);
        Set<Integer> train = ids(split.train().sequences());
        Set<Integer> test = ids(split.test().sequences());
        assertThat(train).doesNotContainAnyElementsOf(test);
        assertThat(test).hasSize(10);
        assertThat(train).hasSize(30);
        assertThat(split.train().size() + split.test().size()).isEqualTo(set.size());
        // every row keeps its activation, label and position
        for (ProbingSet part : List.of(split.train(), split.test())) {
            for (int i = 0; i < part.size(); i++) {
                int original = (int) part.get(i, 0);
                assertThat(part.get(i, 1)).isEqualTo(-original);
                assertThat(part.labels()[i]).isEqualTo(set.labels()[original]);
                assertThat(part.sequences()[i]).isEqualTo(set.sequences()[original]);
                assertThat(part.positions()[i]).isEqualTo(set.positions()[original]);
            }
        }
        // deterministic for a seed, different for another
        assertThat(ids(set.split(0.25, 3).test().sequences())).isEqualTo(test);
        assertThat(ids(set.split(0.25, 4).test().sequences())).isNotEqualTo(test);
    }

    @Test
    void balancingDownSamplesToTheSmallestClass() {
        ProbingSet set = sample();
        int[] counts = set.classCounts();
        ProbingSet balanced = set.balanced(5);
        int smallest = Math.min(counts[0], counts[1]);
        assertThat(balanced.classCounts()).containsExactly(smallest, smallest);
        // the minority class is kept whole, rows stay in order
        int[] kept = new int[balanced.size()];
        for (int i = 0; i < kept.length; i++) {
            kept[i] = (int) balanced.get(i, 0);
        }
        assertThat(kept).isSorted();
        int minority = counts[0] < counts[1] ? 0 : 1;
        long minorityKept = Arrays.stream(kept).filter(r -> set.labels()[r] == minority).count();
        assertThat(minorityKept).isEqualTo(counts[minority]);
    }

    @Test
    void shuffledLabelsKeepTheClassCounts() {
        ProbingSet set = sample();
        ProbingSet shuffled = set.withShuffledLabels(2);
        assertThat(shuffled.classCounts()).containsExactly(set.classCounts());
        assertThat(shuffled.labels()).isNotEqualTo(set.labels());
        assertThat(shuffled.feature()).isEqualTo("shuffled f");
        assertThat(shuffled.row(7)).containsExactly(set.row(7));
    }

    @Test
    void badInputIsNamed() {
        assertThatThrownBy(() -> ProbingSet.of("h", "f", List.of("a", "b"), new float[][] {{1, 2}, {3}},
                new int[] {0, 1}, new int[] {0, 1}, new int[2]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 1 has 1 values, row 0 has 2");
        assertThatThrownBy(() -> ProbingSet.of("h", "f", List.of("a", "b"), new float[][] {{1}, {3}},
                new int[] {0, 2}, new int[] {0, 1}, new int[2]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label 2 of row 1");
        assertThatThrownBy(() -> ProbingSet.of("h", "f", List.of("a", "b"), new float[][] {{1}, {Float.NaN}},
                new int[] {0, 1}, new int[] {0, 1}, new int[] {0, 4}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("row 1 (sequence 1, position 4) at h is NaN");
        ProbingSet oneSequence = ProbingSet.of("h", "f", List.of("a", "b"), new float[][] {{1}, {2}},
                new int[] {0, 1}, new int[] {7, 7}, new int[2]);
        assertThatThrownBy(() -> oneSequence.split(0.5, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least two sequences");
        ProbingSet oneClass = ProbingSet.of("h", "f", List.of("a", "b"), new float[][] {{1}, {2}},
                new int[] {0, 0}, new int[] {0, 1}, new int[2]);
        assertThatThrownBy(() -> oneClass.balanced(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("class 'b' has no rows");
    }
}
