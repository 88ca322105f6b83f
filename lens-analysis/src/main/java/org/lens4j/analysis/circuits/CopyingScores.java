package org.lens4j.analysis.circuits;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import org.lens4j.analysis.Doubles;
import org.lens4j.analysis.heads.LayerHeadScores;
import org.lens4j.core.ComplexTensor;
import org.lens4j.core.FactoredMatrix;
import org.lens4j.core.HookedTransformer;

/**
 * Copying scores of attention heads (Elhage et al. 2021, "A Mathematical Framework for Transformer
 * Circuits"): for each head, {@code sum(lambda) / sum(|lambda|)} over the eigenvalues of its full OV
 * circuit {@code W_E W_V W_O W_U} ({@code [d_vocab, d_vocab]}: how attending to a token moves each output
 * logit). Close to 1 when the head copies the token it attends to (mostly positive eigenvalues), close to
 * -1 when it suppresses it.
 *
 * <p>The vocabulary-sized matrix is never built: its non-zero eigenvalues are those of the
 * {@code [d_head, d_head]} matrix {@code W_O W_U W_E W_V} (a cyclic permutation of the product), and only
 * {@code W_U W_E [d_model, d_model]} touches the vocabulary. The small matrices are multiplied in libtorch and
 * their complex eigenvalues found by Commons Math (through {@link FactoredMatrix#eigenvalues()}).
 * Normalisation layers are ignored, as in the paper and TransformerLens's demos: use a model whose LayerNorm
 * weights are folded.
 */
public final class CopyingScores {

    private CopyingScores() {}

    /**
     * Every head's copying score.
     *
     * @return {@code [layer][head]} scores in {@code [-1, 1]}; NaN for a head whose full OV circuit is zero
     * @throws IllegalArgumentException if {@code d_vocab != d_vocab_out} (the circuit is not square)
     */
    public static LayerHeadScores compute(HookedTransformer model) {
        int layers = model.config().nLayers();
        int heads = model.config().nHeads();
        if (model.config().dVocab() != model.config().dVocabOut()) {
            throw new IllegalArgumentException("copying scores need d_vocab == d_vocab_out, not "
                    + model.config().dVocab() + " and " + model.config().dVocabOut());
        }
        double[] re;
        double[] im;
        try (NDManager m = NDManager.newBaseManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray wUE = model.W_U().matMul(model.W_E());                    // [d_model, d_model]
            NDArray small = model.W_O(m).matMul(wUE).matMul(model.W_V(m));    // [layers, heads, d_head, d_head]
            // FactoredMatrix's eigenvalues are those of B @ A: with B = I they are small's own.
            try (FactoredMatrix circuit = new FactoredMatrix(small, m.eye(model.config().dHead())
                    .toType(small.getDataType(), false))) {
                ComplexTensor eig = circuit.eigenvalues();                      // [layers, heads, d_head]
                re = Doubles.of(eig.real());
                im = Doubles.of(eig.imag());
            }
        }
        int dHead = re.length / (layers * heads);
        double[][] scores = new double[layers][heads];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                double sum = 0;
                double abs = 0;
                for (int i = (l * heads + h) * dHead; i < (l * heads + h + 1) * dHead; i++) {
                    sum += re[i];
                    abs += Math.hypot(re[i], im[i]);
                }
                scores[l][h] = abs == 0 ? Double.NaN : sum / abs;
            }
        }
        return new LayerHeadScores("copying score", scores);
    }
}
