package org.lens4j.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** TopK agrees with a full stable sort, ties and short arrays included. */
class TopKTest {

    private static long[] bySort(double[] v, int k, boolean largest) {
        Comparator<Integer> order = Comparator.comparingDouble(i -> largest ? -v[i] : v[i]);
        return IntStream.range(0, v.length).boxed().sorted(order).limit(k).mapToLong(Integer::longValue).toArray();
    }

    @Test
    void agreesWithAFullSort() {
        Random random = new Random(1);
        for (int trial = 0; trial < 50; trial++) {
            // Few distinct values, so ties are common.
            double[] v = random.doubles(1 + random.nextInt(300)).map(x -> Math.floor(x * 20)).toArray();
            for (int k : new int[] {0, 1, 5, 400}) {
                assertThat(TopK.largest(v, k)).as("largest k=%d of %s", k, Arrays.toString(v)).containsExactly(bySort(v, k, true));
                assertThat(TopK.smallest(v, k)).containsExactly(bySort(v, k, false));
            }
        }
    }
}
