package org.lens4j.analysis.patching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.math3.stat.correlation.PearsonsCorrelation;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lens4j.core.ActNames;
import org.lens4j.core.CachedRun;
import org.lens4j.core.Hook;
import org.lens4j.core.HookFunction;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.testing.Fixtures;

/**
 * Attribution patching against an independent derivative (central finite differences of the patched metric,
 * in float64) and against actual activation patching.
 */
class AttributionPatchingTest {

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
     * d/de metric(corrupted run with the region moved by e * (clean - corrupted)) at e = 0, by central
     * differences: what attribution patching estimates.
     */
    private static double finiteDifference(HookedTransformer model, NDArray tokens, NDArray clean, String hook,
            PatchRegion region, int[] index, PatchingMetric metric) {
        double eps = 1e-4;
        double[] m = new double[2];
        for (int s = 0; s < 2; s++) {
            double step = s == 0 ? eps : -eps;
            HookFunction move = (act, hp) -> {
                NDArray delta = clean.sub(act);
                delta = NDArrays.where(delta.isNaN(), delta.zerosLike(), delta);
                return act.add(region.patch(delta.zerosLike(), index, delta).mul(step));
            };
            try (NDArray logits = model.runWithHooks(tokens, Hook.of(hook, move))) {
                m[s] = metric.value(logits);
            }
        }
        return (m[0] - m[1]) / (2 * eps);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer"})
    void estimatesAreTheDerivativeAlongEachPatch(String name) {
        Map<String, NDArray> a = Fixtures.tensors(name, "analysis.safetensors", manager);
        NDArray corrupted = a.get("patching.corrupted_tokens");
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        List<PatchSweep> sweeps = new ArrayList<>(List.of(PatchSweep.RESID_PRE, PatchSweep.ATTN_OUT,
                PatchSweep.ATTN_HEAD_OUT_BY_POS, PatchSweep.ATTN_HEAD_Q_ALL_POS, PatchSweep.ATTN_HEAD_K_BY_POS,
                PatchSweep.ATTN_HEAD_V_ALL_POS, PatchSweep.ATTN_HEAD_PATTERN_BY_POS,
                PatchSweep.ATTN_HEAD_PATTERN_DEST_SRC_POS, PatchSweep.RESID_POST));
        Random random = new Random(11);
        try (HookedTransformer model = FixtureModels.load(name, DataType.FLOAT64, manager);
                CachedRun clean = model.runWithCache(a.get("patching.clean_tokens"));
                AttributionPatching attr = AttributionPatching.run(model, corrupted, clean.cache(), metric)) {
            if (!model.config().attnOnly()) {
                sweeps.add(PatchSweep.MLP_OUT);
                sweeps.add(PatchSweep.of("post", PatchSetter.LAYER_POS, "layer", "pos"));
            }
            for (PatchSweep sweep : sweeps) {
                PatchingResult estimate = attr.sweep(sweep);
                List<int[]> indices = sweep.indices(model.config(), corrupted.getShape().get(1));
                for (int trial = 0; trial < 2; trial++) {
                    int[] index = indices.get(random.nextInt(indices.size()));
                    String hook = ActNames.getActName(sweep.activationName(), index[0]);
                    double fd = finiteDifference(model, corrupted, clean.cache().get(hook), hook,
                            (PatchRegion) sweep.setter(), index, metric);
                    long[] at = java.util.Arrays.stream(index).asLongStream().toArray();
                    assertThat(estimate.get(at)).as("%s at %s", hook, java.util.Arrays.toString(index))
                            .isCloseTo(fd, Offset.offset(1e-6 * Math.max(1, Math.abs(fd))));
                }
            }
            // ln1's scale fires once per q/k/v input while hooks edit it: the gradients of all three add up
            String scale = "blocks.1.ln1.hook_scale";
            PatchRegion byPos = new PatchRegion(1);
            NDArray perPos = byPos.sumPerRegion(attr.attribution(scale));
            for (int p : new int[] {2, 7}) {
                double fd = finiteDifference(model, corrupted, clean.cache().get(scale), scale, byPos,
                        new int[] {1, p}, metric);
                assertThat(perPos.getDouble(p)).as("%s at pos %d", scale, p)
                        .isCloseTo(fd, Offset.offset(1e-6 * Math.max(1, Math.abs(fd))));
            }
            assertThat(attr.corruptedMetric()).isCloseTo(a.get("patching.corrupted_metric").getFloat(),
                    Offset.offset(1e-5));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2_style_2l", "attn_only_2l_shortformer", "solu_ln_1l"})
    void estimatesCorrelateWithActivationPatching(String name) {
        Map<String, NDArray> a = Fixtures.tensors(name, "analysis.safetensors", manager);
        NDArray corrupted = a.get("patching.corrupted_tokens");
        PatchingMetric metric = PatchingMetric.logitDiff(7, 13);
        try (HookedTransformer model = FixtureModels.load(name, manager);
                CachedRun clean = model.runWithCache(a.get("patching.clean_tokens"));
                AttributionPatching attr = AttributionPatching.run(model, corrupted, clean.cache(), metric)) {
            List<PatchSweep> sweeps = new ArrayList<>(List.of(PatchSweep.RESID_PRE, PatchSweep.ATTN_OUT,
                    PatchSweep.ATTN_HEAD_OUT_ALL_POS, PatchSweep.ATTN_HEAD_OUT_BY_POS,
                    PatchSweep.ATTN_HEAD_PATTERN_ALL_POS));
            if (!model.config().attnOnly()) {
                sweeps.add(PatchSweep.MLP_OUT);
            }
            ActivationPatching patching = ActivationPatching.of(model, PatchingOptions.DEFAULT.withProgress(false));
            List<Double> actual = new ArrayList<>();
            List<Double> estimated = new ArrayList<>();
            StringBuilder report = new StringBuilder(name);
            for (PatchSweep s : sweeps) {
                double[] act = patching.sweep(s, corrupted, clean.cache(), metric)
                        .map(v -> v - attr.corruptedMetric()).values();
                double[] est = attr.sweep(s).values();
                report.append(String.format(" %s/%s r=%.3f", s.activationName(), s.axisNames().get(1),
                        new PearsonsCorrelation().correlation(act, est)));
                for (int i = 0; i < act.length; i++) {
                    actual.add(act[i]);
                    estimated.add(est[i]);
                }
            }
            double r = new PearsonsCorrelation().correlation(actual.stream().mapToDouble(d -> d).toArray(),
                    estimated.stream().mapToDouble(d -> d).toArray());
            System.out.printf("attribution vs activation patching: %s; all: r=%.3f (n=%d)%n", report, r, actual.size());
            assertThat(r).isGreaterThan(0.9);
        }
    }

    @Test
    void aSweepWithACustomSetterIsRefused() {
        Map<String, NDArray> a = Fixtures.tensors("solu_ln_1l", "analysis.safetensors", manager);
        try (HookedTransformer model = FixtureModels.load("solu_ln_1l", manager);
                CachedRun clean = model.runWithCache(a.get("patching.clean_tokens"));
                AttributionPatching attr = AttributionPatching.run(model, a.get("patching.corrupted_tokens"),
                        clean.cache(), PatchingMetric.logitDiff(7, 13))) {
            PatchSetter custom = (act, index, cleanAct) -> cleanAct;
            assertThatThrownBy(() -> attr.sweep(PatchSweep.of("resid_pre", custom, "layer")))
                    .hasMessageContaining("needs a PatchRegion setter");
            assertThatThrownBy(() -> attr.attribution("blocks.7.hook_resid_pre"))
                    .hasMessageContaining("no attribution for 'blocks.7.hook_resid_pre'");
        }
    }
}
