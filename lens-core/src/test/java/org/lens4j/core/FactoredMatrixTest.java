package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.lens4j.core.ArrayAsserts.assertAllClose;
import static org.lens4j.core.ArrayAsserts.assertSameComplexMultiset;
import static org.lens4j.core.ArrayAsserts.matrix;
import static org.lens4j.core.ArrayAsserts.toArray;
import static org.lens4j.core.ArrayAsserts.toDoubles;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Random;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.MatrixUtils;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Properties of {@link FactoredMatrix} (after TransformerLens's tests/unit/factored_matrix), each
 * checked against dense float64 algebra on the same random factors with Commons Math.
 */
class FactoredMatrixTest {

    private static final double ATOL = 1e-5;

    private NDManager manager;
    private Random random;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
        random = new Random(50);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray randn(long... shape) {
        Shape s = new Shape(shape);
        float[] data = new float[(int) s.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        return manager.create(data, s);
    }

    /** The dense product of block {@code i} of two stacks, in float64. */
    private static RealMatrix dense(NDArray a, NDArray b, int i) {
        return matrix(a, i).multiply(matrix(b, i));
    }

    /** Stacks float64 matrices into a float32 array [n, rows, cols]. */
    private NDArray stackDense(RealMatrix... blocks) {
        NDList list = new NDList();
        for (RealMatrix m : blocks) {
            list.add(toArray(manager, m));
        }
        return NDArrays.stack(list);
    }

    // ------------------------------------------------------------------ construction

    @Test
    void reportsShapeDimsAndTransformerLensRepr() {
        try (FactoredMatrix fm = new FactoredMatrix(randn(3, 5, 2), randn(3, 2, 7))) {
            assertThat(fm.shape()).isEqualTo(new Shape(3, 5, 7));
            assertThat(fm.ndim()).isEqualTo(3);
            assertThat(new long[] {fm.ldim(), fm.mdim(), fm.rdim()}).containsExactly(5, 2, 7);
            assertThat(fm).hasToString("FactoredMatrix: Shape([3, 5, 7]), Hidden Dim(2)");
        }
    }

    @Test
    void pairReturnsTheCallersFactors() {
        NDArray a = randn(5, 2);
        NDArray b = randn(2, 7);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            assertThat(fm.pair().getKey()).isSameAs(a);
            assertThat(fm.pair().getValue()).isSameAs(b);
        }
    }

    @Test
    void broadcastsLeadingDimensions() {
        NDArray a = randn(2, 1, 5, 3);
        NDArray b = randn(4, 3, 6);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            assertThat(fm.shape()).isEqualTo(new Shape(2, 4, 5, 6));
            assertThat(fm.a().getShape()).isEqualTo(new Shape(2, 4, 5, 3));
            assertThat(fm.b().getShape()).isEqualTo(new Shape(2, 4, 3, 6));
            RealMatrix[] expected = new RealMatrix[8];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 4; j++) {
                    expected[i * 4 + j] = matrix(a, i).multiply(matrix(b, j));
                }
            }
            assertAllClose(fm.ab(), stackDense(expected).reshape(2, 4, 5, 6), ATOL, "AB");
            // The SVD reads the broadcast views too.
            assertAllClose(fm.norm(), fm.ab().square().sum(new int[] {2, 3}).sqrt(), ATOL, "norm");
        }
    }

    @Test
    void rejectsInvalidFactorsNamingTheProblem() {
        assertThatThrownBy(() -> new FactoredMatrix(randn(5, 2), randn(3, 7)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("inner dimension").hasMessageContaining("(5, 2)");
        assertThatThrownBy(() -> new FactoredMatrix(randn(5), randn(5, 7)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("A must be a matrix");
        assertThatThrownBy(() -> new FactoredMatrix(randn(2, 5, 2), randn(3, 2, 7)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Cannot broadcast leading dimensions");
        assertThatThrownBy(() -> new FactoredMatrix(randn(5, 2), randn(2, 7).toType(DataType.FLOAT64, false)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("data type").hasMessageContaining("float64");
        NDArray closed = randn(5, 2);
        closed.close();
        assertThatThrownBy(() -> new FactoredMatrix(closed, randn(2, 7)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("A has been closed");
    }

    // ------------------------------------------------------------------ products

    @Test
    void abAndBaMatchDenseProducts() {
        NDArray a = randn(3, 6, 4);
        NDArray b = randn(3, 4, 6);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            assertAllClose(fm.ab(), stackDense(dense(a, b, 0), dense(a, b, 1), dense(a, b, 2)), ATOL, "AB");
            assertAllClose(fm.ba(), stackDense(dense(b, a, 0), dense(b, a, 1), dense(b, a, 2)), ATOL, "BA");
        }
    }

    @Test
    void baAndEigenvaluesNeedASquareMatrix() {
        try (FactoredMatrix fm = new FactoredMatrix(randn(5, 2), randn(2, 7))) {
            assertThatThrownBy(fm::ba).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("ldim == rdim");
            assertThatThrownBy(fm::eigenvalues).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("ldim == rdim");
        }
    }

    @Test
    void transposeSwapsAndTransposesTheFactors() {
        NDArray a = randn(2, 5, 3);
        NDArray b = randn(2, 3, 7);
        try (FactoredMatrix fm = new FactoredMatrix(a, b); FactoredMatrix t = fm.transpose()) {
            assertThat(t.shape()).isEqualTo(new Shape(2, 7, 5));
            assertAllClose(t.a(), b.transpose(0, 2, 1), 0, "T.A");
            assertAllClose(t.b(), a.transpose(0, 2, 1), 0, "T.B");
            assertAllClose(t.ab(), stackDense(dense(a, b, 0).transpose(), dense(a, b, 1).transpose()),
                    ATOL, "T.AB");
        }
    }

    @Test
    void matMulByMatrixFoldsIntoBWhenRdimExceedsMdim() {
        NDArray a = randn(5, 2);
        NDArray b = randn(2, 7);
        NDArray x = randn(7, 4);
        try (FactoredMatrix fm = new FactoredMatrix(a, b); FactoredMatrix product = fm.matMul(x)) {
            assertThat(product.a()).isSameAs(a);
            assertThat(product.mdim()).isEqualTo(2);
            assertAllClose(product.ab(), toArray(manager, dense(a, b, 0).multiply(matrix(x, 0))), ATOL, "(AB)X");
        }
    }

    @Test
    void matMulByMatrixUsesTheFullProductWhenRdimIsSmall() {
        NDArray a = randn(5, 4);
        NDArray b = randn(4, 3);
        NDArray x = randn(3, 6);
        try (FactoredMatrix fm = new FactoredMatrix(a, b); FactoredMatrix product = fm.matMul(x)) {
            assertThat(product.b()).isSameAs(x);
            assertThat(product.mdim()).isEqualTo(3);
            assertAllClose(product.ab(), toArray(manager, dense(a, b, 0).multiply(matrix(x, 0))), ATOL, "(AB)X");
        }
    }

    @Test
    void rMatMulByMatrixKeepsTheSmallerHiddenDim() {
        NDArray a = randn(5, 2);
        NDArray b = randn(2, 7);
        NDArray x = randn(4, 5);
        try (FactoredMatrix fm = new FactoredMatrix(a, b); FactoredMatrix product = fm.rMatMul(x)) {
            assertThat(product.b()).isSameAs(b);
            assertThat(product.mdim()).isEqualTo(2);
            assertAllClose(product.ab(), toArray(manager, matrix(x, 0).multiply(dense(a, b, 0))), ATOL, "X(AB)");
        }
        NDArray a2 = randn(3, 4);
        NDArray b2 = randn(4, 6);
        NDArray x2 = randn(2, 3);
        try (FactoredMatrix fm = new FactoredMatrix(a2, b2); FactoredMatrix product = fm.rMatMul(x2)) {
            assertThat(product.a()).isSameAs(x2);
            assertThat(product.mdim()).isEqualTo(3);
            assertAllClose(product.ab(), toArray(manager, matrix(x2, 0).multiply(dense(a2, b2, 0))), ATOL, "X(AB)");
        }
    }

    @Test
    void matMulOfTwoFactoredMatricesStaysLowRank() {
        NDArray a = randn(5, 2);
        NDArray b = randn(2, 7);
        NDArray c = randn(7, 3);
        NDArray d = randn(3, 6);
        try (FactoredMatrix left = new FactoredMatrix(a, b);
                FactoredMatrix right = new FactoredMatrix(c, d);
                FactoredMatrix product = left.matMul(right)) {
            assertThat(product.shape()).isEqualTo(new Shape(5, 6));
            assertThat(product.mdim()).isEqualTo(2);
            RealMatrix expected = dense(a, b, 0).multiply(dense(c, d, 0));
            assertAllClose(product.ab(), toArray(manager, expected), ATOL, "(AB)(CD)");
            assertThatThrownBy(() -> right.matMul(right)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("inner dimension");
        }
    }

    @Test
    void vectorProductsCollapseToArrays() {
        NDArray a = randn(3, 5, 2);
        NDArray b = randn(3, 2, 7);
        NDArray right = randn(7);
        NDArray left = randn(5);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            RealMatrix[] mv = new RealMatrix[3];
            RealMatrix[] vm = new RealMatrix[3];
            for (int i = 0; i < 3; i++) {
                mv[i] = dense(a, b, i).multiply(matrix(right.reshape(7, 1), 0)).transpose();
                vm[i] = matrix(left.reshape(1, 5), 0).multiply(dense(a, b, i));
            }
            assertAllClose(fm.matVec(right), stackDense(mv).reshape(3, 5), ATOL, "M v");
            assertAllClose(fm.vecMat(left), stackDense(vm).reshape(3, 7), ATOL, "v M");
        }
    }

    @Test
    void rejectsOperandsOfTheWrongShapeOrType() {
        try (FactoredMatrix fm = new FactoredMatrix(randn(5, 2), randn(2, 7))) {
            assertThatThrownBy(() -> fm.matMul(randn(5, 3))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("inner dimension").hasMessageContaining("(5, 3)");
            assertThatThrownBy(() -> fm.rMatMul(randn(3, 7))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("inner dimension");
            assertThatThrownBy(() -> fm.matMul(randn(7))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("use matVec");
            assertThatThrownBy(() -> fm.matVec(randn(5))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("rdim = 7");
            assertThatThrownBy(() -> fm.vecMat(randn(7))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("ldim = 5");
            assertThatThrownBy(() -> fm.matMul(randn(7, 3).toType(DataType.FLOAT64, false)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("float64");
        }
    }

    @Test
    void scalarMultiplicationScalesTheProduct() {
        NDArray a = randn(2, 5, 3);
        NDArray b = randn(2, 3, 4);
        try (FactoredMatrix fm = new FactoredMatrix(a, b);
                FactoredMatrix byNumber = fm.mul(2.5);
                FactoredMatrix byTensor = fm.mul(manager.create(new float[] {-3f}))) {
            RealMatrix[] expected = {dense(a, b, 0), dense(a, b, 1)};
            assertAllClose(byNumber.ab(), stackDense(expected[0].scalarMultiply(2.5),
                    expected[1].scalarMultiply(2.5)), ATOL, "2.5 M");
            assertAllClose(byTensor.ab(), stackDense(expected[0].scalarMultiply(-3),
                    expected[1].scalarMultiply(-3)), ATOL, "-3 M");
            assertThat(byNumber.a().getDataType()).isEqualTo(DataType.FLOAT32);
            assertThatThrownBy(() -> fm.mul(randn(2))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("must be a scalar").hasMessageContaining("matMul");
            assertThatThrownBy(() -> fm.mul(manager.create(new double[] {2})))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scalar has data type");
        }
    }

    // ------------------------------------------------------------------ SVD, eigenvalues, norms

    @Test
    void svdReconstructsTheProductWithOrthonormalFactors() {
        long[][][] shapes = {
            {{3, 2}, {2, 3}}, {{4, 5}, {5, 4}}, {{6, 7}, {7, 6}}, {{6, 7}, {7, 3}}, {{1, 8, 9}, {1, 9, 8}},
            {{2, 5, 3}, {2, 3, 8}},
        };
        for (long[][] s : shapes) {
            NDArray a = randn(s[0]);
            NDArray b = randn(s[1]);
            try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
                String what = fm.toString();
                int k = (int) Math.min(Math.min(fm.ldim(), fm.mdim()), fm.rdim());
                assertThat(fm.s().getShape().get(fm.ndim() - 2)).as(what + " k").isEqualTo(k);
                int n = (int) (fm.s().size() / k);
                for (int i = 0; i < n; i++) {
                    RealMatrix u = matrix(fm.u(), i);
                    RealMatrix v = matrix(fm.v(), i);
                    double[] sv = Arrays.copyOfRange(toDoubles(fm.s()), i * k, (i + 1) * k);
                    RealMatrix usv = u.multiply(MatrixUtils.createRealDiagonalMatrix(sv)).multiply(v.transpose());
                    RealMatrix ab = dense(a, b, i);
                    assertThat(usv.subtract(ab).getNorm()).as(what + " U S V^T - AB").isLessThan(ATOL * 10);
                    RealMatrix eye = MatrixUtils.createRealIdentityMatrix(k);
                    assertThat(u.transpose().multiply(u).subtract(eye).getNorm()).as(what + " U^T U").isLessThan(ATOL);
                    assertThat(v.transpose().multiply(v).subtract(eye).getNorm()).as(what + " V^T V").isLessThan(ATOL);
                    double[] expected = Arrays.copyOf(new SingularValueDecomposition(ab).getSingularValues(), k);
                    for (int j = 0; j < k; j++) {
                        assertThat(sv[j]).as(what + " S[" + j + "]").isCloseTo(expected[j],
                                org.assertj.core.data.Offset.offset(ATOL * Math.max(1, expected[j])));
                    }
                }
            }
        }
    }

    @Test
    void svdOfRankDeficientFactorsStillHasOrthonormalVectors() {
        NDArray a = randn(6, 3);
        a.set(new NDIndex(":, 1"), a.get(":, 0"));
        a.set(new NDIndex(":, 2"), 0f);
        NDArray b = randn(3, 5);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            RealMatrix u = matrix(fm.u(), 0);
            RealMatrix v = matrix(fm.v(), 0);
            double[] sv = toDoubles(fm.s());
            RealMatrix eye = MatrixUtils.createRealIdentityMatrix(3);
            assertThat(u.transpose().multiply(u).subtract(eye).getNorm()).as("U^T U").isLessThan(ATOL);
            assertThat(v.transpose().multiply(v).subtract(eye).getNorm()).as("V^T V").isLessThan(ATOL);
            assertThat(sv[1]).as("rank 1: second singular value").isLessThan(ATOL);
            RealMatrix usv = u.multiply(MatrixUtils.createRealDiagonalMatrix(sv)).multiply(v.transpose());
            assertThat(usv.subtract(dense(a, b, 0)).getNorm()).isLessThan(ATOL * 10);
        }
    }

    @Test
    void svdIsComputedOnceAndCached() {
        try (FactoredMatrix fm = new FactoredMatrix(randn(4, 3), randn(3, 4))) {
            FactoredMatrix.Svd first = fm.svd();
            assertThat(fm.svd()).isSameAs(first);
            assertThat(fm.u()).isSameAs(first.u());
            assertThat(fm.s()).isSameAs(first.s());
            assertThat(fm.v()).isSameAs(first.v());
        }
    }

    @Test
    void normIsTheFrobeniusNormOfTheProduct() {
        NDArray a = randn(3, 6, 2);
        NDArray b = randn(3, 2, 5);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            float[] expected = new float[3];
            for (int i = 0; i < 3; i++) {
                expected[i] = (float) dense(a, b, i).getFrobeniusNorm();
            }
            assertAllClose(fm.norm(), manager.create(expected), ATOL, "norm");
        }
        try (FactoredMatrix fm = new FactoredMatrix(randn(4, 3), randn(3, 4))) {
            assertThat(fm.norm().getShape()).isEqualTo(new Shape());
        }
    }

    @Test
    void eigenvaluesAreTheNonZeroEigenvaluesOfTheProduct() {
        NDArray a = randn(6, 3);
        NDArray b = randn(3, 6);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            ComplexTensor eig = fm.eigenvalues();
            assertThat(eig.getShape()).isEqualTo(new Shape(3));
            assertThat(eig.real().getDataType()).isEqualTo(DataType.FLOAT32);
            // AB has rank 3: its 6 eigenvalues are BA's 3 and three zeros.
            EigenDecomposition dense = new EigenDecomposition(dense(a, b, 0));
            double[] re = Arrays.copyOf(toDoubles(eig.real()), 6);
            double[] im = Arrays.copyOf(toDoubles(eig.imag()), 6);
            assertSameComplexMultiset(re, im, dense.getRealEigenvalues(), dense.getImagEigenvalues(),
                    ATOL, "eig(AB)");
        }
    }

    @Test
    void eigenvaluesOfStackedSquareFactorsIncludeComplexPairs() {
        NDArray a = randn(4, 5, 5);
        NDArray b = randn(4, 5, 5);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            ComplexTensor eig = fm.eigenvalues();
            assertThat(eig.getShape()).isEqualTo(new Shape(4, 5));
            double[] re = toDoubles(eig.real());
            double[] im = toDoubles(eig.imag());
            boolean anyComplex = false;
            for (int i = 0; i < 4; i++) {
                EigenDecomposition dense = new EigenDecomposition(dense(a, b, i));
                assertSameComplexMultiset(Arrays.copyOfRange(re, i * 5, i * 5 + 5),
                        Arrays.copyOfRange(im, i * 5, i * 5 + 5), dense.getRealEigenvalues(),
                        dense.getImagEigenvalues(), ATOL * 10, "eig(AB) " + i);
                anyComplex |= Arrays.stream(dense.getImagEigenvalues()).anyMatch(x -> x != 0);
            }
            assertThat(anyComplex).as("the random matrices exercise complex eigenvalues").isTrue();
        }
    }

    @Test
    void eigenvaluesOfAZeroMatrixAreZero() {
        try (FactoredMatrix fm = new FactoredMatrix(manager.zeros(new Shape(4, 2)), randn(2, 4))) {
            ComplexTensor eig = fm.eigenvalues();
            assertThat(toDoubles(eig.real())).containsOnly(0.0);
            assertThat(toDoubles(eig.imag())).containsOnly(0.0);
        }
    }

    @Test
    void float64FactorsGiveFloat64ResultsAtFloat64Precision() {
        NDArray a = randn(2, 6, 3).toType(DataType.FLOAT64, false);
        NDArray b = randn(2, 3, 6).toType(DataType.FLOAT64, false);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            assertThat(fm.s().getDataType()).isEqualTo(DataType.FLOAT64);
            assertThat(fm.eigenvalues().real().getDataType()).isEqualTo(DataType.FLOAT64);
            for (int i = 0; i < 2; i++) {
                double[] expected = new SingularValueDecomposition(dense(a, b, i)).getSingularValues();
                double[] actual = Arrays.copyOfRange(toDoubles(fm.s()), i * 3, i * 3 + 3);
                for (int j = 0; j < 3; j++) {
                    assertThat(actual[j]).isCloseTo(expected[j], org.assertj.core.data.Offset.offset(1e-10));
                }
            }
        }
    }

    @Test
    void decompositionsNeedFloatingPointFactors() {
        NDArray a = manager.arange(6).reshape(3, 2);
        NDArray b = manager.arange(6).reshape(2, 3);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            assertThatThrownBy(fm::svd).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("floating-point").hasMessageContaining("int32");
            assertThatThrownBy(fm::eigenvalues).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("floating-point");
        }
    }

    @Test
    void decompositionsRejectNonFiniteFactors() {
        NDArray b = randn(2, 3, 4);
        b.set(new NDIndex("1, 2, 0"), Float.NaN);
        try (FactoredMatrix fm = new FactoredMatrix(randn(2, 4, 3), b)) {
            assertThatThrownBy(fm::svd).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("factor B").hasMessageContaining("NaN")
                    .hasMessageContaining("leading index 1");
            assertThatThrownBy(fm::norm).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(fm::eigenvalues).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("factor B");
        }
    }

    @Test
    void makeEvenSplitsTheSingularValuesEvenly() {
        NDArray a = randn(2, 6, 3);
        NDArray b = randn(2, 3, 5);
        try (FactoredMatrix fm = new FactoredMatrix(a, b); FactoredMatrix even = fm.makeEven()) {
            assertAllClose(even.ab(), fm.ab(), ATOL, "even AB");
            for (int i = 0; i < 2; i++) {
                RealMatrix s = MatrixUtils.createRealDiagonalMatrix(
                        Arrays.copyOfRange(toDoubles(fm.s()), i * 3, i * 3 + 3));
                RealMatrix left = matrix(even.a(), i);
                RealMatrix right = matrix(even.b(), i);
                assertThat(left.transpose().multiply(left).subtract(s).getNorm()).isLessThan(ATOL * 10);
                assertThat(right.multiply(right.transpose()).subtract(s).getNorm()).isLessThan(ATOL * 10);
            }
        }
    }

    @Test
    void collapsingDropsTheOrthogonalFactors() {
        NDArray a = randn(2, 6, 3);
        NDArray b = randn(2, 3, 5);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            NDArray collapsedL = fm.collapseL();
            NDArray collapsedR = fm.collapseR();
            assertThat(collapsedL.getShape()).isEqualTo(new Shape(2, 3, 5));
            assertThat(collapsedR.getShape()).isEqualTo(new Shape(2, 6, 3));
            for (int i = 0; i < 2; i++) {
                RealMatrix s = MatrixUtils.createRealDiagonalMatrix(
                        Arrays.copyOfRange(toDoubles(fm.s()), i * 3, i * 3 + 3));
                RealMatrix u = matrix(fm.u(), i);
                RealMatrix v = matrix(fm.v(), i);
                assertAllClose(collapsedL.get(i), toArray(manager, s.multiply(v.transpose())), ATOL, "S V^T");
                assertAllClose(collapsedR.get(i), toArray(manager, u.multiply(s)), ATOL, "U S");
                RealMatrix ab = dense(a, b, i);
                assertThat(u.multiply(matrix(collapsedL, i)).subtract(ab).getNorm()).isLessThan(ATOL * 10);
                assertThat(matrix(collapsedR, i).multiply(v.transpose()).subtract(ab).getNorm()).isLessThan(ATOL * 10);
            }
        }
    }

    // ------------------------------------------------------------------ indexing

    @Test
    void getCornerTakesTheTopLeftOfEveryDimension() {
        NDArray a = randn(4, 6, 5);
        NDArray b = randn(4, 5, 7);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            NDArray corner = fm.getCorner();
            assertThat(corner.getShape()).isEqualTo(new Shape(3, 3, 3));
            RealMatrix[] expected = new RealMatrix[3];
            for (int i = 0; i < 3; i++) {
                expected[i] = dense(a, b, i).getSubMatrix(0, 2, 0, 2);
            }
            assertAllClose(corner, stackDense(expected), ATOL, "corner");
            assertThat(fm.getCorner(10).getShape()).isEqualTo(new Shape(4, 6, 7));
            assertThatThrownBy(() -> fm.getCorner(0)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void indexingLeadingDimensionsSelectsMatrices() {
        NDArray a = randn(3, 5, 2);
        NDArray b = randn(3, 2, 7);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            NDArray ab = fm.ab();
            try (FactoredMatrix one = fm.get(1)) {
                assertThat(one.shape()).isEqualTo(new Shape(5, 7));
                assertAllClose(one.a(), a.get(1), 0, "A[1]");
                assertAllClose(one.ab(), ab.get(1), ATOL, "AB[1]");
            }
            try (FactoredMatrix some = fm.get("1:3")) {
                assertThat(some.shape()).isEqualTo(new Shape(2, 5, 7));
                assertAllClose(some.ab(), ab.get("1:3"), ATOL, "AB[1:3]");
            }
        }
    }

    @Test
    void indexingRowsAndColumnsKeepsThemAsMatrices() {
        NDArray a = randn(3, 5, 2);
        NDArray b = randn(3, 2, 7);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            NDArray ab = fm.ab();
            String[][] cases = {
                {"1, 2", "1, 2:3"}, {"1, -1", "1, -1:"}, {"1, -2", "1, -2:-1"}, {"0, 1:4, 2", "0, 1:4, 2:3"},
                {"2, -1, -1", "2, -1:, -1:"}, {"..., 2", ":, :, 2:3"}, {"..., 1:4, 2:6", ":, 1:4, 2:6"},
                {"1, ..., -1", "1, :, -1:"}, {"...", ":, :, :"},
            };
            for (String[] c : cases) {
                try (FactoredMatrix selected = fm.get(c[0])) {
                    assertThat(selected.mdim()).as(c[0]).isEqualTo(2);
                    assertAllClose(selected.ab(), ab.get(c[1]), ATOL, "fm[" + c[0] + "]");
                }
            }
        }
    }

    @Test
    void rejectsIndicesThatAreTooLongOrUnsupported() {
        try (FactoredMatrix fm = new FactoredMatrix(randn(3, 5, 2), randn(3, 2, 7))) {
            assertThatThrownBy(() -> fm.get(0, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("too long");
            assertThatThrownBy(() -> fm.get(1, 5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("row index 5 is out of range");
            assertThatThrownBy(() -> fm.get(1, 0, -8)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("column index -8 is out of range");
            assertThatThrownBy(() -> fm.get(3)).hasMessageContaining("index 3 is out of bounds");
            NDIndex mask = new NDIndex().addBooleanIndex(manager.create(new boolean[] {true, false, true}));
            assertThatThrownBy(() -> fm.get(mask)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("NDIndexBooleans");
        }
    }

    @Test
    void unsqueezeAddsALeadingAxis() {
        try (FactoredMatrix fm = new FactoredMatrix(randn(3, 5, 2), randn(3, 2, 7));
                FactoredMatrix wider = fm.unsqueeze(1)) {
            assertThat(wider.shape()).isEqualTo(new Shape(3, 1, 5, 7));
            assertAllClose(wider.ab(), fm.ab().reshape(3, 1, 5, 7), ATOL, "unsqueezed AB");
            assertThatThrownBy(() -> fm.unsqueeze(2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("leading position");
        }
    }

    // ------------------------------------------------------------------ ownership

    @Test
    void closingFreesResultsButNotTheCallersFactors() {
        NDArray a = randn(3, 5, 2);
        NDArray b = randn(3, 2, 7);
        FactoredMatrix fm = new FactoredMatrix(a, b);
        NDArray ab = fm.ab();
        NDArray s = fm.s();
        FactoredMatrix t = fm.transpose();
        fm.close();
        assertThat(a.isReleased()).isFalse();
        assertThat(b.isReleased()).isFalse();
        assertThat(ab.isReleased()).isTrue();
        assertThat(s.isReleased()).isTrue();
        assertThatThrownBy(fm::ab).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(t::ab).as("derived matrices close with their parent")
                .isInstanceOf(IllegalStateException.class);
        fm.close();
    }

    @Test
    void factorsCanBeHandedOverToTheMatrix() {
        // How a model builds OV from freshly stacked weights that nobody else keeps.
        int before = manager.getManagedArrays().size();
        NDArray wV = randn(2, 4, 8, 3);
        NDArray wO = randn(2, 4, 3, 8);
        FactoredMatrix ov = FactoredMatrix.ov(wV, wO);
        ov.getManager().attachAll(wV, wO);
        assertThat(ov.norm().getShape()).isEqualTo(new Shape(2, 4));
        ov.close();
        assertThat(wV.isReleased()).isTrue();
        assertThat(wO.isReleased()).isTrue();
        assertThat(manager.getManagedArrays()).hasSize(before);
    }

    @Test
    void detectsFactorsClosedByTheirOwner() {
        NDArray a = randn(5, 2);
        try (FactoredMatrix fm = new FactoredMatrix(a, randn(2, 7))) {
            a.close();
            assertThatThrownBy(fm::ab).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("factor A has been closed");
        }
    }

    @Test
    void leavesNothingBehindInTheCallersManager() {
        NDArray a = randn(2, 6, 3);
        NDArray b = randn(2, 3, 6);
        NDArray x = randn(6, 4);
        NDArray xT = x.transpose();
        NDArray v = randn(6);
        int before = manager.getManagedArrays().size();
        for (int i = 0; i < 20; i++) {
            try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
                fm.ab().close();
                fm.norm();
                fm.eigenvalues();
                fm.collapseL();
                fm.getCorner();
                fm.matVec(v).close();
                try (FactoredMatrix p = fm.matMul(x); FactoredMatrix q = fm.rMatMul(xT);
                        FactoredMatrix e = fm.makeEven(); FactoredMatrix g = fm.get("0, 1:3")) {
                    p.ab();
                    q.s();
                    e.transpose().matMul(fm).ab();
                    g.mul(2).ab();
                }
                FactoredMatrix.compositionScore(fm, fm.transpose(), true);
            }
        }
        assertThat(manager.getManagedArrays()).hasSize(before);
    }

    @Test
    void resultsSurviveTheCallersScope() {
        NDArray a = randn(4, 3);
        NDArray b = randn(3, 4);
        try (FactoredMatrix fm = new FactoredMatrix(a, b)) {
            NDArray s;
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                s = fm.s();
            }
            assertThat(s.isReleased()).isFalse();
            assertThat(fm.s()).isSameAs(s);
        }
    }

    // ------------------------------------------------------------------ composition

    /** ||L R||_F / (||L||_F ||R||_F), densely. */
    private static double denseScore(RealMatrix left, RealMatrix right) {
        return left.multiply(right).getFrobeniusNorm() / left.getFrobeniusNorm() / right.getFrobeniusNorm();
    }

    @Test
    void compositionScorePairsEveryLeftWithEveryRightMatrix() {
        NDArray la = randn(2, 6, 2);
        NDArray lb = randn(2, 2, 6);
        NDArray ra = randn(3, 6, 2);
        NDArray rb = randn(3, 2, 5);
        try (FactoredMatrix left = new FactoredMatrix(la, lb); FactoredMatrix right = new FactoredMatrix(ra, rb)) {
            float[] expected = new float[6];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    expected[i * 3 + j] = (float) denseScore(dense(la, lb, i), dense(ra, rb, j));
                }
            }
            NDArray reference = manager.create(expected, new Shape(2, 3));
            assertAllClose(FactoredMatrix.compositionScore(left, right, true), reference, ATOL, "scores");
            // One left matrix per block: the blocked product gives the same table.
            assertAllClose(FactoredMatrix.compositionScore(left, right, true, 1), reference, ATOL,
                    "scores in blocks");
            try (FactoredMatrix single = left.get(1)) {
                assertAllClose(FactoredMatrix.compositionScore(single, right, true), reference.get(1),
                        ATOL, "scores of a matrix without leading dims");
            }
        }
    }

    @Test
    void compositionScoreWithoutBroadcastingPairsMatchingIndices() {
        NDArray la = randn(3, 6, 2);
        NDArray lb = randn(3, 2, 6);
        NDArray ra = randn(3, 6, 2);
        NDArray rb = randn(3, 2, 6);
        try (FactoredMatrix left = new FactoredMatrix(la, lb); FactoredMatrix right = new FactoredMatrix(ra, rb)) {
            float[] expected = new float[3];
            for (int i = 0; i < 3; i++) {
                expected[i] = (float) denseScore(dense(la, lb, i), dense(ra, rb, i));
            }
            assertAllClose(FactoredMatrix.compositionScore(left, right, false), manager.create(expected),
                    ATOL, "scores");
            try (FactoredMatrix narrow = new FactoredMatrix(randn(5, 2), randn(2, 5))) {
                assertThatThrownBy(() -> FactoredMatrix.compositionScore(left, narrow, true))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("left.rdim == right.ldim");
            }
        }
    }
}
