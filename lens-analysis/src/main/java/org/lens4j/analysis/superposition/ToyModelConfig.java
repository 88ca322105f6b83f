package org.lens4j.analysis.superposition;

/**
 * Shape and data distribution of a batch of toy models trained side by side.
 *
 * <p>Follows the ARENA 1.4 / Elhage et al. 2022 conventions: every weight has a leading instance
 * axis, and the feature probability and importance are broadcast to {@code [instances,
 * features]}, so one training run sweeps, for example, sparsity across instances. Features are
 * laid out as ARENA does: first the correlated pairs {@code (0,1), (2,3), ...}, then the
 * anticorrelated pairs, then the independent features.
 *
 * <pre>{@code
 * ToyModelConfig config = ToyModelConfig.builder(ToyModelKind.RELU_OUTPUT)
 *         .nFeatures(5).dHidden(2)
 *         .featureProbabilityPerInstance(1.0, 0.1, 0.01)
 *         .importanceDecay(0.9)          // importance 0.9^i of feature i
 *         .build();
 * }</pre>
 *
 * <p>Instances of this class are immutable.
 */
public final class ToyModelConfig {
    private final ToyModelKind kind;
    private final int nInstances;
    private final int nFeatures;
    private final int dHidden;
    private final int nCorrelatedPairs;
    private final int nAnticorrelatedPairs;
    private final float[][] featureProbability;
    private final float[][] importance;

    private ToyModelConfig(ToyModelKind kind, int nFeatures, int dHidden, int nCorrelatedPairs,
            int nAnticorrelatedPairs, float[][] featureProbability, float[][] importance) {
        this.kind = kind;
        this.nInstances = featureProbability.length;
        this.nFeatures = nFeatures;
        this.dHidden = dHidden;
        this.nCorrelatedPairs = nCorrelatedPairs;
        this.nAnticorrelatedPairs = nAnticorrelatedPairs;
        this.featureProbability = featureProbability;
        this.importance = importance;
    }

    /** Starts a configuration for models of the given kind. */
    public static Builder builder(ToyModelKind kind) {
        return new Builder(kind);
    }

    /** The model's forward pass and data range. */
    public ToyModelKind kind() {
        return kind;
    }

    /** Number of models trained side by side ({@code n_inst}). */
    public int nInstances() {
        return nInstances;
    }

    /** Number of input features ({@code n_features}). */
    public int nFeatures() {
        return nFeatures;
    }

    /** Hidden dimension ({@code d_hidden}): the bottleneck, or the number of neurons. */
    public int dHidden() {
        return dHidden;
    }

    /** Number of correlated feature pairs, features {@code 0 .. 2*n-1}. */
    public int nCorrelatedPairs() {
        return nCorrelatedPairs;
    }

    /** Number of anticorrelated feature pairs, laid out right after the correlated ones. */
    public int nAnticorrelatedPairs() {
        return nAnticorrelatedPairs;
    }

    /** Probability that a feature is non-zero ({@code 1 - S}), {@code [instances, features]}. */
    public float featureProbability(int instance, int feature) {
        return featureProbability[instance][feature];
    }

    /** Weight of a feature in the loss, {@code [instances, features]}. */
    public float importance(int instance, int feature) {
        return importance[instance][feature];
    }

    /** A copy of the feature probabilities, {@code [instances, features]}. */
    public float[][] featureProbability() {
        return deepCopy(featureProbability);
    }

    /** A copy of the importances, {@code [instances, features]}. */
    public float[][] importance() {
        return deepCopy(importance);
    }

    /**
     * A configuration with instance {@code i} of this one repeated {@code times} times, at
     * instances {@code i*times .. i*times + times-1}: the layout used to train several
     * restarts per setting in one run.
     */
    public ToyModelConfig repeatInstances(int times) {
        if (times < 1) {
            throw new IllegalArgumentException("repeat count must be at least 1, got " + times);
        }
        int[] source = new int[nInstances * times];
        for (int i = 0; i < source.length; i++) {
            source[i] = i / times;
        }
        return selectInstances(source);
    }

    /** A configuration made of the given instances of this one, in the given order. */
    public ToyModelConfig selectInstances(int... instances) {
        float[][] p = new float[instances.length][];
        float[][] w = new float[instances.length][];
        for (int i = 0; i < instances.length; i++) {
            checkInstance(instances[i]);
            p[i] = featureProbability[instances[i]].clone();
            w[i] = importance[instances[i]].clone();
        }
        return new ToyModelConfig(kind, nFeatures, dHidden, nCorrelatedPairs, nAnticorrelatedPairs,
                p, w);
    }

    /** Throws an exception naming the instance if it is out of range. */
    void checkInstance(int instance) {
        if (instance < 0 || instance >= nInstances) {
            throw new IndexOutOfBoundsException(
                    "instance " + instance + " out of range [0, " + nInstances + ")");
        }
    }

    @Override
    public String toString() {
        return "ToyModelConfig{kind=" + kind.id() + ", nInstances=" + nInstances
                + ", nFeatures=" + nFeatures + ", dHidden=" + dHidden
                + ", nCorrelatedPairs=" + nCorrelatedPairs
                + ", nAnticorrelatedPairs=" + nAnticorrelatedPairs + "}";
    }

    private static float[][] deepCopy(float[][] a) {
        float[][] copy = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            copy[i] = a[i].clone();
        }
        return copy;
    }

    /** Builds a {@link ToyModelConfig}; every value is checked in {@link #build()}. */
    public static final class Builder {
        private final ToyModelKind kind;
        private Integer nInstances;
        private int nFeatures = -1;
        private int dHidden = -1;
        private int nCorrelatedPairs;
        private int nAnticorrelatedPairs;
        private double[][] featureProbability = {{1.0}};
        private double[][] importance = {{1.0}};
        private Double importanceDecay;

        private Builder(ToyModelKind kind) {
            if (kind == null) {
                throw new IllegalArgumentException("toy model kind must not be null");
            }
            this.kind = kind;
        }

        /**
         * Number of instances. Optional when the feature probability or importance has one row
         * per instance; when given, they must agree.
         */
        public Builder nInstances(int nInstances) {
            this.nInstances = nInstances;
            return this;
        }

        /** Number of input features (required). */
        public Builder nFeatures(int nFeatures) {
            this.nFeatures = nFeatures;
            return this;
        }

        /** Hidden dimension (required). */
        public Builder dHidden(int dHidden) {
            this.dHidden = dHidden;
            return this;
        }

        /** Number of correlated feature pairs (default 0). */
        public Builder nCorrelatedPairs(int pairs) {
            this.nCorrelatedPairs = pairs;
            return this;
        }

        /** Number of anticorrelated feature pairs (default 0). */
        public Builder nAnticorrelatedPairs(int pairs) {
            this.nAnticorrelatedPairs = pairs;
            return this;
        }

        /** One feature probability per instance, shared by all features: {@code [instances, 1]}. */
        public Builder featureProbabilityPerInstance(double... p) {
            this.featureProbability = column(p);
            return this;
        }

        /** Feature probability of every instance and feature, {@code [instances, features]}. */
        public Builder featureProbability(double[][] p) {
            this.featureProbability = p;
            return this;
        }

        /** One importance per feature, shared by all instances: {@code [1, features]}. */
        public Builder importancePerFeature(double... importance) {
            return importance(new double[][] {importance.clone()});
        }

        /** Importance of every instance and feature, {@code [instances, features]}. */
        public Builder importance(double[][] importance) {
            this.importance = importance;
            this.importanceDecay = null;
            return this;
        }

        /** Importance {@code base^i} for feature {@code i = 0, 1, ...}, shared by all instances. */
        public Builder importanceDecay(double base) {
            this.importanceDecay = base;
            return this;
        }

        /**
         * Checks and builds the configuration.
         *
         * @throws IllegalArgumentException naming the first option that is out of range or whose
         *     shape does not broadcast to {@code [instances, features]}
         */
        public ToyModelConfig build() {
            positive("nFeatures", nFeatures);
            positive("dHidden", dHidden);
            if (nCorrelatedPairs < 0 || nAnticorrelatedPairs < 0) {
                throw new IllegalArgumentException("nCorrelatedPairs and nAnticorrelatedPairs must"
                        + " be >= 0, got " + nCorrelatedPairs + " and " + nAnticorrelatedPairs);
            }
            if (2 * (nCorrelatedPairs + nAnticorrelatedPairs) > nFeatures) {
                throw new IllegalArgumentException(nCorrelatedPairs + " correlated and "
                        + nAnticorrelatedPairs + " anticorrelated pairs need "
                        + 2 * (nCorrelatedPairs + nAnticorrelatedPairs)
                        + " features, but nFeatures is " + nFeatures);
            }
            double[][] importanceRows = importance;
            if (importanceDecay != null) {
                importanceRows = new double[1][nFeatures];
                for (int f = 0; f < nFeatures; f++) {
                    importanceRows[0][f] = Math.pow(importanceDecay, f);
                }
            }
            int instances = nInstances != null ? nInstances
                    : Math.max(featureProbability.length, importanceRows.length);
            positive("nInstances", instances);
            float[][] p = broadcast("featureProbability", featureProbability, instances);
            float[][] w = broadcast("importance", importanceRows, instances);
            for (int i = 0; i < instances; i++) {
                for (int f = 0; f < nFeatures; f++) {
                    if (!(p[i][f] >= 0 && p[i][f] <= 1)) {
                        throw new IllegalArgumentException("featureProbability[" + i + "][" + f
                                + "] = " + p[i][f] + " is not in [0, 1]");
                    }
                    if (!(w[i][f] >= 0) || Float.isInfinite(w[i][f])) {
                        throw new IllegalArgumentException("importance[" + i + "][" + f + "] = "
                                + w[i][f] + " is not a finite value >= 0");
                    }
                }
                checkPairs(p[i], i);
            }
            return new ToyModelConfig(kind, nFeatures, dHidden, nCorrelatedPairs,
                    nAnticorrelatedPairs, p, w);
        }

        /** Both features of a pair share one probability; an anticorrelated pair needs 2p <= 1. */
        private void checkPairs(float[] p, int instance) {
            for (int pair = 0; pair < nCorrelatedPairs + nAnticorrelatedPairs; pair++) {
                int first = 2 * pair;
                if (p[first] != p[first + 1]) {
                    throw new IllegalArgumentException("instance " + instance + ": features "
                            + first + " and " + (first + 1) + " form a pair but have different"
                            + " feature probabilities " + p[first] + " and " + p[first + 1]);
                }
                if (pair >= nCorrelatedPairs && 2 * p[first] > 1) {
                    throw new IllegalArgumentException("instance " + instance
                            + ": anticorrelated pair (" + first + ", " + (first + 1)
                            + ") has feature probability " + p[first]
                            + "; it must be <= 0.5 because at most one of the pair is present");
                }
            }
        }

        private float[][] broadcast(String name, double[][] values, int instances) {
            if (values.length != 1 && values.length != instances) {
                throw new IllegalArgumentException(name + " has " + values.length
                        + " rows, which does not broadcast to " + instances + " instances");
            }
            float[][] out = new float[instances][nFeatures];
            for (int i = 0; i < instances; i++) {
                double[] row = values[values.length == 1 ? 0 : i];
                if (row.length != 1 && row.length != nFeatures) {
                    throw new IllegalArgumentException(name + " row " + i + " has " + row.length
                            + " values, which does not broadcast to " + nFeatures + " features");
                }
                for (int f = 0; f < nFeatures; f++) {
                    out[i][f] = (float) row[row.length == 1 ? 0 : f];
                }
            }
            return out;
        }

        private static double[][] column(double[] values) {
            double[][] out = new double[values.length][];
            for (int i = 0; i < values.length; i++) {
                out[i] = new double[] {values[i]};
            }
            return out;
        }

        private static void positive(String name, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(name + " must be at least 1, got " + value);
            }
        }
    }
}
