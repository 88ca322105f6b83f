package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Slice} follows Python's indexing of {@code arange(10)}. */
class SliceTest {

    private NDManager manager;
    private NDArray ten;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        ten = manager.create(LongStream.range(0, 10).toArray());
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private long[] apply(Slice s) {
        return s.apply(ten, 0).toLongArray();
    }

    @Test
    void indexDropsTheAxisAndCountsFromTheEnd() {
        NDArray last = Slice.index(-1).apply(ten, 0);
        assertThat(last.getShape()).isEqualTo(new Shape());
        assertThat(last.getLong()).isEqualTo(9);
        assertThat(Slice.index(2).apply(ten, -1).getLong()).isEqualTo(2);
        assertThat(Slice.index(-1).mode()).isEqualTo(Slice.Mode.INT);
    }

    @Test
    void rangesFollowPythonSlices() {
        assertThat(apply(Slice.range(1L, 4L))).containsExactly(1, 2, 3);
        assertThat(apply(Slice.range(null, 3L))).containsExactly(0, 1, 2);
        assertThat(apply(Slice.range(-3L, null))).containsExactly(7, 8, 9);
        assertThat(apply(Slice.range(1L, 8L, 3))).containsExactly(1, 4, 7);
        assertThat(apply(Slice.range(0L, 100L))).hasSize(10);
        assertThat(apply(Slice.range(-100L, 2L))).containsExactly(0, 1);
        assertThat(Slice.range(5L, 2L).apply(ten, 0).getShape()).isEqualTo(new Shape(0));
        assertThat(Slice.range(1L, 8L, 3).indices(10)).containsExactly(1, 4, 7);
    }

    @Test
    void indicesGatherInOrderAndKeepTheAxis() {
        assertThat(apply(Slice.indices(3, -1, 0))).containsExactly(3, 9, 0);
        assertThat(Slice.indices(3, -1, 0).indices(10)).containsExactly(3, 9, 0);
        assertThat(Slice.index(-2).indices(10)).containsExactly(8);
        assertThat(Slice.all().indices(3)).containsExactly(0, 1, 2);
    }

    @Test
    void slicesTheRequestedAxisOfAMatrix() {
        NDArray m = manager.create(LongStream.range(0, 12).toArray()).reshape(3, 4);
        assertThat(Slice.index(-1).apply(m, -1).toLongArray()).containsExactly(3, 7, 11);
        assertThat(Slice.indices(2, 0).apply(m, 0).toLongArray()).containsExactly(8, 9, 10, 11, 0, 1, 2, 3);
        assertThat(Slice.range(1L, 3L).apply(m, 1).getShape()).isEqualTo(new Shape(3, 2));
        assertThat(Slice.all().apply(m, 0)).isSameAs(m);
    }

    @Test
    void badSlicesNameTheCulprit() {
        assertThatThrownBy(() -> Slice.index(10).apply(ten, 0)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("index 10").hasMessageContaining("length 10");
        assertThatThrownBy(() -> Slice.indices(1, -11).apply(ten, 0)).hasMessageContaining("index -11");
        assertThatThrownBy(() -> Slice.range(0L, 5L, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("step");
        assertThatThrownBy(() -> Slice.index(0).apply(ten, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("axis 1");
    }
}
