package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LoadOptions;
import org.lens4j.models.hub.HfHub;
import org.lens4j.models.hub.HubSettings;

/**
 * TransformerLens's reference numbers for real pretrained weights (spec 14.2-14.4): they run when the
 * model is in the Hugging Face cache ({@code HF_HOME}, e.g. filled by Python's TransformerLens), or when
 * downloads are allowed with {@code -Dlens4j.download=true} (or {@code LENS4J_DOWNLOAD=1}); otherwise they
 * are skipped, saying so.
 */
@Tag("real-weights")
class RealWeightsTest {

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** Skips the test unless the model's files are cached or may be downloaded. */
    static void assumeAvailable(String name) {
        boolean download = Boolean.getBoolean("lens4j.download") || "1".equals(System.getenv("LENS4J_DOWNLOAD"));
        HubSettings settings = ModelLoader.hubSettingsFromEnvironment();
        assumeTrue(download || cached(Models.get(name), new HfHub(settings.withOffline(true))),
                () -> name + " is not in the Hugging Face cache " + settings.cacheDir()
                        + "; run with -Dlens4j.download=true (or LENS4J_DOWNLOAD=1) to download it");
    }

    private static boolean cached(ModelInfo info, HfHub offline) {
        try {
            boolean weights = info.weightsFile().contains("*")
                    ? offline.listFiles(info.repoId(), null).stream().anyMatch(f -> f.endsWith("final.pth"))
                    : offline.cached(info.repoId(), info.weightsFile(), null).isPresent();
            boolean tokenizer = PretrainedTokenizers.usesGpt2Tokenizer(info.config())
                    || offline.cached(info.tokenizerRepo(), "tokenizer.json", null).isPresent();
            return weights && tokenizer && offline.cached(info.repoId(), "config.json", null).isPresent();
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** TransformerLens's test_hooked_transformer loss store: "Hello world!", BOS prepended, default processing. */
    @ParameterizedTest
    @CsvSource({
        "gpt2-small, 5.331855773925781",
        "attn-only-demo, 5.701841354370117",
        "attn-only-3l, 5.747507095336914",
        "gelu-2l, 6.501802444458008",
        "solu-1l, 5.256411552429199",
        "solu-6l, 5.7042999267578125",
        "solu-4l-old, 5.6021833419799805"})
    void helloWorldLoss(String name, double expected) throws IOException {
        assumeAvailable(name);
        try (HookedTransformer model = HookedTransformer.fromPretrained(name)) {
            // 4e-5 is the bound TransformerLens's own test uses (one-sided there).
            assertThat(model.loss(model.toTokens("Hello world!", manager)).getFloat())
                    .isCloseTo((float) expected, within(4e-5f));
        }
    }

    @Test
    void solu1lLossIsTheSameWithoutProcessing() throws IOException {
        assumeAvailable("solu-1l");
        try (HookedTransformer model = HookedTransformer.fromPretrained("solu-1l", LoadOptions.noProcessing())) {
            assertThat(model.loss(model.toTokens("Hello world!", manager)).getFloat())
                    .isCloseTo(5.256411552429199f, within(4e-5f));
        }
    }

    /** Exploratory_Analysis_Demo's IOI batch: per-prompt logit differences, mean 3.552. */
    @Test
    void gpt2IoiLogitDifferences() throws IOException {
        assumeAvailable("gpt2");
        List<String> templates = List.of("When John and Mary went to the shops,{} gave the bag to",
                "When Tom and James went to the park,{} gave the ball to",
                "When Dan and Sid went to the shops,{} gave an apple to",
                "After Martin and Amy went to the park,{} gave a drink to");
        String[][] names = {{" John", " Mary"}, {" Tom", " James"}, {" Dan", " Sid"}, {" Martin", " Amy"}};
        double[] expected = {3.3370, 3.2020, 2.7090, 3.7970, 1.7200, 5.2810, 2.6010, 5.7670};
        try (HookedTransformer model = HookedTransformer.fromPretrained("gpt2")) {
            double sum = 0;
            for (int t = 0; t < templates.size(); t++) {
                for (int s = 0; s < 2; s++) {
                    // Adjacent prompts swap the subject; the answer is the other name.
                    String subject = names[t][1 - s];
                    String answer = names[t][s];
                    NDArray tokens = model.toTokens(templates.get(t).replace("{}", subject), manager);
                    assertThat(tokens.getShape().get(1)).isEqualTo(15);
                    double diff = logitDiff(model, tokens, answer, subject);
                    assertThat(diff).as("prompt %d", 2 * t + s).isCloseTo(expected[2 * t + s], within(1e-3));
                    sum += diff;
                }
            }
            assertThat(sum / 8).isCloseTo(3.552, within(1e-3));
        }
    }

    private static double logitDiff(HookedTransformer model, NDArray tokens, String correct, String incorrect) {
        NDArray last = model.forward(tokens).get(new NDIndex("0, -1"));
        return last.getFloat(model.tokenizer().toSingleToken(correct))
                - last.getFloat(model.tokenizer().toSingleToken(incorrect));
    }

    /** Main_Demo numbers: a logit difference, a probability and the folded unembedding bias. */
    @Test
    void gpt2MainDemoNumbers() throws IOException {
        assumeAvailable("gpt2");
        try (HookedTransformer model = HookedTransformer.fromPretrained("gpt2")) {
            NDArray ioi = model.toTokens("After John and Mary went to the store, Mary gave a bottle of milk to", manager);
            assertThat(logitDiff(model, ioi, " John", " Mary")).isCloseTo(4.276, within(1e-3));

            NDArray cat = model.toTokens("The cat sat on the mat.", manager);
            NDArray logits = model.forward(cat);
            assertThat(logits.getShape().getShape()).containsExactly(1, 8, 50257);
            float pThe = logits.get(new NDIndex("0, -1")).softmax(0).getFloat(model.tokenizer().toSingleToken(" The"));
            assertThat(pThe).isCloseTo(0.1198f, within(5e-5f));

            assertThat(model.b_U().getFloat(model.tokenizer().toSingleToken(" John"))).isCloseTo(2.8995f, within(1e-4f));
            assertThat(model.b_U().getFloat(model.tokenizer().toSingleToken(" Mary"))).isCloseTo(1.6034f, within(1e-4f));
        }
    }

    /** test_head_detector.py on solu-2l, "mul" scores computed here from the cached patterns. */
    @Test
    void solu2lHeadDetectorScores() throws IOException {
        assumeAvailable("solu-2l");
        Map<String, double[][]> expected = Map.of(
                "regular previous", new double[][] {
                    {0.3567, 0.2326, 0.2587, 0.2669, 0.1437, 0.5924, 0.2706, 0.2647},
                    {0.3250, 0.2487, 0.2685, 0.2771, 0.2737, 0.2520, 0.2523, 0.3359}},
                "duplicated previous", new double[][] {
                    {0.2978, 0.1737, 0.1593, 0.1686, 0.0905, 0.6462, 0.1885, 0.1767},
                    {0.2923, 0.2045, 0.1845, 0.2083, 0.1797, 0.1529, 0.1564, 0.2445}},
                "duplicated duplicate", new double[][] {
                    {0.0904, 0.0944, 0.0010, 0.0155, 0.2024, 0.0071, 0.0164, 0.0715},
                    {0.0381, 0.0038, 0.0309, 0.0184, 0.0322, 0.0103, 0.0066, 0.0446}},
                "duplicated induction", new double[][] {
                    {0.1242, 0.0539, 0.0109, 0.0178, 0.0005, 0.0560, 0.0312, 0.0521},
                    {0.0659, 0.1994, 0.0430, 0.0289, 0.0470, 0.0119, 0.1726, 0.0665}});
        try (HookedTransformer model = HookedTransformer.fromPretrained("solu-2l")) {
            long[] regular = model.toTokens(" four token sequence", manager).toLongArray();
            long[] duplicated = model.toTokens(" seven token sequence seven token sequence", manager).toLongArray();
            assertThat(regular).hasSize(4);
            assertScores(model, regular, previousToken(regular.length), expected.get("regular previous"));
            assertScores(model, duplicated, previousToken(duplicated.length), expected.get("duplicated previous"));
            assertScores(model, duplicated, duplicateToken(duplicated), expected.get("duplicated duplicate"));
            assertScores(model, duplicated, induction(duplicated), expected.get("duplicated induction"));
        }
    }

    private void assertScores(HookedTransformer model, long[] tokens, double[][] detection, double[][] expected) {
        try (CachedRun run = model.runWithCache(manager.create(new long[][] {tokens}), "pattern")) {
            int p = tokens.length;
            for (int layer = 0; layer < expected.length; layer++) {
                float[] pattern = run.cache().get("pattern", layer).toFloatArray(); // [1, head, p, p]
                for (int head = 0; head < expected[layer].length; head++) {
                    double matched = 0;
                    double total = 0;
                    for (int i = 0; i < p; i++) {
                        for (int j = 0; j < p; j++) {
                            double a = pattern[(head * p + i) * p + j];
                            matched += a * detection[i][j];
                            total += a;
                        }
                    }
                    assertThat(matched / total).as("L%dH%d", layer, head).isCloseTo(expected[layer][head], within(1e-4));
                }
            }
        }
    }

    private static double[][] previousToken(int p) {
        double[][] d = new double[p][p];
        for (int i = 1; i < p; i++) {
            d[i][i - 1] = 1;
        }
        return d;
    }

    private static double[][] duplicateToken(long[] tokens) {
        int p = tokens.length;
        double[][] d = new double[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < i; j++) {
                d[i][j] = tokens[i] == tokens[j] ? 1 : 0;
            }
        }
        return d;
    }

    /** The duplicate pattern shifted one key to the right: attend to the token after an earlier copy. */
    private static double[][] induction(long[] tokens) {
        double[][] dup = duplicateToken(tokens);
        int p = tokens.length;
        double[][] d = new double[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = 1; j <= i; j++) {
                d[i][j] = dup[i][j - 1];
            }
        }
        return d;
    }
}
