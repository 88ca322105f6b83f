package org.lens4j.analysis.probes;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.commons.math3.linear.EigenDecomposition;

/**
 * Trains logistic-regression probes (binary, or multinomial over C classes) with DJL autograd.
 *
 * <p>The objective is the mean cross-entropy plus the {@link Penalty} on the weights (not the bias),
 * on standardised activations: each component is centred and divided by its standard deviation over
 * the training rows, and components that are constant (standard deviation below 1e-6 of the largest)
 * are ignored. The returned probe has the standardisation folded in, so it reads raw activations.
 *
 * <p>Optimiser: full-batch accelerated proximal gradient (FISTA, Beck and Teboulle 2009) with adaptive
 * restart (O'Donoghue and Candès 2015). The gradient of the cross-entropy comes from DJL autograd; the
 * penalty is applied in closed form: {@code lambda * w} added to the gradient for L2, a proximal step
 * (soft-thresholding) for L1, so sparse probes get exact zeros. The step is {@code 1 / L}, L bounding
 * the curvature: {@code 1/4} (binary) or {@code 1/2} (multinomial) times the largest eigenvalue of the
 * standardised {@code X^T X / n} (Lanczos, 10% margin), plus lambda for L2. Deterministic: no
 * sampling.
 */
public final class ProbeTrainer {

    private static final int MAX_LANCZOS_STEPS = 60;

    private ProbeTrainer() {}

    /**
     * Trains a probe on all rows of a set.
     *
     * @param train the training rows; every class must occur
     * @param options penalty, lambda, maxSteps and tolerance are used
     * @return the probe, with metadata: feature, penalty, lambda, steps taken, whether it converged,
     *     final objective, number of training rows
     * @throws IllegalArgumentException naming the class if a class has no training rows
     */
    public static LinearProbe train(ProbingSet train, ProbeOptions options) {
        int[] counts = train.classCounts();
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] == 0) {
                throw new IllegalArgumentException("cannot train a probe for '" + train.feature() + "' at "
                        + train.hook() + ": class '" + train.classNames().get(c) + "' has no training rows");
            }
        }
        int n = train.size();
        int d = train.dim();
        int k = LinearProbe.directions(train.numClasses());
        State state = new State(d, k);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray raw = train.activations(m);
            Standardisation z = Standardisation.of(raw);
            NDArray x = z.apply(raw);
            raw.close();
            // one-hot labels scaled by -1/n: the mean cross-entropy is then sum(y * log_softmax(logits))
            NDArray y = m.create(train.labels()).oneHot(train.numClasses(), DataType.FLOAT32).div(-n);
            double curvature = train.numClasses() == 2 ? 0.25 : 0.5;
            double lipschitz = curvature * 1.1 * Math.max(largestEigenvalue(x), 1.0)
                    + (options.penalty() == Penalty.L2 ? options.lambda() : 0);
            double step = 1 / lipschitz;
            double t = 1;
            for (state.steps = 0; state.steps < options.maxSteps() && !state.converged; state.steps++) {
                Gradient g = gradient(x, y, state.yW, state.yb, d, k, m);
                if (options.penalty() == Penalty.L2) {
                    for (int i = 0; i < g.w.length; i++) {
                        g.w[i] += options.lambda() * state.yW[i];
                    }
                }
                double[] w = new double[d * k];
                double[] b = new double[k];
                double shrink = options.penalty() == Penalty.L1 ? step * options.lambda() : 0;
                for (int i = 0; i < w.length; i++) {
                    w[i] = softThreshold(state.yW[i] - step * g.w[i], shrink);
                }
                for (int i = 0; i < k; i++) {
                    b[i] = state.yb[i] - step * g.b[i];
                }
                // adaptive restart: drop the momentum when it points against the step just taken
                double agreement = dot(state.yW, w, state.w) + dot(state.yb, b, state.b);
                if (agreement > 0) {
                    t = 1;
                }
                double tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
                double momentum = (t - 1) / tNext;
                double change = 0;
                for (int i = 0; i < w.length; i++) {
                    change = Math.max(change, Math.abs(w[i] - state.w[i]));
                    state.yW[i] = w[i] + momentum * (w[i] - state.w[i]);
                }
                for (int i = 0; i < k; i++) {
                    change = Math.max(change, Math.abs(b[i] - state.b[i]));
                    state.yb[i] = b[i] + momentum * (b[i] - state.b[i]);
                }
                state.w = w;
                state.b = b;
                t = tNext;
                state.converged = change <= options.tolerance();
            }
            double loss = gradient(x, y, state.w, state.b, d, k, m).loss + switch (options.penalty()) {
                case NONE -> 0;
                case L2 -> options.lambda() / 2 * dot(state.w, state.w);
                case L1 -> options.lambda() * l1(state.w);
            };
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("feature", train.feature());
            metadata.put("penalty", options.penalty().name().toLowerCase(Locale.ROOT));
            metadata.put("lambda", Double.toString(options.lambda()));
            metadata.put("steps", Integer.toString(state.steps));
            metadata.put("converged", Boolean.toString(state.converged));
            metadata.put("objective", Double.toString(loss));
            metadata.put("train_rows", Integer.toString(n));
            return z.fold(train, state.w, state.b, k, metadata);
        }
    }

    /** Optimiser state in standardised units: the iterate (w, b) and the extrapolated point (yW, yb). */
    private static final class State {
        double[] w;
        double[] b;
        final double[] yW;
        final double[] yb;
        int steps;
        boolean converged;

        State(int d, int k) {
            w = new double[d * k];
            b = new double[k];
            yW = new double[d * k];
            yb = new double[k];
        }
    }

    private record Gradient(double[] w, double[] b, double loss) {}

    /** The mean cross-entropy and its gradient at (w, b), by autograd. */
    private static Gradient gradient(NDArray x, NDArray y, double[] w, double[] b, int d, int k, NDManager m) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray wa = m.create(toFloats(w), new Shape(d, k));
            NDArray ba = m.create(toFloats(b), new Shape(k));
            wa.setRequiresGradient(true);
            ba.setRequiresGradient(true);
            double loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray crossEntropy = LinearProbe.classLogits(x, wa, ba).logSoftmax(1).mul(y).sum();
                collector.backward(crossEntropy);
                loss = crossEntropy.getFloat();
            }
            return new Gradient(toDoubles(wa.getGradient().toFloatArray()), toDoubles(ba.getGradient().toFloatArray()),
                    loss);
        }
    }

    /**
     * The largest eigenvalue of {@code x^T x / n} by the Lanczos method: matrix-vector products
     * {@code x^T (x q) / n} (the d x d Gram matrix is never formed) build a small tridiagonal matrix whose
     * largest eigenvalue approaches the wanted one from below, fast; it stops when that changes by less
     * than 1e-3 (relative) or after {@value #MAX_LANCZOS_STEPS} steps. Fixed random start.
     */
    static double largestEigenvalue(NDArray x) {
        long n = x.getShape().get(0);
        int d = (int) x.getShape().get(1);
        Random rng = new Random(0);
        float[] start = new float[d];
        for (int j = 0; j < d; j++) {
            start[j] = (float) rng.nextGaussian();
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray xt = x.transpose();
            NDArray q = x.getManager().create(start, new Shape(d, 1));
            q = q.div(q.norm());
            NDArray previous = null;
            double beta = 0;
            double[] alphas = new double[MAX_LANCZOS_STEPS];
            double[] betas = new double[MAX_LANCZOS_STEPS];
            double estimate = 0;
            for (int m = 0; m < Math.min(d, MAX_LANCZOS_STEPS); m++) {
                NDArray w = xt.matMul(x.matMul(q)).div(n);
                alphas[m] = w.mul(q).sum().getFloat();
                w = w.sub(q.mul(alphas[m]));
                if (previous != null) {
                    w = w.sub(previous.mul(beta));
                }
                double top = largestTridiagonalEigenvalue(alphas, betas, m + 1);
                beta = w.norm().getFloat();
                boolean settled = Math.abs(top - estimate) <= 1e-3 * Math.abs(top);
                estimate = top;
                if (settled || beta <= 1e-6 * Math.max(Math.abs(top), 1e-30)) {
                    break;
                }
                betas[m] = beta;
                previous = q;
                q = w.div(beta);
            }
            return estimate > 0 ? estimate : 0;
        }
    }

    /** The largest eigenvalue of the symmetric tridiagonal matrix with diagonal a and off-diagonal b. */
    private static double largestTridiagonalEigenvalue(double[] a, double[] b, int size) {
        double[] diagonal = Arrays.copyOf(a, size);
        double[] off = Arrays.copyOf(b, size - 1);
        double[] values = new EigenDecomposition(diagonal, off).getRealEigenvalues();
        return Arrays.stream(values).max().orElse(0);
    }

    private static double softThreshold(double v, double shrink) {
        return Math.signum(v) * Math.max(Math.abs(v) - shrink, 0);
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** {@code (y - next) . (next - previous)}. */
    private static double dot(double[] y, double[] next, double[] previous) {
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += (y[i] - next[i]) * (next[i] - previous[i]);
        }
        return s;
    }

    private static double l1(double[] w) {
        double s = 0;
        for (double v : w) {
            s += Math.abs(v);
        }
        return s;
    }

    private static float[] toFloats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    private static double[] toDoubles(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    /** Per-component centring and scaling of the training rows, and its folding into the probe. */
    private record Standardisation(double[] mean, double[] invStd) {

        /** Means and standard deviations of the columns of {@code raw [n, d]}. */
        static Standardisation of(NDArray raw) {
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray mean = raw.mean(new int[] {0});
                NDArray std = raw.sub(mean).square().mean(new int[] {0}).sqrt();
                double[] mu = toDoubles(mean.toFloatArray());
                double[] sigma = toDoubles(std.toFloatArray());
                double largest = Arrays.stream(sigma).max().orElse(0);
                double[] invStd = new double[sigma.length];
                for (int j = 0; j < sigma.length; j++) {
                    invStd[j] = sigma[j] > 1e-6 * largest ? 1 / sigma[j] : 0;
                }
                return new Standardisation(mu, invStd);
            }
        }

        /** The standardised rows {@code [n, d]}, in the manager of {@code raw}. */
        NDArray apply(NDArray raw) {
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDManager m = raw.getManager();
                NDArray x = raw.sub(m.create(toFloats(mean))).mul(m.create(toFloats(invStd)));
                NDScope.unregister(x);
                return x;
            }
        }

        /** {@code ((x - mean) * invStd) W + b = x (invStd W) + (b - (mean * invStd) W)}. */
        LinearProbe fold(ProbingSet set, double[] w, double[] b, int k, Map<String, String> metadata) {
            int d = mean.length;
            float[][] weights = new float[d][k];
            float[] bias = new float[k];
            for (int c = 0; c < k; c++) {
                double shift = b[c];
                for (int j = 0; j < d; j++) {
                    double raw = w[j * k + c] * invStd[j];
                    weights[j][c] = (float) raw;
                    shift -= mean[j] * raw;
                }
                bias[c] = (float) shift;
            }
            return LinearProbe.of(set.hook(), set.classNames(), weights, bias, metadata);
        }
    }
}
