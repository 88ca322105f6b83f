package org.lens4j.models;

import java.util.List;
import org.lens4j.core.HookedTransformerConfig;

/**
 * One model of the {@link Models} registry: where its files are and what it is.
 *
 * @param officialName TransformerLens's official name, which is also the hub repo id ({@code gpt2},
 *     {@code NeelNanda/SoLU_2L512W_C4_Code})
 * @param aliases the other names TransformerLens accepts, lower case ({@code gpt2-small}, {@code solu-2l})
 * @param weightFormat how the checkpoint's tensors are named
 * @param files the repo files the loader fetches: {@code config.json} and the weights ({@code *final.pth}
 *     stands for the first repo file whose name ends in {@code final.pth}, TransformerLens's rule)
 * @param tokenizerRepo the hub repo whose {@code tokenizer.json} the model uses
 * @param config the model's unprocessed TransformerLens config, as TransformerLens builds it from the repo's
 *     {@code config.json} (the loader always reads the repo's own file; this copy is for listing and checks)
 */
public record ModelInfo(String officialName, List<String> aliases, WeightFormat weightFormat, List<String> files,
        String tokenizerRepo, HookedTransformerConfig config) {

    /** The aliases and files lists are copied. */
    public ModelInfo {
        aliases = List.copyOf(aliases);
        files = List.copyOf(files);
    }

    /** The hub repo id, the same as the official name. */
    public String repoId() {
        return officialName;
    }

    /** The file name pattern of the weights: the last of {@link #files()}. */
    public String weightsFile() {
        return files.get(files.size() - 1);
    }
}
