package org.lens4j.analysis.circuits;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;
import org.lens4j.analysis.Doubles;
import org.lens4j.core.FactoredMatrix;
import org.lens4j.core.HookedTransformer;

/**
 * Reads weight matrices through their singular vectors (Millidge and Black 2022, "The Singular Value
 * Decompositions of Transformer Weight Matrices are Highly Interpretable"), TransformerLens's
 * {@code SVDInterpreter}: the right singular vectors (in {@code d_model} space) of a head's OV circuit, of an
 * MLP's {@code W_in^T} or of its {@code W_out}, projected onto the vocabulary with {@code W_U}.
 *
 * <p>As in TransformerLens, {@code W_IN} is multiplied by the {@code ln2} weight when the model still has
 * one (unfolded LayerNorm). Singular vectors are computed in float64 (Commons Math); their signs are
 * arbitrary, so compare projections by absolute value or look at both ends ({@link SingularDirection}).
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
            long[] top = IntStream.range(0, p.length).boxed().sorted(Comparator.comparingDouble((Integer t) -> -p[t]))
                    .limit(k).mapToLong(Integer::longValue).toArray();
            long[] bottom = IntStream.range(0, p.length).boxed().sorted(Comparator.comparingDouble((Integer t) -> p[t]))
                    .limit(k).mapToLong(Integer::longValue).toArray();
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
        double[] s;
        double[][] v;   // [d_model][k], columns are right singular vectors
        if (type == VectorType.OV) {
            try (NDScope scope = new NDScope()) {
                NDArray wV = model.parameter("blocks." + layer + ".attn.W_V").get(head.longValue());
                NDArray wO = model.parameter("blocks." + layer + ".attn.W_O").get(head.longValue());
                try (FactoredMatrix ov = new FactoredMatrix(wV, wO)) {
                    s = Doubles.of(ov.s());
                    v = Doubles.matrix(ov.v());
                }
            }
        } else {
            double[][] w;   // [d_mlp][d_model]
            if (type == VectorType.W_IN) {
                double[][] wIn = Doubles.matrix(model.parameter("blocks." + layer + ".mlp.W_in"));   // [d_model][d_mlp]
                double[] ln2 = model.stateDict().containsKey("blocks." + layer + ".ln2.w")
                        ? Doubles.of(model.parameter("blocks." + layer + ".ln2.w"))
                        : null;
                w = new double[wIn[0].length][wIn.length];
                for (int i = 0; i < wIn.length; i++) {
                    for (int j = 0; j < wIn[0].length; j++) {
                        w[j][i] = wIn[i][j] * (ln2 == null ? 1 : ln2[i]);
                    }
                }
            } else {
                w = Doubles.matrix(model.parameter("blocks." + layer + ".mlp.W_out"));
            }
            SingularValueDecomposition svd = new SingularValueDecomposition(new Array2DRowRealMatrix(w, false));
            s = svd.getSingularValues();
            v = svd.getV().getData();
        }
        if (numVectors < 1 || numVectors > s.length) {
            throw new IllegalArgumentException("numVectors must be between 1 and " + s.length + " for " + type
                    + ", not " + numVectors);
        }
        double[][] wU = Doubles.matrix(model.W_U());   // [d_model][d_vocab_out]
        double[][] projections = new double[numVectors][wU[0].length];
        for (int i = 0; i < numVectors; i++) {
            for (int dm = 0; dm < wU.length; dm++) {
                double x = v[dm][i];
                for (int t = 0; t < wU[0].length; t++) {
                    projections[i][t] += x * wU[dm][t];
                }
            }
        }
        double[] top = new double[numVectors];
        System.arraycopy(s, 0, top, 0, numVectors);
        return new Directions(top, projections);
    }

}
