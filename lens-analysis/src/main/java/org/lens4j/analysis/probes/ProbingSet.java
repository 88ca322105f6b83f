package org.lens4j.analysis.probes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Labelled activations to train and test a probe on: one row per (sequence, position), with the
 * activation vector at a hook {@code [n, d]} (float32, on the Java heap), the class label, and the
 * sequence and position it came from. Immutable; {@link #split}, {@link #balanced} and
 * {@link #withShuffledLabels} return new sets.
 *
 * <p>Make one from a model with {@link ProbingSetCollector}, or from arrays with {@link #of}.
 */
public final class ProbingSet {

    private final String hook;
    private final String feature;
    private final List<String> classNames;
    private final int dim;
    private final float[] activations;
    private final int[] labels;
    private final int[] sequences;
    private final int[] positions;

    private ProbingSet(String hook, String feature, List<String> classNames, int dim, float[] activations,
            int[] labels, int[] sequences, int[] positions) {
        this.hook = hook;
        this.feature = feature;
        this.classNames = classNames;
        this.dim = dim;
        this.activations = activations;
        this.labels = labels;
        this.sequences = sequences;
        this.positions = positions;
    }

    /**
     * A probing set from arrays (copied).
     *
     * @param hook where the activations come from (any text for synthetic data)
     * @param feature what the labels mean
     * @param classNames the class names, index = label; at least two
     * @param activations {@code [n, d]}, every row of the same length d
     * @param labels {@code [n]}, each in {@code [0, classNames.size())}
     * @param sequences {@code [n]}, the sequence each row comes from (splits keep a sequence whole)
     * @param positions {@code [n]}, the position in its sequence
     * @throws IllegalArgumentException naming the row or value at fault
     */
    public static ProbingSet of(String hook, String feature, List<String> classNames, float[][] activations,
            int[] labels, int[] sequences, int[] positions) {
        Objects.requireNonNull(activations, "activations");
        int n = activations.length;
        if (n == 0) {
            throw new IllegalArgumentException("probing set for '" + feature + "' at " + hook + " has no rows");
        }
        int dim = activations[0].length;
        float[] flat = new float[Math.multiplyExact(n, dim)];
        for (int i = 0; i < n; i++) {
            if (activations[i].length != dim) {
                throw new IllegalArgumentException("activation row " + i + " has " + activations[i].length
                        + " values, row 0 has " + dim);
            }
            System.arraycopy(activations[i], 0, flat, i * dim, dim);
        }
        return create(hook, feature, classNames, dim, flat, labels.clone(), sequences.clone(), positions.clone());
    }

    /** Checks and wraps arrays that the new set then owns. */
    static ProbingSet create(String hook, String feature, List<String> classNames, int dim, float[] activations,
            int[] labels, int[] sequences, int[] positions) {
        Objects.requireNonNull(hook, "hook");
        Objects.requireNonNull(feature, "feature");
        if (classNames.size() < 2) {
            throw new IllegalArgumentException("feature '" + feature + "' needs at least two classes, has "
                    + classNames);
        }
        int n = labels.length;
        if (n == 0) {
            throw new IllegalArgumentException("probing set for '" + feature + "' at " + hook + " has no rows");
        }
        if (dim < 1 || activations.length != (long) n * dim) {
            throw new IllegalArgumentException("probing set: " + activations.length + " activation values for " + n
                    + " rows of dimension " + dim);
        }
        if (sequences.length != n || positions.length != n) {
            throw new IllegalArgumentException("probing set: " + n + " labels but " + sequences.length
                    + " sequence ids and " + positions.length + " positions");
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= classNames.size()) {
                throw new IllegalArgumentException("label " + labels[i] + " of row " + i + " is not a class of '"
                        + feature + "' " + classNames);
            }
        }
        for (int i = 0; i < activations.length; i++) {
            if (!Float.isFinite(activations[i])) {
                throw new IllegalArgumentException("activation of row " + i / dim + " (sequence " + sequences[i / dim]
                        + ", position " + positions[i / dim] + ") at " + hook + " is " + activations[i]);
            }
        }
        return new ProbingSet(hook, feature, List.copyOf(classNames), dim, activations, labels, sequences, positions);
    }

    /** The hook the activations come from. */
    public String hook() {
        return hook;
    }

    /** The feature the labels come from. */
    public String feature() {
        return feature;
    }

    /** The class names, index = label. */
    public List<String> classNames() {
        return classNames;
    }

    /** Number of classes. */
    public int numClasses() {
        return classNames.size();
    }

    /** Number of rows, n. */
    public int size() {
        return labels.length;
    }

    /** Length of an activation vector, d. */
    public int dim() {
        return dim;
    }

    /** The activation of row {@code i}, {@code [d]} (a copy). */
    public float[] row(int i) {
        Objects.checkIndex(i, size());
        return Arrays.copyOfRange(activations, i * dim, (i + 1) * dim);
    }

    /** One value of the activations, row {@code i}, component {@code j}. */
    public float get(int i, int j) {
        Objects.checkIndex(i, size());
        Objects.checkIndex(j, dim);
        return activations[i * dim + j];
    }

    /** The labels {@code [n]} (a copy). */
    public int[] labels() {
        return labels.clone();
    }

    /** The sequence of each row {@code [n]} (a copy). */
    public int[] sequences() {
        return sequences.clone();
    }

    /** The position of each row in its sequence {@code [n]} (a copy). */
    public int[] positions() {
        return positions.clone();
    }

    /** The activations as a float32 array {@code [n, d]}, owned by {@code manager}. */
    public NDArray activations(NDManager manager) {
        return manager.create(activations, new Shape(size(), dim));
    }

    /** Rows per class {@code [classes]}. */
    public int[] classCounts() {
        int[] counts = new int[numClasses()];
        for (int label : labels) {
            counts[label]++;
        }
        return counts;
    }

    /** Number of different sequences. */
    public int numSequences() {
        return (int) Arrays.stream(sequences).distinct().count();
    }

    /** The rows {@code rows} (in that order), as a new set. */
    public ProbingSet subset(int[] rows) {
        float[] a = new float[Math.multiplyExact(rows.length, dim)];
        int[] l = new int[rows.length];
        int[] s = new int[rows.length];
        int[] p = new int[rows.length];
        for (int k = 0; k < rows.length; k++) {
            int i = Objects.checkIndex(rows[k], size());
            System.arraycopy(activations, i * dim, a, k * dim, dim);
            l[k] = labels[i];
            s[k] = sequences[i];
            p[k] = positions[i];
        }
        return create(hook, feature, classNames, dim, a, l, s, p);
    }

    /** The same activations with other labels {@code [n]}, e.g. for a control task. */
    public ProbingSet withLabels(int[] newLabels) {
        if (newLabels.length != size()) {
            throw new IllegalArgumentException("withLabels: " + newLabels.length + " labels for " + size() + " rows");
        }
        return create(hook, feature, classNames, dim, activations, newLabels.clone(), sequences, positions);
    }

    /**
     * The control task: the same activations with the labels randomly permuted across rows, so no
     * activation says anything about its label. A probe that beats chance here has found leakage.
     */
    public ProbingSet withShuffledLabels(long seed) {
        int[] shuffled = labels.clone();
        Random rng = new Random(seed);
        for (int i = shuffled.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
        return create(hook, "shuffled " + feature, classNames, dim, activations, shuffled, sequences, positions);
    }

    /**
     * Splits by sequence: a random {@code testFraction} of the sequences (at least one) goes to the test
     * set, the rest to the training set, so no sequence is in both.
     *
     * @throws IllegalArgumentException if there are fewer than two sequences or the fraction is not in (0, 1)
     */
    public Split split(double testFraction, long seed) {
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new IllegalArgumentException("test fraction must be in (0, 1), not " + testFraction);
        }
        List<Integer> ids = new ArrayList<>(new TreeSet<>(Arrays.stream(sequences).boxed().toList()));
        if (ids.size() < 2) {
            throw new IllegalArgumentException("a split by sequence needs at least two sequences; '" + feature
                    + "' at " + hook + " has " + ids.size());
        }
        Collections.shuffle(ids, new Random(seed));
        int nTest = Math.min(ids.size() - 1, Math.max(1, (int) Math.round(testFraction * ids.size())));
        Set<Integer> test = new HashSet<>(ids.subList(0, nTest));
        int[] testRows = IntStream.range(0, size()).filter(i -> test.contains(sequences[i])).toArray();
        int[] trainRows = IntStream.range(0, size()).filter(i -> !test.contains(sequences[i])).toArray();
        return new Split(subset(trainRows), subset(testRows));
    }

    /**
     * Balanced sampling: every class down-sampled at random to the size of the smallest class (rows
     * keep their order).
     *
     * @throws IllegalArgumentException naming the class if a class has no rows
     */
    public ProbingSet balanced(long seed) {
        int[] counts = classCounts();
        int smallest = Integer.MAX_VALUE;
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] == 0) {
                throw new IllegalArgumentException("cannot balance '" + feature + "' at " + hook + ": class '"
                        + classNames.get(c) + "' has no rows (counts " + Arrays.toString(counts) + ")");
            }
            smallest = Math.min(smallest, counts[c]);
        }
        Random rng = new Random(seed);
        boolean[] keep = new boolean[size()];
        for (int c = 0; c < counts.length; c++) {
            int cls = c;
            List<Integer> rows = new ArrayList<>(IntStream.range(0, size()).filter(i -> labels[i] == cls).boxed().toList());
            Collections.shuffle(rows, rng);
            for (int k = 0; k < smallest; k++) {
                keep[rows.get(k)] = true;
            }
        }
        return subset(IntStream.range(0, size()).filter(i -> keep[i]).toArray());
    }

    @Override
    public String toString() {
        return "ProbingSet(" + feature + " at " + hook + ": " + size() + " rows x " + dim + ", " + numSequences()
                + " sequences, classes " + classNames + " counts " + Arrays.toString(classCounts()) + ")";
    }

    /** A split by sequence: no sequence is in both sets. */
    public record Split(ProbingSet train, ProbingSet test) {}
}
