package org.lens4j.analysis.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/**
 * {@code detect_head} against TransformerLens 2.12 on the three TL-style fixture models: every built-in
 * pattern, with "mul", "abs" and "mul" excluding BOS and the current token, on the three fixture
 * sequences (analysis.safetensors {@code head_detector*.*}).
 */
class HeadDetectorFixtureTest {

    private static final double ATOL = 1e-5;
    private static final String[] SEQUENCES = {"head_detector", "head_detector_rep10x3", "head_detector_random20"};

    static HookedTransformer load(String model, NDManager m) {
        return HookedTransformer.fromStateDict(Fixtures.config(model, "model/config.json"),
                Fixtures.tensors(model, "model/weights.safetensors", m));
    }

    private static DetectOptions variant(String name) {
        return switch (name) {
            case "mul" -> DetectOptions.DEFAULT;
            case "abs" -> DetectOptions.builder().errorMeasure(ErrorMeasure.ABS).build();
            case "mul_exclude_bos_and_current" ->
                    DetectOptions.builder().excludeBos(true).excludeCurrentToken(true).build();
            default -> throw new IllegalArgumentException(name);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void everyPatternAndVariantMatchesTransformerLens(String model) {
        try (NDManager m = NDManager.newBaseManager(); HookedTransformer tl = load(model, m)) {
            Map<String, NDArray> expected = Fixtures.tensors(model, "analysis.safetensors", m);
            int compared = 0;
            for (String seq : SEQUENCES) {
                NDArray tokens = expected.get(seq + ".tokens");
                for (HeadPattern pattern : HeadPattern.values()) {
                    for (String v : new String[] {"mul", "abs", "mul_exclude_bos_and_current"}) {
                        String key = seq + "." + pattern.tlName() + "." + v;
                        LayerHeadScores scores = HeadDetector.detectHead(tl, tokens, pattern, variant(v));
                        assertClose(model + " " + key, scores.toNDArray(m, DataType.FLOAT32), expected.get(key), ATOL);
                        compared++;
                    }
                }
            }
            assertThat(compared).isEqualTo(27);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void listOfSequencesIsTheMeanOfTheSingleResultsWithDefaultOptions(String model) {
        try (NDManager m = NDManager.newBaseManager(); HookedTransformer tl = load(model, m)) {
            Map<String, NDArray> expected = Fixtures.tensors(model, "analysis.safetensors", m);
            List<NDArray> sequences = new ArrayList<>();
            NDArray sum = null;
            for (String seq : SEQUENCES) {
                sequences.add(expected.get(seq + ".tokens"));
                NDArray single = expected.get(seq + ".induction_head.mul");
                sum = sum == null ? single : sum.add(single);
            }
            // abs and exclude_* are dropped on the list path, as in TransformerLens
            DetectOptions ignored = DetectOptions.builder().errorMeasure(ErrorMeasure.ABS).excludeBos(true).build();
            LayerHeadScores batch = HeadDetector.detectHead(tl, sequences, HeadPattern.INDUCTION_HEAD, ignored);
            assertClose(model + " mean over the list", batch.toNDArray(m, DataType.FLOAT32), sum.div(3), ATOL);
        }
    }
}
