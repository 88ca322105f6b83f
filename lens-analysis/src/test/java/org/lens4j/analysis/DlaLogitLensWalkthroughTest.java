package org.lens4j.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.circuits.CopyingScores;
import org.lens4j.analysis.heads.LayerHeadScores;
import org.lens4j.analysis.circuits.SingularDirection;
import org.lens4j.analysis.circuits.SvdInterpreter;
import org.lens4j.analysis.dla.AnswerTokens;
import org.lens4j.analysis.dla.Attribution;
import org.lens4j.analysis.dla.Attribution.Unit;
import org.lens4j.analysis.dla.DirectLogitAttribution;
import org.lens4j.analysis.lens.LogitLens;
import org.lens4j.analysis.lens.LogitLensResult;
import org.lens4j.analysis.report.TextTables;
import org.lens4j.core.ActivationCache;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ComplexTensor;
import org.lens4j.core.CompositionScores;
import org.lens4j.core.FactoredMatrix;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LabelledStack;
import org.lens4j.core.Slice;
import org.lens4j.core.StackOptions;

/**
 * The walkthrough of docs/analysis.md, run on the gpt2_style_2l fixture model (a seeded random TransformerLens
 * model, processed like {@code from_pretrained}). It prints what the page shows (also written to
 * {@code target/analysis-walkthrough.md}) and checks the claims the page makes.
 */
class DlaLogitLensWalkthroughTest {

    @Test
    void walkthrough() throws IOException {
        StringBuilder out = new StringBuilder();
        try (NDManager manager = NDManager.newBaseManager();
                HookedTransformer model = AnalysisFixtures.processed("gpt2_style_2l", manager)) {
            NDArray tokens = AnalysisFixtures.tokens("gpt2_style_2l", manager);   // [3, 16]
            try (CachedRun run = model.runWithCache(tokens)) {
                ActivationCache cache = run.cache();
                AnswerTokens answer = AnswerTokens.difference(7, 13);   // logit(7) - logit(13), last position
                double[] logitDiff = answer.logitDifference(run.logits());
                double bias = model.b_U().getFloat(7) - model.b_U().getFloat(13);
                out.append("logit difference per prompt: ").append(fmt(logitDiff))
                        .append(String.format(Locale.ROOT, "; b_U[7] - b_U[13] = %+.4f%n%n", bias));

                Attribution components = DirectLogitAttribution.compute(cache, answer, Unit.COMPONENT);
                out.append(TextTables.attribution(components)).append('\n');
                out.append("sum over components: ").append(fmt(components.total())).append("\n\n");
                for (int b = 0; b < 3; b++) {
                    assertThat(components.total()[b]).isCloseTo(logitDiff[b] - bias, within(1e-5));
                }

                Attribution heads = DirectLogitAttribution.compute(cache, answer, Unit.HEAD);
                out.append(TextTables.grid(heads.grid(), "H")).append('\n');
                out.append("top heads: ").append(heads.top(3)).append('\n');
                out.append("remainder: ").append(String.format(Locale.ROOT, "%+.4f", heads.mean("remainder")))
                        .append("\n\n");

                Attribution neurons = DirectLogitAttribution.compute(cache, answer, Unit.NEURON);
                out.append("top neurons: ").append(neurons.top(3)).append('\n');
                out.append("bottom neurons: ").append(neurons.bottom(3)).append("\n\n");

                // The same numbers with the TransformerLens-style calls underneath.
                StackOptions last = StackOptions.defaults().posSlice(Slice.index(-1));
                try (LabelledStack resid = cache.decomposeResid(last);
                        NDArray attrs = cache.logitAttrs(resid.stack(), 7, 13, last)) {   // [component, batch]
                    out.append(resid.labels()).append(" ").append(attrs.getShape()).append("\n\n");
                    assertThat(attrs.getFloat(2, 0)).isCloseTo((float) components.value("0_attn_out", 0), within(1e-6f));
                }

                long[] predicted = run.logits().get(":, -1").argMax(-1).toLongArray();
                LogitLensResult lens = LogitLens.run(cache, LogitLens.Options.defaults().topK(3).targets(predicted));
                out.append("model's prediction per prompt: ").append(Arrays.toString(predicted)).append("\n\n");
                out.append(TextTables.logitLens(lens, 0, String::valueOf)).append('\n');
                out.append("target rank per layer, prompt 1: ").append(Arrays.toString(lens.targetRanks(1)))
                        .append('\n');
                for (int b = 0; b < 3; b++) {
                    assertThat(lens.get("final_post", b).targetRank()).isZero();
                }

                LogitLensResult tl212 = LogitLens.run(cache, LogitLens.Options.defaults().topK(3).targets(predicted)
                        .normalization(LogitLens.Normalization.CACHED_SCALE));
                out.append("with the cached final scale (TransformerLens 2.12): ")
                        .append(Arrays.toString(tl212.targetRanks(1))).append('\n');
            }
        }
        System.out.println(out);
        Path target = Path.of("target", "analysis-walkthrough.md");
        Files.createDirectories(target.getParent());
        Files.writeString(target, out);
    }

    /** The circuits part of the page: OV/QK, composition scores, copying scores, SVD interpreter. */
    @Test
    void circuits() throws IOException {
        StringBuilder out = new StringBuilder();
        try (NDManager manager = NDManager.newBaseManager();
                HookedTransformer model = AnalysisFixtures.processed("gpt2_style_2l", manager)) {
            FactoredMatrix ov = model.OV(manager);
            out.append(ov).append('\n');
            out.append("OV norms [layer, head]:\n").append(TextTables.grid(Doubles.matrix(ov.norm()), "H")).append('\n');
            ComplexTensor eig = ov.get(1, 1).eigenvalues();   // the non-zero eigenvalues of W_V W_O of L1H1
            out.append("L1H1 OV eigenvalues (first 3): ").append(complex(eig, 3)).append("\n\n");

            NDArray k = model.allCompositionScores(CompositionScores.Mode.K, manager);   // [L, H, L, H]
            out.append("K-composition into layer 1 [layer-0 head, layer-1 head]:\n")
                    .append(TextTables.grid(Doubles.matrix(k.get("0, :, 1, :")), "L0H", "L1H")).append('\n');

            LayerHeadScores copying = CopyingScores.compute(model);
            out.append("copying scores:\n").append(TextTables.headScores(copying)).append('\n');
            out.append("most copying heads: ").append(copying.top(2)).append("\n\n");

            SvdInterpreter svd = new SvdInterpreter(model);
            for (SingularDirection d : svd.topTokens(SvdInterpreter.VectorType.OV, 1, 1, 2, 5)) {
                out.append(String.format(Locale.ROOT, "L1H1 OV direction %d (s = %.3f): top %s, bottom %s%n", d.index(),
                        d.singularValue(), Arrays.toString(d.topTokens()), Arrays.toString(d.bottomTokens())));
            }
            assertThat(copying.get(0, 0)).isBetween(-1.0, 1.0);
        }
        System.out.println(out);
        Path target = Path.of("target", "circuits-walkthrough.md");
        Files.createDirectories(target.getParent());
        Files.writeString(target, out);
    }

    private static String complex(ComplexTensor c, int n) {
        double[] re = Doubles.of(c.real());
        double[] im = Doubles.of(c.imag());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f%+.4fi", re[i], im[i]));
        }
        return sb.toString();
    }

    private static String fmt(double[] values) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%+.4f", values[i]));
        }
        return sb.append(']').toString();
    }
}
