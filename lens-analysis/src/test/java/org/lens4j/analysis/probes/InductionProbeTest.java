package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.training.InductionTask;
import org.lens4j.core.HookedTransformer;
import org.lens4j.models.zoo.ZooModels;

/**
 * Acceptance: on the 2-layer attention-only model trained for induction, "this token appeared earlier in
 * the sequence" is linearly readable from the last layer's residual stream, well beyond what the position
 * alone tells, while the same probe on shuffled labels stays at chance.
 */
class InductionProbeTest {

    /** 200 sequences as the zoo models were trained on: BOS, then random tokens with one repeated segment. */
    private static long[][] sequences() {
        InductionTask task = new InductionTask(128, 48, 6, 16);
        Random rng = new Random(0);
        long[][] tokens = new long[200][];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = task.sequence(rng);
        }
        return tokens;
    }

    @Test
    void seenBeforeIsReadableFromTheLastResidualStreamAndShuffledLabelsAreNot() {
        long[][] tokens = sequences();
        try (HookedTransformer model = ZooModels.load(ZooModels.INDUCTION_2L)) {
            ProbingSet residual = new ProbingSetCollector(model, "blocks.1.hook_resid_post", TokenFeature.seenBefore())
                    .positions(Positions.from(1)).collect(tokens);
            ProbingSet position = new ProbingSetCollector(model, "hook_pos_embed", TokenFeature.seenBefore())
                    .positions(Positions.from(1)).collect(tokens);
            ProbeReport probe = ProbeReport.run(residual, ProbeOptions.DEFAULT);
            ProbeReport positionOnly = ProbeReport.run(position, ProbeOptions.DEFAULT);
            ProbeReport control = ProbeReport.run(residual.withShuffledLabels(1), ProbeOptions.DEFAULT);
            System.out.print(probe.summary());
            System.out.printf("position only: test %s%nshuffled labels: test %s%n", positionOnly.test(), control.test());

            assertThat(probe.testSet().size()).isGreaterThan(1000);
            assertThat(probe.test().accuracy()).isGreaterThan(0.85);
            assertThat(probe.test().auroc()).isGreaterThan(0.93);
            // later positions are more often repeats: the position alone gets part of the way, not all
            assertThat(probe.test().accuracy() - positionOnly.test().accuracy()).isGreaterThan(0.08);
            // no leakage: about 1500 balanced test rows, chance 0.5 with a standard deviation of about 0.013
            assertThat(control.test().accuracy()).isCloseTo(0.5, within(0.05));
            assertThat(control.test().auroc()).isCloseTo(0.5, within(0.05));
        }
    }
}
