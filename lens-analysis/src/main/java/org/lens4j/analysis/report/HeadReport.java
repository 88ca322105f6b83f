package org.lens4j.analysis.report;

import org.lens4j.analysis.heads.LayerHeadScores;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.lens4j.analysis.circuits.CopyingScores;
import org.lens4j.analysis.heads.HeadScores;
import org.lens4j.analysis.heads.RepeatedTokens;
import org.lens4j.analysis.ioi.IoiDataset;
import org.lens4j.analysis.ioi.IoiRoles;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;

/**
 * Runs the head detectors of a report on one model: which heads do what, as one score table per
 * detector plus the attention patterns of the top heads on an example sequence.
 *
 * <p>Detectors (each a {@code [n_layers][n_heads]} score, defined in {@code docs/head-detectors.md}):
 * {@code previous_token}, {@code duplicate_token} and {@code induction} on repeated random tokens (Olsson et
 * al. 2022), and {@code copying} (Elhage et al. 2021). {@code ioi} adds the IOI roles of Wang et al. 2022
 * ({@link IoiRoles}) as columns {@code ioi_name_mover}, ...: on the paper's text templates for a model with a
 * tokenizer, else on {@link #TOY_IOI_TEMPLATE} with names from the upper half of the vocabulary.
 */
public final class HeadReport {

    /** The detectors every model gets by default. */
    public static final List<String> DEFAULT_DETECTORS = List.of("previous_token", "duplicate_token", "induction",
            "copying");

    /** The IOI template of a model without tokenizer: BOS 0, then {@code [B] and [A] ... [B] gave ... to}. */
    public static final String TOY_IOI_TEMPLATE = "0 5 [B] 6 [A] 7 8 9 [B] 10 11 12";

    private HeadReport() {}

    /**
     * Computes the detectors' scores.
     *
     * @param sequences how the repeated random token sequences are drawn
     * @throws IllegalArgumentException for an unknown detector name (the message lists the known ones)
     */
    public static HeadScoreTable scores(String modelName, HookedTransformer model, List<String> detectors,
            RepeatedTokens sequences) {
        Map<String, Function<HookedTransformer, LayerHeadScores>> known = new LinkedHashMap<>();
        HeadScores.Result[] repeated = new HeadScores.Result[1];
        Function<HookedTransformer, HeadScores.Result> onRepeated = m -> {
            if (repeated[0] == null) {
                repeated[0] = HeadScores.compute(m, sequences);
            }
            return repeated[0];
        };
        known.put("previous_token", m -> onRepeated.apply(m).previousToken());
        known.put("duplicate_token", m -> onRepeated.apply(m).duplicateToken());
        known.put("induction", m -> onRepeated.apply(m).induction());
        known.put("copying", CopyingScores::compute);
        HeadScoreTable table = new HeadScoreTable(modelName, model.config().nLayers(), model.config().nHeads());
        for (String d : detectors) {
            if (d.equals("ioi")) {
                IoiRoles roles = IoiRoles.compute(model, ioiDataset(model, sequences.seed()));
                for (IoiRoles.Role role : IoiRoles.Role.values()) {
                    table.put("ioi_" + role.key(), roles.get(role));
                }
                continue;
            }
            Function<HookedTransformer, LayerHeadScores> f = known.get(d);
            if (f == null) {
                List<String> all = new ArrayList<>(known.keySet());
                all.add("ioi");
                throw new IllegalArgumentException("unknown detector '" + d + "'; known: " + all);
            }
            table.put(d, f.apply(model));
        }
        return table;
    }

    private static IoiDataset ioiDataset(HookedTransformer model, long seed) {
        if (model.tokenizer() != null) {
            return IoiDataset.fromTokenizer(model.tokenizer()).prompts(32).seed(seed).build();
        }
        int vocab = model.config().dVocab();
        return IoiDataset.fromTokenIds(List.of(TOY_IOI_TEMPLATE), vocab / 2, vocab).prompts(32).seed(seed).build();
    }

    /**
     * The attention patterns of each detector's top head on one repeated random sequence.
     *
     * @return the example, token strings from the model's tokenizer when it has one, else token ids
     */
    public static AttentionExample example(HookedTransformer model, HeadScoreTable table, RepeatedTokens sequences) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray tokens = sequences.generate(m, model.config().dVocab(), new Random(sequences.seed()))
                    .get(0).expandDims(0);
            List<String> strings = new ArrayList<>();
            if (model.tokenizer() != null) {
                strings.addAll(model.toStrTokens(tokens));
            } else {
                for (long t : tokens.toLongArray()) {
                    strings.add(Long.toString(t));
                }
            }
            Map<String, double[][]> patterns = new LinkedHashMap<>();
            try (CachedRun run = model.runWithCache(tokens, org.lens4j.core.CacheOptions.filter(n -> n.endsWith("attn.hook_pattern")))) {
                for (String d : table.detectors()) {
                    for (LayerHeadScores.Entry top : table.top(d, 1)) {
                        NDArray p = run.cache().get("pattern", top.layer()).get(0).get(top.head());
                        patterns.put(top.label() + " (top " + d + ")", toMatrix(p));
                    }
                }
            }
            return new AttentionExample(strings, patterns);
        }
    }

    private static double[][] toMatrix(NDArray a) {
        int rows = (int) a.getShape().get(0);
        int cols = (int) a.getShape().get(1);
        double[] flat = a.toType(DataType.FLOAT64, false).toDoubleArray();
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(flat, i * cols, out[i], 0, cols);
        }
        return out;
    }
}
