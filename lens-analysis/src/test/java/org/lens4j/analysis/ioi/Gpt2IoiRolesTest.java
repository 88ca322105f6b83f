package org.lens4j.analysis.ioi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lens4j.analysis.heads.LayerHead;
import org.lens4j.analysis.ioi.IoiRoles.Role;
import org.lens4j.analysis.patching.PatchingOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LoadOptions;
import org.lens4j.models.ModelInfo;
import org.lens4j.models.ModelLoader;
import org.lens4j.models.Models;
import org.lens4j.models.hub.HfHub;
import org.lens4j.models.hub.HubSettings;

/**
 * The heads Wang et al. 2022 found in GPT-2 small. Needs the GPT-2 weights in the Hugging Face cache (see
 * docs/loading.md; e.g. run once online: {@code HookedTransformer.fromPretrained("gpt2")}); skipped otherwise.
 * Never touches the network.
 */
class Gpt2IoiRolesTest {

    @Test
    void thePapersNameMoversAndNegativeNameMovers() throws IOException {
        HubSettings offline = ModelLoader.hubSettingsFromEnvironment().withOffline(true);
        HfHub hub = new HfHub(offline);
        ModelInfo gpt2 = Models.find("gpt2").orElseThrow();
        assumeTrue(hub.cached(gpt2.repoId(), "config.json", null).isPresent()
                && hub.cached(gpt2.repoId(), gpt2.weightsFile(), null).isPresent(),
                "GPT-2 small is not in the Hugging Face cache " + offline.cacheDir());
        try (HookedTransformer model = new ModelLoader(offline).load("gpt2", LoadOptions.defaults())) {
            IoiDataset data = IoiDataset.fromTokenizer(model.tokenizer()).prompts(60).seed(0).build();
            IoiRoles roles = IoiRoles.compute(model, data,
                    IoiRolesOptions.DEFAULT.withPatching(PatchingOptions.DEFAULT.withProgress(false)));
            System.out.println(roles);
            assertThat(roles.cleanLogitDiff()).as("GPT-2 small does the task").isGreaterThan(2);
            List<LayerHead> nameMovers = roles.get(Role.NAME_MOVER).headsAtLeast(Double.NEGATIVE_INFINITY).subList(0, 3);
            assertThat(nameMovers).containsExactlyInAnyOrder(new LayerHead(9, 9), new LayerHead(10, 0), new LayerHead(9, 6));
            List<LayerHead> negative = roles.get(Role.NEGATIVE_NAME_MOVER).headsAtLeast(Double.NEGATIVE_INFINITY)
                    .subList(0, 2);
            assertThat(negative).containsExactlyInAnyOrder(new LayerHead(10, 7), new LayerHead(11, 10));
        }
    }
}
