package org.lens4j.analysis.ioi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.lens4j.analysis.Doubles;
import org.lens4j.analysis.ablation.Ablation;
import org.lens4j.analysis.dla.Attribution;
import org.lens4j.analysis.dla.Attribution.Unit;
import org.lens4j.analysis.dla.DirectLogitAttribution;
import org.lens4j.analysis.heads.LayerHead;
import org.lens4j.analysis.heads.LayerHeadScores;
import org.lens4j.analysis.patching.PathPatching;
import org.lens4j.analysis.patching.PathPatching.Node;
import org.lens4j.analysis.patching.PatchingMetric;
import org.lens4j.analysis.patching.PatchingResult;
import org.lens4j.analysis.report.HeadScoreTable;
import org.lens4j.core.ActNames;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.Hook;
import org.lens4j.core.HookScope;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.ReturnType;

/**
 * The roles of attention heads in the IOI circuit of Wang et al. 2022 ("Interpretability in the Wild"), one
 * {@code [n_layers][n_heads]} score table per {@link Role}, measured on an {@link IoiDataset}. Every mean is over
 * all prompts of the dataset; {@code a(q -> k)} is a head's attention probability from position q to position
 * k, and {@code DLA} is its direct logit attribution to {@code logit(IO) - logit(S)} at END (its output at END
 * through the cached final LayerNorm scale, {@link DirectLogitAttribution} with {@link Unit#HEAD}).
 *
 * <pre>{@code
 * IoiDataset data = IoiDataset.fromTokenizer(model.tokenizer()).prompts(60).build();
 * IoiRoles roles = IoiRoles.compute(model, data, IoiRolesOptions.DEFAULT);
 * roles.get(Role.NAME_MOVER).headsAtLeast(0.5);     // [L9H9, L10H0, L9H6, ...]
 * HeadReportWriter.markdown(roles.toTable("gpt2"));
 * }</pre>
 *
 * <p>Cost: per batch, forward passes with a cache on the clean and ABC prompts and one ablated pass; then,
 * for S-inhibition, a path-patching sweep over every head (for each head, two passes from the head's layer on,
 * batched across heads), which dominates: turn it off with {@link IoiRolesOptions#withSInhibition} when only
 * the other roles are wanted.
 */
public final class IoiRoles {

    /** The head roles, with the section of the paper that defines them. */
    public enum Role {
        /**
         * Name movers (section 3.1): attend from END to the IO and copy it to the logits.
         * {@code name_mover = mean_b a(END -> IO) * DLA}, positive for a head that moves the IO.
         */
        NAME_MOVER("name_mover"),
        /**
         * Negative name movers (section 3.1): attend to the IO and write against it.
         * {@code negative_name_mover = mean_b a(END -> IO) * max(0, -DLA)}, so
         * {@code name_mover = mean_b a(END -> IO) * max(0, DLA) - negative_name_mover}.
         */
        NEGATIVE_NAME_MOVER("negative_name_mover"),
        /**
         * S-inhibition heads (section 3.2): change the name movers' queries so that they avoid S. Path patching
         * from the head to the queries of the name movers ({@link IoiRoles#nameMovers()}) at every position: in
         * the clean run the head's output (z) takes its value on the ABC prompt, every other head is frozen to
         * its clean value, and only the name movers' queries are patched with the result;
         * {@code s_inhibition = (LD_clean - LD_patched) / (LD_clean - LD_ABC)} with {@code LD} the mean logit
         * difference IO - S at END: the share of the clean-vs-ABC logit difference that the head's path to
         * the name movers' queries carries (0: none; positive: the head helps the name movers).
         */
        S_INHIBITION("s_inhibition"),
        /**
         * Backup name movers (section 3.4): take over when the name movers are knocked out.
         * {@code backup_name_mover = name_mover(with the name movers mean-ablated) - name_mover}, where the
         * name movers' outputs (z) are replaced by their mean over the ABC prompts of the same template at each
         * position; NaN for the ablated heads themselves.
         */
        BACKUP_NAME_MOVER("backup_name_mover"),
        /** Duplicate-token heads (section 3.3): {@code duplicate_token = mean_b a(S2 -> S1)}. */
        DUPLICATE_TOKEN("duplicate_token"),
        /** Induction heads (section 3.3): {@code induction = mean_b a(S2 -> S1 + 1)}. */
        INDUCTION("induction");

        private final String key;

        Role(String key) {
            this.key = key;
        }

        /** The role's snake_case name, used in reports (e.g. {@code name_mover}). */
        public String key() {
            return key;
        }
    }

    private final Map<Role, LayerHeadScores> scores;
    private final List<LayerHead> nameMovers;
    private final double cleanLogitDiff;
    private final double abcLogitDiff;
    private final int prompts;

    private IoiRoles(Map<Role, LayerHeadScores> scores, List<LayerHead> nameMovers, double cleanLogitDiff,
            double abcLogitDiff, int prompts) {
        this.scores = Collections.unmodifiableMap(new EnumMap<>(scores));
        this.nameMovers = List.copyOf(nameMovers);
        this.cleanLogitDiff = cleanLogitDiff;
        this.abcLogitDiff = abcLogitDiff;
        this.prompts = prompts;
    }

    /** {@link #compute(HookedTransformer, IoiDataset, IoiRolesOptions)} with {@link IoiRolesOptions#DEFAULT}. */
    public static IoiRoles compute(HookedTransformer model, IoiDataset dataset) {
        return compute(model, dataset, IoiRolesOptions.DEFAULT);
    }

    /**
     * Scores every head for every role.
     *
     * @throws IllegalArgumentException if a prompt does not fit the model (token id beyond d_vocab, longer than
     *     n_ctx), a given name mover does not exist, or S-inhibition is scored and the clean and ABC logit
     *     differences are equal (then it is undefined)
     */
    public static IoiRoles compute(HookedTransformer model, IoiDataset dataset, IoiRolesOptions options) {
        return new Computation(model, dataset, options).run();
    }

    /** The scores of one role, {@code [n_layers][n_heads]}, named by {@link Role#key()}. */
    public LayerHeadScores get(Role role) {
        return scores.get(role);
    }

    /** Every role's scores, in {@link Role} order. */
    public Map<Role, LayerHeadScores> asMap() {
        return scores;
    }

    /** The name movers used as receivers (S-inhibition) and ablated (backup), best first when chosen by score. */
    public List<LayerHead> nameMovers() {
        return nameMovers;
    }

    /** The mean logit difference IO - S at END on the clean prompts. */
    public double cleanLogitDiff() {
        return cleanLogitDiff;
    }

    /** The mean logit difference IO - S (the clean prompts' names) at END on the ABC prompts. */
    public double abcLogitDiff() {
        return abcLogitDiff;
    }

    /** The number of prompts the means are over. */
    public int prompts() {
        return prompts;
    }

    /** The scores as a head report table, one column per role ({@link Role#key()}). */
    public HeadScoreTable toTable(String modelName) {
        LayerHeadScores first = scores.get(Role.NAME_MOVER);
        HeadScoreTable t = new HeadScoreTable(modelName, first.layers(), first.heads());
        scores.forEach((role, s) -> t.put(role.key(), s.toArray()));
        return t;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "IoiRoles(%d prompts, logit diff clean %.4f, ABC %.4f, name movers %s)",
                prompts, cleanLogitDiff, abcLogitDiff, nameMovers);
    }

    /** One computation: the accumulators and the passes over the batches. */
    private static final class Computation {

        private final HookedTransformer model;
        private final IoiDataset dataset;
        private final IoiRolesOptions options;
        private final int layers;
        private final int heads;

        Computation(HookedTransformer model, IoiDataset dataset, IoiRolesOptions options) {
            this.model = model;
            this.dataset = dataset;
            this.options = options;
            HookedTransformerConfig cfg = model.config();
            this.layers = cfg.nLayers();
            this.heads = cfg.nHeads();
            check();
        }

        private void check() {
            HookedTransformerConfig cfg = model.config();
            for (IoiPrompt p : dataset.prompts()) {
                if (p.length() > cfg.nCtx()) {
                    throw new IllegalArgumentException("IOI template " + p.template() + " has " + p.length()
                            + " tokens, more than the model's n_ctx = " + cfg.nCtx());
                }
                for (long[] tokens : new long[][] {p.tokens(), p.abcTokens()}) {
                    for (long t : tokens) {
                        if (t >= cfg.dVocab()) {
                            throw new IllegalArgumentException("IOI prompt '" + describe(p) + "' has token id " + t
                                    + ", beyond the model's d_vocab = " + cfg.dVocab());
                        }
                    }
                }
            }
            if (options.nameMovers() != null) {
                for (LayerHead h : options.nameMovers()) {
                    if (h.layer() >= layers || h.head() >= heads) {
                        throw new IllegalArgumentException("name mover " + h + " does not exist in a model of " + layers
                                + " layers x " + heads + " heads");
                    }
                }
            } else if (options.nameMoverCount() > layers * heads) {
                throw new IllegalArgumentException("nameMoverCount " + options.nameMoverCount() + " exceeds the "
                        + layers * heads + " heads of the model");
            }
        }

        private static String describe(IoiPrompt p) {
            return p.text() != null ? p.text() : Arrays.toString(p.tokens());
        }

        IoiRoles run() {
            int n = dataset.size();
            List<IoiBatch> batches = dataset.batches(options.batchSize());
            Sums clean = new Sums(layers, heads);
            Sums ablated = new Sums(layers, heads);
            double[][] patched = new double[layers][heads];
            double abcLogitDiff = 0;
            List<LayerHead> movers;
            try (NDManager root = model.manager().newSubManager()) {
                // Pass 1: clean statistics, ABC logit difference and the ABC sum of every head's output.
                Map<Integer, NDArray[]> abcZSums = new TreeMap<>();
                Map<Integer, Integer> abcCounts = new HashMap<>();
                for (IoiBatch batch : batches) {
                    try (NDManager bm = root.newSubManager()) {
                        addStats(batch, batch.tokens(bm), clean);
                        try (CachedRun abc = model.runWithCache(batch.abcTokens(bm), zCache(ReturnType.LOGITS))) {
                            abcLogitDiff += sum(batch.answers().logitDifference(abc.logits()));
                            NDArray[] sums = abcZSums.computeIfAbsent(batch.template(), t -> new NDArray[layers]);
                            for (int l = 0; l < layers; l++) {
                                NDArray s = abc.cache().get("z", l).sum(new int[] {0}, true);   // [1, pos, head, d_head]
                                if (sums[l] == null) {
                                    s.attach(root);
                                    sums[l] = s;
                                } else {
                                    sums[l].addi(s);
                                }
                            }
                            abcCounts.merge(batch.template(), batch.size(), Integer::sum);
                        }
                    }
                }
                if (options.sInhibition()) {
                    checkSeparates(clean.logitDiff / n, abcLogitDiff / n);
                }
                movers = options.nameMovers() != null ? options.nameMovers()
                        : new LayerHeadScores(Role.NAME_MOVER.key(), clean.nameMoverMeans(n))
                                .headsAtLeast(Double.NEGATIVE_INFINITY).subList(0, options.nameMoverCount());
                Map<Integer, ActivationCache> abcMeans = new HashMap<>();
                abcZSums.forEach((t, sums) -> abcMeans.put(t, meanCache(sums, abcCounts.get(t), root)));

                // Pass 2: name-mover scores with the name movers ablated; path patching into their queries.
                PathPatching paths = PathPatching.of(model, options.patching(), false);
                List<Node> receivers = movers.stream().map(h -> Node.headInput(h.layer(), h.head(), "q")).toList();
                for (IoiBatch batch : batches) {
                    try (NDManager bm = root.newSubManager()) {
                        NDArray tokens = batch.tokens(bm);
                        try (HookScope s = model.hooks(ablations(movers, abcMeans.get(batch.template())))) {
                            addStats(batch, tokens, ablated);
                        }
                        if (options.sInhibition()) {
                            addPathPatching(batch, tokens, paths, receivers, patched);
                        }
                    }
                }
            }
            return result(n, clean, ablated, patched, abcLogitDiff / n, movers);
        }

        private IoiRoles result(int n, Sums clean, Sums ablated, double[][] patched, double abcLogitDiff,
                List<LayerHead> movers) {
            double cleanLogitDiff = clean.logitDiff / n;
            double range = cleanLogitDiff - abcLogitDiff;
            double[][] nameMover = clean.nameMoverMeans(n);
            double[][] backup = new double[layers][heads];
            double[][] sInhibition = new double[layers][heads];
            double[][] ablatedNameMover = ablated.nameMoverMeans(n);
            Set<LayerHead> ablatedHeads = new HashSet<>(movers);
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    sInhibition[l][h] = options.sInhibition() ? (cleanLogitDiff - patched[l][h] / n) / range : Double.NaN;
                    backup[l][h] = ablatedHeads.contains(new LayerHead(l, h)) ? Double.NaN
                            : ablatedNameMover[l][h] - nameMover[l][h];
                }
            }
            Map<Role, LayerHeadScores> out = new EnumMap<>(Role.class);
            out.put(Role.NAME_MOVER, new LayerHeadScores(Role.NAME_MOVER.key(), nameMover));
            out.put(Role.NEGATIVE_NAME_MOVER, new LayerHeadScores(Role.NEGATIVE_NAME_MOVER.key(),
                    scaled(clean.negativeNameMover, n)));
            out.put(Role.S_INHIBITION, new LayerHeadScores(Role.S_INHIBITION.key(), sInhibition));
            out.put(Role.BACKUP_NAME_MOVER, new LayerHeadScores(Role.BACKUP_NAME_MOVER.key(), backup));
            out.put(Role.DUPLICATE_TOKEN, new LayerHeadScores(Role.DUPLICATE_TOKEN.key(), scaled(clean.duplicate, n)));
            out.put(Role.INDUCTION, new LayerHeadScores(Role.INDUCTION.key(), scaled(clean.induction, n)));
            return new IoiRoles(out, movers, cleanLogitDiff, abcLogitDiff, n);
        }

        /**
         * Adds, per sender head, the batch's summed logit difference after path patching the head's ABC output
         * into the receivers (clean run, other heads frozen).
         */
        private void addPathPatching(IoiBatch batch, NDArray tokens, PathPatching paths, List<Node> receivers,
                double[][] patched) {
            try (CachedRun abc = model.runWithCache(batch.abcTokens(tokens.getManager()), zCache(ReturnType.NONE))) {
                PatchingResult r = paths.sweepSenderHeads(tokens, abc.cache(), PatchingMetric.logitDiff(batch.answerPairs()),
                        receivers);
                for (int l = 0; l < layers; l++) {
                    for (int h = 0; h < heads; h++) {
                        patched[l][h] += r.get(l, h) * batch.size();
                    }
                }
            }
        }

        /** s_inhibition divides by the difference of the two logit differences: it must not be 0. */
        private static void checkSeparates(double cleanLogitDiff, double abcLogitDiff) {
            if (!(Math.abs(cleanLogitDiff - abcLogitDiff) > 0)) {
                throw new IllegalArgumentException("s_inhibition is undefined: the mean logit difference IO - S is "
                        + cleanLogitDiff + " on the clean prompts and " + abcLogitDiff + " on the ABC prompts");
            }
        }

        /** Runs the clean prompts (with whatever hooks are active) and adds each head's per-prompt terms. */
        private void addStats(IoiBatch batch, NDArray tokens, Sums sums) {
            Set<String> names = new HashSet<>();
            for (int l = 0; l < layers; l++) {
                names.add(ActNames.getActName("pattern", l));
                names.add(ActNames.getActName("z", l));
            }
            // what the head attribution reads besides z: the batch size, the final scale, the remainder
            names.add("hook_embed");
            names.add("ln_final.hook_scale");
            names.add(ActNames.getActName("resid_post", layers - 1));
            try (CachedRun run = model.runWithCache(tokens, CacheOptions.filter(names::contains))) {
                Attribution dla = DirectLogitAttribution.compute(run.cache(), batch.answers(), Unit.HEAD);
                sums.logitDiff += sum(batch.answers().logitDifference(run.logits()));
                int positions = batch.length();
                for (int l = 0; l < layers; l++) {
                    double[] pattern = Doubles.of(run.cache().get("pattern", l));   // [batch, head, q, k]
                    for (int b = 0; b < batch.size(); b++) {
                        IoiPrompt p = batch.prompts().get(b);
                        for (int h = 0; h < heads; h++) {
                            int row = (b * heads + h) * positions;
                            double toIo = pattern[(row + p.endPos()) * positions + p.ioPos()];
                            double d = dla.value("L" + l + "H" + h, b);
                            sums.nameMover[l][h] += toIo * d;
                            sums.negativeNameMover[l][h] += toIo * Math.max(0, -d);
                            sums.duplicate[l][h] += pattern[(row + p.s2Pos()) * positions + p.s1Pos()];
                            sums.induction[l][h] += pattern[(row + p.s2Pos()) * positions + p.s1Pos() + 1];
                        }
                    }
                }
            }
        }

        /** Every layer's head outputs (z), with logits or without. */
        private CacheOptions zCache(ReturnType returnType) {
            Set<String> names = new HashSet<>();
            for (int l = 0; l < layers; l++) {
                names.add(ActNames.getActName("z", l));
            }
            return CacheOptions.filter(names::contains)
                    .withForward(ForwardOptions.builder().returnType(returnType).build());
        }

        /** A cache holding the ABC mean of every layer's z as a batch of one, {@code [1, pos, head, d_head]}. */
        private ActivationCache meanCache(NDArray[] sums, int count, NDManager root) {
            ActivationCache cache = new ActivationCache(model, root);
            for (int l = 0; l < layers; l++) {
                cache.put(ActNames.getActName("z", l), sums[l].div(count));
            }
            return cache;
        }

        /** Mean ablation of the name movers' outputs, one hook per layer. */
        private Hook[] ablations(List<LayerHead> movers, ActivationCache abcMean) {
            Map<Integer, List<Integer>> byLayer = new TreeMap<>();
            for (LayerHead h : movers) {
                byLayer.computeIfAbsent(h.layer(), k -> new ArrayList<>()).add(h.head());
            }
            List<Hook> hooks = new ArrayList<>();
            byLayer.forEach((layer, hs) -> hooks.add(Ablation.mean("z", layer, abcMean)
                    .heads(hs.stream().mapToInt(Integer::intValue).toArray()).hook()));
            return hooks.toArray(Hook[]::new);
        }

        private static double[][] scaled(double[][] sums, int n) {
            double[][] out = new double[sums.length][];
            for (int l = 0; l < sums.length; l++) {
                out[l] = new double[sums[l].length];
                for (int h = 0; h < out[l].length; h++) {
                    out[l][h] = sums[l][h] / n;
                }
            }
            return out;
        }

        private static double sum(double[] v) {
            double s = 0;
            for (double x : v) {
                s += x;
            }
            return s;
        }
    }

    /** Per-head sums over prompts of the attention and attribution terms, and of the logit difference. */
    private static final class Sums {
        final double[][] nameMover;
        final double[][] negativeNameMover;
        final double[][] duplicate;
        final double[][] induction;
        double logitDiff;

        Sums(int layers, int heads) {
            nameMover = new double[layers][heads];
            negativeNameMover = new double[layers][heads];
            duplicate = new double[layers][heads];
            induction = new double[layers][heads];
        }

        /** The name-mover scores, {@code [layer][head]}, of sums over {@code n} prompts. */
        double[][] nameMoverMeans(int n) {
            return Computation.scaled(nameMover, n);
        }
    }
}
