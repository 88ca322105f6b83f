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
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.analysis.AnalysisFixtures;
import org.lens4j.analysis.heads.LayerHeadScores;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;

/** Copying scores against NumPy on the explicit vocabulary-sized circuit, and on hand-set heads. */
class CopyingScoresTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    /**
     * NumPy's eigenvalues of the explicit vocabulary-sized circuit {@code W_E W_V W_O W_U}
     * ({@code reference/copying_scores.py} in the test resources generated {@code copying_scores.json}).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void matchesTheEigenvaluesOfTheExplicitFullOvCircuit(String name) throws IOException {
        JsonObject reference;
        try (InputStream in = getClass().getResourceAsStream("/reference/copying_scores.json")) {
            reference = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
        JsonArray expected = reference.getAsJsonArray(name);
        try (HookedTransformer model = AnalysisFixtures.model(name, manager)) {
            LayerHeadScores scores = CopyingScores.compute(model);
            assertThat(scores.layers()).isEqualTo(expected.size());
            for (int l = 0; l < scores.layers(); l++) {
                JsonArray row = expected.get(l).getAsJsonArray();
                assertThat(scores.heads()).isEqualTo(row.size());
                for (int h = 0; h < row.size(); h++) {
                    assertThat(scores.get(l, h)).as("L%dH%d", l, h).isCloseTo(row.get(h).getAsDouble(), within(1e-5));
                }
            }
        }
    }

    /**
     * One head on an identity embedding: an OV circuit that copies (+P), suppresses (-P) or rotates the
     * attended token's direction scores 1, -1 and 0.
     */
    @Test
    void copyingSuppressingAndRotatingHeads() {
        assertThat(handSetScore(new double[][] {{1, 0}, {0, 1}})).isCloseTo(1, within(1e-6));
        assertThat(handSetScore(new double[][] {{-1, 0}, {0, -1}})).isCloseTo(-1, within(1e-6));
        assertThat(handSetScore(new double[][] {{0, 1}, {-1, 0}})).isCloseTo(0, within(1e-6));
        assertThat(handSetScore(new double[][] {{0, 0}, {0, 0}})).isNaN();
    }

    /** d_vocab = d_model = 4, one head of d_head 2 whose W_O's top block is {@code block}; W_E = W_U = I. */
    private double handSetScore(double[][] block) {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(1).dModel(4).nCtx(4).dHead(2)
                .nHeads(1).dVocab(4).actFn("relu").normalizationType(NormalizationType.NONE).attnOnly(true).build();
        Map<String, NDArray> sd = new LinkedHashMap<>();
        NDArray eye = manager.eye(4);
        sd.put("embed.W_E", eye);
        sd.put("unembed.W_U", eye.duplicate());
        sd.put("pos_embed.W_pos", manager.zeros(new Shape(4, 4)));
        NDArray readFirstTwo = manager.eye(4).get(":, 0:2").reshape(1, 4, 2);   // W_V: d_model -> d_head
        sd.put("blocks.0.attn.W_V", readFirstTwo);
        sd.put("blocks.0.attn.W_Q", readFirstTwo.duplicate());
        sd.put("blocks.0.attn.W_K", readFirstTwo.duplicate());
        NDArray wO = manager.zeros(new Shape(1, 2, 4));
        wO.set(new ai.djl.ndarray.index.NDIndex("0, :, 0:2"), manager.create(new float[][] {
            {(float) block[0][0], (float) block[0][1]}, {(float) block[1][0], (float) block[1][1]}}));
        sd.put("blocks.0.attn.W_O", wO);
        try (HookedTransformer model = HookedTransformer.fromStateDict(cfg, sd)) {
            return CopyingScores.compute(model).get(0, 0);
        }
    }

    @Test
    void rankingPutsTheHighestFirst() {
        try (HookedTransformer model = AnalysisFixtures.model("gpt2_style_2l", manager)) {
            LayerHeadScores scores = CopyingScores.compute(model);
            var top = scores.top(3);
            assertThat(top).hasSize(3);
            assertThat(top.get(0).value()).isGreaterThanOrEqualTo(top.get(1).value());
            assertThat(top.get(0).value()).isEqualTo(scores.get(top.get(0).layer(), top.get(0).head()));
            assertThat(top.get(0).label()).isEqualTo("L" + top.get(0).layer() + "H" + top.get(0).head());
            for (double[] row : scores.toArray()) {
                for (double s : row) {
                    assertThat(s).isBetween(-1.0, 1.0);
                }
            }
        }
    }

    @Test
    void needsASquareVocabularyCircuit() {
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(1).dModel(4).nCtx(4).dHead(2)
                .nHeads(1).dVocab(4).dVocabOut(3).actFn("relu").normalizationType(NormalizationType.NONE)
                .attnOnly(true).build();
        Map<String, NDArray> sd = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : HookedTransformer.expectedShapes(cfg).entrySet()) {
            sd.put(e.getKey(), manager.ones(e.getValue()));
        }
        try (HookedTransformer model = HookedTransformer.fromStateDict(cfg, sd)) {
            assertThatThrownBy(() -> CopyingScores.compute(model)).hasMessageContaining("d_vocab == d_vocab_out");
        }
    }
}
