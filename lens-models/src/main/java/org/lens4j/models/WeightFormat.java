package org.lens4j.models;

import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lens4j.core.HookedTransformerConfig;

/** How a checkpoint's tensors are named and laid out, and so how they become a TransformerLens state dict. */
public enum WeightFormat {

    /** TransformerLens names and shapes ({@code embed.W_E}, {@code blocks.0.attn.W_Q}, ...): loaded as they are. */
    TRANSFORMER_LENS,

    /** A Hugging Face {@code GPT2LMHeadModel} state dict, converted by {@link Gpt2Converter}. */
    HF_GPT2,

    /** An old SoLU checkpoint, renamed and transposed by {@link NeelConverter#convertSoluOld}. */
    NEEL_SOLU_OLD;

    /**
     * Converts a checkpoint's state dict to TransformerLens names. The input is consumed: every array is
     * either in the result or closed.
     *
     * @param raw the tensors as read from the checkpoint
     * @param cfg the model's config
     * @return the TransformerLens state dict
     * @throws IllegalArgumentException if the tensors do not fit the format or the config (named)
     */
    public LinkedHashMap<String, NDArray> toTransformerLens(Map<String, NDArray> raw, HookedTransformerConfig cfg) {
        return switch (this) {
            case TRANSFORMER_LENS -> new LinkedHashMap<>(raw);
            case HF_GPT2 -> Gpt2Converter.convert(raw, cfg);
            case NEEL_SOLU_OLD -> NeelConverter.convertSoluOld(raw, cfg);
        };
    }
}
