package org.lens4j.analysis.circuits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.AnalysisFixtures;
import org.lens4j.analysis.Doubles;
import org.lens4j.analysis.circuits.SvdInterpreter.VectorType;
import org.lens4j.core.HookedTransformer;

/**
 * The SVD interpreter against NumPy's SVD of the same matrices ({@code reference/svd_interpreter.py}), in
 * TransformerLens's convention, compared by absolute value because singular vectors have arbitrary signs.
 */
class SvdInterpreterTest {

    private static JsonObject reference;

    private NDManager manager;
    private HookedTransformer model;

    @BeforeAll
    static void readReference() throws IOException {
        try (InputStream in = SvdInterpreterTest.class.getResourceAsStream("/reference/svd_interpreter.json")) {
            reference = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
        model = AnalysisFixtures.model("gpt2_style_2l", manager);
    }

    @AfterEach
    void tearDown() {
        model.close();
        manager.close();
    }

    private void assertMatches(String key, VectorType type, int layer, Integer head) {
        JsonObject expected = reference.getAsJsonObject(key);
        int num = reference.get("num_vectors").getAsInt();
        SvdInterpreter svd = new SvdInterpreter(model);
        NDArray vectors = svd.singularVectors(type, layer, head, num, manager);
        assertThat(vectors.getShape()).isEqualTo(new Shape(model.config().dVocabOut(), 1, num));
        double[] got = Doubles.of(vectors);
        JsonArray abs = expected.getAsJsonArray("abs_projections");
        for (int t = 0; t < abs.size(); t++) {
            for (int i = 0; i < num; i++) {
                assertThat(Math.abs(got[t * num + i])).as("%s token %d vector %d", key, t, i)
                        .isCloseTo(abs.get(t).getAsJsonArray().get(i).getAsDouble(), within(1e-5));
            }
        }
        List<SingularDirection> directions = svd.topTokens(type, layer, head, num, 3);
        JsonArray s = expected.getAsJsonArray("singular_values");
        for (int i = 0; i < num; i++) {
            SingularDirection d = directions.get(i);
            assertThat(d.index()).isEqualTo(i);
            assertThat(d.singularValue()).as("%s singular value %d", key, i).isCloseTo(s.get(i).getAsDouble(),
                    within(1e-5));
            // The ends of the projection: the largest and smallest entries of column i.
            double max = Double.NEGATIVE_INFINITY;
            double min = Double.POSITIVE_INFINITY;
            for (int t = 0; t < abs.size(); t++) {
                max = Math.max(max, got[t * num + i]);
                min = Math.min(min, got[t * num + i]);
            }
            assertThat(d.topValues()[0]).isCloseTo(max, within(1e-6));
            assertThat(d.bottomValues()[0]).isCloseTo(min, within(1e-6));
            assertThat(got[(int) d.topTokens()[0] * num + i]).isCloseTo(max, within(1e-6));
            assertThat(d.topValues()).isSortedAccordingTo((a, b) -> Double.compare(b, a));
            assertThat(d.bottomValues()).isSorted();
        }
    }

    @Test
    void ovCircuitMatchesNumpy() {
        assertMatches("OV_L1H2", VectorType.OV, 1, 2);
    }

    @Test
    void mlpInputWeightsWithTheLn2WeightMatchNumpy() {
        assertMatches("W_IN_L0", VectorType.W_IN, 0, null);
    }

    @Test
    void mlpOutputWeightsMatchNumpy() {
        assertMatches("W_OUT_L1", VectorType.W_OUT, 1, null);
    }

    @Test
    void badIndicesUseTransformerLensMessages() {
        SvdInterpreter svd = new SvdInterpreter(model);
        assertThatThrownBy(() -> svd.topTokens(VectorType.W_IN, 2, null, 4, 3))
                .hasMessage("Layer index must be between 0 and 1 but got 2");
        assertThatThrownBy(() -> svd.topTokens(VectorType.OV, 0, 4, 4, 3))
                .hasMessage("Head index must be between 0 and 3 but got 4");
        assertThatThrownBy(() -> svd.topTokens(VectorType.OV, 0, null, 4, 3))
                .hasMessage("Head index optional only for w_in and w_out, got OV");
        assertThatThrownBy(() -> svd.topTokens(VectorType.W_OUT, 0, 1, 4, 3)).hasMessageContaining("only to OV");
        assertThatThrownBy(() -> svd.topTokens(VectorType.OV, 0, 0, 17, 3))
                .hasMessageContaining("numVectors must be between 1 and 16");
        try (HookedTransformer attnOnly = AnalysisFixtures.model("attn_only_2l_shortformer", manager)) {
            assertThatThrownBy(() -> new SvdInterpreter(attnOnly).topTokens(VectorType.W_IN, 0, null, 4, 3))
                    .hasMessageContaining("attention-only");
        }
    }
}
