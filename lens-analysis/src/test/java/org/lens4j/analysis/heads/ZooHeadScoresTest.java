package org.lens4j.analysis.heads;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lens4j.core.HookedTransformer;
import org.lens4j.models.zoo.ZooModels;

/**
 * The acceptance criteria of the shipped zoo: the 2- and 3-layer models have a previous-token head in
 * layer 0 and an induction head (score >= 0.5) in a later layer; the 1-layer model has no head above
 * 0.2 on induction. Scores on 16 sequences of a 20-token random segment repeated twice (the default
 * {@link RepeatedTokens}).
 */
class ZooHeadScoresTest {

    private static HeadScores.Result scores(String name) {
        try (HookedTransformer model = ZooModels.load(name)) {
            return HeadScores.compute(model, RepeatedTokens.builder().build());
        }
    }

    @Test
    void twoAndThreeLayerModelsHaveAPreviousTokenHeadThenInductionHeads() {
        for (String name : List.of(ZooModels.INDUCTION_2L, ZooModels.INDUCTION_3L)) {
            HeadScores.Result r = scores(name);
            assertThat(r.previousToken().maxInLayer(0)).as(name + " best previous-token score in layer 0")
                    .isGreaterThanOrEqualTo(0.5);
            List<LayerHead> induction = r.induction().headsAtLeast(0.5);
            assertThat(induction).as(name + " induction heads\n" + r.induction()).isNotEmpty()
                    .allSatisfy(h -> assertThat(h.layer()).isPositive());
        }
    }

    @Test
    void oneLayerModelHasNoInductionHead() {
        HeadScores.Result r = scores(ZooModels.INDUCTION_1L);
        LayerHead best = r.induction().argmax();
        assertThat(r.induction().get(best)).as("best induction score (" + best + ")").isLessThanOrEqualTo(0.2);
    }
}
