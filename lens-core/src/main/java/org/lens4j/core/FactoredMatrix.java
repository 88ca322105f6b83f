package org.lens4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.index.dim.NDIndexAll;
import ai.djl.ndarray.index.dim.NDIndexElement;
import ai.djl.ndarray.index.dim.NDIndexFixed;
import ai.djl.ndarray.index.dim.NDIndexSlice;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;

/**
 * A matrix {@code M = A @ B} kept as its two factors, {@code A [..., ldim, mdim]} and
 * {@code B [..., mdim, rdim]}, so that products, the SVD, eigenvalues and norms of low-rank
 * matrices such as a head's OV circuit {@code W_V @ W_O [d_model, d_model]} (rank {@code d_head})
 * cost no more than the factors. The leading dimensions of A and B broadcast against each other;
 * the matrix has shape {@code [..., ldim, rdim]}. This is TransformerLens's {@code FactoredMatrix}.
 *
 * <p><b>Who owns what.</b> A and B stay owned by the caller: they are never closed here. Each
 * FactoredMatrix owns a child {@link NDManager} of A's manager, {@link #getManager()}, which
 * holds everything it computes: broadcast copies of the factors, the cached SVD, and every array
 * it returns ({@link #ab()}, {@link #norm()}, {@link #collapseL()}...). A FactoredMatrix
 * returned by an operation ({@link #transpose()}, {@link #matMul(NDArray)}, {@link #get(NDIndex)}
 * ...) owns a child manager of this one and may share factors with this matrix and with the
 * operand, so keep those open while it is in use. {@link #close()} frees this matrix, its results
 * and every matrix derived from it; closing A's manager does the same. To keep a result longer,
 * attach it to another manager ({@code array.attach(myManager)}). Not thread-safe (the SVD is
 * cached lazily).
 */
public final class FactoredMatrix implements AutoCloseable {

    /**
     * A singular value decomposition {@code M = U diag(S) V^T} of a {@link FactoredMatrix}, with
     * {@code k = min(ldim, mdim, rdim)}. The arrays belong to the matrix.
     *
     * @param u left singular vectors {@code [..., ldim, k]}, orthonormal columns
     * @param s singular values {@code [..., k]}, descending
     * @param v right singular vectors {@code [..., rdim, k]}, orthonormal columns
     */
    public record Svd(NDArray u, NDArray s, NDArray v) {}

    /** Bound on the temporaries of {@link #compositionScore}: 64 MB of float32. */
    private static final long PAIR_BLOCK_ELEMENTS = 1L << 24;

    private final NDManager manager;
    private final NDArray a;
    private final NDArray b;
    private final Shape shape;
    private final long mdim;
    private Svd svd;

    /**
     * Wraps {@code M = A @ B}. A and B remain the caller's; broadcasting them to common leading
     * dimensions (when they differ) creates views owned by this matrix.
     *
     * @param a left factor {@code [..., ldim, mdim]}
     * @param b right factor {@code [..., mdim, rdim]}, same data type, leading dims broadcastable
     * @throws IllegalArgumentException if a factor has fewer than 2 dimensions, the inner
     *     dimensions differ, the leading dimensions do not broadcast, or the data types differ
     * @throws IllegalStateException if a factor has been closed
     */
    public FactoredMatrix(NDArray a, NDArray b) {
        this(checkedShape(a, b), a, b, Objects.requireNonNull(a, "A").getManager().newSubManager());
    }

    /** Takes ownership of {@code manager}, closing it if the factors turn out to be invalid. */
    private FactoredMatrix(Shape shape, NDArray a, NDArray b, NDManager manager) {
        this.manager = manager;
        this.shape = shape;
        this.mdim = size(a, -1);
        try {
            this.a = broadcast(a);
            this.b = broadcast(b);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * TransformerLens's {@code model.OV}: the OV circuit {@code W_V @ W_O} of every head.
     *
     * @param wV value weights {@code [..., n_heads, d_model, d_head]} (e.g. stacked over layers)
     * @param wO output weights {@code [..., n_heads, d_head, d_model]}
     * @return the factored matrix {@code [..., n_heads, d_model, d_model]}, hidden dim d_head
     */
    public static FactoredMatrix ov(NDArray wV, NDArray wO) {
        return new FactoredMatrix(wV, wO);
    }

    /**
     * TransformerLens's {@code model.QK}: the QK circuit {@code W_Q @ W_K^T} of every head, whose
     * entry {@code [i, j]} is the attention score contribution of query residual direction i and
     * key residual direction j. The transposed W_K is a view owned by the returned matrix.
     *
     * @param wQ query weights {@code [..., n_heads, d_model, d_head]}
     * @param wK key weights {@code [..., n_heads, d_model, d_head]}
     * @return the factored matrix {@code [..., n_heads, d_model, d_model]}, hidden dim d_head
     * @throws IllegalArgumentException if the shapes do not fit
     */
    public static FactoredMatrix qk(NDArray wQ, NDArray wK) {
        requireMatrixStack(Objects.requireNonNull(wK, "W_K"), "W_K");
        NDManager owner = Objects.requireNonNull(wQ, "W_Q").getManager().newSubManager();
        try {
            NDArray wKt = Scopes.run(() -> Scopes.keep(transposeLast(wK), owner));
            return new FactoredMatrix(checkedShape(wQ, wKt), wQ, wKt, owner);
        } catch (RuntimeException e) {
            owner.close();
            throw e;
        }
    }

    // ---------------------------------------------------------------- shape and factors

    /**
     * Returns the left factor, broadcast to this matrix's leading dimensions.
     *
     * @return A {@code [..., ldim, mdim]}
     */
    public NDArray a() {
        ensureOpen();
        return a;
    }

    /**
     * Returns the right factor, broadcast to this matrix's leading dimensions.
     *
     * @return B {@code [..., mdim, rdim]}
     */
    public NDArray b() {
        ensureOpen();
        return b;
    }

    /**
     * TransformerLens's {@code pair}: both factors.
     *
     * @return (A {@code [..., ldim, mdim]}, B {@code [..., mdim, rdim]})
     */
    public Pair<NDArray, NDArray> pair() {
        ensureOpen();
        return new Pair<>(a, b);
    }

    /**
     * Returns the shape of the represented matrix.
     *
     * @return {@code [..., ldim, rdim]}
     */
    public Shape shape() {
        return shape;
    }

    /**
     * Returns the number of dimensions of the represented matrix, leading ones included.
     *
     * @return {@code shape().dimension()}
     */
    public int ndim() {
        return shape.dimension();
    }

    /**
     * Returns the number of rows.
     *
     * @return ldim
     */
    public long ldim() {
        return shape.get(ndim() - 2);
    }

    /**
     * Returns the hidden (inner) dimension, the largest possible rank.
     *
     * @return mdim
     */
    public long mdim() {
        return mdim;
    }

    /**
     * Returns the number of columns.
     *
     * @return rdim
     */
    public long rdim() {
        return shape.get(ndim() - 1);
    }

    /**
     * Returns the manager that owns what this matrix computes (a child of A's manager).
     *
     * @return the manager closed by {@link #close()}
     */
    public NDManager getManager() {
        return manager;
    }

    // ---------------------------------------------------------------- products

    /**
     * TransformerLens's {@code AB}: the full product. Expensive for large matrices.
     *
     * @return {@code A @ B} {@code [..., ldim, rdim]}, owned by this matrix
     */
    public NDArray ab() {
        ensureOpen();
        return Scopes.run(() -> Scopes.keep(a.matMul(b), manager));
    }

    /**
     * TransformerLens's {@code BA}: the reverse product, defined only for square matrices.
     *
     * @return {@code B @ A} {@code [..., mdim, mdim]}, owned by this matrix
     * @throws IllegalStateException if {@code ldim != rdim}
     */
    public NDArray ba() {
        ensureOpen();
        requireSquare("BA");
        return Scopes.run(() -> Scopes.keep(b.matMul(a), manager));
    }

    /**
     * TransformerLens's {@code T}: the transpose {@code M^T = B^T A^T}.
     *
     * @return the factored matrix {@code [..., rdim, ldim]}, hidden dim mdim
     */
    public FactoredMatrix transpose() {
        ensureOpen();
        return Scopes.run(() -> derived(transposeLast(b), transposeLast(a)));
    }

    /**
     * TransformerLens's {@code self @ other} for a matrix: {@code M @ X}, kept factored. Like
     * TransformerLens, multiplies X into B when that keeps the hidden dimension small
     * ({@code rdim > mdim}: {@code A @ (B @ X)}), otherwise into the full product
     * ({@code (A @ B) @ X}).
     *
     * @param x a matrix {@code [..., rdim, n]} (leading dims broadcast)
     * @return the factored matrix {@code [..., ldim, n]}
     * @throws IllegalArgumentException if X is not a matrix or its rows differ from rdim
     */
    public FactoredMatrix matMul(NDArray x) {
        ensureOpen();
        requireMatrixStack(Objects.requireNonNull(x, "right operand"), "right operand");
        requireSameType(x, "right operand");
        if (size(x, -2) != rdim()) {
            throw new IllegalArgumentException("Right matrix must match on inner dimension, shapes"
                    + " were self: " + shape + ", other: " + x.getShape());
        }
        return Scopes.run(() -> {
            NDArray[] f = timesRight(a, b, x);
            return derived(f[0], f[1], x);
        });
    }

    /**
     * TransformerLens's {@code self @ other} for two factored matrices,
     * {@code (M @ other.A) @ other.B}, never forming a full {@code [ldim, rdim]} product.
     *
     * @param other the right operand {@code [..., rdim, n]}
     * @return the factored matrix {@code [..., ldim, n]}
     * @throws IllegalArgumentException if {@code other.ldim() != rdim()}
     */
    public FactoredMatrix matMul(FactoredMatrix other) {
        ensureOpen();
        other.ensureOpen();
        if (other.ldim() != rdim()) {
            throw new IllegalArgumentException("Right matrix must match on inner dimension, shapes"
                    + " were self: " + shape + ", other: " + other.shape);
        }
        return Scopes.run(() -> {
            NDArray[] first = timesRight(a, b, other.a);
            NDArray[] f = timesRight(first[0], first[1], other.b);
            return derived(f[0], f[1], other.a, other.b);
        });
    }

    /**
     * TransformerLens's {@code other @ self} for a matrix: {@code X @ M}, kept factored
     * ({@code (X @ A) @ B} when {@code ldim > mdim}, otherwise {@code X @ (A @ B)}).
     *
     * @param x a matrix {@code [..., n, ldim]} (leading dims broadcast)
     * @return the factored matrix {@code [..., n, rdim]}
     * @throws IllegalArgumentException if X is not a matrix or its columns differ from ldim
     */
    public FactoredMatrix rMatMul(NDArray x) {
        ensureOpen();
        requireMatrixStack(Objects.requireNonNull(x, "left operand"), "left operand");
        requireSameType(x, "left operand");
        if (size(x, -1) != ldim()) {
            throw new IllegalArgumentException("Left matrix must match on inner dimension, shapes"
                    + " were self: " + shape + ", other: " + x.getShape());
        }
        return Scopes.run(() -> {
            NDArray[] f = timesLeft(x, a, b);
            return derived(f[0], f[1], x);
        });
    }

    /**
     * TransformerLens's {@code self @ vector}: {@code A @ (B @ v)}.
     *
     * @param v a vector {@code [rdim]}
     * @return {@code M v} {@code [..., ldim]}, owned by this matrix
     * @throws IllegalArgumentException if v is not a vector of length rdim
     */
    public NDArray matVec(NDArray v) {
        ensureOpen();
        requireVector(v, rdim(), "rdim");
        return Scopes.run(() -> {
            NDArray column = v.reshape(rdim(), 1);
            return Scopes.keep(a.matMul(b.matMul(column)).squeeze(-1), manager);
        });
    }

    /**
     * TransformerLens's {@code vector @ self}: {@code (v @ A) @ B}.
     *
     * @param v a vector {@code [ldim]}
     * @return {@code v M} {@code [..., rdim]}, owned by this matrix
     * @throws IllegalArgumentException if v is not a vector of length ldim
     */
    public NDArray vecMat(NDArray v) {
        ensureOpen();
        requireVector(v, ldim(), "ldim");
        return Scopes.run(() -> {
            NDArray row = v.reshape(1, ldim());
            return Scopes.keep(row.matMul(a).matMul(b).squeeze(-2), manager);
        });
    }

    /**
     * TransformerLens's {@code self * scalar}: scales A.
     *
     * @param scalar the factor
     * @return the factored matrix {@code s M}, same shape
     */
    public FactoredMatrix mul(Number scalar) {
        ensureOpen();
        Objects.requireNonNull(scalar, "scalar");
        return Scopes.run(() -> derived(a.mul(scalar), b));
    }

    /**
     * TransformerLens's {@code self * tensor} for a one-element tensor: scales A.
     *
     * @param scalar a tensor with exactly one element (any shape, e.g. {@code []} or {@code [1]})
     * @return the factored matrix {@code s M}
     * @throws IllegalArgumentException if the tensor has more than one element
     */
    public FactoredMatrix mul(NDArray scalar) {
        ensureOpen();
        if (Objects.requireNonNull(scalar, "scalar").size() != 1) {
            throw new IllegalArgumentException("Tensor must be a scalar for use with mul but was of"
                    + " shape " + scalar.getShape() + ". For matrix multiplication, use matMul.");
        }
        requireSameType(scalar, "scalar");
        return Scopes.run(() -> derived(a.mul(scalar), b, scalar));
    }

    // ---------------------------------------------------------------- spectrum and norms

    /**
     * TransformerLens's {@code svd()}: {@code M = U diag(S) V^T}, computed from the factors (SVD
     * of A, SVD of B, SVD of the small middle matrix {@code diag(S_A) V_A^T U_B diag(S_B)}) in
     * float64 per leading index (in parallel) with Commons Math, a tall factor's SVD taken
     * through its thin QR as LAPACK does; stored in A's data type. Cached: later calls return the
     * same arrays. Singular values descend; {@code k = min(ldim, mdim, rdim)}.
     *
     * @return U {@code [..., ldim, k]}, S {@code [..., k]}, V {@code [..., rdim, k]}, owned by
     *     this matrix
     * @throws IllegalStateException if the factors are not floating point
     * @throws IllegalArgumentException if a factor holds NaN or infinity
     */
    public Svd svd() {
        ensureOpen();
        if (svd == null) {
            svd = computeSvd();
        }
        return svd;
    }

    /**
     * TransformerLens's {@code U}.
     *
     * @return the left singular vectors {@code [..., ldim, k]} (see {@link #svd()})
     */
    public NDArray u() {
        return svd().u();
    }

    /**
     * TransformerLens's {@code S}.
     *
     * @return the singular values {@code [..., k]}, descending (see {@link #svd()})
     */
    public NDArray s() {
        return svd().s();
    }

    /**
     * TransformerLens's {@code V} (formerly {@code Vh}, which was V despite its name).
     *
     * @return the right singular vectors {@code [..., rdim, k]} (see {@link #svd()})
     */
    public NDArray v() {
        return svd().v();
    }

    /**
     * TransformerLens's {@code eigenvalues}: the eigenvalues of {@code B @ A}, which are the
     * non-zero eigenvalues of {@code M} (if {@code BAv = kv} then {@code M(Av) = k(Av)}) padded
     * with zeros to mdim. Computed in float64 per leading index with Commons Math (in parallel);
     * their order is unspecified (TransformerLens returns LAPACK's order), complex ones come in
     * conjugate pairs.
     *
     * @return real and imaginary parts {@code [..., mdim]}, float64 for float64 factors and float32
     *     otherwise, owned by this matrix
     * @throws IllegalStateException if {@code ldim != rdim} or the factors are not floating point
     * @throws IllegalArgumentException if a factor holds NaN or infinity
     */
    public ComplexTensor eigenvalues() {
        ensureOpen();
        requireSquare("eigenvalues");
        requireFloating("eigenvalues");
        BatchedMatrices as = BatchedMatrices.of(a, "FactoredMatrix factor A");
        BatchedMatrices bs = BatchedMatrices.of(b, "FactoredMatrix factor B");
        int n = as.batchSize();
        int m = Math.toIntExact(mdim());
        BatchedMatrices.Builder real = new BatchedMatrices.Builder(n, m);
        BatchedMatrices.Builder imag = new BatchedMatrices.Builder(n, m);
        IntStream.range(0, n).parallel().forEach(i -> {
            double[][] eig = eigenvaluesOf(bs.get(i).multiply(as.get(i)));
            real.put(i, eig[0]);
            imag.put(i, eig[1]);
        });
        DataType type = a.getDataType() == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
        Shape outShape = leadingShape().add(m);
        return Scopes.run(() -> new ComplexTensor(
                Scopes.keep(real.build(manager, outShape, type), manager),
                Scopes.keep(imag.build(manager, outShape, type), manager)));
    }

    /**
     * TransformerLens's {@code norm()}: the Frobenius norm {@code sqrt(sum S^2)}.
     *
     * @return the norms {@code [...]} (a scalar array without leading dims), owned by this matrix
     */
    public NDArray norm() {
        NDArray s = s();
        int last = s.getShape().dimension() - 1;
        return Scopes.run(() -> Scopes.keep(s.square().sum(new int[] {last}).sqrt(), manager));
    }

    /**
     * TransformerLens's {@code make_even()}: the same matrix as {@code (U sqrt(S)) (sqrt(S) V^T)},
     * so both factors carry half of the singular values and have orthogonal columns / rows.
     *
     * @return the factored matrix, same shape, hidden dim k
     */
    public FactoredMatrix makeEven() {
        Svd parts = svd();
        return Scopes.run(() -> {
            NDArray root = parts.s().sqrt();
            return derived(parts.u().mul(root.expandDims(-2)),
                    root.expandDims(-1).mul(transposeLast(parts.v())));
        });
    }

    /**
     * TransformerLens's {@code collapse_l()}: {@code diag(S) V^T}, the matrix without its left
     * orthogonal factor U (so it has the same Frobenius norm and the same products on the right).
     *
     * @return {@code [..., k, rdim]}, owned by this matrix
     */
    public NDArray collapseL() {
        Svd parts = svd();
        return Scopes.run(() -> Scopes.keep(parts.s().expandDims(-1).mul(transposeLast(parts.v())),
                manager));
    }

    /**
     * TransformerLens's {@code collapse_r()}: {@code U diag(S)}, the matrix without its right
     * orthogonal factor V.
     *
     * @return {@code [..., ldim, k]}, owned by this matrix
     */
    public NDArray collapseR() {
        Svd parts = svd();
        return Scopes.run(() -> Scopes.keep(parts.u().mul(parts.s().expandDims(-2)), manager));
    }

    // ---------------------------------------------------------------- indexing

    /**
     * TransformerLens's {@code get_corner(k)}: the top-left corner of the full product, computed
     * from the first k rows of A and k columns of B; like TransformerLens it also keeps only the
     * first k entries of every leading dimension.
     *
     * @param k the corner size, at least 1
     * @return {@code [min(k, d) for each dim d of shape()]}, owned by this matrix
     */
    public NDArray getCorner(int k) {
        ensureOpen();
        if (k < 1) {
            throw new IllegalArgumentException("getCorner needs k >= 1, got " + k);
        }
        return Scopes.run(() -> {
            NDArray rows = a.get(new NDIndex().addEllipseDim().addSliceDim(0, Math.min(k, ldim()))
                    .addAllDim());
            NDArray cols = b.get(new NDIndex().addEllipseDim().addSliceDim(0, Math.min(k, rdim())));
            NDArray corner = rows.matMul(cols);
            NDIndex firstK = new NDIndex();
            for (long d : corner.getShape().getShape()) {
                firstK.addSliceDim(0, Math.min(k, d));
            }
            return Scopes.keep(corner.get(firstK), manager);
        });
    }

    /**
     * {@link #getCorner(int)} with TransformerLens's default {@code k = 3}.
     *
     * @return the corner, owned by this matrix
     */
    public NDArray getCorner() {
        return getCorner(3);
    }

    /**
     * TransformerLens's {@code fm[idx]}. Entries index the leading dimensions of A and B (an
     * integer removes the dimension). An index with {@code ndim() - 1} entries also selects rows
     * (of A), one with {@code ndim()} entries also selects columns (of B); there an integer selects
     * a single row or column and keeps the dimension ({@code -1} is the last one). The product is
     * never formed.
     * Supported entries: integers, slices, {@code :} and one {@code ...}, e.g. {@code "0, 1:3"},
     * {@code "..., -1, :"}.
     *
     * @param index the index
     * @return the factored matrix selected
     * @throws IllegalArgumentException if the index has more entries than {@code ndim()} or an
     *     unsupported entry (boolean mask, array, new axis)
     */
    public FactoredMatrix get(NDIndex index) {
        ensureOpen();
        List<NDIndexElement> entries = expandEllipsis(index);
        int n = entries.size();
        int nd = ndim();
        NDIndex indexA;
        NDIndex indexB;
        if (n <= nd - 2) {
            indexA = toIndex(entries);
            indexB = indexA;
        } else if (n == nd - 1) {
            entries.set(n - 1, keepDim(entries.get(n - 1), ldim(), "row"));
            indexA = toIndex(entries);
            indexB = toIndex(entries.subList(0, n - 1));
        } else {
            entries.set(n - 1, keepDim(entries.get(n - 1), rdim(), "column"));
            entries.set(n - 2, keepDim(entries.get(n - 2), ldim(), "row"));
            indexA = toIndex(entries.subList(0, n - 1));
            List<NDIndexElement> forB = new ArrayList<>(entries.subList(0, n - 2));
            forB.add(new NDIndexAll());
            forB.add(entries.get(n - 1));
            indexB = toIndex(forB);
        }
        return Scopes.run(() -> derived(a.get(indexA), b.get(indexB)));
    }

    /**
     * {@link #get(NDIndex)} with DJL's index syntax, e.g. {@code get("0, :, -1")} or
     * {@code get("{}, 1:3", layer)}.
     *
     * @param index the index expression
     * @param args values for {@code {}} placeholders
     * @return the factored matrix selected
     */
    public FactoredMatrix get(String index, Object... args) {
        return get(new NDIndex(index, args));
    }

    /**
     * {@link #get(NDIndex)} with integer entries only, e.g. {@code get(layer, head)}.
     *
     * @param indices one integer per indexed dimension
     * @return the factored matrix selected
     */
    public FactoredMatrix get(long... indices) {
        return get(new NDIndex(indices));
    }

    /**
     * TransformerLens's {@code unsqueeze(k)}: inserts a leading dimension of size 1 in A and B.
     *
     * @param axis where to insert it, {@code 0 <= axis <= ndim() - 2}
     * @return the factored matrix with one more leading dimension
     * @throws IllegalArgumentException if the axis is not a leading position
     */
    public FactoredMatrix unsqueeze(int axis) {
        ensureOpen();
        if (axis < 0 || axis > ndim() - 2) {
            throw new IllegalArgumentException("unsqueeze axis must be a leading position in [0, "
                    + (ndim() - 2) + "] for " + this + ", got " + axis);
        }
        return Scopes.run(() -> derived(a.expandDims(axis), b.expandDims(axis)));
    }

    // ---------------------------------------------------------------- composition

    /**
     * TransformerLens's {@code utils.composition_scores(left, right, broadcast_dims)}: how much
     * {@code right} reads from what {@code left} writes,
     * {@code ||L R||_F / (||L||_F ||R||_F)}, computed on {@code left.collapseL()} and
     * {@code right.collapseR()} (dropping orthogonal factors leaves all three norms unchanged).
     *
     * @param left the writing matrix {@code [left..., l, d]}, e.g. an OV circuit
     * @param right the reading matrix {@code [right..., d, r]}, e.g. a QK or OV circuit
     * @param broadcastDims if true, every left leading index is paired with every right one and the
     *     result has shape {@code [left..., right...]}; if false the leading dims broadcast
     *     together
     * @return the scores, owned by {@code left}
     * @throws IllegalArgumentException if {@code left.rdim() != right.ldim()}
     */
    public static NDArray compositionScore(FactoredMatrix left, FactoredMatrix right,
            boolean broadcastDims) {
        return compositionScore(left, right, broadcastDims, PAIR_BLOCK_ELEMENTS);
    }

    /** {@link #compositionScore} with a chosen bound on the temporary block (for tests). */
    static NDArray compositionScore(FactoredMatrix left, FactoredMatrix right,
            boolean broadcastDims, long blockElements) {
        if (left.rdim() != right.ldim()) {
            throw new IllegalArgumentException("Composition scores require left.rdim == right.ldim,"
                    + " shapes were left: " + left.shape + ", right: " + right.shape);
        }
        try (NDArray l = left.collapseL(); NDArray r = right.collapseR()) {
            return Scopes.run(() -> {
                NDArray scores;
                if (broadcastDims) {
                    Shape leftLeading = left.leadingShape();
                    Shape rightLeading = right.leadingShape();
                    // [left..., 1 for each right leading dim], to divide [left..., right...]
                    NDArray leftNorms = frobenius(l).reshape(withUnitAxes(leftLeading,
                            leftLeading.dimension(), rightLeading.dimension()));
                    scores = pairwiseProductNorms(l, r, leftLeading, rightLeading, blockElements)
                            .div(leftNorms).div(frobenius(r));
                } else {
                    scores = frobenius(l.matMul(r)).div(frobenius(l)).div(frobenius(r));
                }
                return Scopes.keep(scores, left.manager);
            });
        }
    }

    /**
     * {@code ||L_i R_j||_F} for every left matrix i and right matrix j,
     * {@code [left..., right...]}, as one GEMM {@code [block * k, d] @ [d, n_right * k']} per
     * block of left matrices: several times faster than torch's broadcasting matmul here, with
     * temporaries of at most {@code blockElements} numbers (one left matrix at least).
     */
    private static NDArray pairwiseProductNorms(NDArray l, NDArray r, Shape leftLeading,
            Shape rightLeading, long blockElements) {
        long k = size(l, -2);
        long d = size(l, -1);
        long k2 = size(r, -1);
        long nLeft = leftLeading.size();
        long nRight = rightLeading.size();
        NDArray leftRows = l.reshape(nLeft * k, d);
        NDArray rightColumns = r.reshape(nRight, d, k2).transpose(1, 0, 2).reshape(d, nRight * k2);
        long perBlock = Math.max(1, blockElements / Math.max(1, k * nRight * k2));
        NDList blocks = new NDList();
        for (long start = 0; start < nLeft; start += perBlock) {
            long end = Math.min(nLeft, start + perBlock);
            // Close each block's big temporaries at once: views would keep their storage alive.
            try (NDArray rows = leftRows.get(new NDIndex().addSliceDim(start * k, end * k));
                    NDArray product = rows.matMul(rightColumns);
                    NDArray grid = product.reshape(end - start, k, nRight, k2);
                    NDArray squares = grid.square()) {
                blocks.add(squares.sum(new int[] {1, 3}).sqrt());
            }
        }
        return NDArrays.concat(blocks).reshape(leftLeading.addAll(rightLeading));
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Frees everything this matrix computed and every matrix derived from it. A and B, the caller's
     * arrays, stay open. Closing twice is harmless.
     */
    @Override
    public void close() {
        manager.close();
    }

    /**
     * Returns TransformerLens's representation.
     *
     * @return e.g. {@code FactoredMatrix: Shape([12, 12, 768, 768]), Hidden Dim(64)}
     */
    @Override
    public String toString() {
        return "FactoredMatrix: Shape(" + Arrays.toString(shape.getShape()) + "), Hidden Dim("
                + mdim + ")";
    }

    // ---------------------------------------------------------------- internals

    private Svd computeSvd() {
        requireFloating("svd");
        BatchedMatrices as = BatchedMatrices.of(a, "FactoredMatrix factor A");
        BatchedMatrices bs = BatchedMatrices.of(b, "FactoredMatrix factor B");
        int n = as.batchSize();
        int l = Math.toIntExact(ldim());
        int r = Math.toIntExact(rdim());
        int k = Math.toIntExact(Math.min(Math.min(ldim(), mdim()), rdim()));
        BatchedMatrices.Builder us = new BatchedMatrices.Builder(n, l * k);
        BatchedMatrices.Builder ss = new BatchedMatrices.Builder(n, k);
        BatchedMatrices.Builder vs = new BatchedMatrices.Builder(n, r * k);
        IntStream.range(0, n).parallel().forEach(i -> {
            // svd(A) = (Q_A U_A') S_A V_A^T and svd(B) = U_B S_B (Q_B V_B')^T, where Q_A, Q_B
            // come from thin QRs of A and B^T when they are tall (as LAPACK does).
            Reduced ra = Reduced.of(as.get(i));
            Reduced rb = Reduced.of(bs.get(i).transpose());
            SingularValueDecomposition svdA = new SingularValueDecomposition(ra.core());
            SingularValueDecomposition svdB = new SingularValueDecomposition(rb.core().transpose());
            // A @ B = Q_A U_A' (S_A V_A^T U_B S_B) V_B'^T Q_B^T; the middle is at most mdim x mdim.
            RealMatrix middle = svdA.getS().multiply(svdA.getVT()).multiply(svdB.getU())
                    .multiply(svdB.getS());
            SingularValueDecomposition svdM = new SingularValueDecomposition(middle);
            us.put(i, ra.times(svdA.getU().multiply(svdM.getU())));
            ss.put(i, svdM.getSingularValues());
            vs.put(i, rb.times(svdB.getV().multiply(svdM.getV())));
        });
        DataType type = a.getDataType();
        Shape leading = leadingShape();
        return Scopes.run(() -> new Svd(
                Scopes.keep(us.build(manager, leading.add(l, k), type), manager),
                Scopes.keep(ss.build(manager, leading.add(k), type), manager),
                Scopes.keep(vs.build(manager, leading.add(r, k), type), manager)));
    }

    /**
     * A matrix written as {@code q @ core}: q has orthonormal columns (from a thin QR) when the
     * matrix is tall, so that its SVD can run on the small square core; otherwise q is the
     * identity (null) and core the matrix itself.
     */
    private record Reduced(RealMatrix q, RealMatrix core) {
        static Reduced of(RealMatrix x) {
            if (x.getRowDimension() > x.getColumnDimension()) {
                HouseholderQr qr = HouseholderQr.of(x);
                return new Reduced(qr.q(), qr.r());
            }
            return new Reduced(null, x);
        }

        /** {@code q @ m}. */
        RealMatrix times(RealMatrix m) {
            return q == null ? m : q.multiply(m);
        }
    }

    /** Real and imaginary parts of the eigenvalues of a square matrix. */
    private static double[][] eigenvaluesOf(RealMatrix matrix) {
        int m = matrix.getRowDimension();
        double[][] parts = new double[2][m];
        // Commons Math refuses a matrix of (near-)zero norm, so decompose a rescaled copy.
        double scale = matrix.getNorm();
        if (scale > 0) {
            EigenDecomposition eig = new EigenDecomposition(matrix.scalarMultiply(1 / scale));
            for (int j = 0; j < m; j++) {
                parts[0][j] = eig.getRealEigenvalue(j) * scale;
                parts[1][j] = eig.getImagEigenvalue(j) * scale;
            }
        }
        return parts;
    }

    /**
     * Wraps factors computed inside the caller's {@link NDScope} in a FactoredMatrix owned by a
     * child manager of this one. Factors that are this matrix's own or one of {@code borrowed} stay
     * where they are; all others were created in the scope and move to the child manager.
     */
    private FactoredMatrix derived(NDArray newA, NDArray newB, NDArray... borrowed) {
        NDManager child = manager.newSubManager();
        try {
            for (NDArray factor : new NDArray[] {newA, newB}) {
                if (!isAmong(factor, borrowed)) {
                    Scopes.keep(factor, child);
                }
            }
            return new FactoredMatrix(checkedShape(newA, newB), newA, newB, child);
        } catch (RuntimeException e) {
            child.close();
            throw e;
        }
    }

    private boolean isAmong(NDArray factor, NDArray... borrowed) {
        if (factor == a || factor == b) {
            return true;
        }
        for (NDArray x : borrowed) {
            if (factor == x) {
                return true;
            }
        }
        return false;
    }

    /** Factors of {@code x @ (l @ r)}, keeping the hidden dimension as TransformerLens does. */
    private static NDArray[] timesLeft(NDArray x, NDArray l, NDArray r) {
        if (size(l, -2) > size(l, -1)) {
            return new NDArray[] {x.matMul(l), r};
        }
        return new NDArray[] {x, l.matMul(r)};
    }

    /** Factors of {@code (l @ r) @ x}, keeping the hidden dimension as TransformerLens does. */
    private static NDArray[] timesRight(NDArray l, NDArray r, NDArray x) {
        if (size(r, -1) > size(r, -2)) {
            return new NDArray[] {l, r.matMul(x)};
        }
        return new NDArray[] {l.matMul(r), x};
    }

    /** Broadcasts a factor to this matrix's leading dims; a new view belongs to this matrix. */
    private NDArray broadcast(NDArray x) {
        Shape own = x.getShape();
        Shape target = leadingShape().addAll(own.slice(own.dimension() - 2));
        if (own.equals(target)) {
            return x;
        }
        return Scopes.run(() -> Scopes.keep(x.broadcast(target), manager));
    }

    /** The index's entries, its {@code ...} (if any) replaced by as many {@code :} as needed. */
    private List<NDIndexElement> expandEllipsis(NDIndex index) {
        List<NDIndexElement> entries = new ArrayList<>(index.getIndices());
        for (int i = 0; i < entries.size(); i++) {
            NDIndexElement e = entries.get(i);
            boolean supported = e instanceof NDIndexFixed || e instanceof NDIndexSlice
                    || e instanceof NDIndexAll;
            if (!supported) {
                throw new IllegalArgumentException("FactoredMatrix.get supports integers, slices,"
                        + " ':' and '...', not " + e.getClass().getSimpleName() + " at entry " + i);
            }
        }
        if (entries.size() > ndim()) {
            throw new IllegalArgumentException("Index with " + entries.size() + " entries is too"
                    + " long for " + this);
        }
        int ellipsis = index.getEllipsisIndex();
        if (ellipsis >= 0) {
            int missing = ndim() - entries.size();
            entries.addAll(ellipsis, Collections.nCopies(missing, new NDIndexAll()));
        }
        return entries;
    }

    /**
     * Integers that select a row or column become one-element slices, as in TransformerLens
     * (which returns an empty matrix for an index out of range; we refuse it).
     */
    private NDIndexElement keepDim(NDIndexElement e, long size, String what) {
        if (e instanceof NDIndexFixed fixed) {
            long i = fixed.getIndex();
            if (i < -size || i >= size) {
                throw new IllegalArgumentException(what + " index " + i + " is out of range for "
                        + this + " (" + size + " " + what + "s)");
            }
            return new NDIndexSlice(i, i == -1 ? null : i + 1, null);
        }
        return e;
    }

    /** Rebuilds an index from entries, via DJL's syntax so that open slice ends stay open. */
    private static NDIndex toIndex(List<NDIndexElement> entries) {
        List<String> parts = new ArrayList<>();
        for (NDIndexElement e : entries) {
            if (e instanceof NDIndexFixed fixed) {
                parts.add(Long.toString(fixed.getIndex()));
            } else if (e instanceof NDIndexSlice slice) {
                parts.add(orEmpty(slice.getMin()) + ":" + orEmpty(slice.getMax())
                        + (slice.getStep() == null ? "" : ":" + slice.getStep()));
            } else {
                parts.add(":");
            }
        }
        return parts.isEmpty() ? new NDIndex() : new NDIndex(String.join(", ", parts));
    }

    private static String orEmpty(Long value) {
        return value == null ? "" : value.toString();
    }

    private static Shape withUnitAxes(Shape shape, int position, int count) {
        long[] dims = shape.getShape();
        long[] out = new long[dims.length + count];
        System.arraycopy(dims, 0, out, 0, position);
        Arrays.fill(out, position, position + count, 1L);
        System.arraycopy(dims, position, out, position + count, dims.length - position);
        return new Shape(out);
    }

    private static NDArray frobenius(NDArray x) {
        int nd = x.getShape().dimension();
        return x.square().sum(new int[] {nd - 2, nd - 1}).sqrt();
    }

    private static NDArray transposeLast(NDArray x) {
        int nd = x.getShape().dimension();
        return x.swapAxes(nd - 2, nd - 1);
    }

    private Shape leadingShape() {
        return shape.slice(0, ndim() - 2);
    }

    private static long size(NDArray x, int axis) {
        Shape s = x.getShape();
        return s.get(axis < 0 ? s.dimension() + axis : axis);
    }

    /** Validates the factors and returns the shape of their product, {@code [..., ldim, rdim]}. */
    private static Shape checkedShape(NDArray a, NDArray b) {
        requireMatrixStack(Objects.requireNonNull(a, "A"), "A");
        requireMatrixStack(Objects.requireNonNull(b, "B"), "B");
        Shape sa = a.getShape();
        Shape sb = b.getShape();
        if (size(a, -1) != size(b, -2)) {
            throw new IllegalArgumentException("Factored matrix must match on inner dimension,"
                    + " shapes were A: " + sa + ", B: " + sb);
        }
        if (a.getDataType() != b.getDataType()) {
            throw new IllegalArgumentException("Factored matrix factors must share a data type, got"
                    + " A " + a.getDataType() + ", B " + b.getDataType());
        }
        int na = sa.dimension() - 2;
        int nb = sb.dimension() - 2;
        int n = Math.max(na, nb);
        long[] dims = new long[n + 2];
        for (int i = 0; i < n; i++) {
            long da = i - (n - na) >= 0 ? sa.get(i - (n - na)) : 1;
            long db = i - (n - nb) >= 0 ? sb.get(i - (n - nb)) : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("Cannot broadcast leading dimensions of A " + sa
                        + " and B " + sb);
            }
            dims[i] = da == 1 ? db : da;
        }
        dims[n] = size(a, -2);
        dims[n + 1] = size(b, -1);
        return new Shape(dims);
    }

    private static void requireMatrixStack(NDArray x, String name) {
        if (x.isReleased()) {
            throw new IllegalStateException("FactoredMatrix: " + name + " has been closed");
        }
        if (x.getShape().dimension() < 2) {
            throw new IllegalArgumentException("FactoredMatrix: " + name + " must be a matrix"
                    + " [..., rows, cols], got shape " + x.getShape()
                    + (x.getShape().dimension() == 1 ? " (use matVec / vecMat for vectors)" : ""));
        }
    }

    /** Torch would promote a product to the wider type, leaving factors of different types. */
    private void requireSameType(NDArray x, String name) {
        if (x.getDataType() != a.getDataType()) {
            throw new IllegalArgumentException("FactoredMatrix: " + name + " has data type "
                    + x.getDataType() + " but the factors are " + a.getDataType());
        }
    }

    private void requireVector(NDArray v, long length, String dimName) {
        if (Objects.requireNonNull(v, "vector").isReleased()) {
            throw new IllegalStateException("FactoredMatrix: vector has been closed");
        }
        if (v.getShape().dimension() != 1 || v.getShape().get(0) != length) {
            throw new IllegalArgumentException("FactoredMatrix: expected a vector of length "
                    + dimName + " = " + length + ", got shape " + v.getShape());
        }
        requireSameType(v, "vector");
    }

    private void requireSquare(String what) {
        if (ldim() != rdim()) {
            throw new IllegalStateException(what + " needs ldim == rdim, shape was " + shape);
        }
    }

    private void requireFloating(String what) {
        if (!a.getDataType().isFloating()) {
            throw new IllegalStateException(what + " needs floating-point factors, got "
                    + a.getDataType());
        }
    }

    private void ensureOpen() {
        if (!manager.isOpen()) {
            throw new IllegalStateException(this + " has been closed");
        }
        if (a.isReleased() || b.isReleased()) {
            throw new IllegalStateException(this + ": factor " + (a.isReleased() ? "A" : "B")
                    + " has been closed by its owner");
        }
    }
}
