package org.lens4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.lens4j.core.testing.ArrayAssert.assertClose;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.Hook;
import org.lens4j.core.HookScope;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LoadOptions;

/**
 * The ARENA balanced-brackets classifier (a trained TransformerLens model saved as a plain
 * {@code torch.save(model.state_dict())}) loaded as a TransformerLens state dict with its config, against
 * TransformerLens 2.12's logits and cache, and on the course's 100,000-string dataset.
 */
class ArenaBracketsTest {

    private static final String RESOURCES = "/org/lens4j/models/arena-brackets-3l/";
    private static final long START = 0;
    private static final long PAD = 1;
    private static final long END = 2;

    @TempDir
    Path tmp;

    private NDManager manager;
    private Path modelDir;

    @BeforeEach
    void setUp() throws IOException {
        manager = NDManager.newBaseManager();
        modelDir = tmp.resolve("arena-brackets-3l");
        TestModels.copyResource(RESOURCES + "config.json", modelDir.resolve("config.json"));
        TestModels.copyResource("/org/lens4j/models/io/arena_brackets_3l_state_dict.pt",
                modelDir.resolve("brackets_model_state_dict.pt"));
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private Map<String, NDArray> fixture(String file) throws IOException {
        try (InputStream in = getClass().getResourceAsStream(RESOURCES + file)) {
            Map<String, NDArray> out = new LinkedHashMap<>();
            for (NDArray a : NDList.decode(manager, in)) {
                out.put(a.getName(), a);
            }
            return out;
        }
    }

    /** The course's masking: every layer's scores for [pad] keys are set to -1e5 (a fill, for all heads and queries). */
    private static Hook padKeysMasked(NDArray tokens) {
        return Hook.matching(name -> name.endsWith("attn.hook_attn_scores"), (scores, hook) -> {
            long batch = tokens.getShape().get(0);
            long pos = tokens.getShape().get(1);
            NDArray pad = tokens.eq(PAD).toType(scores.getDataType(), false).reshape(batch, 1, 1, pos);
            // scores * 1 + 0 keeps a score exactly; scores * 0 - 1e5 is exactly -1e5.
            return scores.mul(pad.neg().add(1)).add(pad.mul(-1e5f));
        });
    }

    @Test
    void matchesTransformerLensWithTheCoursePadMask() throws IOException {
        Map<String, NDArray> inputs = fixture("inputs.safetensors");
        Map<String, NDArray> expected = fixture("outputs.safetensors");
        NDArray tokens = inputs.get("tokens");

        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(modelDir)) {
            assertThat(model.config().causal()).isFalse();
            assertThat(model.config().dVocabOut()).isEqualTo(2);
            assertClose("logits", model.runWithHooks(tokens, padKeysMasked(tokens)), expected.get("logits"), 1e-5);
            assertClose("logits_without_pad_mask", model.forward(tokens), expected.get("logits_without_pad_mask"), 1e-5);

            // An attention mask on the pad keys gives the same readout as the course's -1e5 fill.
            NDArray mask = tokens.neq(PAD).toType(DataType.INT64, false);
            NDArray readout = model.run(tokens, ForwardOptions.builder().attentionMask(mask).build()).logits()
                    .get(new NDIndex(":, 0"));
            assertClose("readout with an attention mask", readout, expected.get("readout_logits"), 1e-5);

            NDArray first4 = tokens.get(new NDIndex("0:4"));
            try (HookScope scope = model.hooks(padKeysMasked(first4));
                 CachedRun run = model.runWithCache(first4)) {
                assertClose("cache4.logits", run.logits(), expected.get("cache4.logits"), 1e-5);
                int compared = 0;
                for (String key : run.cache().keys()) {
                    assertClose("cache4." + key, run.cache().get(key), expected.get("cache4." + key), 1e-5);
                    compared++;
                }
                assertThat(compared).isEqualTo((int) expected.keySet().stream()
                        .filter(k -> k.startsWith("cache4.") && !k.equals("cache4.logits")).count());
            }
        }
    }

    @Test
    void classifiesTheCourseDatasetWithAnAttentionMask() throws IOException {
        JsonArray data;
        try (Reader in = new InputStreamReader(new GZIPInputStream(
                getClass().getResourceAsStream(RESOURCES + "brackets_data.json.gz")), StandardCharsets.UTF_8)) {
            data = JsonParser.parseReader(in).getAsJsonArray();
        }
        assertThat(data.size()).isEqualTo(100_000);
        String[] strings = new String[data.size()];
        boolean[] balanced = new boolean[data.size()];
        for (int i = 0; i < strings.length; i++) {
            strings[i] = data.get(i).getAsJsonArray().get(0).getAsString();
            balanced[i] = data.get(i).getAsJsonArray().get(1).getAsBoolean();
        }
        // The fixture's batch is the first 1000 strings, tokenised by the course's code.
        int[] first1000 = IntStream.range(0, 1000).toArray();
        assertThat(tokenize(strings, first1000)).isEqualTo(to2d(fixture("inputs.safetensors").get("tokens")));

        // The model is deterministic: each distinct string (half of the 100,000) is classified once and
        // counted as often as it occurs. Shortest first, so batches are padded little; the mask hides padding.
        Map<String, Integer> occurrences = new HashMap<>();
        for (String s : strings) {
            occurrences.merge(s, 1, Integer::sum);
        }
        Map<String, Boolean> label = new HashMap<>();
        for (int i = 0; i < strings.length; i++) {
            Boolean previous = label.put(strings[i], balanced[i]);
            assertThat(previous == null || previous == balanced[i]).as("one label per string").isTrue();
        }
        String[] distinct = occurrences.keySet().stream()
                .sorted(Comparator.comparingInt(String::length).thenComparing(Comparator.naturalOrder()))
                .toArray(String[]::new);
        int batchSize = 1000;
        long correct = 0;
        try (HookedTransformer model = HookedTransformer.fromPretrainedNoProcessing(modelDir)) {
            for (int start = 0; start < distinct.length; start += batchSize) {
                int[] batchIndices = IntStream.range(start, Math.min(distinct.length, start + batchSize)).toArray();
                try (NDManager batch = manager.newSubManager()) {
                    NDArray tokens = batch.create(tokenize(distinct, batchIndices));
                    NDArray mask = tokens.neq(PAD).toType(DataType.INT64, false);
                    NDArray logits = model.run(tokens, ForwardOptions.builder().attentionMask(mask).build()).logits();
                    long[] predictions = logits.get(new NDIndex(":, 0")).argMax(1).toLongArray();
                    for (int i = 0; i < predictions.length; i++) {
                        String s = distinct[batchIndices[i]];
                        if ((predictions[i] == 1) == label.get(s)) {
                            correct += occurrences.get(s);
                        }
                    }
                }
            }
        }
        double accuracy = correct / (double) strings.length;
        assertThat(accuracy).as("accuracy on %d strings", strings.length).isGreaterThanOrEqualTo(0.999);
    }

    /** [start] + brackets + [end], padded with [pad] to the longest string of the batch + 2. */
    private static long[][] tokenize(String[] strings, int[] indices) {
        int maxLen = 0;
        for (int i : indices) {
            maxLen = Math.max(maxLen, strings[i].length());
        }
        long[][] ids = new long[indices.length][maxLen + 2];
        for (int r = 0; r < indices.length; r++) {
            String s = strings[indices[r]];
            long[] row = ids[r];
            Arrays.fill(row, PAD);
            row[0] = START;
            for (int c = 0; c < s.length(); c++) {
                row[c + 1] = s.charAt(c) == '(' ? 3 : 4;
            }
            row[s.length() + 1] = END;
        }
        return ids;
    }

    private static long[][] to2d(NDArray a) {
        long[] flat = a.toLongArray();
        int cols = (int) a.getShape().get(1);
        long[][] out = new long[flat.length / cols][];
        for (int r = 0; r < out.length; r++) {
            out[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        }
        return out;
    }

    @Test
    void defaultProcessingKeepsTheClassProbabilities() throws IOException {
        // In float64 processing is exact up to rounding; in float32 the log-probabilities move by ~1e-5.
        NDArray tokens = fixture("inputs.safetensors").get("tokens");
        LoadOptions f64 = LoadOptions.defaults().withDtype(DataType.FLOAT64);
        try (HookedTransformer processed = HookedTransformer.fromPretrained(modelDir, f64);
             HookedTransformer raw = HookedTransformer.fromPretrained(modelDir, LoadOptions.noProcessing().withDtype(DataType.FLOAT64))) {
            assertThat(processed.stateDict()).doesNotContainKey("blocks.0.ln1.w");
            assertClose("log-probabilities", processed.runWithHooks(tokens, padKeysMasked(tokens)).logSoftmax(-1),
                    raw.runWithHooks(tokens, padKeysMasked(tokens)).logSoftmax(-1), 1e-9);
        }
        try (HookedTransformer processed = HookedTransformer.fromPretrained(modelDir)) {
            NDArray readout = processed.runWithHooks(tokens, padKeysMasked(tokens)).get(new NDIndex(":, 0"));
            assertThat(readout.argMax(1).toLongArray())
                    .containsExactly(fixture("outputs.safetensors").get("predictions").toLongArray());
        }
    }

    @Test
    void aCheckpointFileLoadsWithAnExplicitConfig() throws IOException {
        Path elsewhere = Files.createDirectories(tmp.resolve("checkpoints"));
        Path checkpoint = Files.move(modelDir.resolve("brackets_model_state_dict.pt"), elsewhere.resolve("step_final.pt"));
        try (HookedTransformer model = new ModelLoader().loadCheckpoint(checkpoint, modelDir.resolve("config.json"),
                LoadOptions.noProcessing())) {
            Map<String, NDArray> reference = fixture("../io/arena_brackets_3l_weights.safetensors");
            for (Map.Entry<String, NDArray> e : reference.entrySet()) {
                assertThat(model.parameter(e.getKey()).toFloatArray()).as(e.getKey())
                        .containsExactly(e.getValue().toFloatArray());
            }
        }
    }
}
