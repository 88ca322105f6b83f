package org.lens4j.models.zoo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.io.Safetensors;

class ZooModelsTest {

    @Test
    void everyShippedModelLoadsWithTheWeightsOfItsFile() throws Exception {
        assertThat(ZooModels.list()).containsExactly(ZooModels.INDUCTION_1L, ZooModels.INDUCTION_2L,
                ZooModels.INDUCTION_3L);
        int layers = 1;
        for (String name : ZooModels.list()) {
            HookedTransformerConfig cfg = ZooModels.config(name);
            assertThat(cfg.modelName()).isEqualTo(name);
            assertThat(cfg.nLayers()).isEqualTo(layers++);
            assertThat(cfg.attnOnly()).isTrue();
            assertThat(cfg.dVocab()).isEqualTo(128);
            assertThat(cfg.nCtx()).isEqualTo(48);
            try (NDManager m = NDManager.newBaseManager(); HookedTransformer model = ZooModels.load(name)) {
                // read independently with lens4j's own safetensors reader
                Map<String, NDArray> file = Safetensors.read(resource(name, "weights.safetensors"), m);
                assertThat(model.stateDict().keySet()).containsExactlyElementsOf(file.keySet());
                for (Map.Entry<String, NDArray> e : file.entrySet()) {
                    assertThat(model.parameter(e.getKey())).as(name + " " + e.getKey()).isEqualTo(e.getValue());
                }
                assertThat(Safetensors.metadata(resource(name, "weights.safetensors")).get("lens4j.recipe"))
                        .contains("InductionTask");
                NDArray logits = model.forward(m.create(new long[][] {{0, 5, 6, 7, 5, 6}}));
                assertThat(logits.getShape()).isEqualTo(new Shape(1, 6, 128));
            }
        }
    }

    @Test
    void unknownNamesAreRefusedWithTheList() {
        assertThatThrownBy(() -> ZooModels.load("lens4j-induction-attn-only-4l"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lens4j-induction-attn-only-4l").hasMessageContaining(ZooModels.INDUCTION_2L);
        assertThatThrownBy(() -> ZooModels.config("gpt2")).hasMessageContaining("no zoo model 'gpt2'");
    }

    private static Path resource(String name, String file) throws URISyntaxException {
        return Path.of(ZooModels.class.getResource("/org/lens4j/models/zoo/" + name + "/" + file).toURI());
    }
}
