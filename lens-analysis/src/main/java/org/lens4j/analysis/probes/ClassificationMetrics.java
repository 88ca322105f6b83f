package org.lens4j.analysis.probes;

import java.util.Arrays;
import java.util.Locale;
import org.apache.commons.math3.stat.ranking.NaNStrategy;
import org.apache.commons.math3.stat.ranking.NaturalRanking;
import org.apache.commons.math3.stat.ranking.TiesStrategy;

/**
 * How well class scores predict labels. The predicted class is the highest score (the first on a tie).
 * With two classes, AUROC ranks the class-1 score and F1 is that of class 1; with more, both are
 * macro averages over the classes (AUROC one-vs-rest).
 *
 * @param n number of examples
 * @param accuracy fraction predicted right
 * @param auroc area under the ROC curve, exact (rank-based, ties counted half)
 * @param f1 F1 of class 1 (binary) or macro-F1 (multi-class)
 */
public record ClassificationMetrics(int n, double accuracy, double auroc, double f1) {

    /**
     * Scores examples from class logits (a probe's {@code x W + b}): each class is ranked by its
     * log-odds {@code log(p_c / (1 - p_c)) = z_c - logsumexp_{j != c} z_j}, which orders examples as the
     * probability does but never saturates, so confident predictions keep their exact ranking.
     *
     * @param labels the true classes {@code [n]}
     * @param logits class logits {@code [n][C]}
     * @throws IllegalArgumentException as {@link #of}
     */
    public static ClassificationMetrics fromLogits(int[] labels, float[][] logits) {
        float[][] logOdds = new float[logits.length][];
        for (int i = 0; i < logits.length; i++) {
            float[] z = logits[i];
            logOdds[i] = new float[z.length];
            for (int c = 0; c < z.length; c++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < z.length; j++) {
                    if (j != c) {
                        max = Math.max(max, z[j]);
                    }
                }
                double sum = 0;
                for (int j = 0; j < z.length; j++) {
                    if (j != c) {
                        sum += Math.exp(z[j] - max);
                    }
                }
                logOdds[i][c] = (float) (z[c] - max - Math.log(sum));
            }
        }
        return of(labels, logOdds);
    }

    /**
     * Scores examples.
     *
     * @param labels the true classes {@code [n]}
     * @param scores class scores {@code [n][C]}, higher = more likely (probabilities, log-odds...)
     * @throws IllegalArgumentException if shapes disagree, a label is out of range, a score is NaN, or a
     *     class has no example (AUROC is then undefined)
     */
    public static ClassificationMetrics of(int[] labels, float[][] scores) {
        int n = labels.length;
        if (n == 0 || scores.length != n) {
            throw new IllegalArgumentException("metrics need as many score rows as labels, and at least one: "
                    + scores.length + " rows for " + n + " labels");
        }
        int classes = scores[0].length;
        if (classes < 2) {
            throw new IllegalArgumentException("metrics need scores for at least two classes, not " + classes);
        }
        int[] counts = new int[classes];
        int[] predicted = new int[n];
        for (int i = 0; i < n; i++) {
            if (scores[i].length != classes) {
                throw new IllegalArgumentException("score row " + i + " has " + scores[i].length + " classes, row 0 has "
                        + classes);
            }
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("label " + labels[i] + " of example " + i + " is not in [0, " + classes
                        + ")");
            }
            counts[labels[i]]++;
            predicted[i] = argMax(scores[i], i);
        }
        for (int c = 0; c < classes; c++) {
            if (counts[c] == 0) {
                throw new IllegalArgumentException("class " + c + " has no example among " + n + " (counts "
                        + Arrays.toString(counts) + "): AUROC is undefined");
            }
        }
        int right = 0;
        for (int i = 0; i < n; i++) {
            right += predicted[i] == labels[i] ? 1 : 0;
        }
        double auroc;
        double f1;
        if (classes == 2) {
            auroc = auroc(column(scores, 1), positives(labels, 1));
            f1 = f1(labels, predicted, 1);
        } else {
            auroc = 0;
            f1 = 0;
            for (int c = 0; c < classes; c++) {
                auroc += auroc(column(scores, c), positives(labels, c));
                f1 += f1(labels, predicted, c);
            }
            auroc /= classes;
            f1 /= classes;
        }
        return new ClassificationMetrics(n, (double) right / n, auroc, f1);
    }

    /**
     * The exact area under the ROC curve: the probability that a random positive scores higher than a
     * random negative, ties counting one half (the Mann-Whitney U statistic over {@code nPos * nNeg}).
     *
     * @param scores {@code [n]}
     * @param positive {@code [n]}
     * @throws IllegalArgumentException if there is no positive or no negative, or a score is NaN
     */
    public static double auroc(double[] scores, boolean[] positive) {
        if (scores.length != positive.length) {
            throw new IllegalArgumentException("AUROC: " + scores.length + " scores for " + positive.length + " labels");
        }
        long nPos = 0;
        for (boolean p : positive) {
            nPos += p ? 1 : 0;
        }
        long nNeg = scores.length - nPos;
        if (nPos == 0 || nNeg == 0) {
            throw new IllegalArgumentException("AUROC needs positives and negatives, got " + nPos + " and " + nNeg);
        }
        double[] ranks;
        try {
            ranks = new NaturalRanking(NaNStrategy.FAILED, TiesStrategy.AVERAGE).rank(scores);
        } catch (org.apache.commons.math3.exception.NotANumberException e) {
            throw new IllegalArgumentException("AUROC: a score is NaN", e);
        }
        double rankSum = 0;
        for (int i = 0; i < scores.length; i++) {
            if (positive[i]) {
                rankSum += ranks[i];
            }
        }
        return (rankSum - nPos * (nPos + 1) / 2.0) / ((double) nPos * nNeg);
    }

    /** F1 of one class: {@code 2 TP / (2 TP + FP + FN)}; 0 when the class is never predicted nor present. */
    static double f1(int[] labels, int[] predicted, int cls) {
        long tp = 0;
        long fp = 0;
        long fn = 0;
        for (int i = 0; i < labels.length; i++) {
            boolean actual = labels[i] == cls;
            boolean guess = predicted[i] == cls;
            tp += actual && guess ? 1 : 0;
            fp += !actual && guess ? 1 : 0;
            fn += actual && !guess ? 1 : 0;
        }
        long denominator = 2 * tp + fp + fn;
        return denominator == 0 ? 0 : 2.0 * tp / denominator;
    }

    private static int argMax(float[] row, int i) {
        int best = 0;
        for (int c = 0; c < row.length; c++) {
            if (Float.isNaN(row[c])) {
                throw new IllegalArgumentException("score " + c + " of example " + i + " is NaN");
            }
            if (row[c] > row[best]) {
                best = c;
            }
        }
        return best;
    }

    private static double[] column(float[][] scores, int c) {
        double[] col = new double[scores.length];
        for (int i = 0; i < scores.length; i++) {
            col[i] = scores[i][c];
        }
        return col;
    }

    private static boolean[] positives(int[] labels, int c) {
        boolean[] p = new boolean[labels.length];
        for (int i = 0; i < labels.length; i++) {
            p[i] = labels[i] == c;
        }
        return p;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "accuracy %.4f, AUROC %.4f, F1 %.4f (n = %d)", accuracy, auroc, f1, n);
    }
}
