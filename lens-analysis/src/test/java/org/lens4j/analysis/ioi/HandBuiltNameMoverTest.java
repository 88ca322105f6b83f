package org.lens4j.analysis.ioi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.heads.LayerHead;
import org.lens4j.analysis.ioi.IoiPrompt.Order;
import org.lens4j.analysis.ioi.IoiRoles.Role;
import org.lens4j.analysis.patching.PatchingOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;

/**
 * A one-layer attention-only model with hand-set weights, where the IOI roles are known in closed form. The
 * residual stream is one-hot token dimensions followed by one-hot position dimensions, the unembedding reads
 * the token dimensions. Each head's query is a constant and its key reads one position dimension, so it
 * attends to that position with score {@code S} (all others 0); its OV circuit copies the attended token to
 * its unembedding with weight {@code +C}, {@code +C}, {@code -C} or 0.
 * <ul>
 *   <li>L0H0 attends to position 3, the IO in the ABBA prompts: a name mover;</li>
 *   <li>L0H1 attends to position 5, S1: copies S;</li>
 *   <li>L0H2 attends to position 3 and writes {@code -C} times the IO: a negative name mover;</li>
 *   <li>L0H3 has zero key and OV weights: uniform attention, no output.</li>
 * </ul>
 */
class HandBuiltNameMoverTest {

    private static final int VOCAB = 24;
    private static final int CTX = 16;
    private static final double S = 20;
    private static final double C = 2;
    /** BOS 0, literals 1..7, names 10..19: positions IO 3, S1 5, S2 8, END 10 in ABBA order. */
    private static final String TEMPLATE = "0 1 2 [B] 3 [A] 4 5 [B] 6 7";
    private static final int[] TARGET = {3, 5, 3, -1};
    private static final double[] OV_SIGN = {1, 1, -1, 0};

    private static NDManager manager;
    private static HookedTransformer model;
    private static IoiRoles roles;

    @BeforeAll
    static void build() {
        manager = NDManager.newBaseManager();
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(1).nHeads(4).dHead(VOCAB)
                .dModel(VOCAB + CTX).nCtx(CTX).dVocab(VOCAB).actFn("relu").attnOnly(true)
                .normalizationType(NormalizationType.NONE).build();
        int d = cfg.dModel();
        float[] wE = new float[VOCAB * d];
        float[] wU = new float[d * VOCAB];
        for (int t = 0; t < VOCAB; t++) {
            wE[t * d + t] = 1;
            wU[t * VOCAB + t] = 1;
        }
        float[] wPos = new float[CTX * d];
        for (int p = 0; p < CTX; p++) {
            wPos[p * d + VOCAB + p] = 1;
        }
        float[] wK = new float[4 * d * VOCAB];
        float[] bQ = new float[4 * VOCAB];
        float[] wV = new float[4 * d * VOCAB];
        float[] wO = new float[4 * VOCAB * d];
        for (int h = 0; h < 4; h++) {
            bQ[h * VOCAB] = (float) (S * cfg.attnScale());
            if (TARGET[h] >= 0) {
                wK[(h * d + VOCAB + TARGET[h]) * VOCAB] = 1;
            }
            for (int t = 0; t < VOCAB; t++) {
                wV[(h * d + t) * VOCAB + t] = 1;
                wO[(h * VOCAB + t) * d + t] = (float) (OV_SIGN[h] * C);
            }
        }
        Map<String, ai.djl.ndarray.NDArray> sd = new LinkedHashMap<>();
        sd.put("embed.W_E", manager.create(wE, new Shape(VOCAB, d)));
        sd.put("pos_embed.W_pos", manager.create(wPos, new Shape(CTX, d)));
        sd.put("blocks.0.attn.W_Q", manager.zeros(new Shape(4, d, VOCAB)));
        sd.put("blocks.0.attn.b_Q", manager.create(bQ, new Shape(4, VOCAB)));
        sd.put("blocks.0.attn.W_K", manager.create(wK, new Shape(4, d, VOCAB)));
        sd.put("blocks.0.attn.W_V", manager.create(wV, new Shape(4, d, VOCAB)));
        sd.put("blocks.0.attn.W_O", manager.create(wO, new Shape(4, VOCAB, d)));
        sd.put("unembed.W_U", manager.create(wU, new Shape(d, VOCAB)));
        model = HookedTransformer.fromStateDict(cfg, sd);
        IoiDataset data = IoiDataset.fromTokenIds(List.of(TEMPLATE), 10, 20).orders(Order.ABBA).prompts(12).seed(5)
                .build();
        roles = IoiRoles.compute(model, data, IoiRolesOptions.DEFAULT.withNameMoverCount(1)
                .withPatching(PatchingOptions.DEFAULT.withProgress(false)));
    }

    @AfterAll
    static void close() {
        model.close();
        manager.close();
    }

    /** Softmax weight of the one position scored S among {@code others} positions scored 0. */
    private static double focused(int others) {
        return Math.exp(S) / (Math.exp(S) + others);
    }

    /** Softmax weight of one of the positions scored 0. */
    private static double unfocused(int others) {
        return 1 / (Math.exp(S) + others);
    }

    @Test
    void theNameMoverScoreSinglesOutTheCopyingHead() {
        // END = 10 sees 11 positions: the target and 10 others. The S token sits at 5 and 8.
        double z = Math.exp(S) + 10;
        double nameMover = focused(10) * C * (Math.exp(S) - 2) / z;
        double s1Copier = unfocused(10) * -C * Math.exp(S) / z;
        double[][] nm = roles.get(Role.NAME_MOVER).toArray();
        assertThat(nm[0][0]).isCloseTo(nameMover, within(1e-5));
        assertThat(nm[0][1]).isCloseTo(s1Copier, within(1e-5));
        assertThat(nm[0][2]).isCloseTo(-nameMover, within(1e-5));
        assertThat(nm[0][3]).isCloseTo(0, within(1e-6));
        assertThat(roles.get(Role.NAME_MOVER).argmax()).isEqualTo(new LayerHead(0, 0));
        assertThat(roles.nameMovers()).containsExactly(new LayerHead(0, 0));
    }

    @Test
    void theNegativeNameMoverScoreSinglesOutTheHeadThatWritesAgainstTheIo() {
        double z = Math.exp(S) + 10;
        double[][] nnm = roles.get(Role.NEGATIVE_NAME_MOVER).toArray();
        assertThat(nnm[0][0]).isCloseTo(0, within(1e-6));
        assertThat(nnm[0][1]).isCloseTo(unfocused(10) * C * Math.exp(S) / z, within(1e-5));
        assertThat(nnm[0][2]).isCloseTo(focused(10) * C * (Math.exp(S) - 2) / z, within(1e-5));
        assertThat(nnm[0][3]).isCloseTo(0, within(1e-6));
        assertThat(roles.get(Role.NEGATIVE_NAME_MOVER).argmax()).isEqualTo(new LayerHead(0, 2));
    }

    @Test
    void duplicateAndInductionScoresAreTheAttentionFromS2() {
        // S2 = 8 sees 9 positions; S1 = 5, S1 + 1 = 6
        double[][] dup = roles.get(Role.DUPLICATE_TOKEN).toArray();
        double[][] ind = roles.get(Role.INDUCTION).toArray();
        assertThat(dup[0][0]).isCloseTo(unfocused(8), within(1e-6));
        assertThat(dup[0][1]).isCloseTo(focused(8), within(1e-6));
        assertThat(dup[0][3]).isCloseTo(1.0 / 9, within(1e-6));
        assertThat(ind[0][1]).isCloseTo(unfocused(8), within(1e-6));
        assertThat(ind[0][3]).isCloseTo(1.0 / 9, within(1e-6));
        assertThat(roles.get(Role.DUPLICATE_TOKEN).argmax()).isEqualTo(new LayerHead(0, 1));
    }

    @Test
    void logitDifferencesAreTheHeadsSum() {
        double z = Math.exp(S) + 10;
        // heads 0 and 2 cancel; head 1 writes S; the ABC prompts hold neither IO nor S
        assertThat(roles.cleanLogitDiff()).isCloseTo(-C * Math.exp(S) / z, within(1e-5));
        assertThat(roles.abcLogitDiff()).isCloseTo(0, within(1e-6));
    }

    /** Prints the table of docs/ioi.md. */
    @Test
    void printsTheScores() {
        StringBuilder sb = new StringBuilder("| role | L0H0 | L0H1 | L0H2 | L0H3 |\n|---|---|---|---|---|\n");
        for (Role role : Role.values()) {
            sb.append("| ").append(role.key());
            for (double v : roles.get(role).toArray()[0]) {
                sb.append(String.format(java.util.Locale.ROOT, " | %.4f", v));
            }
            sb.append(" |\n");
        }
        System.out.print(sb);
        System.out.println(roles);
        assertThat(sb).contains("| name_mover | 2.0000 |");
    }

    @Test
    void repeatedRunsLeaveNoArraysBehind() {
        IoiDataset data = IoiDataset.fromTokenIds(List.of(TEMPLATE), 10, 20).orders(Order.ABBA).prompts(4).build();
        IoiRolesOptions options = IoiRolesOptions.DEFAULT.withPatching(PatchingOptions.DEFAULT.withProgress(false));
        IoiRoles.compute(model, data, options);
        int weights = model.manager().getManagedArrays().size();
        int caller = manager.getManagedArrays().size();
        for (int i = 0; i < 3; i++) {
            IoiRoles.compute(model, data, options);
        }
        assertThat(model.manager().getManagedArrays()).as("model arrays").hasSize(weights);
        assertThat(manager.getManagedArrays()).as("caller arrays").hasSize(caller);
    }

    @Test
    void oneLayerHasNoSInhibitionAndNoBackup() {
        // every sender sits in the receivers' layer, after their queries: no path
        for (double v : roles.get(Role.S_INHIBITION).toArray()[0]) {
            assertThat(v).isCloseTo(0, within(1e-5));
        }
        // without a final LayerNorm, ablating L0H0 leaves the other heads' attention and attribution unchanged
        double[] backup = roles.get(Role.BACKUP_NAME_MOVER).toArray()[0];
        assertThat(backup[0]).isNaN();
        for (int h = 1; h < 4; h++) {
            assertThat(backup[h]).isCloseTo(0, within(1e-9));
        }
    }
}
