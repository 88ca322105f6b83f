package org.lens4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.analysis.heads.LayerHeadScores;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.io.Safetensors;
import org.lens4j.models.zoo.ZooModels;

/** A few steps of the zoo recipe: what TrainZoo writes is the trained model, in TransformerLens layout. */
class TrainZooTest {

    @Test
    void writesTheTrainedModelAsConfigAndSafetensors(@TempDir Path dir) throws Exception {
        TrainZoo.Recipe recipe = TrainZoo.RECIPES.get(1);
        assertThat(recipe.name()).isEqualTo(ZooModels.INDUCTION_2L);
        Path folder = dir.resolve(recipe.name());
        TrainZoo.Trained trained = TrainZoo.train(recipe, 3, folder);
        try (NDManager m = NDManager.newBaseManager(); var model = trained.model()) {
            assertThat(trained.log().steps()).isEqualTo(3);
            assertThat(HookedTransformerConfig.fromJsonFile(folder.resolve("config.json")))
                    .isEqualTo(TrainZoo.config(recipe)).isEqualTo(ZooModels.config(recipe.name()));
            Map<String, NDArray> written = Safetensors.read(folder.resolve("weights.safetensors"), m);
            assertThat(written.keySet()).containsExactlyElementsOf(model.stateDict().keySet());
            for (Map.Entry<String, NDArray> e : written.entrySet()) {
                assertThat(e.getValue()).as(e.getKey()).isEqualTo(model.parameter(e.getKey()));
            }
            assertThat(Safetensors.metadata(folder.resolve("weights.safetensors")).get("lens4j.recipe"))
                    .contains("\"layers\":2").contains("InductionTask(vocab 128, length 48, segment 6..16)");
        }
    }

    @Test
    void markdownTableHasOneRowPerLayer() {
        String table = TrainZoo.markdown(new LayerHeadScores("induction", new double[][] {{0.1, 0.25}, {0.5, 0.875}}));
        assertThat(table).isEqualTo("""
                | induction | H0 | H1 |
                |---|---:|---:|
                | L0 | 0.100 | 0.250 |
                | L1 | 0.500 | 0.875 |
                """);
    }
}
