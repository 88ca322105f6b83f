package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lens4j.core.HookedTransformerConfig;

/** Result axes, labels, reshaping and the sweeps' index order. */
class PatchingResultTest {

    private static PatchingResult cube() {
        double[] v = new double[2 * 3 * 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return new PatchingResult(v, new long[] {2, 3, 4}, List.of("layer", "head", "pos"));
    }

    @Test
    void valuesAreRowMajor() {
        PatchingResult r = cube();
        assertThat(r.get(1, 2, 3)).isEqualTo(23);
        assertThat(r.get(0, 1, 0)).isEqualTo(4);
        assertThat(r.argmax()).containsExactly(1, 2, 3);
        assertThat(r.max()).isEqualTo(23);
        assertThat(r.min()).isZero();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = r.toNDArray(m);
            assertThat(a.getShape()).isEqualTo(new Shape(2, 3, 4));
            assertThat(a.getFloat(1, 0, 2)).isEqualTo(14f);
        }
    }

    @Test
    void transposeMovesValuesWithTheirAxes() {
        PatchingResult t = cube().transpose("layer", "pos", "head");
        assertThat(t.axisNames()).containsExactly("layer", "pos", "head");
        assertThat(t.shape()).isEqualTo(new Shape(2, 4, 3));
        for (int l = 0; l < 2; l++) {
            for (int h = 0; h < 3; h++) {
                for (int p = 0; p < 4; p++) {
                    assertThat(t.get(l, p, h)).isEqualTo(cube().get(l, h, p));
                }
            }
        }
        assertThatThrownBy(() -> cube().transpose("layer", "layer", "pos")).hasMessageContaining("repeats an axis");
        assertThatThrownBy(() -> cube().transpose("layer", "pos")).hasMessageContaining("needs all axes");
    }

    @Test
    void stackSliceAndLabels() {
        PatchingResult a = cube().slice(0);
        PatchingResult b = cube().slice(1).map(v -> -v);
        assertThat(a.axisNames()).containsExactly("head", "pos");
        PatchingResult s = PatchingResult.stack("patch_type", List.of("a", "b"), List.of(a, b));
        assertThat(s.shape()).isEqualTo(new Shape(2, 3, 4));
        assertThat(s.get(1, 2, 3)).isEqualTo(-23);
        assertThat(s.labels("patch_type")).containsExactly("a", "b");
        assertThat(s.labels("pos")).containsExactly("0", "1", "2", "3");
        PatchingResult labelled = a.withLabels("pos", List.of("A", "B", "C", "D"));
        assertThat(labelled.labels("pos")).containsExactly("A", "B", "C", "D");
        assertThatThrownBy(() -> a.withLabels("pos", List.of("A"))).hasMessageContaining("1 labels for axis 'pos' of size 4");
        assertThatThrownBy(() -> a.labels("layer")).hasMessageContaining("no axis 'layer' in [head, pos]");
        assertThatThrownBy(() -> a.get(3, 0)).hasMessageContaining("index 3 is out of range for axis 'head' of size 3");
        assertThatThrownBy(() -> PatchingResult.stack("x", List.of("a", "b"), List.of(a, cube())))
                .hasMessageContaining("cannot stack");
        assertThatThrownBy(() -> new PatchingResult(new double[3], new long[] {2, 2}, List.of("a", "b")))
                .hasMessageContaining("3 values do not fill shape [2, 2]");
    }

    @Test
    void sweepIndicesRunLastAxisFastest() {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(2).dModel(8).nHeads(3).dHead(4)
                .dMlp(16).dVocab(10).nCtx(8).actFn("gelu_new").build();
        List<int[]> idx = PatchSweep.ATTN_HEAD_OUT_BY_POS.indices(cfg, 4);
        assertThat(idx).hasSize(2 * 4 * 3);
        assertThat(idx.get(0)).containsExactly(0, 0, 0);
        assertThat(idx.get(1)).containsExactly(0, 0, 1);
        assertThat(idx.get(3)).containsExactly(0, 1, 0);
        assertThat(idx.get(23)).containsExactly(1, 3, 2);
        assertThat(PatchSweep.ATTN_HEAD_PATTERN_DEST_SRC_POS.shape(cfg, 5)).containsExactly(2, 3, 5, 5);
        assertThatThrownBy(() -> PatchSweep.of("z", PatchSetter.LAYER_POS, "pos", "layer"))
                .hasMessageContaining("first index axis of a sweep must be 'layer'");
        assertThatThrownBy(() -> PatchSweep.of("z", PatchSetter.LAYER_POS, "layer", "neuron").shape(cfg, 4))
                .hasMessageContaining("unknown index axis 'neuron'");
    }
}
