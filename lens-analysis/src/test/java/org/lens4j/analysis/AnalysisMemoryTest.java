package org.lens4j.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.circuits.CopyingScores;
import org.lens4j.analysis.circuits.SvdInterpreter;
import org.lens4j.analysis.dla.AnswerTokens;
import org.lens4j.analysis.dla.Attribution.Unit;
import org.lens4j.analysis.dla.DirectLogitAttribution;
import org.lens4j.analysis.lens.LogitLens;
import org.lens4j.core.CachedRun;
import org.lens4j.core.HookedTransformer;

/** The analyses return plain Java objects and leave no native arrays behind in any manager. */
class AnalysisMemoryTest {

    @Test
    void repeatedAnalysesLeaveNoArraysBehind() {
        try (NDManager manager = NDManager.newBaseManager();
                HookedTransformer model = AnalysisFixtures.model("gpt2_style_2l", manager);
                CachedRun run = model.runWithCache(AnalysisFixtures.tokens("gpt2_style_2l", manager))) {
            run.cache().computeHeadResults();
            int cache = run.cache().manager().getManagedArrays().size();
            int weights = model.manager().getManagedArrays().size();
            int caller = manager.getManagedArrays().size();
            for (int i = 0; i < 3; i++) {
                for (Unit unit : Unit.values()) {
                    DirectLogitAttribution.compute(run.cache(), AnswerTokens.difference(7, 13), unit);
                }
                AnswerTokens.of(7).logitDifference(run.logits());
                LogitLens.run(run.cache(), LogitLens.Options.defaults().targets(7));
                CopyingScores.compute(model);
                for (SvdInterpreter.VectorType type : SvdInterpreter.VectorType.values()) {
                    new SvdInterpreter(model).topTokens(type, 1, type == SvdInterpreter.VectorType.OV ? 0 : null, 2, 2);
                }
            }
            assertThat(run.cache().manager().getManagedArrays()).as("cache arrays").hasSize(cache);
            assertThat(model.manager().getManagedArrays()).as("model arrays").hasSize(weights);
            assertThat(manager.getManagedArrays()).as("caller arrays").hasSize(caller);
        }
    }
}
