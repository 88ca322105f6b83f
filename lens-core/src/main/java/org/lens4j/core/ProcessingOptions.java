package org.lens4j.core;

/**
 * Which weight-processing steps to apply when loading, TransformerLens's {@code from_pretrained}
 * keyword arguments. {@link #DEFAULT} is what {@code from_pretrained} does, {@link #NONE} what
 * {@code from_pretrained_no_processing} does.
 *
 * @param foldLn fold each LayerNorm's weight and bias into the weights that read its output
 * @param centerWritingWeights make every weight that writes to the residual stream mean-zero over d_model
 * @param centerUnembed make W_U and b_U mean-zero over the vocabulary
 * @param foldValueBiases fold b_V into b_O
 * @param refactorFactoredAttnMatrices rebalance W_Q/W_K and W_V/W_O through their SVDs
 */
public record ProcessingOptions(boolean foldLn, boolean centerWritingWeights, boolean centerUnembed,
        boolean foldValueBiases, boolean refactorFactoredAttnMatrices) {

    /** {@code from_pretrained}'s defaults: everything but the refactoring. */
    public static final ProcessingOptions DEFAULT = new ProcessingOptions(true, true, true, true, false);

    /** {@code from_pretrained_no_processing}: nothing. */
    public static final ProcessingOptions NONE = new ProcessingOptions(false, false, false, false, false);

    /** These options with {@code fold_ln} set. */
    public ProcessingOptions withFoldLn(boolean v) {
        return new ProcessingOptions(v, centerWritingWeights, centerUnembed, foldValueBiases, refactorFactoredAttnMatrices);
    }

    /** These options with {@code center_writing_weights} set. */
    public ProcessingOptions withCenterWritingWeights(boolean v) {
        return new ProcessingOptions(foldLn, v, centerUnembed, foldValueBiases, refactorFactoredAttnMatrices);
    }

    /** These options with {@code center_unembed} set. */
    public ProcessingOptions withCenterUnembed(boolean v) {
        return new ProcessingOptions(foldLn, centerWritingWeights, v, foldValueBiases, refactorFactoredAttnMatrices);
    }

    /** These options with {@code fold_value_biases} set. */
    public ProcessingOptions withFoldValueBiases(boolean v) {
        return new ProcessingOptions(foldLn, centerWritingWeights, centerUnembed, v, refactorFactoredAttnMatrices);
    }

    /** These options with {@code refactor_factored_attn_matrices} set. */
    public ProcessingOptions withRefactorFactoredAttnMatrices(boolean v) {
        return new ProcessingOptions(foldLn, centerWritingWeights, centerUnembed, foldValueBiases, v);
    }
}
