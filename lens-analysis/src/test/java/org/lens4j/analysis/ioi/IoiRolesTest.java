package org.lens4j.analysis.ioi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.analysis.AnalysisFixtures;
import org.lens4j.analysis.Doubles;
import org.lens4j.analysis.heads.DetectOptions;
import org.lens4j.analysis.heads.HeadDetector;
import org.lens4j.analysis.heads.LayerHead;
import org.lens4j.analysis.ioi.IoiRoles.Role;
import org.lens4j.analysis.patching.PatchingOptions;
import org.lens4j.analysis.report.HeadReportWriter;
import org.lens4j.analysis.report.HeadScoreTable;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CachedRun;
import org.lens4j.core.Hook;
import org.lens4j.core.HookPoint;
import org.lens4j.core.HookScope;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;

/**
 * IOI roles on the TransformerLens fixture models (random weights), each role checked against an independent
 * computation: plain loops over a full cache for the attention and attribution scores, the head detector for
 * the attention scores, hand-written two-step hooks for path patching and hand-written mean ablation.
 */
class IoiRolesTest {

    private static final String MODEL = "gpt2_style_2l";
    /** Two templates of different lengths, BOS 0, names 40..59 (d_vocab 100, n_ctx 32). */
    private static final List<String> TEMPLATES = List.of("0 5 6 [B] 7 [A] 8 9 [B] 10 11",
            "0 12 [B] 13 [A] 14 15 16 [B] 17 18 19 11");
    private static final List<LayerHead> MOVERS = List.of(new LayerHead(1, 0), new LayerHead(1, 2));
    private static final PatchingOptions QUIET = PatchingOptions.DEFAULT.withProgress(false);

    private static NDManager manager;
    private static HookedTransformer model;
    private static IoiDataset data;
    private static IoiRoles roles;

    @BeforeAll
    static void compute() {
        manager = NDManager.newBaseManager();
        model = AnalysisFixtures.model(MODEL, manager);
        data = IoiDataset.fromTokenIds(TEMPLATES, 40, 60).prompts(12).seed(11).build();
        roles = IoiRoles.compute(model, data, IoiRolesOptions.DEFAULT.withNameMovers(MOVERS).withBatchSize(100)
                .withPatching(QUIET));
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    @Test
    void everyRoleIsALayerByHeadTable() {
        assertThat(roles.asMap().keySet()).containsExactly(Role.values());
        for (Role role : Role.values()) {
            double[][] t = roles.get(role).toArray();
            assertThat(roles.get(role).name()).isEqualTo(role.key());
            assertThat(t).hasNumberOfRows(2);
            for (int l = 0; l < 2; l++) {
                assertThat(t[l]).hasSize(4);
                for (int h = 0; h < 4; h++) {
                    boolean ablated = role == Role.BACKUP_NAME_MOVER && MOVERS.contains(new LayerHead(l, h));
                    assertThat(Double.isNaN(t[l][h])).as("%s L%dH%d", role, l, h).isEqualTo(ablated);
                    assertThat(ablated || Double.isFinite(t[l][h])).isTrue();
                }
            }
        }
        assertThat(roles.nameMovers()).isEqualTo(MOVERS);
        assertThat(roles.prompts()).isEqualTo(12);
        HeadScoreTable table = roles.toTable(MODEL);
        System.out.print(HeadReportWriter.markdown(table));
        System.out.println(roles);
        assertThat(table.detectors()).containsExactly("name_mover", "negative_name_mover", "s_inhibition",
                "backup_name_mover", "duplicate_token", "induction");
        assertThat(table.scores("induction").toArray()).isDeepEqualTo(roles.get(Role.INDUCTION).toArray());
    }

    @Test
    void nameMoverScoresEqualAPlainLoopOverTheCache() {
        double[][][] sums = new double[2][2][4];
        for (IoiBatch batch : data.batches(100)) {
            addNameMoverTerms(batch, sums);
        }
        assertClose(roles.get(Role.NAME_MOVER).toArray(), mean(sums[0]), 1e-5);
        assertClose(roles.get(Role.NEGATIVE_NAME_MOVER).toArray(), mean(sums[1]), 1e-5);
    }

    @Test
    void duplicateAndInductionScoresEqualTheHeadDetectorsMeanAttention() {
        double[][] dup = new double[2][4];
        double[][] ind = new double[2][4];
        for (IoiPrompt p : data.prompts()) {
            int n = p.length();
            try (NDManager m = manager.newSubManager(); CachedRun run = model.runWithCache(m.create(new long[][] {p.tokens()}),
                    "blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern")) {
                double[][] d = detect(p, p.s2Pos(), p.s1Pos(), run.cache(), m);
                double[][] i = detect(p, p.s2Pos(), p.s1Pos() + 1, run.cache(), m);
                for (int l = 0; l < 2; l++) {
                    for (int h = 0; h < 4; h++) {
                        // "mul" divides by the pattern's sum, which is n (one per query row)
                        dup[l][h] += d[l][h] * n / data.size();
                        ind[l][h] += i[l][h] * n / data.size();
                    }
                }
            }
        }
        assertClose(roles.get(Role.DUPLICATE_TOKEN).toArray(), dup, 1e-5);
        assertClose(roles.get(Role.INDUCTION).toArray(), ind, 1e-5);
    }

    @Test
    void sInhibitionEqualsTwoStepPathPatchingByHand() {
        double clean = 0;
        double abc = 0;
        double[] patched = new double[4];
        for (IoiBatch batch : data.batches(100)) {
            try (NDManager m = manager.newSubManager();
                    CachedRun cleanRun = model.runWithCache(batch.tokens(m));
                    CachedRun abcRun = model.runWithCache(batch.abcTokens(m))) {
                clean += logitDiffSum(cleanRun.logits(), batch);
                abc += logitDiffSum(abcRun.logits(), batch);
                for (int sender = 0; sender < 4; sender++) {
                    patched[sender] += pathPatchedLogitDiffSum(batch, sender, cleanRun.cache(), abcRun.cache(), m);
                }
            }
        }
        int n = data.size();
        assertThat(roles.cleanLogitDiff()).isCloseTo(clean / n, within(1e-5));
        assertThat(roles.abcLogitDiff()).isCloseTo(abc / n, within(1e-5));
        double[][] s = roles.get(Role.S_INHIBITION).toArray();
        for (int h = 0; h < 4; h++) {
            double expected = (clean / n - patched[h] / n) / (clean / n - abc / n);
            assertThat(s[0][h]).as("L0H%d", h).isCloseTo(expected, within(1e-5));
            // layer-1 heads come after the receivers' queries: no path
            assertThat(s[1][h]).as("L1H%d", h).isCloseTo(0, within(1e-5));
        }
        assertThat(java.util.Arrays.stream(s[0]).map(Math::abs).max().orElseThrow()).as("the senders matter")
                .isGreaterThan(1e-3);
    }

    @Test
    void backupScoresEqualNameMoverScoresUnderHandWrittenMeanAblation() {
        double[][][] sums = new double[2][2][4];
        for (IoiBatch batch : data.batches(100)) {
            try (NDManager m = manager.newSubManager();
                    CachedRun abcRun = model.runWithCache(batch.abcTokens(m), "blocks.1.attn.hook_z")) {
                // [1, pos, 1, d_head] means of the ablated heads over this template's ABC prompts
                NDArray mean0 = abcRun.cache().get("blocks.1.attn.hook_z").get(":, :, 0:1").mean(new int[] {0}, true);
                NDArray mean2 = abcRun.cache().get("blocks.1.attn.hook_z").get(":, :, 2:3").mean(new int[] {0}, true);
                Hook ablate = Hook.of("blocks.1.attn.hook_z", (act, hp) -> {
                    NDArray out = act.duplicate();
                    out.set(new NDIndex(":, :, 0:1"), mean0.broadcast(new Shape(act.getShape().get(0),
                            act.getShape().get(1), 1, act.getShape().get(3))));
                    out.set(new NDIndex(":, :, 2:3"), mean2.broadcast(new Shape(act.getShape().get(0),
                            act.getShape().get(1), 1, act.getShape().get(3))));
                    return out;
                });
                try (HookScope s = model.hooks(ablate)) {
                    addNameMoverTerms(batch, sums);
                }
            }
        }
        double[][] ablated = mean(sums[0]);
        double[][] nameMover = roles.get(Role.NAME_MOVER).toArray();
        double[][] backup = roles.get(Role.BACKUP_NAME_MOVER).toArray();
        for (int l = 0; l < 2; l++) {
            for (int h = 0; h < 4; h++) {
                if (MOVERS.contains(new LayerHead(l, h))) {
                    assertThat(backup[l][h]).isNaN();
                } else {
                    assertThat(backup[l][h]).as("L%dH%d", l, h).isCloseTo(ablated[l][h] - nameMover[l][h], within(1e-5));
                }
            }
        }
        // the final LayerNorm's scale changes when the name movers go, so the other heads' scores move
        assertThat(Math.abs(backup[1][1]) + Math.abs(backup[1][3])).isGreaterThan(1e-4);
    }

    @Test
    void batchingDoesNotChangeTheScores() {
        // 6 prompts per template: batches of 5 and 1 (the mean ablation still averages the whole template)
        IoiRoles split = IoiRoles.compute(model, data, IoiRolesOptions.DEFAULT.withNameMovers(MOVERS).withBatchSize(5)
                .withPatching(QUIET));
        for (Role role : Role.values()) {
            double[][] a = roles.get(role).toArray();
            double[][] b = split.get(role).toArray();
            for (int l = 0; l < 2; l++) {
                for (int h = 0; h < 4; h++) {
                    if (Double.isNaN(a[l][h])) {
                        assertThat(b[l][h]).isNaN();
                    } else {
                        assertThat(b[l][h]).as("%s L%dH%d", role, l, h).isCloseTo(a[l][h], within(1e-5));
                    }
                }
            }
        }
    }

    /** The other fixture models; the name movers are the top two by score. */
    @ParameterizedTest
    @ValueSource(strings = {"attn_only_2l_shortformer", "solu_ln_1l"})
    void otherFixtureModels(String name) {
        try (NDManager m = manager.newSubManager(); HookedTransformer other = AnalysisFixtures.model(name, m)) {
            IoiDataset small = IoiDataset.fromTokenIds(TEMPLATES.subList(0, 1), 40, 60).prompts(4).seed(3).build();
            IoiRoles r = IoiRoles.compute(other, small, IoiRolesOptions.DEFAULT.withNameMoverCount(2).withPatching(QUIET));
            int layers = other.config().nLayers();
            double[][][] sums = new double[2][layers][4];
            for (IoiBatch batch : small.batches(100)) {
                addNameMoverTerms(other, batch, sums);
            }
            assertClose(r.get(Role.NAME_MOVER).toArray(), scaled(sums[0], small.size()), 1e-5);
            assertClose(r.get(Role.NEGATIVE_NAME_MOVER).toArray(), scaled(sums[1], small.size()), 1e-5);
            assertThat(r.nameMovers()).isEqualTo(r.get(Role.NAME_MOVER).headsAtLeast(Double.NEGATIVE_INFINITY).subList(0, 2));
            for (Role role : Role.values()) {
                for (double[] row : r.get(role).toArray()) {
                    for (double v : row) {
                        assertThat(Double.isFinite(v) || (role == Role.BACKUP_NAME_MOVER && Double.isNaN(v))).isTrue();
                    }
                }
            }
        }
    }

    @Test
    void promptsThatDoNotFitTheModelAreRefused() {
        IoiDataset bigIds = IoiDataset.fromTokenIds(List.of("0 5 [B] 7 [A] 8 [B] 9"), 95, 105).prompts(4).build();
        assertThatThrownBy(() -> IoiRoles.compute(model, bigIds))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("beyond the model's d_vocab = 100");
        String longTemplate = "0 " + "5 ".repeat(30) + "[B] 7 [A] 8 [B] 9";
        IoiDataset tooLong = IoiDataset.fromTokenIds(List.of(longTemplate), 40, 60).prompts(2).build();
        assertThatThrownBy(() -> IoiRoles.compute(model, tooLong))
                .hasMessageContaining("has 37 tokens, more than the model's n_ctx = 32");
        assertThatThrownBy(() -> IoiRoles.compute(model, data,
                IoiRolesOptions.DEFAULT.withNameMovers(List.of(new LayerHead(2, 0)))))
                .hasMessageContaining("name mover L2H0 does not exist in a model of 2 layers x 4 heads");
        assertThatThrownBy(() -> IoiRoles.compute(model, data, IoiRolesOptions.DEFAULT.withNameMoverCount(9)))
                .hasMessageContaining("nameMoverCount 9 exceeds the 8 heads");
    }

    @Test
    void badOptionsAreRefused() {
        assertThatThrownBy(() -> IoiRolesOptions.DEFAULT.withBatchSize(0)).hasMessageContaining("batchSize must be >= 1");
        assertThatThrownBy(() -> IoiRolesOptions.DEFAULT.withNameMoverCount(0))
                .hasMessageContaining("nameMoverCount must be >= 1");
        assertThatThrownBy(() -> IoiRolesOptions.DEFAULT.withNameMovers(List.of())).hasMessageContaining("nameMovers is empty");
        assertThatThrownBy(() -> IoiRolesOptions.DEFAULT.withPatching(null)).hasMessageContaining("patching options are null");
    }

    @Test
    void withoutSInhibitionTheOtherRolesAreTheSame() {
        IoiRoles cheap = IoiRoles.compute(model, data, IoiRolesOptions.DEFAULT.withNameMovers(MOVERS).withBatchSize(100)
                .withSInhibition(false));
        for (double[] row : cheap.get(Role.S_INHIBITION).toArray()) {
            assertThat(row).containsOnly(Double.NaN);
        }
        for (Role role : List.of(Role.NAME_MOVER, Role.NEGATIVE_NAME_MOVER, Role.DUPLICATE_TOKEN, Role.INDUCTION)) {
            assertClose(cheap.get(role).toArray(), roles.get(role).toArray(), 1e-9);
        }
        double[][] backup = cheap.get(Role.BACKUP_NAME_MOVER).toArray();
        assertThat(backup[1][0]).isNaN();
        assertThat(backup[0][1]).isCloseTo(roles.get(Role.BACKUP_NAME_MOVER).get(0, 1), within(1e-9));
    }

    @Test
    void aModelThatCannotTellTheNamesApartHasNoSInhibitionScore() {
        // all weights zero: every logit is 0 on clean and ABC prompts alike
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(1).nHeads(2).dHead(4).dModel(8).nCtx(16)
                .dVocab(64).actFn("relu").attnOnly(true).normalizationType(NormalizationType.NONE).build();
        try (NDManager m = manager.newSubManager()) {
            Map<String, NDArray> sd = new LinkedHashMap<>();
            HookedTransformer.expectedShapes(cfg).forEach((k, shape) -> sd.put(k, m.zeros(shape)));
            try (HookedTransformer zero = HookedTransformer.fromStateDict(cfg, sd)) {
                assertThatThrownBy(() -> IoiRoles.compute(zero, data, IoiRolesOptions.DEFAULT.withNameMoverCount(1)
                        .withPatching(QUIET)))
                        .hasMessageContaining("s_inhibition is undefined")
                        .hasMessageContaining("0.0 on the clean prompts and 0.0 on the ABC prompts");
                // the other roles are defined: uniform attention, no output
                IoiRoles r = IoiRoles.compute(zero, data, IoiRolesOptions.DEFAULT.withNameMoverCount(1)
                        .withSInhibition(false));
                assertThat(r.get(Role.NAME_MOVER).toArray()[0]).containsOnly(0.0);
                assertThat(r.get(Role.DUPLICATE_TOKEN).get(0, 0)).isCloseTo(1.0 / 9, within(1e-6));
            }
        }
    }

    // ---------------------------------------------------------------------------------- independent references

    /** Adds, per head, sum_b a(END -> IO) * DLA and sum_b a(END -> IO) * max(0, -DLA) to {@code sums[0]} / {@code [1]}. */
    private static void addNameMoverTerms(IoiBatch batch, double[][][] sums) {
        addNameMoverTerms(model, batch, sums);
    }

    private static void addNameMoverTerms(HookedTransformer m, IoiBatch batch, double[][][] sums) {
        HookedTransformerConfig cfg = m.config();
        int heads = cfg.nHeads();
        int dHead = cfg.dHead();
        int dModel = cfg.dModel();
        int vocab = cfg.dVocabOut();
        int pos = batch.length();
        double[] wU = Doubles.of(m.W_U());   // [d_model, d_vocab]
        try (NDManager tmp = manager.newSubManager(); CachedRun run = m.runWithCache(batch.tokens(tmp))) {
            ActivationCache c = run.cache();
            double[] scale = Doubles.of(c.get("ln_final.hook_scale"));   // [batch, pos, 1]
            for (int l = 0; l < cfg.nLayers(); l++) {
                double[] z = Doubles.of(c.get("z", l));   // [batch, pos, head, d_head]
                double[] pattern = Doubles.of(c.get("pattern", l));   // [batch, head, q, k]
                double[] wO = Doubles.of(m.parameter("blocks." + l + ".attn.W_O"));   // [head, d_head, d_model]
                for (int b = 0; b < batch.size(); b++) {
                    IoiPrompt p = batch.prompts().get(b);
                    int end = p.endPos();
                    for (int h = 0; h < heads; h++) {
                        double[] out = new double[dModel];
                        double mean = 0;
                        for (int d = 0; d < dModel; d++) {
                            for (int k = 0; k < dHead; k++) {
                                out[d] += z[((b * pos + end) * heads + h) * dHead + k] * wO[(h * dHead + k) * dModel + d];
                            }
                            mean += out[d] / dModel;
                        }
                        double dla = 0;
                        for (int d = 0; d < dModel; d++) {
                            double centred = (out[d] - mean) / scale[b * pos + end];
                            dla += centred * (wU[d * vocab + (int) p.io()] - wU[d * vocab + (int) p.s()]);
                        }
                        double a = pattern[((b * heads + h) * pos + end) * pos + p.ioPos()];
                        sums[0][l][h] += a * dla;
                        sums[1][l][h] += a * Math.max(0, -dla);
                    }
                }
            }
        }
    }

    /** The head detector's "mul" score for a pattern with a single 1 at (query, key), patterns from a cache. */
    private static double[][] detect(IoiPrompt p, int query, int key, ActivationCache cache, NDManager m) {
        float[] d = new float[p.length() * p.length()];
        d[query * p.length() + key] = 1;
        NDArray pattern = m.create(d, new Shape(p.length(), p.length()));
        return HeadDetector.detectHead(model, m.create(p.tokens()), pattern, DetectOptions.builder().cache(cache).build())
                .toArray();
    }

    /** sum_b logits[b, END, IO] - logits[b, END, S]. */
    private static double logitDiffSum(NDArray logits, IoiBatch batch) {
        double[] v = Doubles.of(logits);
        int pos = batch.length();
        int vocab = (int) logits.getShape().get(2);
        double sum = 0;
        for (int b = 0; b < batch.size(); b++) {
            IoiPrompt p = batch.prompts().get(b);
            int row = (b * pos + p.endPos()) * vocab;
            sum += v[row + (int) p.io()] - v[row + (int) p.s()];
        }
        return sum;
    }

    /**
     * Path patching L0H{sender} -> the queries of L1H0 and L1H2, by hand: (1) clean run with the sender's z from
     * the ABC run and layer 1's z frozen to clean, recording layer 1's q; (2) clean run with the receivers' q
     * replaced by the recorded ones.
     */
    private static double pathPatchedLogitDiffSum(IoiBatch batch, int sender, ActivationCache clean,
            ActivationCache abc, NDManager m) {
        NDArray tokens = batch.tokens(m);
        Hook senderHook = Hook.of("blocks.0.attn.hook_z", (act, hp) -> {
            NDArray out = act.duplicate();
            out.set(new NDIndex(":, :, {}:{}", sender, sender + 1),
                    abc.get("blocks.0.attn.hook_z").get(new NDIndex(":, :, {}:{}", sender, sender + 1)));
            return out;
        });
        Hook freeze = Hook.of("blocks.1.attn.hook_z", (act, hp) -> clean.get("blocks.1.attn.hook_z").duplicate());
        NDArray q;
        try (HookScope s = model.hooks(senderHook, freeze);
                CachedRun run = model.runWithCache(tokens, "blocks.1.attn.hook_q")) {
            q = HookPoint.keep(run.cache().get("blocks.1.attn.hook_q"), m);
        }
        Hook receivers = Hook.of("blocks.1.attn.hook_q", (act, hp) -> {
            NDArray out = act.duplicate();
            out.set(new NDIndex(":, :, 0:1"), q.get(new NDIndex(":, :, 0:1")));
            out.set(new NDIndex(":, :, 2:3"), q.get(new NDIndex(":, :, 2:3")));
            return out;
        });
        NDArray logits = model.runWithHooks(tokens, receivers);
        return logitDiffSum(logits, batch);
    }

    private static double[][] mean(double[][] sums) {
        return scaled(sums, data.size());
    }

    private static double[][] scaled(double[][] sums, int n) {
        double[][] out = new double[sums.length][];
        for (int l = 0; l < sums.length; l++) {
            out[l] = sums[l].clone();
            for (int h = 0; h < out[l].length; h++) {
                out[l][h] /= n;
            }
        }
        return out;
    }

    private static void assertClose(double[][] actual, double[][] expected, double atol) {
        assertThat(actual).hasDimensions(expected.length, expected[0].length);
        for (int l = 0; l < expected.length; l++) {
            for (int h = 0; h < expected[l].length; h++) {
                assertThat(actual[l][h]).as("L%dH%d", l, h).isCloseTo(expected[l][h], within(atol));
            }
        }
    }
}
