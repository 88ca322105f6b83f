package org.lens4j.analysis.circuits;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.lens4j.analysis.Doubles;
import org.lens4j.analysis.TopK;
import org.lens4j.core.FactoredMatrix;
import org.lens4j.core.HookedTransformer;

/**
 * Reads weight matrices through their singular vectors (Millidge and Black 2022, "The Singular Value
 * Decompositions of Transformer Weight Matrices are Highly Interpretable"), TransformerLens's
 * {@code SVDInterpreter}: the right singular vectors (in {@code d_model} space) of a head's OV circuit, of an
 * MLP's {@code W_in^T} or of its {@code W_out}, projected onto the vocabulary with {@code W_U}.
 *
 * <p>As in TransformerLens, {@code W_IN} is multiplied by the {@code ln2} weight when the model still has
 * one (unfolded LayerNorm). The OV circuit's singular vectors come from {@link FactoredMatrix#svd()}; those of
 * {@code W_in} / {@code W_out} are the eigenvectors of the {@code [d_model, d_model]} Gram matrix {@code W^T W}
 * in float64 (Commons Math), much faster than a dense SVD of the {@code [d_mlp, d_model]} matrix. Singular
 * vectors' signs are arbitrary, so compare projections by absolute value or look at both ends
 * ({@link SingularDirection}).
 */
public final class SvdInterpreter {

    /** Which matrix to decompose, TransformerLens's {@code vector_type}. */
    public enum VectorType {
        /** A head's OV circuit {@code W_V[h] @ W_O[h]} ({@code "OV"}; needs a head). */
        OV,
        /** An MLP's input weights {@code W_in^T [d_mlp, d_model]} ({@code "w_in"}). */
        W_IN,
        /** An MLP's output weights {@code W_out [d_mlp, d_model]} ({@code "w_out"}). */
        W_OUT
    }

    private final HookedTransformer model;

    /** An interpreter of the model's current weights. */
    public SvdInterpreter(HookedTransformer model) {
        this.model = model;
    }

    /**
     * TransformerLens's {@code get_singular_vectors}: the first {@code numVectors} right singular vectors
     * projected onto the vocabulary.
     *
     * @param head the head for {@link VectorType#OV}; null for W_IN and W_OUT
     * @return {@code [d_vocab_out, 1, numVectors]}, owned by {@code m}
     */
    public NDArray singularVectors(VectorType type, int layer, Integer head, int numVectors, NDManager m) {
        Directions d = directions(type, layer, head, numVectors);
        int vocab = model.config().dVocabOut();
        double[] flat = new double[vocab * numVectors];
        for (int i = 0; i < numVectors; i++) {
            for (int t = 0; t < vocab; t++) {
                flat[t * numVectors + i] = d.projections[i][t];
            }
        }
        try (NDArray wide = m.create(flat, new Shape(vocab, 1, numVectors))) {
            return wide.toType(model.config().dtype(), true);
        }
    }

    /**
     * The tokens most aligned with each of the first {@code numVectors} singular directions: the {@code k}
     * largest and {@code k} smallest projections of each.
     */
    public List<SingularDirection> topTokens(VectorType type, int layer, Integer head, int numVectors, int k) {
        Directions d = directions(type, layer, head, numVectors);
        List<SingularDirection> out = new ArrayList<>();
        for (int i = 0; i < numVectors; i++) {
            double[] p = d.projections[i];
            long[] top = TopK.largest(p, k);
            long[] bottom = TopK.smallest(p, k);
            out.add(new SingularDirection(i, d.singularValues[i], top, valuesAt(p, top), bottom, valuesAt(p, bottom)));
        }
        return out;
    }

    private static double[] valuesAt(double[] p, long[] tokens) {
        double[] out = new double[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            out[i] = p[(int) tokens[i]];
        }
        return out;
    }

    /** Singular values and vocabulary projections {@code [vector][token]} of the first singular vectors. */
    private record Directions(double[] singularValues, double[][] projections) {}

    private Directions directions(VectorType type, int layer, Integer head, int numVectors) {
        int layers = model.config().nLayers();
        if (layer < 0 || layer >= layers) {
            throw new IllegalArgumentException("Layer index must be between 0 and " + (layers - 1) + " but got " + layer);
        }
        if (type == VectorType.OV) {
            if (head == null) {
                throw new IllegalArgumentException("Head index optional only for w_in and w_out, got OV");
            }
            int heads = model.config().nHeads();
            if (head < 0 || head >= heads) {
                throw new IllegalArgumentException("Head index must be between 0 and " + (heads - 1) + " but got " + head);
            }
        } else {
            if (head != null) {
                throw new IllegalArgumentException("a head index applies only to OV, not " + type);
            }
            if (model.config().attnOnly()) {
                throw new IllegalArgumentException(type + ": the model is attention-only, it has no MLP");
            }
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            double[] s;
            NDArray v;   // [d_model, k]: columns are the right singular vectors, descending
            if (type == VectorType.OV) {
                NDArray wV = model.parameter("blocks." + layer + ".attn.W_V").get(head.longValue());
                NDArray wO = model.parameter("blocks." + layer + ".attn.W_O").get(head.longValue());
                try (FactoredMatrix ov = new FactoredMatrix(wV, wO)) {
                    s = Doubles.of(ov.s());
                    v = ov.v().duplicate();
                    v.attach(model.manager());   // outlives the matrix; the scope frees it
                }
            } else {
                NDArray w = type == VectorType.W_IN ? wInTransposed(layer)
                        : model.parameter("blocks." + layer + ".mlp.W_out");   // [d_mlp, d_model]
                int dModel = (int) w.getShape().get(1);
                int rank = (int) Math.min(w.getShape().get(0), dModel);
                // The right singular vectors of W are the eigenvectors of the small Gram matrix W^T W
                // [d_model, d_model] (eigenvalues s^2), formed in float64.
                NDArray w64 = w.toType(DataType.FLOAT64, true);
                EigenDecomposition eig = new EigenDecomposition(
                        new Array2DRowRealMatrix(Doubles.matrix(w64.transpose().matMul(w64)), false));
                Integer[] order = IntStream.range(0, dModel).boxed()
                        .sorted(Comparator.comparingDouble((Integer i) -> -eig.getRealEigenvalue(i)))
                        .toArray(Integer[]::new);
                s = new double[rank];
                double[][] vectors = new double[dModel][rank];
                for (int i = 0; i < rank; i++) {
                    s[i] = Math.sqrt(Math.max(0, eig.getRealEigenvalue(order[i])));
                    double[] e = eig.getEigenvector(order[i]).toArray();
                    for (int d = 0; d < dModel; d++) {
                        vectors[d][i] = e[d];
                    }
                }
                v = model.manager().create(vectors).toType(model.config().dtype(), false);
            }
            if (numVectors < 1 || numVectors > s.length) {
                throw new IllegalArgumentException("numVectors must be between 1 and " + s.length + " for " + type
                        + ", not " + numVectors);
            }
            // [numVectors, d_model] @ W_U [d_model, d_vocab_out]
            NDArray projected = v.get(":, 0:" + numVectors).transpose().matMul(model.W_U());
            double[][] projections = Doubles.matrix(projected);
            return new Directions(Arrays.copyOf(s, numVectors), projections);
        }
    }

    /** {@code W_in^T [d_mlp, d_model]}, scaled by the {@code ln2} weight when the model still has one. */
    private NDArray wInTransposed(int layer) {
        NDArray w = model.parameter("blocks." + layer + ".mlp.W_in").transpose();
        String ln2 = "blocks." + layer + ".ln2.w";
        return model.stateDict().containsKey(ln2) ? w.mul(model.parameter(ln2)) : w;
    }
}
